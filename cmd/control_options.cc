// Control-server options derived from the config: socket path and health interval.
#include <cstdlib>
#include <filesystem>

#include "cmd/control_server.h"

namespace litesync {

std::string ControlSocketPath(const Config& config) {
  if (const char* env = std::getenv("LITESYNC_SOCKET"); env != nullptr && *env != '\0') {
    return env;
  }
  std::filesystem::path config_path(config.path.empty() ? "litesync.yml" : config.path);
  std::filesystem::path dir = config_path.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(dir, ec);
  if (!ec) dir = abs.lexically_normal();
  std::string out = (dir / ("." + config_path.filename().string() + ".sock")).string();
  return out;
}

absl::Duration HealthInterval(const Config& config) {
  absl::Duration interval = absl::InfiniteDuration();
  for (const HeartbeatTarget& t : config.heartbeat.targets)
    interval = std::min(interval, t.interval);
  return interval == absl::InfiniteDuration() ? absl::Minutes(5) : interval;
}

ControlServerOptions ControlServerOptionsFromConfig(const Config& config) {
  ControlServerOptions o;
  o.socket_path = ControlSocketPath(config);
  o.tcp_addr = config.addr;
  o.heartbeat_interval = HealthInterval(config);
  return o;
}

}  // namespace litesync
