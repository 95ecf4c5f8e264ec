#include "tests/testutil/s3_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "base/handles.h"
#include "fmt/format.h"
#include <curl/curl.h>
#include <gtest/gtest.h>

#include "replica/storage/s3/s3_settings.h"

namespace litesync::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(15);
constexpr absl::Duration kStopTimeout = absl::Seconds(5);
constexpr absl::Duration kPoll = absl::Milliseconds(10);

std::string S3rverBin() { return std::string(LITESYNC_TEST_NODE_MODULES) + "/.bin/s3rver"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool CanConnect(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// Reaps `pid` if it exited; true when it is gone.
bool Reaped(pid_t pid) {
  int status;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  return r == pid || (r < 0 && errno == ECHILD);
}

}  // namespace

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

S3Server::S3Server(std::string bucket)
    : bucket_(std::move(bucket)),
      data_dir_(temp_.Join("data")),
      log_path_(temp_.Join("s3rver.log")) {
  InitCurlOnce();
  absl::Status s = Start(0);
  if (!s.ok()) ADD_FAILURE() << "cannot start s3rver: " << s;
}

S3Server::~S3Server() { Stop(); }

std::string S3Server::endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }

ReplicaOptions S3Server::Options(const std::string& prefix, const std::string& endpoint) const {
  ReplicaOptions o;
  o.type = "s3";
  o.settings<S3Settings>().bucket = bucket_;
  o.settings<S3Settings>().prefix = prefix;
  o.settings<S3Settings>().endpoint = endpoint.empty() ? this->endpoint() : endpoint;
  o.settings<S3Settings>().region = "us-east-1";
  o.settings<S3Settings>().force_path_style = true;
  o.settings<S3Settings>().access_key_id = Secret(kAccessKeyId);
  o.settings<S3Settings>().secret_access_key = Secret(kSecretAccessKey);
  return o;
}

absl::Status S3Server::Start(int port) {
  std::vector<std::string> args = {
      S3rverBin(), "--directory", data_dir_, "--address", "127.0.0.1", "--port",
      std::to_string(port), "--silent", "--configure-bucket", bucket_,
      // Virtual-hosted requests: s3rver takes the bucket from a Host of the form
      // BUCKET.s3.<service endpoint>; BUCKET.s3.localhost resolves to loopback.
      "--service-endpoint", "localhost"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // s3rver makes its ListObjectsV2 continuation tokens with DES, which the OpenSSL 3
  // of Node >= 17 refuses without the legacy provider: every truncated listing
  // would answer 500.
  std::vector<std::string> env;
  std::string node_options = "NODE_OPTIONS=--openssl-legacy-provider";
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.rfind("NODE_OPTIONS=", 0) == 0) {
      node_options += " " + std::string(v.substr(13));
    } else {
      env.emplace_back(v);
    }
  }
  env.push_back(node_options);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::ofstream(log_path_, std::ios::trunc).close();
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);  // a group of its own: Stop() kills it whole
    int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    if (log >= 0) {
      ::dup2(log, STDOUT_FILENO);
      ::dup2(log, STDERR_FILENO);
    }
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  pid_ = pid;

  // s3rver prints "S3rver listening on 127.0.0.1:<port>" once its buckets exist.
  constexpr std::string_view kListening = "listening on 127.0.0.1:";
  absl::Time deadline = absl::Now() + kStartTimeout;
  while (absl::Now() < deadline) {
    std::string log = ReadFile(log_path_);
    if (size_t at = log.find(kListening); at != std::string::npos) {
      port_ = std::atoi(log.c_str() + at + kListening.size());
      if (port_ > 0 && CanConnect(port_)) return absl::OkStatus();
    }
    if (Reaped(pid)) {
      pid_ = -1;
      return absl::UnavailableError(fmt::format("s3rver exited at start: {}", log));
    }
    absl::SleepFor(kPoll);
  }
  std::string log = ReadFile(log_path_);
  Stop();
  return absl::DeadlineExceededError(
      fmt::format("s3rver did not answer in {}: {}", absl::FormatDuration(kStartTimeout), log));
}

void S3Server::Stop() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  absl::Time deadline = absl::Now() + kStopTimeout;
  while (!Reaped(pid_)) {
    if (absl::Now() > deadline) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);  // SIGKILL cannot be ignored: bounded
      break;
    }
    absl::SleepFor(kPoll);
  }
  pid_ = -1;
}

absl::Status S3Server::Restart() {
  Stop();
  // The port was ours a moment ago; a few tries cover a slow release.
  absl::Status s;
  for (int i = 0; i < 3; ++i) {
    s = Start(port_);
    if (s.ok()) return s;
  }
  return s;
}

}  // namespace litesync::testing
