#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <mutex>

#include <nlohmann/json.hpp>

namespace litesync {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<LogSink> g_sink{nullptr};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
std::atomic<int> g_fd{STDERR_FILENO};
std::mutex g_write_mu;

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) >= 0x7f) {
      return true;
    }
  }
  return false;
}

void AppendValue(std::string* out, std::string_view v) {
  if (!NeedsQuotes(v)) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

bool ParseLogLevel(std::string_view s, LogLevel* out) {
  if (s == "debug" || s == "DEBUG")
    *out = LogLevel::kDebug;
  else if (s == "info" || s == "INFO")
    *out = LogLevel::kInfo;
  else if (s == "warn" || s == "WARN" || s == "warning")
    *out = LogLevel::kWarn;
  else if (s == "error" || s == "ERROR")
    *out = LogLevel::kError;
  else
    return false;
  return true;
}

void SetLogSink(LogSink sink) { g_sink.store(sink); }
void SetLogFormat(LogFormat format) { g_format.store(static_cast<int>(format)); }
LogFormat GetLogFormat() { return static_cast<LogFormat>(g_format.load()); }
void SetLogFd(int fd) { g_fd.store(fd); }

std::string FormatLogLine(absl::Time ts, LogLevel level, std::string_view msg,
                          std::span<const LogField> fields) {
  return FormatLogLine(GetLogFormat(), ts, level, msg, fields);
}

std::string FormatLogLine(LogFormat format, absl::Time ts, LogLevel level, std::string_view msg,
                          std::span<const LogField> fields) {
  std::string time = FormatTimestamp(ts);
  if (format == LogFormat::kJson) {
    nlohmann::ordered_json j;  // keeps ts, level, msg first, then the fields as given
    j["ts"] = time;
    j["level"] = LevelName(level);
    j["msg"] = std::string(msg);
    for (const LogField& f : fields) {
      nlohmann::ordered_json& v = j[std::string(f.key)];
      if (f.json_literal) v = nlohmann::ordered_json::parse(f.value, nullptr, false);
      if (!f.json_literal || v.is_discarded()) v = f.value;  // a char's text, say
    }
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  }
  std::string line = "ts=";
  line += time;
  line += " level=";
  line += LevelName(level);
  line += " msg=";
  AppendValue(&line, msg);
  for (const LogField& f : fields) {
    line.push_back(' ');
    line.append(f.key);
    line.push_back('=');
    AppendValue(&line, f.value);
  }
  line.push_back('\n');
  return line;
}

void Log(LogLevel level, std::string_view msg, std::span<const LogField> fields) {
  if (static_cast<int>(level) < g_level.load()) return;
  std::string line = FormatLogLine(absl::Now(), level, msg, fields);
  if (LogSink sink = g_sink.load(); sink != nullptr) {
    sink(line);
    return;
  }
  std::lock_guard<std::mutex> lock(g_write_mu);
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(g_fd.load(), line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace litesync
