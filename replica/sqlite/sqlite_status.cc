#include "replica/sqlite/sqlite_status.h"

#include "fmt/format.h"
#include <sqlite3.h>

namespace litesync {

absl::Status SqliteStatus(sqlite3* db, int rc, std::string_view context) {
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  absl::StatusCode code = absl::StatusCode::kInternal;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = absl::StatusCode::kUnavailable;
      break;
    case SQLITE_CANTOPEN:
      code = absl::StatusCode::kNotFound;
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      code = absl::StatusCode::kFailedPrecondition;
      break;
    case SQLITE_FULL:
      code = absl::StatusCode::kResourceExhausted;
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
      code = absl::StatusCode::kPermissionDenied;
      break;
    default:
      break;
  }
  return absl::Status(code, fmt::format("{}: {} (sqlite {})", context, detail, rc));
}

}  // namespace litesync
