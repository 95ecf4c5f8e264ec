// SQLite result codes as absl::Status, with sqlite3_errmsg's detail.
#pragma once

#include <string_view>

#include "absl/status/status.h"

struct sqlite3;

namespace litesync {

// SQLite result code -> Status with sqlite3_errmsg(db) (db may be null).
absl::Status SqliteStatus(sqlite3* db, int rc, std::string_view context);

}  // namespace litesync
