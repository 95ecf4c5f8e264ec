#include "tests/testutil/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "absl/time/clock.h"
#include "fmt/format.h"
#include <gtest/gtest.h>

namespace litesync::testing {
namespace {

constexpr int kPollMs = 20;
constexpr absl::Duration kIoTimeout = absl::Seconds(20);
constexpr size_t kMaxHead = 64 * 1024;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Waits until `fd` is readable (or writable); false on timeout or stop.
bool WaitFd(int fd, short events, const std::atomic<bool>& stopping,
            absl::Duration timeout = kIoTimeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!stopping.load() && absl::Now() < deadline) {
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, kPollMs);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
  return false;
}

bool SendAll(int fd, std::string_view data, const std::atomic<bool>& stopping) {
  while (!data.empty()) {
    if (!WaitFd(fd, POLLOUT, stopping)) return false;
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Closes with a TCP reset instead of a FIN.
void ResetClose(UniqueFd& fd) {
  linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

std::string ErrorResponse(int status, std::string_view reason, std::string_view code,
                          std::string_view message) {
  std::string body = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>"
      "<RequestId>fault-proxy</RequestId></Error>",
      code, message);
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      status, reason, body.size(), body);
}

}  // namespace

FaultProxy::FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
  if (!Listen(0)) {
    ADD_FAILURE() << "fault proxy: cannot listen on 127.0.0.1";
    return;
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultProxy::~FaultProxy() { Stop(); }

std::string FaultProxy::endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }

bool FaultProxy::Listen(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 64) != 0) {
    return false;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  std::lock_guard<std::mutex> lock(mu_);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = std::move(fd);
  return true;
}

void FaultProxy::Script(std::vector<Fault> faults) {
  std::lock_guard<std::mutex> lock(mu_);
  script_.assign(faults.begin(), faults.end());
}

void FaultProxy::SetMode(Fault fault) {
  bool listen = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    mode_ = fault;
    if (fault == Fault::kRefuse) {
      // The acceptor may be in poll() on this socket, which keeps it alive past
      // close(); shutdown() stops the listening at once, so connects are refused.
      if (listen_fd_.valid()) ::shutdown(listen_fd_.get(), SHUT_RDWR);
      listen_fd_.reset();
    } else {
      listen = !listen_fd_.valid();
    }
  }
  if (listen && !Listen(port_)) ADD_FAILURE() << "fault proxy: cannot listen again on " << port_;
}

void FaultProxy::set_stall_time(absl::Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  stall_time_ = d;
}

void FaultProxy::set_reset_after_bytes(size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  reset_after_bytes_ = n;
}

int FaultProxy::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

int FaultProxy::faults() const {
  std::lock_guard<std::mutex> lock(mu_);
  return faults_;
}

std::vector<std::string> FaultProxy::request_lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return request_lines_;
}

std::vector<std::string> FaultProxy::request_heads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return request_heads_;
}

void FaultProxy::Stop() {
  if (stopping_.exchange(true)) return;
  cv_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::unique_ptr<Conn>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns.swap(conns_);
    listen_fd_.reset();
  }
  for (auto& c : conns) c->thread.join();
}

bool FaultProxy::Pause(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoMilliseconds(d), [this] { return stopping_.load(); });
  return !stopping_.load();
}

