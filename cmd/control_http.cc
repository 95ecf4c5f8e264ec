#include "cmd/control_http.h"

#include <sys/un.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/status.h"
#include "fmt/format.h"

#include "replica/storage/http_client.h"

namespace litesync {
namespace {

constexpr size_t kMaxResponseBytes = 64 << 20;

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
  for (size_t at = eol + 2; at < head.size();) {
    size_t end = head.find("\r\n", at);
    if (end == std::string_view::npos || end == at) break;
    std::string_view line_h = head.substr(at, end - at);
    at = end + 2;
    size_t colon = line_h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line_h.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line_h.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name == "transfer-encoding") {
      return absl::InvalidArgumentError("Transfer-Encoding is not supported; send Content-Length");
    }
    if (name == "content-length") {
      auto [ptr, ec] =
          std::from_chars(value.data(), value.data() + value.size(), req.content_length);
      if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) {
        return absl::InvalidArgumentError("malformed Content-Length");
      }
    }
  }
  return req;
}

std::string_view ReasonPhrase(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

std::string FormatResponse(int code, std::string_view content_type, std::string_view body,
                           bool head_only, std::string_view allow) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
      "{}Connection: close\r\n\r\n",
      code, ReasonPhrase(code), content_type, body.size(),
      code == 405 ? fmt::format("Allow: {}\r\n", allow) : "");
  if (!head_only) out.append(body);
  return out;
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

namespace {

absl::StatusOr<HttpResult> UnixRequest(const std::string& socket_path, std::string_view method,
                                       std::string_view path, std::string_view request_body,
                                       absl::Duration timeout) {
  if (socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(
        fmt::format("socket path {} is too long ({} bytes, at most {})", socket_path,
                    socket_path.size(), sizeof(sockaddr_un::sun_path) - 1));
  }
  HttpRequest req;
  req.method = std::string(method);
  req.url = fmt::format("http://localhost{}", path);
  req.body = request_body;
  if (method == "POST") req.headers.push_back({"Content-Type", "application/json"});
  req.unix_socket = socket_path;
  req.connect_timeout = req.timeout = req.stall_timeout = timeout;
  std::string body;
  req.sink = [&body](const HttpHead&, std::string_view data) -> absl::Status {
    if (body.size() + data.size() > kMaxResponseBytes) {
      return absl::ResourceExhaustedError("response too large");
    }
    body.append(data);
    return absl::OkStatus();
  };
  HttpClient client;
  absl::StatusOr<HttpResponse> r = client.Do(req);
  if (!r.ok()) {
    return Annotate(r.status(), fmt::format("{} {} from {}", method, path, socket_path));
  }
  HttpResult result;
  result.code = static_cast<int>(r->status);
  result.body = r->status / 100 == 2 ? std::move(body) : std::move(r->body);
  return result;
}

}  // namespace

absl::StatusOr<HttpResult> HttpGetUnix(const std::string& socket_path, std::string_view path,
                                       absl::Duration timeout) {
  return UnixRequest(socket_path, "GET", path, "", timeout);
}

absl::StatusOr<HttpResult> HttpPostUnix(const std::string& socket_path, std::string_view path,
                                        std::string_view body, absl::Duration timeout) {
  return UnixRequest(socket_path, "POST", path, body, timeout);
}

}  // namespace litesync
