#include "cmd/status_report.h"

#include <algorithm>

#include "base/secret.h"
#include "fmt/format.h"

#include "heartbeat/health.h"

namespace litesync {
namespace {

constexpr std::string_view kStateNames[] = {"no database", "error",   "never synced",
                                            "stale",       "warning", "ok"};

// Fills the health verdict (heartbeat rule), the state and its reason.
// The state and reason a row shows. Whether it is healthy is the one health rule's
// (CheckRecord, heartbeat/health.h); this only words it for the status table.
void Classify(const SyncRecord& r, absl::Time now, absl::Duration interval, DbStatus* d) {
  const DbProblem problem = CheckRecord(r, now, interval);
  std::string unhealthy;
  if (problem.reason.empty()) {
    // healthy
  } else if (problem.reason == "database missing") {
    unhealthy = "database file does not exist";
  } else if (problem.reason == "validation failed") {
    unhealthy = "validation failed";
  } else if (problem.last_sync_age == absl::InfiniteDuration()) {
    unhealthy = "never synced";
  } else {
    unhealthy = fmt::format("last sync {} ago (interval {})", FormatAge(problem.last_sync_age),
                            FormatAge(interval));
  }
  d->healthy = unhealthy.empty();

  if (r.database_missing) {
    d->state = DbState::kNoDatabase;
    d->reason = unhealthy;
  } else if (r.validation_failed || !r.last_error.ok()) {
    d->state = DbState::kError;
    d->reason = r.validation_failed ? "validation failed" : "last attempt failed";
    if (!r.last_error.ok()) d->reason += ": " + MessageOf(r.last_error);
    if (!r.validation_failed && !unhealthy.empty()) d->reason += "; " + unhealthy;
  } else if (!r.SyncedOnce()) {
    d->state = DbState::kNeverSynced;
    d->reason = unhealthy;
  } else if (!d->healthy) {
    d->state = DbState::kStale;
    d->reason = unhealthy;
  } else if (!d->warnings.empty()) {
    d->state = DbState::kWarning;
    d->reason = d->warnings.front();
  } else {
    d->state = DbState::kOk;
  }
}

DbStatus FromRecord(const SyncRecord& r, absl::Time now, absl::Duration interval) {
  DbStatus d;
  d.path = r.db;
  d.replica = RedactUrl(r.replica);
  d.database_exists = !r.database_missing;
  d.validation_failed = r.validation_failed;
  if (r.SyncedOnce()) d.last_sync = r.last_success;
  d.lineage = r.lineage;
  d.local_txid = r.local_txid;
  d.replicated_txid = r.replicated_txid;
  d.behind_txns = r.local_txid > r.replicated_txid ? r.local_txid - r.replicated_txid : 0;
  d.behind_bytes = r.pending_bytes;
  // Caught up: nothing is at risk. Behind: the replica has been missing commits at
  // least since its last success (or, never synced, since the newest commit was seen).
  if (*d.behind_txns == 0) {
    d.lag_seconds = 0;
  } else if (absl::Time since = r.SyncedOnce() ? r.last_success : r.last_commit_seen;
             since != absl::InfinitePast()) {
    d.lag_seconds = absl::ToDoubleSeconds(std::max(now - since, absl::ZeroDuration()));
  }
  d.wal_size = r.wal_size;
  if (!r.last_error.ok()) {
    d.last_error = MessageOf(r.last_error);
    if (r.last_error_time != absl::InfinitePast()) d.last_error_time = r.last_error_time;
  }
  d.sync_count = r.sync_count;
  d.sync_error_count = r.sync_error_count;
  d.bytes_written = r.bytes_written;
  d.snapshot_count = r.snapshot_count;
  d.checkpoint_error_count = r.checkpoint_error_count;
  if (!r.checkpoint_error.ok()) {
    // The application's own disk or file: replication may well be current.
    d.warnings.push_back(
        fmt::format("checkpoint failing for {}: {}",
                    FormatAge(std::max(now - r.checkpoint_failing_since, absl::ZeroDuration())),
                    MessageOf(r.checkpoint_error)));
  }
  Classify(r, now, interval, &d);
  return d;
}

HeartbeatRow FromTarget(const HeartbeatTargetStatus& t) {
  HeartbeatRow h;
  h.url = RedactUrl(t.url, /*mask_path=*/true);
  if (t.last_ping != absl::InfinitePast()) {
    h.last_ping = t.last_ping;
    h.last_ok = t.last_ok;
    h.last_result = t.last_result;
  }
  if (t.next_due != absl::InfinitePast()) h.next_due = t.next_due;
  h.withholding = t.withholding;
  h.reasons = t.reasons;
  h.pings_sent = t.pings_sent;
  h.pings_failed = t.pings_failed;
  return h;
}

}  // namespace

std::string_view DbStateName(DbState state) { return kStateNames[static_cast<int>(state)]; }

std::optional<DbState> ParseDbState(std::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kStateNames)); ++i) {
    if (kStateNames[i] == name) return static_cast<DbState>(i);
  }
  return std::nullopt;
}

std::vector<std::string> StatusReport::UnhealthyReasons() const {
  std::vector<std::string> out;
  if (databases.empty()) out.push_back("no databases");
  for (const DbStatus& d : databases) {
    if (!d.healthy) out.push_back(fmt::format("{} ({}): {}", d.path, d.replica, d.reason));
  }
  return out;
}

StatusReport BuildStatus(const std::vector<SyncRecord>& records,
                         const std::vector<HeartbeatTargetStatus>& heartbeat, absl::Time now,
                         absl::Duration interval) {
  StatusReport report;
  report.generated_at = now;
  report.interval = interval;
  for (const SyncRecord& r : records) report.databases.push_back(FromRecord(r, now, interval));
  report.healthy =
      !report.databases.empty() && std::all_of(report.databases.begin(), report.databases.end(),
                                               [](const DbStatus& d) { return d.healthy; });
  for (const HeartbeatTargetStatus& t : heartbeat) report.heartbeat.push_back(FromTarget(t));
  return report;
}

std::string MessageOf(const absl::Status& s) {
  return std::string(s.message().data(), s.message().size());
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes) / 1024;
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    ++i;
  }
  return fmt::format("{:.1f} {}", v, units[i]);
}

}  // namespace litesync
