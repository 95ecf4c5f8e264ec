// Pieces every backend's URL parser needs: %-decoding, slash trimming, the
// error naming the (redacted) URL, boolean query values.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace litesync::url_parts {

// %XX decoding ('+' stays '+': these are paths and values, not form data).
bool PercentDecode(std::string_view s, std::string* out);
std::string Lower(std::string_view s);
std::string StripSlashes(std::string s);
// InvalidArgument: replica URL "<redacted url>": <what>.
absl::Status UrlError(std::string_view url, std::string_view what);
// A query parameter's boolean: empty, true, 1, yes / false, 0, no.
absl::StatusOr<bool> ParseBool(std::string_view url, std::string_view name, std::string_view v);

}  // namespace litesync::url_parts
