#include "tests/testutil/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "absl/time/clock.h"
#include "fmt/format.h"
#include <gtest/gtest.h>

namespace litesync::testing {
namespace {

constexpr int kPollMs = 20;  // how quickly threads notice Stop()

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

struct HttpServer::Connection {
  UniqueFd fd;  // guarded by the server's mu_ once the thread runs
  int raw_fd = -1;
  std::thread thread;
  std::atomic<bool> done{false};
  std::string buf;
};

std::string HttpRequest::Header(std::string_view name) const {
  std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (k == want) return v;
  }
  return "";
}

HttpResponse HttpResponse::Status(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}
HttpResponse HttpResponse::Slow(absl::Duration delay, int status) {
  HttpResponse r;
  r.status = status;
  r.delay = delay;
  return r;
}
HttpResponse HttpResponse::Hang(absl::Duration delay) {
  HttpResponse r;
  r.action = Action::kHang;
  r.delay = delay;
  return r;
}
HttpResponse HttpResponse::Reset() {
  HttpResponse r;
  r.action = Action::kReset;
  return r;
}
HttpResponse HttpResponse::Close() {
  HttpResponse r;
  r.action = Action::kClose;
  return r;
}

HttpServer::HttpServer() {
  if (!BindAndListen(0)) ADD_FAILURE() << "HttpServer: cannot listen on 127.0.0.1";
}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::Url(std::string_view path) const {
  return fmt::format("http://127.0.0.1:{}{}", port_, path);
}

bool HttpServer::BindAndListen(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return false;
  if (::listen(fd.get(), 64) != 0) return false;
  socklen_t len = sizeof(addr);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = std::move(fd);
  accepting_ = true;
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return true;
}

void HttpServer::AcceptLoop() {
  while (accepting_ && !stopping_) {
    pollfd p{listen_fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    // Reap connections that ended, so a long test does not pile up threads.
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done) {
        (*it)->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    auto c = std::make_unique<Connection>();
    c->fd.reset(fd);
    c->raw_fd = fd;
    Connection* raw = c.get();
    c->thread = std::thread([this, raw] {
      Serve(raw);
      std::lock_guard<std::mutex> l(mu_);
      raw->fd.reset();
      raw->done = true;
    });
    connections_.push_back(std::move(c));
  }
}

void HttpServer::StopListening() {
  accepting_ = false;
  if (acceptor_.joinable()) acceptor_.join();
  listen_fd_.reset();
}

bool HttpServer::Listen() {
  if (accepting_ || stopping_) return accepting_;
  return BindAndListen(port_);
}

void HttpServer::ReleaseHanging() {
  std::lock_guard<std::mutex> lock(mu_);
  ++release_generation_;
  cv_.notify_all();
}

void HttpServer::Stop() {
  if (stopping_.exchange(true)) return;
  StopListening();
  std::vector<std::unique_ptr<Connection>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : connections_) {
      if (c->fd.valid()) ::shutdown(c->fd.get(), SHUT_RDWR);
    }
    conns.swap(connections_);
    cv_.notify_all();
  }
  for (auto& c : conns) c->thread.join();
}

void HttpServer::Enqueue(HttpResponse response) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(response));
}

void HttpServer::SetDefault(HttpResponse response) {
  std::lock_guard<std::mutex> lock(mu_);
  default_ = std::move(response);
}

void HttpServer::SetHandler(Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

std::vector<HttpRequest> HttpServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t HttpServer::RequestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

int HttpServer::InFlight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_flight_;
}

bool HttpServer::WaitForRequests(size_t n, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                      [&] { return requests_.size() >= n; });
}

HttpResponse HttpServer::NextResponse(const HttpRequest& req) {
  Handler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!handler_) {
      if (queue_.empty()) return default_;
      HttpResponse r = std::move(queue_.front());
      queue_.pop_front();
      return r;
    }
    handler = handler_;
  }
  return handler(req);  // outside the lock: a handler may call back into the server
}

bool HttpServer::Pause(absl::Duration d, bool hang, uint64_t generation) {
  std::unique_lock<std::mutex> lock(mu_);
  auto over = [&] { return stopping_ || (hang && release_generation_ != generation); };
  if (d == absl::InfiniteDuration()) {
    cv_.wait(lock, over);
  } else {
    cv_.wait_for(lock, absl::ToChronoMilliseconds(d), over);
  }
  return !stopping_;
}

