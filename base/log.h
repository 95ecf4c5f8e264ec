// A small logger: one event per line on stderr (or stdout), logfmt by default,
//   ts=2025-03-04T10:20:00.002Z level=INFO msg="heartbeat sent" url="https://hc-ping.com/****"
// or one JSON object per line (`logging: {type: json}`, as Litestream writes them),
//   {"ts":"2025-03-04T10:20:00.002Z","level":"INFO","msg":"heartbeat sent","status":200}
// where integer, finite floating-point and bool values are JSON numbers and
// booleans, everything else a string.
// Messages are constant strings; values go in fields. Thread-safe.
#pragma once

#include <cmath>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/time_format.h"
#include "fmt/format.h"

namespace litesync {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// One key=value pair; the value is formatted on construction.
struct LogField {
  template <typename T>
  LogField(std::string_view k, const T& v) : key(k), value(Format(v)), json_literal(Literal(v)) {}
  std::string_view key;
  std::string value;
  bool json_literal;  // `value` is a JSON number or boolean as it stands

 private:
  template <typename T>
  static bool Literal(const T& v) {
    if constexpr (std::is_integral_v<T>) {  // bool too; a char comes out as text
      return true;
    } else if constexpr (std::is_floating_point_v<T>) {
      return std::isfinite(v);
    } else {
      return false;
    }
  }
  template <typename T>
  static std::string Format(const T& v) {
    if constexpr (std::is_same_v<T, absl::Status>) {
      return std::string(v.message());
    } else if constexpr (std::is_same_v<T, absl::Duration>) {
      return absl::FormatDuration(v);
    } else if constexpr (std::is_same_v<T, absl::Time>) {
      return FormatTimestamp(v);
    } else if constexpr (std::is_same_v<T, bool>) {
      return v ? "true" : "false";
    } else {
      return fmt::format("{}", v);
    }
  }
};

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warn", "error"; false when unknown.
bool ParseLogLevel(std::string_view s, LogLevel* out);

void SetLogFormat(LogFormat format);
LogFormat GetLogFormat();
// The descriptor lines are written to: STDERR_FILENO (the default) or STDOUT_FILENO.
void SetLogFd(int fd);

// Where log lines go (stderr by default); tests capture them.
using LogSink = void (*)(std::string_view line);
void SetLogSink(LogSink sink);

void Log(LogLevel level, std::string_view msg, std::span<const LogField> fields);
inline void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  Log(level, msg, std::span<const LogField>(fields.begin(), fields.size()));
}
inline void LogDebug(std::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kDebug, msg, f);
}
inline void LogInfo(std::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, msg, f);
}
inline void LogWarn(std::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarn, msg, f);
}
inline void LogError(std::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, msg, f);
}

// Formats a line without writing it (exposed for tests), in the current format
// unless one is given. A JSON line holds every value as a string; invalid UTF-8
// is replaced by U+FFFD.
std::string FormatLogLine(absl::Time ts, LogLevel level, std::string_view msg,
                          std::span<const LogField> fields);
std::string FormatLogLine(LogFormat format, absl::Time ts, LogLevel level, std::string_view msg,
                          std::span<const LogField> fields);
inline std::string FormatLogLine(absl::Time ts, LogLevel level, std::string_view msg,
                                 std::initializer_list<LogField> fields) {
  return FormatLogLine(ts, level, msg, std::span<const LogField>(fields.begin(), fields.size()));
}
inline std::string FormatLogLine(LogFormat format, absl::Time ts, LogLevel level,
                                 std::string_view msg, std::initializer_list<LogField> fields) {
  return FormatLogLine(format, ts, level, msg,
                       std::span<const LogField>(fields.begin(), fields.size()));
}

}  // namespace litesync
