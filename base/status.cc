#include "base/status.h"

#include <string>

#include "fmt/format.h"

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

}  // namespace litesync
