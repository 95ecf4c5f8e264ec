// Control-server options derived from the config: socket path, health interval,
// and the secrets every response is scrubbed of.
#include <cstdlib>
#include <filesystem>
#include <set>

#include "cmd/control_server.h"
#include "replica/secret.h"

namespace litesync {
namespace {

// The path segments of `url` ("/a/b" -> {"a", "b"}), without query or fragment.
std::vector<std::string> PathSegments(std::string_view url) {
  size_t scheme = url.find("://");
  std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  rest = rest.substr(slash + 1);
  rest = rest.substr(0, rest.find_first_of("?#"));
  std::vector<std::string> out;
  while (!rest.empty()) {
    size_t next = rest.find('/');
    out.emplace_back(rest.substr(0, next));
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
  }
  return out;
}

// The URL, and the path segments redaction masks (the heartbeat token).
void AddUrlSecrets(const Secret& url, std::vector<std::string>* out) {
  if (url.empty()) return;
  out->push_back(url.reveal());
  std::vector<std::string> kept_list = PathSegments(RedactUrl(url.reveal(), /*mask_path=*/true));
  std::set<std::string> kept(kept_list.begin(), kept_list.end());
  for (const std::string& seg : PathSegments(url.reveal())) {
    if (!seg.empty() && !kept.count(seg)) out->push_back(seg);
  }
}

void AddReplicaSecrets(const ReplicaOptions& r, std::vector<std::string>* out) {
  for (const Secret* s : {&r.access_key_id, &r.secret_access_key, &r.session_token}) {
    if (!s->empty()) out->push_back(s->reveal());
  }
}

}  // namespace

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

std::vector<std::string> ConfigSecrets(const Config& config) {
  std::vector<std::string> out;
  for (const DbOptions& db : config.dbs) {
    for (const ReplicaOptions& r : db.replicas) AddReplicaSecrets(r, &out);
  }
  for (const DirOptions& dir : config.dirs) {
    for (const ReplicaOptions& r : dir.replicas) AddReplicaSecrets(r, &out);
  }
  for (const HeartbeatTarget& t : config.heartbeat.targets) {
    AddUrlSecrets(t.url, &out);
    AddUrlSecrets(t.fail_url, &out);
  }
  return out;
}

ControlServerOptions ControlServerOptionsFromConfig(const Config& config) {
  ControlServerOptions o;
  o.socket_path = ControlSocketPath(config);
  o.tcp_addr = config.addr;
  o.heartbeat_interval = HealthInterval(config);
  o.secrets = ConfigSecrets(config);
  return o;
}

}  // namespace litesync
