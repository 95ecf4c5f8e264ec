// SQLite helpers for tests: open, execute, query, and compare database content.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/handles.h"

namespace litesync::testing {

// Opens (creating) a database; dies on failure.
SqliteDb OpenDb(const std::string& path);
void ExecOrDie(sqlite3* db, const std::string& sql);
// Every row of the first column of `sql`, as text.
std::vector<std::string> QueryColumn(sqlite3* db, const std::string& sql);
std::string QueryOne(sqlite3* db, const std::string& sql);

// A deterministic dump of the schema and every table's rows (blobs in hex).
// Two databases with the same logical content give the same string.
absl::StatusOr<std::string> DumpContent(const std::string& path);
// "ok" when PRAGMA integrity_check passes, else its report (or an error text).
std::string IntegrityCheck(const std::string& path);

// A WAL-mode database with a table `t(id INTEGER PRIMARY KEY, v TEXT)`.
void CreateWalDb(const std::string& path);

}  // namespace litesync::testing
