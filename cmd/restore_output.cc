#include "cmd/restore_output.h"

#include "base/handles.h"
#include "base/time_format.h"
#include "fmt/format.h"
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "replica/format/tx_file_info.h"

namespace litesync {

bool ParseIntegrityCheck(std::string_view s, IntegrityCheck* out) {
  if (s == "none") {
    *out = IntegrityCheck::kNone;
  } else if (s == "quick") {
    *out = IntegrityCheck::kQuick;
  } else if (s == "full") {
    *out = IntegrityCheck::kFull;
  } else {
    return false;
  }
  return true;
}

std::string_view IntegrityCheckName(IntegrityCheck c) {
  switch (c) {
    case IntegrityCheck::kNone:
      return "none";
    case IntegrityCheck::kQuick:
      return "quick";
    case IntegrityCheck::kFull:
      return "full";
  }
  return "none";
}

absl::Status CheckIntegrity(const std::string& path, IntegrityCheck check) {
  if (check == IntegrityCheck::kNone) return absl::OkStatus();
  const char* pragma =
      check == IntegrityCheck::kQuick ? "PRAGMA quick_check(10)" : "PRAGMA integrity_check(10)";
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) {
    return absl::InternalError(fmt::format("open {} for the integrity check: {}", path,
                                           raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_stmt* stmt_raw = nullptr;
  rc = sqlite3_prepare_v2(db.get(), pragma, -1, &stmt_raw, nullptr);
  SqliteStmt stmt(stmt_raw);
  if (rc != SQLITE_OK) {
    return absl::InternalError(fmt::format("{} on {}: {}", pragma, path, sqlite3_errmsg(db.get())));
  }
  std::vector<std::string> rows;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
    rows.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
  }
  if (rc != SQLITE_DONE) {
    return absl::DataLossError(
        fmt::format("{} on {} failed: {}", pragma, path, sqlite3_errmsg(db.get())));
  }
  if (rows.size() == 1 && rows[0] == "ok") return absl::OkStatus();
  std::string problems;
  for (const std::string& r : rows) problems += (problems.empty() ? "" : "; ") + r;
  return absl::DataLossError(
      fmt::format("{}: the restored database fails the {} integrity "
                  "check: {}",
                  path, IntegrityCheckName(check), problems));
}

std::string RestoreReportJson(const RestoreReport& r) {
  nlohmann::ordered_json j;
  j["status"] = r.status;
  if (r.status == "failed") {
    j["error"] = r.reason;
  } else if (!r.reason.empty()) {
    j["reason"] = r.reason;
  }
  j["output"] = r.output;
  if (r.plan != nullptr) {
    const RestorePlan& p = *r.plan;
    j["replica"] = r.replica;
    j["format"] = "litesync";
    j["lineage"] = LineageName(p.lineage);
    j["txid"] = TxidString(p.txid);
    j["time"] = FormatTimestamp(p.timestamp);
    j["bytes"] = p.bytes;
    nlohmann::ordered_json files = nlohmann::ordered_json::array();
    for (const TxFileInfo& f : p.files) {
      files.push_back({{"path", f.RelativePath()},
                       {"level", f.level},
                       {"min_txid", TxidString(f.min_txid)},
                       {"max_txid", TxidString(f.max_txid)},
                       {"size", f.size}});
    }
    j["files"] = std::move(files);
  } else if (r.litestream != nullptr) {
    const LitestreamPlan& p = *r.litestream;
    j["replica"] = r.replica;
    if (p.format == LitestreamFormat::kV3) {
      j["format"] = "litestream-v0.3";
      j["generation"] = p.generation;
    } else {
      j["format"] = "litestream-v0.5";
    }
    if (p.txid) j["txid"] = TxidString(*p.txid);
    j["time"] = FormatTimestamp(p.timestamp);
    j["bytes"] = p.bytes;
    nlohmann::ordered_json files = nlohmann::ordered_json::array();
    for (const ObjectInfo& o : p.objects) files.push_back({{"path", o.key}, {"size", o.size}});
    j["files"] = std::move(files);
  }
  if (r.status == "restored") {
    j["integrity_check"] = std::string(IntegrityCheckName(r.integrity_check));
    j["elapsed_seconds"] = absl::ToDoubleSeconds(r.elapsed);
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace litesync
