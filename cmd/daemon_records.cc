#include "cmd/daemon_records.h"

#include "base/clock.h"
#include "fmt/format.h"

#include "cmd/control_http.h"
#include "cmd/control_server.h"
#include "cmd/status_command.h"
#include "cmd/status_report.h"
#include "replica/storage/replica_client.h"

namespace litesync {

std::vector<SyncRecord> RecordsFromReport(const StatusReport& report) {
  std::vector<SyncRecord> out;
  for (const DbStatus& d : report.databases) {
    SyncRecord r;
    r.db = d.path;
    r.replica = d.replica;
    r.last_success = d.last_sync.value_or(absl::InfinitePast());
    r.lineage = d.lineage.value_or(0);
    r.local_txid = d.local_txid.value_or(0);
    r.replicated_txid = d.replicated_txid.value_or(0);
    r.wal_size = d.wal_size.value_or(0);
    r.database_missing = !d.database_exists;
    r.validation_failed = d.validation_failed;
    if (!d.last_error.empty()) {
      r.last_error = absl::UnknownError(d.last_error);
      r.last_error_time = d.last_error_time.value_or(absl::InfinitePast());
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<SyncRecord> ReadSyncRecords(const Config& config, std::string* note) {
  std::string socket;
  absl::StatusOr<HttpResult> answer =
      HttpGetFirstUnix(ControlSocketCandidates(config), "/status", &socket);
  if (answer.ok() && answer->code == 200) {
    absl::StatusOr<StatusReport> report = ParseStatusJson(answer->body);
    if (report.ok()) {
      *note = fmt::format("sync records of the running daemon (socket {})", socket);
      return RecordsFromReport(*report);
    }
  }
  *note = fmt::format(
      "no daemon answered on {}: read the replicas directly (last sync = newest tx file)", socket);
  StatusReport direct = ReadStatusDirect(
      config, [](const ReplicaOptions& o) { return NewReplicaClient(o); }, Clock::Real()->Now(),
      HealthInterval(config));
  return RecordsFromReport(direct);
}

}  // namespace litesync
