// A small libcurl easy wrapper: one request at a time, the connection kept for the
// next one. Bodies come from memory or stream from a ByteSource with a plain
// Content-Length (never chunked); response bodies go to memory or to a sink.
// Every call is bounded by a connect timeout, a total timeout and a stall timeout.
// TLS peers are verified unless skip_verify. CURLOPT_VERBOSE is never set (it
// prints Authorization). curl_global_init must have run (main does it).
// Not thread-safe: one HttpClient per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "replica/storage/replica_client.h"
#include "replica/storage/s3/sigv4.h"

namespace litesync {

// Status line and headers of a response (names lower-cased).
struct HttpHead {
  long status = 0;
  HeaderList headers;
  // The first value of `name` (lower case), "" when absent.
  std::string Header(std::string_view name) const;
};

struct HttpResponse : HttpHead {
  std::string body;  // the body, unless it went to the sink
};

// Receives the body of a 2xx response as it arrives; an error aborts the transfer.
using BodySink = std::function<absl::Status(const HttpHead& head, std::string_view data)>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;  // sent as given; "Expect:" is always suppressed
  // The body: a ByteSource streamed from Open() (it must yield exactly Size()
  // bytes), else `body` from memory. Both must outlive the call.
  const ByteSource* body_source = nullptr;
  std::string_view body;
  // Where a 2xx body goes; null: into HttpResponse::body. Other bodies (errors)
  // always go to memory, truncated at 64 KiB.
  BodySink sink;
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration timeout = absl::Seconds(60);  // whole request; zero: none
  // Aborts when fewer than 1 KiB/s move for this long (rounded up to seconds).
  absl::Duration stall_timeout = absl::Seconds(60);
  bool skip_verify = false;
  // Non-empty: connect to this Unix socket instead of the URL's host and port
  // (the URL still gives the path and the Host header). A failed connect keeps
  // errno's code: NotFound (no socket file), Unavailable (nobody listening),
  // PermissionDenied.
  std::string unix_socket;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any HTTP status is a response. Transport failures are Unavailable (refused,
  // reset, DNS, TLS) or DeadlineExceeded (timeouts), naming the URL's scheme, host
  // and port (never its query); a failing body source or sink returns its status.
  absl::StatusOr<HttpResponse> Do(const HttpRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "http://127.0.0.1:9000" from "http://127.0.0.1:9000/bkt/key?x=1".
std::string UrlOrigin(std::string_view url);

}  // namespace litesync
