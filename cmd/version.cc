#include "cmd/version.h"

#include "absl/strings/str_cat.h"
#include <sqlite3.h>

namespace litesync {

std::string VersionString() {
  return absl::StrCat("litesync ", LITESYNC_VERSION, " (SQLite ", sqlite3_libversion(), ")");
}

std::string CheckSqliteVersion() {
  // The WAL-reset bug: 3.7.0 through 3.51.2 (fixed in 3.51.3; backports 3.44.6, 3.50.7).
  int v = sqlite3_libversion_number();
  bool fixed = v >= 3051003 || (v >= 3044006 && v < 3045000) || (v >= 3050007 && v < 3051000);
  if (fixed) return "";
  return absl::StrCat("linked SQLite ", sqlite3_libversion(),
                      " has the WAL-reset bug (3.7.0-3.51.2); rebuild with `make deps build`");
}

}  // namespace litesync
