// `litesync heartbeat -config X [-send]`: evaluates every heartbeat target now and
// prints, URLs redacted, whether it would ping and, when not, every unhealthy
// database and why. With `send`, pings each target that would ping once, ignoring
// its interval (a target that would not ping is never sent a down notification).
#pragma once

#include <string>

#include "absl/time/time.h"
#include "base/sync_record.h"

#include "cmd/config.h"
#include "heartbeat/heartbeat_options.h"
#include "heartbeat/pinger.h"

namespace litesync {

// Prints to stdout. Returns 0 when every target would ping (and, with `send`, every
// ping was answered 2xx); 1 otherwise, and also when no target is configured.
int RunHeartbeatCommand(const Config& config, const SyncRecordSource& records, bool send);

// The same at `now`, through `pinger`, appending the report to `out` (tests).
int RunHeartbeatCommand(const HeartbeatOptions& options, const SyncRecordSource& records, bool send,
                        absl::Time now, Pinger& pinger, std::string* out);

}  // namespace litesync
