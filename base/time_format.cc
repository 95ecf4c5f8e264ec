#include "base/time_format.h"

#include <cstdint>

#include "fmt/format.h"

namespace litesync {

std::string FormatTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::optional<absl::Time> ParseTimestamp(std::string_view s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", absl::string_view(s.data(), s.size()), &t, &err)) {
    return std::nullopt;
  }
  return t;
}

std::string FormatAge(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "never";
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  int64_t total = absl::ToInt64Seconds(d);
  const int64_t units[] = {86400, 3600, 60, 1};
  const char* names[] = {"d", "h", "m", "s"};
  std::string out;
  int emitted = 0;
  for (int i = 0; i < 4 && emitted < 2; ++i) {
    int64_t n = total / units[i];
    total %= units[i];
    if (n == 0 && emitted == 0) continue;
    if (emitted == 1 && n == 0) break;  // "1h", not "1h0m"
    out += fmt::format("{}{}", n, names[i]);
    ++emitted;
  }
  return out.empty() ? "0s" : out;
}

}  // namespace litesync
