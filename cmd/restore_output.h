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

#include "replica/compat/litestream.h"
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
  std::string replica;                         // redacted
  const RestorePlan* plan = nullptr;           // planned or restored from litesync's files
  const LitestreamPlan* litestream = nullptr;  // ... or from Litestream's
  IntegrityCheck integrity_check = IntegrityCheck::kNone;
  absl::Duration elapsed;
};

// One JSON object, with a trailing newline: status, output, and when there is a
// plan: replica, format ("litesync", "litestream-v0.3" or "litestream-v0.5"),
// what it restores (litesync: lineage and txid; Litestream: generation, or txid
// for v0.5; txids are 16 hex digits), time (RFC 3339), bytes, and files
// (litesync: [{path, level, min_txid, max_txid, size}]; Litestream: [{path,
// size}], paths relative to the replica); reason/error, integrity_check and
// elapsed_seconds where they apply.
std::string RestoreReportJson(const RestoreReport& report);

}  // namespace litesync
