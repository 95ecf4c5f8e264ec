#include "cmd/control_http.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/handles.h"
#include "base/status.h"
#include "fmt/format.h"

namespace litesync {
namespace {

constexpr size_t kMaxResponseBytes = 64 << 20;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c);
}

}  // namespace

absl::StatusOr<HttpRequestHead> ParseRequestHead(std::string_view head) {
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return absl::InvalidArgumentError("no request line");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError("malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty()) return absl::InvalidArgumentError("empty method");
  for (char c : method) {
    if (!IsTokenChar(c)) return absl::InvalidArgumentError("malformed method");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return absl::InvalidArgumentError("unsupported HTTP version");
  }
  if (target.empty() || target[0] != '/') {
    return absl::InvalidArgumentError("request target must be an absolute path");
  }
  HttpRequestHead req;
  req.method = std::string(method);
  req.path = std::string(target.substr(0, target.find_first_of("?#")));
  return req;
}

std::string_view ReasonPhrase(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string FormatResponse(int code, std::string_view content_type, std::string_view body,
                           bool head_only) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
      "{}Connection: close\r\n\r\n",
      code, ReasonPhrase(code), content_type, body.size(),
      code == 405 ? "Allow: GET, HEAD\r\n" : "");
  if (!head_only) out.append(body);
  return out;
}

absl::StatusOr<HttpResult> ParseResponse(std::string_view raw) {
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    return absl::DataLossError("truncated HTTP response (no end of headers)");
  }
  std::string_view head = raw.substr(0, head_end);
  std::string_view body = raw.substr(head_end + 4);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.substr(0, 7) != "HTTP/1." || status_line.size() < 12) {
    return absl::InvalidArgumentError(fmt::format("malformed status line \"{}\"", status_line));
  }
  HttpResult result;
  auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, result.code);
  if (ec != std::errc() || p != status_line.data() + 12) {
    return absl::InvalidArgumentError(fmt::format("malformed status line \"{}\"", status_line));
  }
  std::string_view headers = eol == std::string_view::npos ? "" : head.substr(eol + 2);
  while (!headers.empty()) {
    size_t e = headers.find("\r\n");
    std::string_view h = headers.substr(0, e);
    headers = e == std::string_view::npos ? "" : headers.substr(e + 2);
    size_t colon = h.find(':');
    if (colon == std::string_view::npos ||
        !EqualsIgnoreCase(h.substr(0, colon), "content-length")) {
      continue;
    }
    std::string_view v = Trim(h.substr(colon + 1));
    size_t len = 0;
    auto [q, ec2] = std::from_chars(v.data(), v.data() + v.size(), len);
    if (ec2 != std::errc() || q != v.data() + v.size()) {
      return absl::InvalidArgumentError("malformed Content-Length");
    }
    if (body.size() < len) {
      return absl::DataLossError(
          fmt::format("truncated HTTP response ({} of {} body bytes)", body.size(), len));
    }
    body = body.substr(0, len);
  }
  result.body = std::string(body);
  return result;
}

absl::StatusOr<HttpResult> HttpGetFirstUnix(const std::vector<std::string>& sockets,
                                            std::string_view path, std::string* socket,
                                            absl::Duration timeout) {
  absl::StatusOr<HttpResult> first = absl::NotFoundError("no control socket");
  for (size_t i = 0; i < sockets.size(); ++i) {
    absl::StatusOr<HttpResult> r = HttpGetUnix(sockets[i], path, timeout);
    if (r.ok() && r->code == 200) {
      *socket = sockets[i];
      return r;
    }
    if (i == 0) first = std::move(r);
  }
  *socket = sockets.empty() ? "" : sockets[0];
  return first;
}

absl::StatusOr<HttpResult> HttpGetUnix(const std::string& socket_path, std::string_view path,
                                       absl::Duration timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        fmt::format("socket path {} is too long ({} bytes, at most {})", socket_path,
                    socket_path.size(), sizeof(addr.sun_path) - 1));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "socket");
  timeval tv{};
  tv.tv_sec = absl::ToInt64Seconds(timeout);
  tv.tv_usec = absl::ToInt64Microseconds(timeout - absl::Seconds(tv.tv_sec));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, fmt::format("connect {}", socket_path));
  }
  const absl::Time deadline = absl::Now() + timeout;
  std::string request =
      fmt::format("GET {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, fmt::format("send to {}", socket_path));
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[16384];
  while (true) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(fmt::format("read {}: timed out", socket_path));
    }
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return absl::DeadlineExceededError(fmt::format("read {}: timed out", socket_path));
    }
    if (n < 0) return ErrnoStatus(errno, fmt::format("read {}", socket_path));
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (raw.size() > kMaxResponseBytes) {
      return absl::ResourceExhaustedError(fmt::format("read {}: response too large", socket_path));
    }
  }
  absl::StatusOr<HttpResult> result = ParseResponse(raw);
  if (!result.ok())
    return Annotate(result.status(), fmt::format("GET {} from {}", path, socket_path));
  return result;
}

}  // namespace litesync
