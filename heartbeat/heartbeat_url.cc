#include "heartbeat/heartbeat_url.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "base/secret.h"
#include "fmt/format.h"

namespace litesync {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void ReplaceAll(std::string* s, std::string_view from, std::string_view to) {
  for (size_t pos = s->find(from); pos != std::string::npos; pos = s->find(from, pos + to.size())) {
    s->replace(pos, from.size(), to);
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string UrlEncode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out.push_back(ch);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string TruncateUtf8(std::string_view s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    // A character starts at every byte that is not a continuation byte (10xxxxxx).
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return std::string(s.substr(0, i));
      ++chars;
    }
  }
  return std::string(s);
}

int64_t PingMillis(absl::Duration lag) {
  if (lag == absl::InfiniteDuration()) return kMaxHeartbeatPingMs;
  return std::clamp<int64_t>(absl::ToInt64Milliseconds(lag), 0, kMaxHeartbeatPingMs);
}

std::string ExpandHeartbeatUrl(std::string_view url, bool up, std::string_view msg,
                               absl::Duration worst_lag) {
  std::string out(url);
  if (out.find('{') == std::string::npos) return out;
  ReplaceAll(&out, "{status}", up ? "up" : "down");
  ReplaceAll(&out, "{msg}", UrlEncode(TruncateUtf8(msg, kMaxHeartbeatMsgChars)));
  ReplaceAll(&out, "{ping}", std::to_string(PingMillis(worst_lag)));
  return out;
}

bool HasStatusPlaceholder(std::string_view url) {
  return url.find("{status}") != std::string_view::npos;
}

std::string RedactHeartbeatUrl(std::string_view url) { return RedactUrl(url, /*mask_path=*/true); }

absl::Status ValidateHeartbeatUrl(std::string_view url) {
  size_t colon = url.find("://");
  std::string scheme = colon == std::string_view::npos ? "" : Lower(url.substr(0, colon));
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(
        fmt::format("must be an http:// or https:// URL (got \"{}\")", RedactHeartbeatUrl(url)));
  }
  std::string_view rest = url.substr(colon + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (authority.empty() || authority[0] == ':') {
    // Not quoted: a redaction would read the path (the token) as the host.
    return absl::InvalidArgumentError("has no host: write scheme://host/path");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return absl::InvalidArgumentError("contains whitespace or control characters");
    }
  }
  for (size_t open = url.find('{'); open != std::string_view::npos;
       open = url.find('{', open + 1)) {
    size_t close = url.find('}', open);
    std::string_view name =
        close == std::string_view::npos ? url.substr(open) : url.substr(open, close - open + 1);
    if (name != "{status}" && name != "{msg}" && name != "{ping}") {
      // The placeholder name is not the secret part; quote at most a short prefix.
      return absl::InvalidArgumentError(
          fmt::format("unknown placeholder \"{}\" (known: {{status}}, {{msg}}, {{ping}})",
                      TruncateUtf8(name, 20)));
    }
  }
  return absl::OkStatus();
}

}  // namespace litesync
