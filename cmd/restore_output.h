// What `litesync restore` reports besides restoring: the -integrity-check run on
// the restored file before it is moved into place, and the -json document (the
// plan under -dry-run, else the result). Main thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

#include "replica/restore/restore.h"

namespace litesync {

enum class IntegrityCheck { kNone, kQuick, kFull };  // -integrity-check none|quick|full

// false when `s` is not none, quick or full.
bool ParseIntegrityCheck(std::string_view s, IntegrityCheck* out);
std::string_view IntegrityCheckName(IntegrityCheck c);

// Runs PRAGMA quick_check (kQuick) or integrity_check (kFull) on the database file
// at `path`, read-only; DataLoss naming the first problems when it is not "ok".
absl::Status CheckIntegrity(const std::string& path, IntegrityCheck check);

// One restore's outcome for -json.
struct RestoreReport {
  std::string status;  // "planned" (dry run), "restored", "skipped" or "failed"
  std::string reason;  // why skipped; the error when failed
  std::string output;
  std::string replica;                // redacted
  const RestorePlan* plan = nullptr;  // planned or restored
  IntegrityCheck integrity_check = IntegrityCheck::kNone;
  absl::Duration elapsed;
};

// One JSON object, with a trailing newline: status, output, and when there is a
// plan: replica, lineage, txid (16 hex digits), time (RFC 3339), bytes, files
// [{path, level, min_txid, max_txid, size}]; reason/error and elapsed_seconds
// where they apply.
std::string RestoreReportJson(const RestoreReport& report);

}  // namespace litesync
