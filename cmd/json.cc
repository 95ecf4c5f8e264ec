#include "cmd/json.h"

#include "fmt/format.h"

namespace litesync {

std::string DumpJson(const Json& j, int indent) {
  return j.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

absl::StatusOr<Json> ParseJson(std::string_view text) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return absl::InvalidArgumentError(fmt::format("json: syntax error at byte {}", e.byte));
  }
}

}  // namespace litesync
