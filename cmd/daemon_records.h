// Sync records for one-shot commands (`litesync heartbeat`): the running daemon's,
// read over its control socket; without a daemon, what the files and replicas
// show (the last sync is then the newest tx file's capture time, so a database
// with no writes for a while looks behind). Main thread only.
#pragma once

#include <string>
#include <vector>

#include "base/sync_record.h"

#include "cmd/config.h"
#include "cmd/status_report.h"

namespace litesync {

class RecordList : public SyncRecordSource {
 public:
  explicit RecordList(std::vector<SyncRecord> records) : records_(std::move(records)) {}
  std::vector<SyncRecord> Snapshot() const override { return records_; }

 private:
  std::vector<SyncRecord> records_;
};

// The sync records a status report stands for: every input of the health rule
// (CheckRecord) round-trips, so `litesync heartbeat` judges the daemon's
// databases exactly as the daemon's own heartbeat does.
std::vector<SyncRecord> RecordsFromReport(const StatusReport& report);

// The records and, in `note`, where they came from (for the user).
std::vector<SyncRecord> ReadSyncRecords(const Config& config, std::string* note);

}  // namespace litesync
