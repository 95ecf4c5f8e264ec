// Sends heartbeat pings: one HTTP request per target, all of a check's requests at
// once, each bounded by its own timeout, and aborted when the stop signal fires.
// A Pinger is used by one thread at a time.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/clock.h"

namespace litesync {

struct PingRequest {
  std::string url;                             // expanded, a secret: never logged as is
  std::string method = "GET";                  // GET, POST or HEAD
  absl::Duration timeout = absl::Seconds(30);  // the whole request, redirects included
};

struct PingResult {
  bool ok = false;       // answered 2xx
  bool stopped = false;  // aborted (or never started) because the stop signal fired
  int http_status = 0;   // 0 when no response arrived
  std::string error;     // empty when ok: "HTTP 503", "Connection refused ...", ...
  absl::Duration elapsed = absl::ZeroDuration();
};

class Pinger {
 public:
  virtual ~Pinger() = default;
  // Sends every request concurrently and returns one result per request, in order,
  // once all are done. When `stop` fires, requests in flight are abandoned and
  // report `stopped`; when it fired before the call, nothing is sent.
  virtual std::vector<PingResult> Send(std::span<const PingRequest> requests,
                                       const StopSignal& stop) = 0;
};

// libcurl: no signals, connect timeout min(timeout, 10s), at most 3 redirects
// (http and https only), response body discarded. Error texts never contain the URL.
std::unique_ptr<Pinger> NewCurlPinger();

}  // namespace litesync