void FaultProxy::AcceptLoop() {
  while (!stopping_.load()) {
    int lfd;
    {
      std::lock_guard<std::mutex> lock(mu_);
      lfd = listen_fd_.valid() ? listen_fd_.get() : -1;
      // Reap finished connections so a long test does not pile up threads.
      for (auto it = conns_.begin(); it != conns_.end();) {
        if ((*it)->done.load()) {
          (*it)->thread.join();
          it = conns_.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (lfd < 0) {
      Pause(absl::Milliseconds(kPollMs));
      continue;
    }
    pollfd p{lfd, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (!listen_fd_.valid()) continue;  // closed meanwhile (kRefuse)
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    auto conn = std::make_unique<Conn>();
    conn->fd.reset(fd);
    Conn* raw = conn.get();
    conn->thread = std::thread([this, raw] {
      Serve(raw);
      raw->fd.reset();
      raw->done.store(true);
    });
    conns_.push_back(std::move(conn));
  }
}

Fault FaultProxy::NextFault(const std::string& request_line, const std::string& head) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_;
  request_lines_.push_back(request_line);
  request_heads_.push_back(head);
  Fault f = mode_;
  if (!script_.empty()) {
    f = script_.front();
    script_.pop_front();
  }
  if (f != Fault::kNone) ++faults_;
  return f;
}

void FaultProxy::Serve(Conn* conn) {
  int client = conn->fd.get();
  // The request head, and whatever of the body came with it.
  std::string buf;
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > kMaxHead || !WaitFd(client, POLLIN, stopping_)) return;
    char tmp[16384];
    ssize_t n = ::recv(client, tmp, sizeof tmp, 0);
    if (n <= 0) return;
    buf.append(tmp, static_cast<size_t>(n));
  }
  std::string head = buf.substr(0, head_end + 4);
  std::string body_start = buf.substr(head_end + 4);
  std::string request_line = head.substr(0, head.find("\r\n"));
  size_t sp = request_line.rfind(' ');
  Fault fault =
      NextFault(sp == std::string::npos ? request_line : request_line.substr(0, sp), head);

  uint64_t content_length = 0;
  std::string lower = Lower(head);
  if (size_t p = lower.find("\r\ncontent-length:"); p != std::string::npos) {
    content_length = std::strtoull(lower.c_str() + p + 17, nullptr, 10);
  }
  auto drain_body = [&] {
    uint64_t left = content_length - std::min<uint64_t>(content_length, body_start.size());
    char tmp[65536];
    while (left > 0 && WaitFd(client, POLLIN, stopping_)) {
      ssize_t n = ::recv(client, tmp, std::min<uint64_t>(sizeof tmp, left), 0);
      if (n <= 0) return;
      left -= static_cast<uint64_t>(n);
    }
  };

  // The error answers: the body is read (the client sent it whole) and discarded.
  auto answer = [&](int status, const char* reason, const char* code, const char* message) {
    drain_body();
    SendAll(client, ErrorResponse(status, reason, code, message), stopping_);
    ::shutdown(client, SHUT_WR);
  };
  constexpr const char* kInternal = "We encountered an internal error. Please try again.";
  switch (fault) {
    case Fault::kHttp500:
      return answer(500, "Internal Server Error", "InternalError", kInternal);
    case Fault::kError200:
      return answer(200, "OK", "InternalError", kInternal);
    case Fault::kPreconditionFailed412:
      return answer(412, "Precondition Failed", "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold");
    case Fault::kNotImplemented501:
      return answer(501, "Not Implemented", "NotImplemented",
                    "A header you provided implies functionality that is not implemented");
    case Fault::kSlowDown503:
      return answer(503, "Slow Down", "SlowDown", "Please reduce your request rate.");
    case Fault::kAccessDenied403:
      return answer(403, "Forbidden", "AccessDenied", "Access Denied");
    case Fault::kReset:
    case Fault::kRefuse:
      ResetClose(conn->fd);
      return;
    case Fault::kStall: {
      absl::Duration d;
      {
        std::lock_guard<std::mutex> lock(mu_);
        d = stall_time_;
      }
      Pause(d);
      return;
    }
    case Fault::kDelay: {
      absl::Duration d;
      {
        std::lock_guard<std::mutex> lock(mu_);
        d = stall_time_;
      }
      if (Pause(d)) Forward(client, head, body_start, Fault::kNone);
      return;
    }
    case Fault::kNone:
    case Fault::kResetMidResponse:
      Forward(client, head, body_start, fault);
      if (fault == Fault::kResetMidResponse) ResetClose(conn->fd);
      return;
  }
}

void FaultProxy::Forward(int client, const std::string& head, const std::string& body_start,
                         Fault fault) {
  UniqueFd up(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(up.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;

  // One request per connection: the server closes after answering.
  std::string rewritten;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    std::string line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) break;
    std::string l = Lower(line);
    if (l.rfind("connection:", 0) == 0 || l.rfind("keep-alive:", 0) == 0) continue;
    rewritten += line + "\r\n";
  }
  rewritten += "Connection: close\r\n\r\n" + body_start;
  if (!SendAll(up.get(), rewritten, stopping_)) return;

  size_t reset_after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reset_after = reset_after_bytes_;
  }
  uint64_t answered = 0;
  bool client_open = true;
  absl::Time deadline = absl::Now() + kIoTimeout;
  char tmp[65536];
  while (!stopping_.load() && absl::Now() < deadline) {
    pollfd p[2] = {{up.get(), POLLIN, 0},
                   {client, static_cast<short>(client_open ? POLLIN : 0), 0}};
    if (::poll(p, 2, kPollMs) <= 0) continue;
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {  // more of the request body
      ssize_t n = ::recv(client, tmp, sizeof tmp, 0);
      if (n <= 0) {
        client_open = false;
      } else if (!SendAll(up.get(), std::string_view(tmp, static_cast<size_t>(n)), stopping_)) {
        return;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {  // the answer
      size_t want = sizeof tmp;
      if (fault == Fault::kResetMidResponse) want = std::min(want, reset_after - answered);
      ssize_t n = want == 0 ? 0 : ::recv(up.get(), tmp, want, 0);
      if (n <= 0) break;
      if (!SendAll(client, std::string_view(tmp, static_cast<size_t>(n)), stopping_)) return;
      answered += static_cast<uint64_t>(n);
      if (fault == Fault::kResetMidResponse && answered >= reset_after) return;
    }
  }
  ::shutdown(client, SHUT_WR);
}

}  // namespace litesync::testing