namespace {

// Reads more bytes into `buf`; false on EOF, error or stop.
bool ReadMore(int fd, std::string* buf, const std::atomic<bool>& stopping) {
  char chunk[16384];
  while (!stopping) {
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, kPollMs);
    if (rc == 0 || (rc < 0 && errno == EINTR)) continue;
    if (rc < 0) return false;
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf->append(chunk, static_cast<size_t>(n));
    return true;
  }
  return false;
}

}  // namespace

void HttpServer::Serve(Connection* c) {
  const int fd = c->raw_fd;
  std::string& buf = c->buf;
  while (!stopping_) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(fd, &buf, stopping_)) return;
    }
    HttpRequest req;
    std::string_view head(buf.data(), end);
    size_t line_end = head.find("\r\n");
    std::string_view first = head.substr(0, line_end);
    size_t sp1 = first.find(' ');
    size_t sp2 = first.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 <= sp1) return;
    req.method = std::string(first.substr(0, sp1));
    req.target = std::string(first.substr(sp1 + 1, sp2 - sp1 - 1));
    const bool http10 = first.substr(sp2 + 1) == "HTTP/1.0";
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
    while (!rest.empty()) {
      size_t e = rest.find("\r\n");
      std::string_view line = rest.substr(0, e);
      rest = e == std::string_view::npos ? "" : rest.substr(e + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      req.headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                               std::string(Trim(line.substr(colon + 1))));
    }
    buf.erase(0, end + 4);
    if (Lower(req.Header("expect")) == "100-continue") {
      if (!SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return;
    }
    if (Lower(req.Header("transfer-encoding")).find("chunked") != std::string::npos) {
      while (true) {
        size_t eol;
        while ((eol = buf.find("\r\n")) == std::string::npos) {
          if (!ReadMore(fd, &buf, stopping_)) return;
        }
        size_t size = std::strtoul(buf.substr(0, eol).c_str(), nullptr, 16);
        buf.erase(0, eol + 2);
        if (size == 0) {  // trailers, then an empty line
          while ((eol = buf.find("\r\n")) != 0) {
            if (eol == std::string::npos) {
              if (!ReadMore(fd, &buf, stopping_)) return;
            } else {
              buf.erase(0, eol + 2);
            }
          }
          buf.erase(0, 2);
          break;
        }
        while (buf.size() < size + 2) {
          if (!ReadMore(fd, &buf, stopping_)) return;
        }
        req.body.append(buf, 0, size);
        buf.erase(0, size + 2);
      }
    } else if (std::string cl = req.Header("content-length"); !cl.empty()) {
      size_t n = std::strtoul(cl.c_str(), nullptr, 10);
      while (buf.size() < n) {
        if (!ReadMore(fd, &buf, stopping_)) return;
      }
      req.body = buf.substr(0, n);
      buf.erase(0, n);
    }
    req.received = absl::Now();
    const bool close_after = http10 || Lower(req.Header("connection")) == "close";
    uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
      ++in_flight_;
      generation = release_generation_;
      cv_.notify_all();
    }
    HttpResponse r = NextResponse(req);
    auto done = [&] {
      std::lock_guard<std::mutex> lock(mu_);
      --in_flight_;
    };
    switch (r.action) {
      case HttpResponse::Action::kHang:
        Pause(r.delay, /*hang=*/true, generation);
        done();
        return;
      case HttpResponse::Action::kReset: {
        linger l{1, 0};  // close() then sends RST instead of FIN
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        done();
        return;
      }
      case HttpResponse::Action::kClose:
        done();
        return;
      case HttpResponse::Action::kRespond:
        break;
    }
    if (r.delay > absl::ZeroDuration() && !Pause(r.delay, /*hang=*/false, generation)) {
      done();
      return;
    }
    std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Length: {}\r\n", r.status,
                                  Reason(r.status), r.body.size());
    for (const auto& [k, v] : r.headers) out += fmt::format("{}: {}\r\n", k, v);
    out += close_after ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
    if (req.method != "HEAD") out += r.body;
    const bool sent = SendAll(fd, out);
    done();
    if (!sent || close_after) return;
  }
}

}  // namespace litesync::testing
