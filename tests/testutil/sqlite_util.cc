#include "tests/testutil/sqlite_util.h"

#include "absl/strings/str_cat.h"
#include "fmt/format.h"
#include <gtest/gtest.h>

namespace litesync::testing {

SqliteDb OpenDb(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  SqliteDb db(raw);
  EXPECT_EQ(rc, SQLITE_OK) << "open " << path << ": " << sqlite3_errstr(rc);
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

void ExecOrDie(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
  sqlite3_free(err);
}

std::vector<std::string> QueryColumn(sqlite3* db, const std::string& sql) {
  std::vector<std::string> out;
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  SqliteStmt stmt(raw);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << sqlite3_errmsg(db);
  if (rc != SQLITE_OK) return out;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(raw, 0);
    out.emplace_back(t ? reinterpret_cast<const char*>(t) : "NULL");
  }
  EXPECT_EQ(rc, SQLITE_DONE) << sql << ": " << sqlite3_errmsg(db);
  return out;
}

std::string QueryOne(sqlite3* db, const std::string& sql) {
  auto rows = QueryColumn(db, sql);
  return rows.empty() ? "" : rows[0];
}

absl::StatusOr<std::string> DumpContent(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return absl::InternalError(absl::StrCat("open ", path, ": ", rc));
  sqlite3_busy_timeout(raw, 5000);
  std::string out;
  sqlite3_exec(raw, "BEGIN", nullptr, nullptr, nullptr);
  std::vector<std::pair<std::string, std::string>> objects;
  {
    sqlite3_stmt* s = nullptr;
    rc = sqlite3_prepare_v2(raw,
                            "SELECT type, name, coalesce(sql,'') FROM sqlite_schema "
                            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
                            -1, &s, nullptr);
    SqliteStmt stmt(s);
    if (rc != SQLITE_OK) return absl::InternalError(sqlite3_errmsg(raw));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      std::string type = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      std::string name = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
      out += fmt::format("{} {} {}\n", type, name,
                         reinterpret_cast<const char*>(sqlite3_column_text(s, 2)));
      if (type == "table") objects.emplace_back(type, name);
    }
    if (rc != SQLITE_DONE) return absl::InternalError(sqlite3_errmsg(raw));
  }
  for (const auto& [type, name] : objects) {
    sqlite3_stmt* s = nullptr;
    std::string sql = fmt::format("SELECT * FROM \"{}\" ORDER BY 1", name);
    rc = sqlite3_prepare_v2(raw, sql.c_str(), -1, &s, nullptr);
    SqliteStmt stmt(s);
    if (rc != SQLITE_OK) return absl::InternalError(sqlite3_errmsg(raw));
    out += "rows " + name + "\n";
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      int n = sqlite3_column_count(s);
      for (int i = 0; i < n; ++i) {
        switch (sqlite3_column_type(s, i)) {
          case SQLITE_NULL:
            out += "NULL";
            break;
          case SQLITE_BLOB: {
            const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(s, i));
            int len = sqlite3_column_bytes(s, i);
            out += "x'";
            for (int k = 0; k < len; ++k) out += fmt::format("{:02x}", p[k]);
            out += "'";
            break;
          }
          default:
            out += reinterpret_cast<const char*>(sqlite3_column_text(s, i));
        }
        out += i + 1 < n ? "|" : "\n";
      }
    }
    if (rc != SQLITE_DONE) return absl::InternalError(sqlite3_errmsg(raw));
  }
  sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
  return out;
}

std::string IntegrityCheck(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return absl::StrCat("open failed: ", sqlite3_errstr(rc));
  auto rows = QueryColumn(raw, "PRAGMA integrity_check");
  std::string out;
  for (const auto& r : rows) out += (out.empty() ? "" : "\n") + r;
  return out;
}

void CreateWalDb(const std::string& path) {
  SqliteDb db = OpenDb(path);
  ExecOrDie(db.get(), "PRAGMA journal_mode=WAL");
  ExecOrDie(db.get(), "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)");
}

}  // namespace litesync::testing
