// Times and durations as litesync prints them, one rule each: timestamps are
// RFC 3339 in UTC with milliseconds ("2025-03-04T10:14:00.123Z"), ages are the
// two largest units ("6m12s", "1h", "2d3h"; "never" for an infinite age).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace litesync {

std::string FormatTimestamp(absl::Time t);
// Reads RFC 3339 UTC ("...Z") with any number of fractional digits.
std::optional<absl::Time> ParseTimestamp(std::string_view s);
// Negative ages print as "0s".
std::string FormatAge(absl::Duration d);

}  // namespace litesync
