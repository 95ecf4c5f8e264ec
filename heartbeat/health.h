// The heartbeat rule as a pure function over sync records: whether every database a
// target covers is being replicated at `now`, and why the others are not.
// No I/O, no locks, no clock: O(records + configured databases). Thread-compatible.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/sync_record.h"

#include "heartbeat/heartbeat_options.h"

namespace litesync {

// Intervals below this are clamped (also by the config parser); it is also the
// shortest spacing between two pings of one target.
inline constexpr absl::Duration kMinHeartbeatInterval = absl::Minutes(1);

// max(target.interval, kMinHeartbeatInterval).
absl::Duration EffectiveInterval(const HeartbeatTarget& target);

// Why one record (or one configured database) keeps the target from pinging.
struct DbProblem {
  std::string db;
  std::string replica;  // the record's replica; empty for "database not configured"
  // "never synced", "last sync too old", "sync error", "database missing",
  // "validation failed", "database not configured", "no databases".
  std::string reason;
  std::string error;  // the record's last error, when it has one
  absl::Duration last_sync_age = absl::InfiniteDuration();  // infinite: never synced
  // "/data/a.db (s3://bkt/a): last sync too old (6m12s ago, interval 5m)"
  std::string Describe(absl::Duration interval) const;
};

// THE health rule, for one record; every judge of health (the heartbeat, `status`,
// /healthz, /status, `litesync heartbeat`) goes through it. A record is healthy
// (reason left empty) when it synced at least once, its last success is within
// `interval` of `now`, and it is neither missing nor failing validation.
DbProblem CheckRecord(const SyncRecord& r, absl::Time now, absl::Duration interval);

struct Verdict {
  bool healthy = false;
  int databases = 0;                 // distinct databases the target covers
  std::vector<DbProblem> problems;   // in record order, then unmatched configured names
  std::vector<std::string> reasons;  // problems[i].Describe(interval), for logs and status
  // now - the oldest last success among the covered records; infinite when one never
  // synced; zero when there are none or clocks disagree.
  absl::Duration worst_lag = absl::ZeroDuration();
};

// A database is healthy when each of its records passes CheckRecord. The verdict
// is healthy when at least one database is covered and all covered databases are
// healthy. `databases` selects by SyncRecord::db (empty: all);
// a name that matches no record is a problem ("database not configured").
Verdict Evaluate(std::span<const SyncRecord> records, absl::Time now, absl::Duration interval,
                 std::span<const std::string> databases = {});
// The same with the target's effective interval and database subset.
Verdict Evaluate(std::span<const SyncRecord> records, absl::Time now,
                 const HeartbeatTarget& target);

// One line for a down notification's {msg}: "OK" when healthy, the single reason,
// or "3 problems: <reason>; <reason>; <reason>". Not truncated.
std::string Summarize(const Verdict& verdict);

}  // namespace litesync
