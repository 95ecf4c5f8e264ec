// Read-only view of the heartbeat's state for `status`, /status and /metrics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace litesync {

struct HeartbeatTargetStatus {
  std::string url;                              // redacted
  absl::Time last_ping = absl::InfinitePast();  // last attempt
  bool last_ok = false;
  std::string last_result;  // "HTTP 200", "connection refused", ...
  absl::Time next_due = absl::InfinitePast();
  bool withholding = false;          // health is bad: no ping until it recovers
  std::vector<std::string> reasons;  // "/data/a.db: last sync 6m12s ago (interval 5m)"
  uint64_t pings_sent = 0;
  uint64_t pings_failed = 0;
  absl::Time last_success = absl::InfinitePast();  // last ping answered 2xx
  // Health went bad and has not recovered; the one down notification (fail-url, or
  // status=down for a {status} URL) has been attempted when the target has one.
  bool down = false;
};

class HeartbeatStatusSource {
 public:
  virtual ~HeartbeatStatusSource() = default;
  virtual std::vector<HeartbeatTargetStatus> TargetStatuses() const = 0;
};

}  // namespace litesync
