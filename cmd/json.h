// JSON for litesync's machine-readable output (/status, `status -json`, `ltx -json`,
// ...), through nlohmann-json. Objects keep insertion order so documents read in
// the order docs/status.md lists their fields; 64-bit integers stay exact.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace litesync {

using Json = nlohmann::ordered_json;

// Serializes with two-space indentation (indent >= 0) or on one line (indent < 0).
// Bytes that are not UTF-8 (a database path may hold any bytes) become U+FFFD
// instead of throwing.
std::string DumpJson(const Json& j, int indent = 2);

// Parses one JSON document; InvalidArgument "json: ..." with the byte offset on
// malformed input (never throws).
absl::StatusOr<Json> ParseJson(std::string_view text);

}  // namespace litesync
