// Error helpers shared by every module: annotation, early-return macros, and
// the errno converter. (SQLite's codes convert in replica/sqlite/sqlite_status.h.)
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace litesync {

// Returns `s` with `context + ": "` prefixed to its message; the code is kept.
absl::Status Annotate(const absl::Status& s, std::string_view context);

// errno -> Status, e.g. ErrnoStatus(ENOSPC, "write /backups/x") -> ResourceExhausted.
absl::Status ErrnoStatus(int err, std::string_view context);

}  // namespace litesync

#define LS_STATUS_CONCAT_INNER_(a, b) a##b
#define LS_STATUS_CONCAT_(a, b) LS_STATUS_CONCAT_INNER_(a, b)

#define LS_RETURN_IF_ERROR(expr)                    \
  do {                                              \
    if (absl::Status ls_s_ = (expr); !ls_s_.ok()) { \
      return ls_s_;                                 \
    }                                               \
  } while (0)

#define LS_ASSIGN_OR_RETURN(lhs, expr) \
  LS_ASSIGN_OR_RETURN_IMPL_(LS_STATUS_CONCAT_(ls_so_, __LINE__), lhs, expr)
#define LS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()
