// The small slice of HTTP/1.1 the control endpoint speaks: parsing a request
// head, formatting a Connection: close response, and a bounded GET over a Unix
// socket through libcurl (what `litesync status` uses to ask the daemon).
// Thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace litesync {

struct HttpRequestHead {
  std::string method;         // "GET"
  std::string path;           // "/status", without the query string
  size_t content_length = 0;  // the Content-Length header; 0 without one
};

// Parses "METHOD SP target SP HTTP/1.x CRLF headers CRLF CRLF" (the bytes up to
// and including the blank line). InvalidArgument on anything else, including a
// Content-Length that is not a number and Transfer-Encoding (bodies must have a
// Content-Length).
absl::StatusOr<HttpRequestHead> ParseRequestHead(std::string_view head);

// A complete response with Content-Length and Connection: close. With
// `head_only` the body is left out (HEAD) but Content-Length still counts it.
// A 405 lists `allow` in its Allow header.
std::string FormatResponse(int code, std::string_view content_type, std::string_view body,
                           bool head_only = false, std::string_view allow = "GET, HEAD");
std::string_view ReasonPhrase(int code);

struct HttpResult {
  int code = 0;
  std::string body;
};

// GET `path` from an HTTP server on the Unix socket `socket_path`; every step
// bounded by `timeout`. Errors keep errno's code: NotFound (no socket file),
// Unavailable (connection refused: nobody listening), PermissionDenied.
absl::StatusOr<HttpResult> HttpGetUnix(const std::string& socket_path, std::string_view path,
                                       absl::Duration timeout = absl::Seconds(5));

// POST `body` (application/json) to `path` on the Unix socket; otherwise as HttpGetUnix.
absl::StatusOr<HttpResult> HttpPostUnix(const std::string& socket_path, std::string_view path,
                                        std::string_view body,
                                        absl::Duration timeout = absl::Seconds(5));

// HttpGetUnix on each of `sockets` in turn: the first 200 answer, its socket in
// *socket. When none answers 200, the first socket's result and *socket = sockets[0].
absl::StatusOr<HttpResult> HttpGetFirstUnix(const std::vector<std::string>& sockets,
                                            std::string_view path, std::string* socket,
                                            absl::Duration timeout = absl::Seconds(5));

}  // namespace litesync
