#include "cmd/control_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

#include "cmd/control_http.h"
#include "cmd/control_server_internal.h"
#include "cmd/metrics.h"
#include "cmd/status_report.h"

namespace litesync {
namespace {

struct AddrInfoFree {
  void operator()(addrinfo* p) const { freeaddrinfo(p); }
};

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        fmt::format("control socket {}: path too long ({} bytes, at most {}); set LITESYNC_SOCKET",
                    path, path.size(), sizeof(addr.sun_path) - 1));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// A socket file left by a killed daemon is removed; a live one is refused.
absl::Status ClaimSocketPath(const std::string& path, const sockaddr_un& addr) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, fmt::format("control socket {}", path));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        fmt::format("control socket {}: exists and is not a socket", path));
  }
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return ErrnoStatus(errno, "socket");
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
    return absl::FailedPreconditionError(fmt::format(
        "control socket {}: another litesync answers on it (one daemon per config)", path));
  }
  if (errno != ECONNREFUSED) {
    return ErrnoStatus(errno, fmt::format("control socket {}: probe", path));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, fmt::format("remove stale control socket {}", path));
  }
  LogInfo("removed stale control socket", {{"path", path}});
  return absl::OkStatus();
}

absl::StatusOr<std::pair<std::string, std::string>> SplitHostPort(const std::string& addr) {
  std::string host, port;
  if (!addr.empty() && addr[0] == '[') {
    size_t close = addr.find(']');
    if (close == std::string::npos || close + 1 >= addr.size() || addr[close + 1] != ':') {
      return absl::InvalidArgumentError(fmt::format("addr \"{}\": want [host]:port", addr));
    }
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
  } else {
    size_t colon = addr.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(fmt::format("addr \"{}\": want host:port", addr));
    }
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(port) > 65535) {
    return absl::InvalidArgumentError(fmt::format("addr \"{}\": invalid port", addr));
  }
  if (host.empty()) host = "127.0.0.1";  // never more than asked: all interfaces need 0.0.0.0
  return std::make_pair(host, port);
}

std::string SockaddrString(const sockaddr* sa, socklen_t len) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  return sa->sa_family == AF_INET6 ? fmt::format("[{}]:{}", host, serv)
                                   : fmt::format("{}:{}", host, serv);
}

}  // namespace

