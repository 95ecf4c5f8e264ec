// The status model behind `litesync status`, GET /status, /healthz and /metrics:
// built from copies of the sync records and heartbeat states (pure functions of
// their inputs and `now`), rendered as JSON (schema in docs/status.md) or as a
// table, and parsed back from the daemon's JSON. No I/O, no locks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/sync_record.h"
#include "base/time_format.h"

#include "heartbeat/heartbeat_status.h"

namespace litesync {

inline constexpr int kStatusSchemaVersion = 1;

// Most urgent first: a row shows the first state that applies.
enum class DbState {
  kNoDatabase,   // the database file does not exist
  kError,        // the last attempt failed, or validation failed
  kNeverSynced,  // no sync has succeeded yet
  kStale,        // the last success is older than the interval
  kWarning,      // replication is current, but the database itself has a problem
  kOk,
};
std::string_view DbStateName(DbState state);  // "no database", "error", ...
std::optional<DbState> ParseDbState(std::string_view name);

// One database x replica. Optional fields are unknown in this report's source
// (without the daemon, only the files and the replica can be read).
struct DbStatus {
  std::string path;
  std::string replica;  // redacted
  DbState state = DbState::kNeverSynced;
  bool healthy = false;  // the heartbeat rule
  std::string reason;    // why not `ok`; empty when ok
  bool database_exists = true;
  bool validation_failed = false;  // the last validation found the replica wrong
  std::optional<absl::Time> last_sync;
  std::optional<uint64_t> lineage;
  std::optional<uint64_t> local_txid;
  std::optional<uint64_t> replicated_txid;
  std::optional<uint64_t> behind_txns;
  std::optional<uint64_t> behind_bytes;
  std::optional<double> lag_seconds;
  std::optional<int64_t> wal_size;
  std::string last_error;  // empty: none
  std::optional<absl::Time> last_error_time;
  std::optional<uint64_t> sync_count;
  std::optional<uint64_t> sync_error_count;
  std::optional<uint64_t> bytes_written;
  std::optional<uint64_t> snapshot_count;
  // Problems of the database itself that do not stop its replication, e.g.
  // "checkpoint failing for 2m: database or disk is full"; shown whatever the state.
  std::vector<std::string> warnings;
  std::optional<uint64_t> checkpoint_error_count;
};

struct HeartbeatRow {
  std::string url;  // redacted
  std::optional<absl::Time> last_ping;
  std::optional<bool> last_ok;
  std::string last_result;
  std::optional<absl::Time> next_due;
  bool withholding = false;
  std::vector<std::string> reasons;
  std::optional<uint64_t> pings_sent;
  std::optional<uint64_t> pings_failed;
};

struct StatusReport {
  int schema = kStatusSchemaVersion;
  std::string source = "daemon";  // "daemon" or "direct"
  absl::Time generated_at = absl::UnixEpoch();
  std::optional<absl::Time> started_at;  // the daemon's start
  absl::Duration interval = absl::Minutes(5);
  bool healthy = false;  // at least one database, and every one healthy
  std::vector<std::string> notes;
  std::vector<DbStatus> databases;
  std::vector<HeartbeatRow> heartbeat;

  // "<db> (<replica>): <reason>" for each unhealthy row; "no databases" when empty.
  std::vector<std::string> UnhealthyReasons() const;
};

// Classifies every record at `now` under the one health rule (CheckRecord,
// heartbeat/health.h). Replica and heartbeat URLs are redacted
// again here (defense in depth).
StatusReport BuildStatus(const std::vector<SyncRecord>& records,
                         const std::vector<HeartbeatTargetStatus>& heartbeat, absl::Time now,
                         absl::Duration interval);

// The JSON document of GET /status and `status -json` (docs/status.md).
std::string RenderJson(const StatusReport& report);
// Reads RenderJson's output back; InvalidArgument naming the field on mismatch.
absl::StatusOr<StatusReport> ParseStatusJson(std::string_view text);
// The human table: the verdict ("healthy", "2 of 5 not ok", "no databases"),
// one row per database x replica, then the heartbeat targets. `width` > 0 (a
// terminal's columns): the LAST ERROR column is cut to fit, "..." marking the cut
// (the full text is in RenderJson).
std::string RenderTable(const StatusReport& report, size_t width = 0);

// A status's message as a std::string (Abseil 20220623's message() is its own
// absl::string_view, which fmt cannot format).
std::string MessageOf(const absl::Status& s);

std::string FormatBytes(uint64_t bytes);

}  // namespace litesync
