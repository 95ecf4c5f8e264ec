#include "cmd/command.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/log.h"
#include "fmt/format.h"

#include "cmd/config_internal.h"

namespace litesync {

std::string ConfigPath(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("LITESYNC_CONFIG"); env != nullptr && *env != '\0') {
    return env;
  }
  return "/etc/litesync.yml";
}

absl::Status ApplyLogLevelFlag(const std::string& value) {
  LogLevel level;
  if (!ParseLogLevel(value, &level)) {
    return absl::InvalidArgumentError(
        fmt::format("-log-level must be debug, info, warn or error (got \"{}\")", value));
  }
  SetLogLevel(level);
  return absl::OkStatus();
}

bool* NoExpandEnvFlag() {
  static bool no_expand_env = false;
  return &no_expand_env;
}

absl::StatusOr<Config> LoadCommandConfig(const std::string& config_flag,
                                         const std::string& log_level_flag) {
  SetConfigExpandEnv(!*NoExpandEnvFlag());
  // The flag first, so warnings while parsing already follow it.
  if (!log_level_flag.empty()) {
    if (absl::Status s = ApplyLogLevelFlag(log_level_flag); !s.ok()) return s;
  }
  absl::StatusOr<Config> config = LoadConfig(ConfigPath(config_flag));
  if (!config.ok()) return config.status();
  if (log_level_flag.empty() && config->log_level) SetLogLevel(*config->log_level);
  if (config->log_format) SetLogFormat(*config->log_format);
  if (config->log_stderr) SetLogFd(*config->log_stderr ? STDERR_FILENO : STDOUT_FILENO);
  return config;
}

std::string StatusMessage(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

void PrintError(std::string_view command, std::string_view message) {
  std::string line = fmt::format("litesync {}: {}\n", command, message);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

void PrintError(std::string_view command, const absl::Status& status) {
  PrintError(command, StatusMessage(status));
}

std::string NormalizePath(std::string_view path) { return config_internal::AbsolutePath(path); }

std::optional<std::string> ReplicaArgument(const std::string& arg) {
  if (arg.find("://") != std::string::npos) return arg;
  std::error_code ec;
  if (!arg.empty() && std::filesystem::is_directory(arg, ec)) return "file://" + NormalizePath(arg);
  return std::nullopt;
}

sigset_t BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

const char* SignalName(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal";
  }
}

void RunInterruptible(const std::function<void()>& work,
                      const std::function<void(int sig)>& on_signal) {
  std::atomic<bool> done{false};
  std::thread worker([&] {
    work();
    done.store(true);
  });
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  // A short poll: the work is usually done in a few milliseconds, and every
  // millisecond of start-up is one a restarted sidecar is not replicating (a
  // crash loop's restarts resume only while the WAL still holds their position).
  const struct timespec poll = {0, 2 * 1000 * 1000};
  while (!done.load()) {
    int sig = sigtimedwait(&set, nullptr, &poll);
    if (sig == SIGINT || sig == SIGTERM) on_signal(sig);  // does not return
  }
  worker.join();
}

}  // namespace litesync
