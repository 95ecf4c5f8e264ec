// Control-server options derived from the config: socket path and health interval.
#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "cmd/control_server.h"

namespace litesync {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::filesystem::path ConfigFile(const Config& config) {
  return std::filesystem::path(config.path.empty() ? "litesync.yml" : config.path);
}

// "<config dir>/.<config file name>.sock", the directory made absolute.
std::string BesideTheConfig(const Config& config) {
  std::filesystem::path config_path = ConfigFile(config);
  std::filesystem::path dir = config_path.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(dir, ec);
  if (!ec) dir = abs.lexically_normal();
  return (dir / ("." + config_path.filename().string() + ".sock")).string();
}

}  // namespace

std::string ControlSocketPath(const Config& config) {
  if (std::string env = Env("LITESYNC_SOCKET"); !env.empty()) return env;
  if (!config.socket_path.empty()) return config.socket_path;  // socket.path (Litestream's key)
  const std::string name = ConfigFile(config).filename().string();
  // systemd's RuntimeDirectory= may list several directories; the first is ours.
  if (std::string dirs = Env("RUNTIME_DIRECTORY"); !dirs.empty()) {
    return (std::filesystem::path(dirs.substr(0, dirs.find(':'))) / (name + ".sock")).string();
  }
  if (std::string dir = Env("XDG_RUNTIME_DIR"); !dir.empty()) {
    return (std::filesystem::path(dir) / ("litesync-" + name + ".sock")).string();
  }
  return BesideTheConfig(config);
}

std::vector<std::string> ControlSocketCandidates(const Config& config) {
  std::vector<std::string> out = {ControlSocketPath(config)};
  if (!Env("LITESYNC_SOCKET").empty() || !config.socket_path.empty()) return out;
  for (std::string p : {(std::filesystem::path(kServiceRuntimeDirectory) /
                         (ConfigFile(config).filename().string() + ".sock"))
                            .string(),
                        BesideTheConfig(config)}) {
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
  }
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
  o.socket_optional = true;
  o.tcp_addr = config.addr;
  o.heartbeat_interval = HealthInterval(config);
  return o;
}

}  // namespace litesync
