// `litesync version`: the program's and the linked SQLite's versions.
#pragma once

#include <string>

namespace litesync {

std::string VersionString();  // "litesync 0.1.0 (SQLite 3.53.4)"
// FailedPrecondition-style message when the linked SQLite has the WAL-reset bug; empty when fine.
std::string CheckSqliteVersion();

}  // namespace litesync
