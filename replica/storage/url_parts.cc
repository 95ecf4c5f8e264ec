#include "replica/storage/url_parts.h"

#include "base/url.h"
#include "fmt/format.h"

namespace litesync::url_parts {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// %XX decoding ('+' stays '+': these are paths and values, not form data).
bool PercentDecode(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    int hi = i + 1 < s.size() ? HexDigit(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? HexDigit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string StripSlashes(std::string s) {
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

absl::Status UrlError(std::string_view url, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("replica URL \"{}\": {}", RedactUrl(url), what));
}

absl::StatusOr<bool> ParseBool(std::string_view url, std::string_view name, std::string_view v) {
  std::string l = Lower(v);
  if (l.empty() || l == "true" || l == "1" || l == "yes") return true;
  if (l == "false" || l == "0" || l == "no") return false;
  return UrlError(url, fmt::format("{} must be true or false (got \"{}\")", name, v));
}

}  // namespace litesync::url_parts
