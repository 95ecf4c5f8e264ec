#include "bench/s3_log_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <thread>

namespace litesync::bench {
namespace {

constexpr size_t kMaxHead = 64 * 1024;

long long NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

bool SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The request head with Connection/Keep-Alive replaced by "Connection: close".
std::string CloseAfterThis(const std::string& head) {
  std::string out;
  size_t start = 0;
  while (start < head.size()) {
    size_t end = head.find("\r\n", start);
    if (end == std::string::npos || end == start) break;
    std::string line = head.substr(start, end - start);
    std::string lower = Lower(line);
    if (lower.rfind("connection:", 0) != 0 && lower.rfind("keep-alive:", 0) != 0) {
      out += line + "\r\n";
    }
    start = end + 2;
  }
  return out + "Connection: close\r\n\r\n";
}

class Proxy {
 public:
  Proxy(int upstream_port, std::string strip, FILE* out)
      : upstream_port_(upstream_port), strip_(std::move(strip)), out_(out) {}

  void Log(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    std::fputs(line.c_str(), out_);
    std::fflush(out_);
  }

  void Start(int client) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {  // reap finished ones
      if (it->done) {
        it->thread.join();
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
    Conn& c = conns_.emplace_back();
    c.client = client;
    c.thread = std::thread([this, &c] {
      Serve(c);
      c.done = true;
    });
  }

  void StopAll() {
    std::unique_lock<std::mutex> lock(mu_);
    for (Conn& c : conns_) {
      if (c.client >= 0) ::shutdown(c.client, SHUT_RDWR);
      if (c.upstream >= 0) ::shutdown(c.upstream, SHUT_RDWR);
    }
    std::list<Conn> conns = std::move(conns_);
    lock.unlock();
    for (Conn& c : conns) c.thread.join();
  }

 private:
  struct Conn {
    int client = -1;
    int upstream = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  int Connect() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    if (fd >= 0) ::close(fd);
    return -1;
  }

  void Serve(Conn& c) {
    std::string head;
    char buf[64 * 1024];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < kMaxHead) {
      ssize_t n = ::recv(c.client, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    size_t end = head.find("\r\n\r\n");
    int up = end == std::string::npos ? -1 : Connect();
    if (up < 0) {
      CloseClient(c);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      c.upstream = up;
    }
    std::string request_line = head.substr(0, head.find("\r\n"));
    std::string first = CloseAfterThis(head.substr(0, end + 2)) + head.substr(end + 4);
    int status = SendAll(up, first.data(), first.size()) ? Pump(c.client, up) : 0;
    {
      std::lock_guard<std::mutex> lock(mu_);  // StopAll() must not shut down a reused fd
      c.upstream = -1;
      ::close(up);
    }
    CloseClient(c);
    Record(request_line, status);
  }

  void CloseClient(Conn& c) {
    std::lock_guard<std::mutex> lock(mu_);
    ::close(c.client);
    c.client = -1;
  }

  // Forwards both ways until the server closes; returns the final status (0 if
  // none) and sets last_ns_ (per thread) to when the answer's last byte went out.
  int Pump(int client, int up) {
    char buf[64 * 1024];
    std::string response_head;
    int status = 0;
    bool client_open = true;
    last_ns_ = NowNs();
    while (true) {
      pollfd fds[2] = {{up, POLLIN, 0}, {client, static_cast<short>(client_open ? POLLIN : 0), 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return status;
      }
      if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) {
          client_open = false;
          ::shutdown(up, SHUT_WR);
        } else if (!SendAll(up, buf, static_cast<size_t>(n))) {
          return status;
        }
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::recv(up, buf, sizeof buf, 0);
        if (n <= 0) return status;
        if (status == 0) status = ParseStatus(&response_head, buf, static_cast<size_t>(n));
        if (!SendAll(client, buf, static_cast<size_t>(n))) return status;
        last_ns_ = NowNs();
      }
    }
  }

  // Reads response heads as they arrive, skipping interim 1xx ones (100 Continue);
  // returns the final status once its line is complete, else 0.
  static int ParseStatus(std::string* head, const char* p, size_t n) {
    head->append(p, n);
    while (true) {
      size_t eol = head->find("\r\n");
      if (eol == std::string::npos || head->size() < 12) return 0;
      int status = std::atoi(head->c_str() + 9);  // "HTTP/1.1 200 OK"
      if (status >= 200) return status;
      size_t end = head->find("\r\n\r\n");
      if (end == std::string::npos) return 0;
      head->erase(0, end + 4);
    }
  }

  void Record(const std::string& request_line, int status) {
    long long ns = last_ns_;
    size_t sp1 = request_line.find(' ');
    size_t sp2 = request_line.find(' ', sp1 + 1);
    std::string method = request_line.substr(0, sp1);
    std::string target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    // Three fields, like every event line: "<ns> request <status>,<METHOD>,<target>".
    Log(std::to_string(ns) + " request " + std::to_string(status) + "," + method + "," + target +
        "\n");
    std::string path = target.substr(0, target.find('?'));
    std::string query =
        target.find('?') == std::string::npos ? "" : target.substr(target.find('?'));
    bool whole_put = method == "PUT" && query.find("partNumber=") == std::string::npos;
    bool complete = method == "POST" && query.find("uploadId=") != std::string::npos;
    if (status < 200 || status > 299 || !(whole_put || complete)) return;
    if (path.rfind(strip_, 0) != 0) return;
    Log(std::to_string(ns) + " moved " + PercentDecode(path.substr(strip_.size())) + "\n");
  }

  static thread_local long long last_ns_;
  int upstream_port_;
  std::string strip_;
  FILE* out_;
  std::mutex mu_;
  std::list<Conn> conns_;
};

thread_local long long Proxy::last_ns_ = 0;

int Listen(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 128) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

int RunS3LogProxy(int upstream_port, const std::string& strip, const std::string& events) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);  // before any thread: they inherit the mask
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  int port = 0;
  int lfd = Listen(&port);
  FILE* out = std::fopen(events.c_str(), "w");
  if (sfd < 0 || lfd < 0 || out == nullptr) {
    std::fprintf(stderr, "s3_log_proxy: setup: %s\n", std::strerror(errno));
    return 1;
  }
  Proxy proxy(upstream_port, strip, out);
  proxy.Log(std::to_string(NowNs()) + " listening " + std::to_string(port) + "\n");
  pollfd fds[2] = {{lfd, POLLIN, 0}, {sfd, POLLIN, 0}};
  while (true) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents & POLLIN) break;
    if (fds[0].revents & POLLIN) {
      int client = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) proxy.Start(client);
    }
  }
  ::close(lfd);
  proxy.StopAll();
  std::fclose(out);
  return 0;
}

}  // namespace litesync::bench
