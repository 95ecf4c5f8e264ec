// litesync.yml's heartbeats: heartbeat-url and heartbeat-interval at the top
// level, and the heartbeats: list (url, fail-url, interval, timeout, method and
// the databases each one covers).
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "base/log.h"
#include "base/secret.h"
#include "fmt/format.h"
#include <yaml-cpp/yaml.h>

#include "cmd/command.h"
#include "cmd/config_internal.h"
#include "heartbeat/health.h"
#include "heartbeat/heartbeat_url.h"

namespace litesync::config_internal {
namespace {

absl::Duration ClampInterval(const MapView& m, std::string_view name, absl::Duration d) {
  if (d >= kMinHeartbeatInterval) return d;
  LogWarn("heartbeat interval raised to the minimum",
          {{"where", fmt::format("{}:{}: {}", m.file(), m.LineOf(name), m.KeyPath(name))},
           {"interval", d},
           {"min", kMinHeartbeatInterval}});
  return kMinHeartbeatInterval;
}

// True when `path` is a configured database or lies in a configured dir.
bool KnownDatabase(const Config& c, const std::string& path) {
  for (const DbOptions& db : c.dbs) {
    if (db.path == path) return true;
  }
  for (const DirOptions& d : c.dirs) {
    if (path.size() > d.dir.size() && path.compare(0, d.dir.size(), d.dir) == 0 &&
        (path[d.dir.size()] == '/' || d.dir == "/")) {
      return true;
    }
  }
  return false;
}

absl::Status ParseHeartbeatItem(const std::string& file, const YAML::Node& item, size_t i,
                                int list_line, Config* config) {
  std::string key = fmt::format("heartbeats[{}]", i);
  absl::StatusOr<MapView> view =
      MapView::Make(file, item, key, LineOf(item, list_line),
                    {"url", "interval", "method", "timeout", "fail-url", "databases"});
  if (!view.ok()) return view.status();
  const MapView& m = *view;
  HeartbeatTarget t;
  std::string url, fail_url;
  if (absl::Status s = m.ReadString("url", &url); !s.ok()) return s;
  if (url.empty()) return m.Error(m.Has("url") ? "url" : "", "needs a url:");
  if (absl::Status s = CheckHeartbeatUrl(m, "url", url); !s.ok()) return s;
  t.url = Secret(url);
  if (absl::Status s = m.ReadString("fail-url", &fail_url); !s.ok()) return s;
  if (!fail_url.empty()) {
    if (absl::Status s = CheckHeartbeatUrl(m, "fail-url", fail_url); !s.ok()) return s;
    t.fail_url = Secret(fail_url);
  }
  if (absl::Status s = m.ReadDuration("interval", DurationRule::kPositive, &t.interval); !s.ok()) {
    return s;
  }
  t.interval = ClampInterval(m, "interval", t.interval);
  if (absl::Status s = ReadPingRequest(m, &t.timeout, &t.method); !s.ok()) return s;
  std::vector<std::string> dbs;
  if (absl::Status s = m.ReadStringList("databases", &dbs); !s.ok()) return s;
  for (size_t j = 0; j < dbs.size(); ++j) {
    std::string abs = AbsolutePath(dbs[j]);
    if (!KnownDatabase(*config, abs)) {
      return ConfigError(file, LineOf(m.Get("databases")[j], m.LineOf("databases")),
                         fmt::format("{}[{}]", m.KeyPath("databases"), j),
                         fmt::format("{} is not one of the databases in dbs: or dirs:", abs));
    }
    t.databases.push_back(abs);
  }
  config->heartbeat.targets.push_back(std::move(t));
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckHeartbeatUrl(const MapView& m, std::string_view key, std::string_view url) {
  if (absl::Status s = ValidateHeartbeatUrl(url); !s.ok()) return m.Error(key, StatusMessage(s));
  return absl::OkStatus();
}

absl::Status ReadPingRequest(const MapView& m, absl::Duration* timeout, std::string* method) {
  if (absl::Status s = m.ReadDuration("timeout", DurationRule::kPositive, timeout); !s.ok()) {
    return s;
  }
  if (absl::Status s = m.ReadString("method", method); !s.ok()) return s;
  *method = absl::AsciiStrToUpper(*method);
  if (*method != "GET" && *method != "POST") {
    return m.Error("method", fmt::format("must be GET or POST (got \"{}\")", *method));
  }
  return absl::OkStatus();
}

absl::Status ParseHeartbeats(const MapView& top, Config* config) {
  if (top.Has("heartbeat-interval") && !top.Has("heartbeat-url")) {
    return top.Error("heartbeat-interval", "is set but heartbeat-url is not");
  }
  std::string url;
  if (top.Has("heartbeat-url") && !top.Get("heartbeat-url").IsNull()) {
    if (absl::Status s = top.ReadString("heartbeat-url", &url); !s.ok()) return s;
  }
  // An empty heartbeat-url (e.g. `${HC_URL}` with HC_URL="") turns the heartbeat off.
  if (!url.empty()) {
    if (absl::Status s = CheckHeartbeatUrl(top, "heartbeat-url", url); !s.ok()) return s;
    HeartbeatTarget t;
    t.url = Secret(url);
    if (absl::Status s =
            top.ReadDuration("heartbeat-interval", DurationRule::kPositive, &t.interval);
        !s.ok()) {
      return s;
    }
    t.interval = ClampInterval(top, "heartbeat-interval", t.interval);
    config->heartbeat.targets.push_back(std::move(t));
  }
  if (!top.Has("heartbeats")) return absl::OkStatus();
  YAML::Node list = top.Get("heartbeats");
  if (list.IsNull()) return absl::OkStatus();
  if (!list.IsSequence()) {
    return top.Error("heartbeats", "must be a list: start each heartbeat with `- url:`");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (absl::Status s =
            ParseHeartbeatItem(top.file(), list[i], i, top.LineOf("heartbeats"), config);
        !s.ok())
      return s;
  }
  return absl::OkStatus();
}

}  // namespace litesync::config_internal
