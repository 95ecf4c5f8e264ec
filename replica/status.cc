#include "replica/status.h"

#include <string>

#include "fmt/format.h"
#include <sqlite3.h>

namespace litesync {

absl::Status Annotate(const absl::Status& s, std::string_view context) {
  if (s.ok()) return s;
  return absl::Status(
      s.code(),
      fmt::format("{}: {}", context, std::string_view(s.message().data(), s.message().size())));
}

absl::Status ErrnoStatus(int err, std::string_view context) {
  absl::Status s = absl::ErrnoToStatus(err, "");
  std::string msg(s.message().data(), s.message().size());
  while (!msg.empty() && (msg.back() == ' ' || msg.back() == ':')) msg.pop_back();
  size_t start = msg.find_first_not_of(": ");  // ErrnoToStatus("") yields ": <strerror>"
  msg = start == std::string::npos ? std::string() : msg.substr(start);
  return absl::Status(s.code(), fmt::format("{}: {}", context, msg));
}

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
