// A small logfmt logger: one event per line on stderr,
//   ts=2025-03-04T10:20:00.002Z level=INFO msg="heartbeat sent" url="https://hc-ping.com/****"
// Messages are constant strings; values go in fields. Thread-safe.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/time_format.h"
#include "fmt/format.h"

namespace litesync {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// One key=value pair; the value is formatted on construction.
struct LogField {
  template <typename T>
  LogField(std::string_view k, const T& v) : key(k), value(Format(v)) {}
  std::string_view key;
  std::string value;

 private:
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

// Formats a line without writing it (exposed for tests).
std::string FormatLogLine(absl::Time ts, LogLevel level, std::string_view msg,
                          std::span<const LogField> fields);
inline std::string FormatLogLine(absl::Time ts, LogLevel level, std::string_view msg,
                                 std::initializer_list<LogField> fields) {
  return FormatLogLine(ts, level, msg, std::span<const LogField>(fields.begin(), fields.size()));
}

}  // namespace litesync
