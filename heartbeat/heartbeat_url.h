// Heartbeat URL helpers: placeholder expansion for push monitors, redaction for
// logs and status, and validation. Pure functions; thread-safe.
//
// Placeholders, in `url` and `fail-url` alike:
//   {status}  "up" or "down"
//   {msg}     "OK" or the reason health is bad, at most 500 characters, URL-encoded
//   {ping}    the worst replication lag in ms, clamped to 0..86,400,000 (Uptime Kuma's range)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace litesync {

// Long enough for a reason that names a database, its replica and a tx file (the
// monitor's verification errors run past 200 characters), short enough that the
// URL-encoded query stays well under the 8 KiB request line servers accept.
inline constexpr size_t kMaxHeartbeatMsgChars = 500;
inline constexpr int64_t kMaxHeartbeatPingMs = 86'400'000;

// Replaces {status}, {msg} and {ping}; other text is kept as is.
std::string ExpandHeartbeatUrl(std::string_view url, bool up, std::string_view msg,
                               absl::Duration worst_lag);
// True when `url` contains "{status}": a push monitor that understands status=down.
bool HasStatusPlaceholder(std::string_view url);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view s);
// The first `max_chars` UTF-8 characters of `s` (never splits a character).
std::string TruncateUtf8(std::string_view s, size_t max_chars);
// `lag` in ms, clamped to 0..kMaxHeartbeatPingMs (infinite lag gives the maximum).
int64_t PingMillis(absl::Duration lag);

// What logs, status and `litesync heartbeat` show for a heartbeat URL:
// RedactUrl(url, /*mask_path=*/true): the path after its routing words and every
// query value but status, msg, ping and state masked (a token may travel as ?id=...).
std::string RedactHeartbeatUrl(std::string_view url);

// An http(s) URL with a host, no whitespace, and no placeholder but the three above.
// The one check of every heartbeat URL (litesync.yml, monitor.yml, the monitor's
// -url); callers put the file, key or flag in front of the message. Messages
// quote the URL only as RedactHeartbeatUrl shows it.
absl::Status ValidateHeartbeatUrl(std::string_view url);

}  // namespace litesync