ControlServer::ControlServer(ControlServerOptions options, const SyncRecordSource* records,
                             const HeartbeatStatusSource* heartbeat, Clock* clock, SyncHandler sync)
    : options_(std::move(options)),
      records_(records),
      heartbeat_(heartbeat),
      clock_(clock),
      sync_(std::move(sync)),
      process_start_(options_.process_start.value_or(clock->Now())) {}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(
    const ControlServerOptions& options, const SyncRecordSource* records,
    const HeartbeatStatusSource* heartbeat, Clock* clock, SyncHandler sync) {
  std::unique_ptr<ControlServer> server(
      new ControlServer(options, records, heartbeat, clock, std::move(sync)));
  LS_RETURN_IF_ERROR(server->Listen());
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoStatus(errno, "pipe");
  server->wake_read_.reset(fds[0]);
  server->wake_write_.reset(fds[1]);
  server->waker_ = std::make_shared<Waker>();
  {
    MutexLock lock(&server->waker_->mu);
    server->waker_->fd = fds[1];
  }
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

absl::Status ControlServer::Listen() {
  if (absl::Status s = ListenUnix(); !s.ok()) {
    if (!options_.socket_optional || absl::IsFailedPrecondition(s)) return s;
    LogWarn("control socket unavailable; replicating without it",
            {{"socket", options_.socket_path},
             {"err", s},
             {"fix",
              "set LITESYNC_SOCKET, RUNTIME_DIRECTORY or XDG_RUNTIME_DIR to a writable "
              "directory; `litesync status` then reads the replicas directly"}});
    unix_fd_.reset();
    options_.socket_path.clear();
  }
  return ListenTcp();
}

absl::Status ControlServer::ListenUnix() {
  if (!options_.socket_path.empty()) {
    const std::string& path = options_.socket_path;
    LS_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
    LS_RETURN_IF_ERROR(ClaimSocketPath(path, addr));
    unix_fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!unix_fd_.valid()) return ErrnoStatus(errno, "socket");
    if (::bind(unix_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return ErrnoStatus(errno, fmt::format("bind control socket {}", path));
    }
    // Before listen(), so nobody can connect while the mode is still the umask's.
    struct stat st;
    if (::chmod(path.c_str(), 0600) != 0 || ::lstat(path.c_str(), &st) != 0) {
      absl::Status s = ErrnoStatus(errno, fmt::format("chmod control socket {}", path));
      ::unlink(path.c_str());
      return s;
    }
    socket_dev_ = st.st_dev;
    socket_ino_ = st.st_ino;
    if (::listen(unix_fd_.get(), 64) != 0) {
      return ErrnoStatus(errno, fmt::format("listen on control socket {}", path));
    }
  }
  return absl::OkStatus();
}

absl::Status ControlServer::ListenTcp() {
  if (!options_.tcp_addr.empty()) {
    LS_ASSIGN_OR_RETURN(auto host_port, SplitHostPort(options_.tcp_addr));
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* raw = nullptr;
    if (int rc = ::getaddrinfo(host_port.first.c_str(), host_port.second.c_str(), &hints, &raw);
        rc != 0) {
      return absl::InvalidArgumentError(
          fmt::format("addr \"{}\": {}", options_.tcp_addr, ::gai_strerror(rc)));
    }
    std::unique_ptr<addrinfo, AddrInfoFree> info(raw);
    tcp_fd_.reset(::socket(info->ai_family, info->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!tcp_fd_.valid()) return ErrnoStatus(errno, "socket");
    int one = 1;
    ::setsockopt(tcp_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(tcp_fd_.get(), info->ai_addr, info->ai_addrlen) != 0 ||
        ::listen(tcp_fd_.get(), 64) != 0) {
      return ErrnoStatus(errno, fmt::format("listen on {}", options_.tcp_addr));
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    ::getsockname(tcp_fd_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    tcp_address_ = SockaddrString(reinterpret_cast<sockaddr*>(&bound), len);
  }
  return absl::OkStatus();
}

ControlServer::~ControlServer() { Stop(); }

void ControlServer::Stop() {
  if (stopped_.exchange(true)) return;
  if (thread_.joinable()) {
    waker_->Wake();
    {
      MutexLock lock(&waker_->mu);
      waker_->fd = -1;
    }
    thread_.join();
  }
  unix_fd_.reset();
  tcp_fd_.reset();
  struct stat st;
  if (socket_ino_ != 0 && ::lstat(options_.socket_path.c_str(), &st) == 0 &&
      st.st_dev == socket_dev_ && st.st_ino == socket_ino_) {
    ::unlink(options_.socket_path.c_str());
  }
}

void ControlServer::Run() {
  std::vector<Conn> conns;
  const int listen_fds[] = {unix_fd_.get(), tcp_fd_.get()};
  while (true) {
    std::vector<pollfd> pfds = {{wake_read_.get(), POLLIN, 0}};
    // At the connection limit, listeners wait in their backlog.
    const bool room = static_cast<int>(conns.size()) < options_.max_connections;
    for (int fd : listen_fds) pfds.push_back({fd, static_cast<short>(room ? POLLIN : 0), 0});
    SteadyTime now = std::chrono::steady_clock::now();
    int timeout_ms = -1;
    for (const Conn& c : conns) {
      // A waiting sync has its whole request: only a hang-up matters meanwhile.
      short events = c.writing ? POLLOUT : c.sync ? 0 : POLLIN;
      pfds.push_back({c.fd.get(), events, 0});
      auto left = std::chrono::ceil<std::chrono::milliseconds>(c.deadline - now).count();
      int ms = static_cast<int>(std::max<int64_t>(0, left));
      timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
    }
    if (::poll(pfds.data(), pfds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      LogError("control server stopped", {{"err", ErrnoStatus(errno, "poll")}});
      return;
    }
    if (pfds[0].revents != 0) {  // Stop(), or a waiting sync finished
      char drain[64];
      while (::read(wake_read_.get(), drain, sizeof(drain)) > 0) {
      }
      if (stopped_.load()) return;
    }
    now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < conns.size(); ++i) {
      Conn& c = conns[i];
      short re = pfds[3 + i].revents;
      bool keep = true;
      if (re & (POLLERR | POLLNVAL)) {
        keep = false;
      } else if (c.sync) {
        if (re & POLLHUP) keep = false;  // the client gave up; the sync still runs
        if (keep) FinishSync(&c);
      } else if (!c.writing && (re & (POLLIN | POLLHUP))) {
        keep = ReadRequest(&c);
      }
      if (keep && c.writing && (re & (POLLOUT | POLLHUP) || c.written == 0)) {
        while (keep && c.written < c.out.size()) {
          ssize_t n =
              ::send(c.fd.get(), c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          if (n < 0) keep = false;
          if (n > 0) c.written += static_cast<size_t>(n);
        }
        if (c.written == c.out.size()) keep = false;  // done: Connection: close
      }
      if (keep && now >= c.deadline) keep = false;  // slow client: read or write timeout
      if (!keep) c.fd.reset();
    }
    std::erase_if(conns, [](const Conn& c) { return !c.fd.valid(); });
    for (size_t i = 0; i < 2; ++i) {
      if (listen_fds[i] >= 0 && (pfds[1 + i].revents & POLLIN)) Accept(listen_fds[i], &conns);
    }
  }
}

void ControlServer::Accept(int listen_fd, std::vector<Conn>* conns) {
  while (static_cast<int>(conns->size()) < options_.max_connections) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        LogWarn("control server accept failed", {{"err", ErrnoStatus(errno, "accept")}});
        // Out of descriptors: back off briefly rather than spin on a ready listener.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      return;
    }
    Conn c;
    c.fd.reset(fd);
    c.on_unix_socket = listen_fd == unix_fd_.get();
    c.deadline = std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(options_.io_timeout);
    conns->push_back(std::move(c));
  }
}

bool ControlServer::ReadRequest(Conn* c) {
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(c->fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) return false;  // closed before a whole request arrived, or an error
    c->in.append(buf, static_cast<size_t>(n));
    size_t end = c->in.find("\r\n\r\n");
    if (end == std::string::npos && c->in.size() <= options_.max_request_bytes) continue;
    if (end == std::string::npos || end + 4 > options_.max_request_bytes) {
      c->writing = true;
      c->out = FormatResponse(431, "text/plain; charset=utf-8", "request too large\n");
      return true;
    }
    absl::StatusOr<HttpRequestHead> req =
        ParseRequestHead(std::string_view(c->in).substr(0, end + 4));
    if (!req.ok()) {
      c->writing = true;
      c->out = FormatResponse(400, "text/plain; charset=utf-8",
                              fmt::format("bad request: {}\n", MessageOf(req.status())));
      return true;
    }
    if (end + 4 + req->content_length > options_.max_request_bytes) {
      c->writing = true;
      c->out = FormatResponse(413, "text/plain; charset=utf-8", "request body too large\n");
      return true;
    }
    if (c->in.size() < end + 4 + req->content_length) continue;  // the rest of the body
    c->writing = true;
    if (req->path == "/sync") {
      if (req->method != "POST") {
        c->out =
            FormatResponse(405, "text/plain; charset=utf-8", "method not allowed\n", false, "POST");
      } else if (!c->on_unix_socket) {
        c->out = FormatResponse(403, "text/plain; charset=utf-8",
                                "sync is served on the control socket only\n");
      } else {
        c->writing = false;
        HandleSync(c, std::string_view(c->in).substr(end + 4, req->content_length));
      }
      return true;
    }
    c->out = Respond(req->method, req->path);
    return true;
  }
}

std::string ControlServer::Respond(const std::string& method, const std::string& path) {
  const bool head = method == "HEAD";
  constexpr std::string_view kText = "text/plain; charset=utf-8";
  if (method != "GET" && !head) return FormatResponse(405, kText, "method not allowed\n");
  if (path != "/status" && path != "/healthz" && path != "/metrics") {
    return FormatResponse(404, kText, "not found\n", head);
  }
  StatusReport report = BuildStatus(
      records_->Snapshot(),
      heartbeat_ != nullptr ? heartbeat_->TargetStatuses() : std::vector<HeartbeatTargetStatus>{},
      clock_->Now(), options_.heartbeat_interval);
  report.started_at = process_start_;
  if (path == "/status") {
    return FormatResponse(200, "application/json", RenderJson(report), head);
  }
  if (path == "/metrics") {
    return FormatResponse(200, kMetricsContentType, RenderMetrics(report, process_start_), head);
  }
  if (report.healthy) return FormatResponse(200, kText, "ok\n", head);
  std::string body = "unhealthy\n";
  for (const std::string& r : report.UnhealthyReasons()) body += r + "\n";
  return FormatResponse(503, kText, body, head);
}

}  // namespace litesync
