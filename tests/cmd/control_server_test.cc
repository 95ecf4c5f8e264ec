#include "cmd/control_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/status.h"  // LS_STATUS_CONCAT_, used by status_matchers.h
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmd/control_http.h"
#include "cmd/status_report.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::litesync::testing::FakeClock;
using ::litesync::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Reply {
  long code = 0;
  std::string body;
  std::string content_type;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// An independent client (libcurl), so the server is not only checked by its own code.
Reply CurlGet(const std::string& url, const std::string& unix_socket = "", bool head = false) {
  Reply r;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  if (head) curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!unix_socket.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, unix_socket.c_str());
  CURLcode rc = curl_easy_perform(curl);
  EXPECT_EQ(rc, CURLE_OK) << url << ": " << curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.code);
  char* ct = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
  if (ct) r.content_type = ct;
  curl_easy_cleanup(curl);
  return r;
}

// Sends raw bytes over TCP and reads the whole answer (the server closes).
std::string RawExchange(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

int PortOf(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.Register("/data/a.db", "file:///backups/a");
    registry_.Update("/data/a.db", "file:///backups/a", [&](SyncRecord& r) {
      r.last_success = clock_.Now();
      r.local_txid = r.replicated_txid = 5;
      r.sync_count = 1;
    });
  }

  std::unique_ptr<ControlServer> StartServer(ControlServerOptions o) {
    o.io_timeout = absl::Milliseconds(300);
    auto server = ControlServer::Start(o, &registry_, nullptr, &clock_);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  std::string Url(const ControlServer& s, const std::string& path) {
    return "http://" + s.tcp_address() + path;
  }

  TempDir dir_;
  FakeClock clock_;
  SyncRegistry registry_;
};

TEST_F(ControlServerTest, ServesStatusHealthzAndMetricsOnLoopbackTcp) {
  ControlServerOptions o;
  o.tcp_addr = "127.0.0.1:0";
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->tcp_address(), StartsWith("127.0.0.1:"));
  EXPECT_NE(PortOf(server->tcp_address()), 0);

  Reply status = CurlGet(Url(*server, "/status"));
  EXPECT_EQ(status.code, 200);
  EXPECT_EQ(status.content_type, "application/json");
  LS_ASSERT_OK_AND_ASSIGN(StatusReport report, ParseStatusJson(status.body));
  ASSERT_EQ(report.databases.size(), 1u);
  EXPECT_EQ(report.databases[0].path, "/data/a.db");
  EXPECT_EQ(report.databases[0].state, DbState::kOk);
  EXPECT_EQ(report.source, "daemon");
  EXPECT_EQ(report.generated_at, clock_.Now());

  Reply health = CurlGet(Url(*server, "/healthz"));
  EXPECT_EQ(health.code, 200);
  EXPECT_EQ(health.body, "ok\n");

  Reply metrics = CurlGet(Url(*server, "/metrics?x=1"));
  EXPECT_EQ(metrics.code, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(
      metrics.body,
      HasSubstr("litesync_sync_total{db=\"/data/a.db\",replica=\"file:///backups/a\"} 1\n"));

  EXPECT_EQ(CurlGet(Url(*server, "/")).code, 404);
  EXPECT_EQ(CurlGet(Url(*server, "/statusx")).code, 404);
  EXPECT_EQ(CurlGet(Url(*server, "/status/")).code, 404);
}

TEST_F(ControlServerTest, HealthzFollowsSyncRecordsAndTime) {
  ControlServerOptions o;
  o.tcp_addr = "127.0.0.1:0";
  o.heartbeat_interval = absl::Minutes(5);
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(CurlGet(Url(*server, "/healthz")).code, 200);

  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(CurlGet(Url(*server, "/healthz")).code, 200);  // exactly the interval: still fine
  clock_.Advance(absl::Seconds(1));
  Reply stale = CurlGet(Url(*server, "/healthz"));
  EXPECT_EQ(stale.code, 503);
  EXPECT_EQ(stale.body,
            "unhealthy\n/data/a.db (file:///backups/a): last sync 5m1s ago (interval 5m)\n");

  registry_.Update("/data/a.db", "file:///backups/a",
                   [&](SyncRecord& r) { r.last_success = clock_.Now(); });
  EXPECT_EQ(CurlGet(Url(*server, "/healthz")).code, 200);

  registry_.Register("/data/b.db", "file:///backups/b");  // a new database, not synced yet
  Reply never = CurlGet(Url(*server, "/healthz"));
  EXPECT_EQ(never.code, 503);
  EXPECT_THAT(never.body, HasSubstr("/data/b.db (file:///backups/b): never synced"));
  EXPECT_THAT(never.body, Not(HasSubstr("/data/a.db")));

  registry_.Update("/data/b.db", "file:///backups/b",
                   [&](SyncRecord& r) { r.last_success = clock_.Now(); });
  EXPECT_EQ(CurlGet(Url(*server, "/healthz")).code, 200);

  registry_.Update("/data/a.db", "file:///backups/a",
                   [&](SyncRecord& r) { r.database_missing = true; });
  Reply missing = CurlGet(Url(*server, "/healthz"));
  EXPECT_EQ(missing.code, 503);
  EXPECT_THAT(missing.body,
              HasSubstr("/data/a.db (file:///backups/a): database file does not exist"));

  registry_.Remove("/data/a.db");
  registry_.Remove("/data/b.db");
  Reply none = CurlGet(Url(*server, "/healthz"));
  EXPECT_EQ(none.code, 503);
  EXPECT_EQ(none.body, "unhealthy\nno databases\n");
}

TEST_F(ControlServerTest, UnixSocketIsPrivateAndServesTheSameEndpoints) {
  ControlServerOptions o;
  o.socket_path = dir_.Join(".litesync.yml.sock");
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->tcp_address(), "");
  struct stat st;
  ASSERT_EQ(::lstat(o.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  Reply health = CurlGet("http://localhost/healthz", o.socket_path);
  EXPECT_EQ(health.code, 200);
  Reply metrics = CurlGet("http://localhost/metrics", o.socket_path);
  EXPECT_EQ(metrics.code, 200);
  EXPECT_THAT(metrics.body, HasSubstr("# TYPE litesync_sync_total counter"));

  LS_ASSERT_OK_AND_ASSIGN(HttpResult own, HttpGetUnix(o.socket_path, "/status"));
  EXPECT_EQ(own.code, 200);
  LS_EXPECT_OK(ParseStatusJson(own.body));

  server->Stop();
  EXPECT_FALSE(testing::FileExists(o.socket_path)) << "Stop removes the socket file";
  server->Stop();  // idempotent
  absl::StatusOr<HttpResult> gone = HttpGetUnix(o.socket_path, "/status");
  EXPECT_TRUE(absl::IsNotFound(gone.status())) << gone.status();
}

TEST_F(ControlServerTest, RefusesASocketAnotherServerAnswersOnAndReplacesAStaleOne) {
  ControlServerOptions o;
  o.socket_path = dir_.Join("ctl.sock");
  auto first = StartServer(o);
  ASSERT_NE(first, nullptr);
  auto second = ControlServer::Start(o, &registry_, nullptr, &clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(MessageOf(second.status()), HasSubstr("another litesync answers on it"));
  EXPECT_EQ(CurlGet("http://localhost/healthz", o.socket_path).code, 200) << "first still serves";
  first.reset();

  // A socket file left by a killed daemon: bound, never unlinked, nobody listening.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, o.socket_path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  ASSERT_TRUE(testing::FileExists(o.socket_path));
  EXPECT_TRUE(absl::IsUnavailable(HttpGetUnix(o.socket_path, "/status").status()));
  auto third = StartServer(o);
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(CurlGet("http://localhost/healthz", o.socket_path).code, 200);

  // A regular file in the way is not touched.
  ControlServerOptions f;
  f.socket_path = dir_.Join("not-a-socket");
  testing::WriteFileOrDie(f.socket_path, "data");
  auto refused = ControlServer::Start(f, &registry_, nullptr, &clock_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(testing::ReadFileOrDie(f.socket_path), "data");
}

TEST_F(ControlServerTest, RejectsBadMethodsRequestsAndOversizedHeads) {
  ControlServerOptions o;
  o.tcp_addr = "127.0.0.1:0";
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  int port = PortOf(server->tcp_address());
  std::string post =
      RawExchange(port, "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(post, HasSubstr("Allow: GET, HEAD\r\n"));
  EXPECT_THAT(RawExchange(port, "GET status HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(RawExchange(port, "GET /status SPDY/3\r\n\r\n"), StartsWith("HTTP/1.1 400 "));
  std::string huge = "GET /status HTTP/1.1\r\nX-Pad: " + std::string(10000, 'a') + "\r\n\r\n";
  EXPECT_THAT(RawExchange(port, huge), StartsWith("HTTP/1.1 431 "));

  std::string head = RawExchange(port, "HEAD /healthz HTTP/1.0\r\n\r\n");
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, HasSubstr("Content-Length: 3\r\n"));
  EXPECT_THAT(head, HasSubstr("Connection: close\r\n"));
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << "HEAD has no body";
  // A request split across packets still works.
  EXPECT_THAT(RawExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
              HasSubstr("\r\n\r\nok\n"));
}

TEST_F(ControlServerTest, SlowClientsTimeOutWithoutBlockingOthers) {
  ControlServerOptions o;
  o.tcp_addr = "127.0.0.1:0";
  auto server = StartServer(o);  // io_timeout 300 ms
  ASSERT_NE(server, nullptr);
  int port = PortOf(server->tcp_address());
  // Two idle connections that never send a request.
  std::vector<int> idle;
  for (int i = 0; i < 2; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::send(fd, "GET /sta", 8, MSG_NOSIGNAL);  // half a request
    idle.push_back(fd);
  }
  EXPECT_EQ(CurlGet(Url(*server, "/healthz")).code, 200) << "served while others idle";
  for (int fd : idle) {
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char c;
    absl::Time start = absl::Now();
    EXPECT_EQ(::recv(fd, &c, 1, 0), 0) << "closed by the server after its timeout";
    EXPECT_LT(absl::Now() - start, absl::Seconds(4));
    ::close(fd);
  }
}

TEST_F(ControlServerTest, ConnectionLimitFreesSlotsAndQueuesTheRest) {
  ControlServerOptions o;
  o.tcp_addr = "127.0.0.1:0";
  o.max_connections = 2;
  auto server = StartServer(o);  // io_timeout 300 ms
  ASSERT_NE(server, nullptr);
  for (int i = 0; i < 6; ++i) {  // finished connections give their slot back
    EXPECT_EQ(CurlGet(Url(*server, "/healthz")).code, 200) << "request " << i;
  }
  // Both slots taken by idle clients: the next one waits in the backlog and is
  // served once the server drops them at their timeout.
  int port = PortOf(server->tcp_address());
  std::vector<int> idle;
  for (int i = 0; i < 2; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    idle.push_back(fd);
  }
  absl::Time start = absl::Now();
  EXPECT_EQ(CurlGet(Url(*server, "/healthz")).code, 200);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  for (int fd : idle) ::close(fd);
}

TEST_F(ControlServerTest, ListensOnLoopbackUnlessAskedAndRejectsBadAddresses) {
  ControlServerOptions o;
  o.tcp_addr = ":0";
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->tcp_address(), StartsWith("127.0.0.1:"));
  server.reset();

  for (const char* bad : {"9090", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:http", "[::1"}) {
    ControlServerOptions b;
    b.tcp_addr = bad;
    auto s = ControlServer::Start(b, &registry_, nullptr, &clock_);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad << ": " << s.status();
  }
}

TEST_F(ControlServerTest, ResponsesNeverCarrySecrets) {
  registry_.Update(
      "/data/a.db", "https://AKIAKEY:wJalrXUtnFEMI@s3.example/b/a",
      [&](SyncRecord& r) { r.last_error = absl::PermissionDeniedError("PUT with key ****: 403"); });
  struct Hb : HeartbeatStatusSource {
    std::vector<HeartbeatTargetStatus> TargetStatuses() const override {
      HeartbeatTargetStatus t;
      t.url = "https://hc-ping.com/5b1f0e66-7d7c-4d6e";  // a careless source: not redacted
      t.last_result = "Failed to connect to hc-ping.com port 443";
      t.last_ping = absl::FromUnixSeconds(1'700'000'000);
      return {t};
    }
  } hb;
  ControlServerOptions o;
  o.tcp_addr = "127.0.0.1:0";
  o.io_timeout = absl::Milliseconds(300);
  auto started = ControlServer::Start(o, &registry_, &hb, &clock_);
  ASSERT_TRUE(started.ok()) << started.status();
  auto& server = *started;
  for (const char* path : {"/status", "/metrics", "/healthz"}) {
    Reply r = CurlGet(Url(*server, path));
    EXPECT_THAT(r.body, Not(HasSubstr("wJalrXUtnFEMI"))) << path;
    EXPECT_THAT(r.body, Not(HasSubstr("5b1f0e66"))) << path;
  }
  Reply status = CurlGet(Url(*server, "/status"));
  EXPECT_THAT(status.body, HasSubstr("https://****@s3.example/b/a"));
  EXPECT_THAT(status.body, HasSubstr("https://hc-ping.com/****"));
  // The URLs' fields are redacted where they are rendered; no other text is touched.
  EXPECT_THAT(status.body, HasSubstr("Failed to connect to hc-ping.com port 443"));
}

TEST(ControlOptionsTest, SocketPathPrefersTheRuntimeDirectoriesThenSitsNextToTheConfig) {
  for (const char* v : {"LITESYNC_SOCKET", "RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR"}) ::unsetenv(v);
  Config c;
  c.path = "/etc/litesync/litesync.yml";
  EXPECT_EQ(ControlSocketPath(c), "/etc/litesync/.litesync.yml.sock");
  EXPECT_THAT(ControlSocketCandidates(c),
              ::testing::ElementsAre("/etc/litesync/.litesync.yml.sock",
                                     "/run/litesync/litesync.yml.sock"));
  ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  EXPECT_EQ(ControlSocketPath(c), "/run/user/1000/litesync-litesync.yml.sock");
  ::setenv("RUNTIME_DIRECTORY", "/run/litesync:/run/other", 1);
  EXPECT_EQ(ControlSocketPath(c), "/run/litesync/litesync.yml.sock");
  EXPECT_THAT(ControlSocketCandidates(c),
              ::testing::ElementsAre("/run/litesync/litesync.yml.sock",
                                     "/etc/litesync/.litesync.yml.sock"));
  ::setenv("LITESYNC_SOCKET", "/run/litesync.sock", 1);
  EXPECT_EQ(ControlSocketPath(c), "/run/litesync.sock");
  EXPECT_THAT(ControlSocketCandidates(c), ::testing::ElementsAre("/run/litesync.sock"));
  for (const char* v : {"LITESYNC_SOCKET", "RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR"}) ::unsetenv(v);
}

TEST(ControlOptionsTest, IntervalIsTheSmallestTargetInterval) {
  Config c;
  EXPECT_EQ(HealthInterval(c), absl::Minutes(5));
  HeartbeatTarget a, b;
  a.url = Secret("https://kuma.example.com/api/push/Zx9TokenQ?status=up");
  a.interval = absl::Minutes(10);
  b.url = Secret("https://hc-ping.com/1234abcd-ef");
  b.interval = absl::Minutes(2);
  c.heartbeat.targets = {a, b};
  EXPECT_EQ(HealthInterval(c), absl::Minutes(2));
}

}  // namespace
}  // namespace litesync

namespace litesync {
namespace {

// POST /sync over the Unix socket with a stand-in for the replicator that keeps
// the `done` it is given, so the test decides when (and whether) a sync ends.
class ControlSyncTest : public ControlServerTest {
 protected:
  std::unique_ptr<ControlServer> StartSyncServer() {
    ControlServerOptions o;
    o.socket_path = dir_.Join("ctl.sock");
    o.tcp_addr = "127.0.0.1:0";
    auto server = ControlServer::Start(
        o, &registry_, nullptr, &clock_, [this](const std::string& path, SyncDone done) {
          std::lock_guard<std::mutex> lock(mu_);
          requested_.push_back(path);
          if (path != "/data/a.db") return absl::NotFoundError("database " + path + " unknown");
          if (done) dones_.push_back(std::move(done));
          return absl::OkStatus();
        });
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }
  absl::StatusOr<HttpResult> Post(const std::string& body) {
    return HttpPostUnix(dir_.Join("ctl.sock"), "/sync", body, absl::Seconds(10));
  }
  size_t Waiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return dones_.size();
  }
  bool WaitForWaiting(size_t n) {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (Waiting() < n && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    return Waiting() >= n;
  }
  void Finish(size_t i, const SyncOutcome& outcome) {
    SyncDone done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done = dones_[i];
    }
    done(outcome);
  }

  std::mutex mu_;
  std::vector<std::string> requested_;
  std::vector<SyncDone> dones_;
};

TEST_F(ControlSyncTest, AWaitingSyncBlocksNeitherStatusNorOtherSyncs) {
  auto server = StartSyncServer();
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpResult> first, second;
  std::thread a([&] { first = Post(R"({"path": "/data/a.db", "wait": true, "timeout": 30})"); });
  ASSERT_TRUE(WaitForWaiting(1));
  // While it waits, the loop answers /status, /metrics and a second sync.
  EXPECT_EQ(CurlGet(Url(*server, "/status")).code, 200);
  EXPECT_EQ(CurlGet("http://localhost/metrics", dir_.Join("ctl.sock")).code, 200);
  std::thread b([&] { second = Post(R"({"path": "/data/a.db", "wait": true})"); });
  ASSERT_TRUE(WaitForWaiting(2));
  Finish(1, SyncOutcome{absl::OkStatus(), 9, 9});
  b.join();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->code, 200) << second->body;
  EXPECT_THAT(second->body, HasSubstr(R"("status":"synced")"));
  EXPECT_THAT(second->body, HasSubstr(R"("replicated_txid":9)"));
  Finish(0, SyncOutcome{absl::UnavailableError("replica file:///backups/a: disk full")});
  a.join();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->code, 500);
  EXPECT_THAT(first->body, HasSubstr("sync of /data/a.db: replica file:///backups/a: disk full"));
}

TEST_F(ControlSyncTest, AnswersAtOnceWithoutWaitAndTimesOutAWaitThatNeverEnds) {
  auto server = StartSyncServer();
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpResult> now = Post(R"({"path": "/data/a.db"})");
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(now->code, 200) << now->body;
  EXPECT_THAT(now->body, HasSubstr(R"("status":"requested")"));
  EXPECT_THAT(now->body, HasSubstr(R"("txid":5)"));
  EXPECT_EQ(Waiting(), 0u);  // nothing to wait for

  absl::Time start = absl::Now();
  absl::StatusOr<HttpResult> late = Post(R"({"path": "/data/a.db", "wait": true, "timeout": 1})");
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->code, 504) << late->body;
  EXPECT_THAT(late->body, HasSubstr("did not acknowledge it within 1s"));
  EXPECT_GE(absl::Now() - start, absl::Seconds(1));
  // The worker may still finish it after the answer: harmless.
  Finish(0, SyncOutcome{});
}

TEST_F(ControlSyncTest, RefusesUnknownDatabasesBadBodiesAndTcp) {
  auto server = StartSyncServer();
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpResult> unknown = Post(R"({"path": "/data/b.db", "wait": true})");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->code, 404);
  EXPECT_THAT(unknown->body, HasSubstr("database /data/b.db unknown"));
  for (const char* bad : {"", "[]", R"({"path": 3})", R"({"path": "rel.db"})",
                          R"({"path": "/data/a.db", "wait": "yes"})"}) {
    absl::StatusOr<HttpResult> r = Post(bad);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, 400) << bad << ": " << r->body;
  }
  std::string tcp = RawExchange(PortOf(server->tcp_address()),
                                "POST /sync HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_THAT(tcp, StartsWith("HTTP/1.1 403 "));
  EXPECT_THAT(CurlGet("http://localhost/sync", dir_.Join("ctl.sock")).code, 405);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(requested_, std::vector<std::string>{"/data/b.db"});
}

}  // namespace
}  // namespace litesync
