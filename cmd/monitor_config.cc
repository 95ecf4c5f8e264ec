// monitor.yml: defaults:, replicas:, heartbeats: and the top-level keys. Replica
// locations and credentials go through the replica parser of litesync.yml
// (config_internal::ParseReplica), with defaults: as the map it inherits from.
#include "cmd/monitor_config.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "fmt/format.h"
#include <yaml-cpp/yaml.h>

#include "cmd/command.h"
#include "cmd/config_internal.h"
#include "replica/storage/backend.h"

namespace litesync {
namespace {

using config_internal::ConfigError;
using config_internal::DurationRule;
using config_internal::LineOf;
using config_internal::MapView;

// Replica keys defaults: and an entry share (the replica parser reads them): a
// location is a url (or an entry's path:), the backends' settings are inherited.
const std::vector<std::string_view>& ReplicaKeys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out = {"url"};
    for (const Backend* b : Backends()) {
      out.insert(out.end(), b->settings_keys.begin(), b->settings_keys.end());
    }
    out.push_back("age");
    return out;
  }();
  return keys;
}
// What the monitor reads itself, in defaults: and in an entry.
constexpr std::string_view kMonitorKeys[] = {"max-age",  "check-interval", "verify-interval",
                                             "push-url", "fail-url",       "push-interval"};
// Only in an entry.
constexpr std::string_view kEntryKeys[] = {"name", "path", "push-token"};
// What the replica parser leaves to the monitor in an entry.
constexpr std::string_view kReplicaParserExtraKeys[] = {
    "max-age",  "check-interval", "verify-interval", "push-url",
    "fail-url", "push-interval",  "push-token"};

// Keys of litesync.yml's replicas that mean nothing to a monitor: refused with why.
constexpr std::string_view kReplicateOnlyKeys[] = {
    "sync-interval",        "retention",         "snapshot-interval",       "validation-interval",
    "compaction-intervals", "liveness-interval", "retention-check-interval"};

absl::Status RefuseReplicateKeys(const std::string& file, const YAML::Node& map,
                                 const std::string& path, int line) {
  if (!map.IsMap()) return absl::OkStatus();
  for (const auto& kv : map) {
    const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (std::find(std::begin(kReplicateOnlyKeys), std::end(kReplicateOnlyKeys), k) ==
        std::end(kReplicateOnlyKeys)) {
      continue;
    }
    return ConfigError(file, LineOf(kv.first, line), path + "." + k,
                       "is a setting of the replicating side (litesync.yml); the monitor only "
                       "reads the replica");
  }
  return absl::OkStatus();
}

std::vector<std::string_view> Keys(std::initializer_list<std::span<const std::string_view>> lists) {
  std::vector<std::string_view> out;
  for (auto l : lists) out.insert(out.end(), l.begin(), l.end());
  return out;
}

// The map a key is read from: the entry when it sets it, else defaults: (may be null).
const MapView* From(const MapView& entry, const MapView* defaults, std::string_view key) {
  if (entry.Has(key) || defaults == nullptr || !defaults->Has(key)) return &entry;
  return defaults;
}

// How often, at most, a target is sent an up ping (`key`: a heartbeat's
// `interval`, an entry's `push-interval`); unset leaves *out as it is.
absl::Status ReadPingInterval(const MapView& m, std::string_view key, absl::Duration* out) {
  if (absl::Status s = m.ReadDuration(key, DurationRule::kPositive, out); !s.ok()) return s;
  if (*out < kMinMonitorPingInterval) {
    return m.Error(
        key, fmt::format("must be at least {}", absl::FormatDuration(kMinMonitorPingInterval)));
  }
  return absl::OkStatus();
}

// A push URL of an entry: {name} and {token} filled in, then checked as a
// heartbeat URL ({status} {msg} {ping} are left for each request).
absl::Status ReadPushUrl(const MapView& src, std::string_view key, const MonitoredReplica& r,
                         const std::string& token, bool token_given, Secret* out) {
  std::string url;
  if (absl::Status s = src.ReadString(key, &url); !s.ok()) return s;
  if (url.empty()) return absl::OkStatus();
  const bool wants_token = url.find("{token}") != std::string::npos;
  if (wants_token && !token_given) {
    return src.Error(key,
                     fmt::format("has {{token}} but replica \"{}\" has no push-token:", r.name));
  }
  url = absl::StrReplaceAll(url, {{"{name}", r.name}, {"{token}", token}});
  if (absl::Status s = CheckHeartbeatUrl(src, key, url); !s.ok()) return s;
  *out = Secret(url);
  return absl::OkStatus();
}

// The entry's own target from push-url / push-token / fail-url (its or defaults').
absl::Status ParseEntryTarget(const MapView& m, const MapView* defaults, const MonitoredReplica& r,
                              std::vector<MonitorTarget>* targets) {
  std::string token;
  if (absl::Status s = m.ReadString("push-token", &token); !s.ok()) return s;
  const bool token_given = m.Has("push-token");
  if (token_given && token.empty()) return m.Error("push-token", "is empty");
  const MapView* url_from = From(m, defaults, "push-url");
  const MapView* fail_from = From(m, defaults, "fail-url");
  // A defaults: template without a token applies only to entries that give one;
  // the others are covered by heartbeats: or by nothing (the config says so).
  auto applies = [&](const MapView* from, std::string_view key) {
    if (from == &m) return true;
    std::string v;
    (void)from->ReadString(key, &v);
    return token_given || v.find("{token}") == std::string::npos;
  };
  MonitorTarget t;
  t.replicas = {r.name};
  t.source = fmt::format("{}:{}: {}", m.file(), m.Line(), m.path());
  if (applies(url_from, "push-url")) {
    if (absl::Status s = ReadPushUrl(*url_from, "push-url", r, token, token_given, &t.url);
        !s.ok()) {
      return s;
    }
  }
  if (applies(fail_from, "fail-url")) {
    if (absl::Status s = ReadPushUrl(*fail_from, "fail-url", r, token, token_given, &t.fail_url);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s =
          ReadPingInterval(*From(m, defaults, "push-interval"), "push-interval", &t.interval);
      !s.ok()) {
    return s;
  }
  if (token_given && t.url.empty()) {
    return m.Error("push-token", "is set but there is no push-url: with {token} to put it in");
  }
  if (t.url.empty() && !t.fail_url.empty()) {
    return fail_from->Error("fail-url", "is set but push-url: is not (the up pings go there)");
  }
  if (!t.url.empty()) targets->push_back(std::move(t));
  return absl::OkStatus();
}

absl::Status ParseEntry(const YAML::Node& item, size_t i, int list_line, const MapView* defaults,
                        MonitorConfig* config) {
  std::string key = fmt::format("replicas[{}]", i);
  int line = LineOf(item, list_line);
  const std::vector<std::string_view> known = Keys({ReplicaKeys(), kMonitorKeys, kEntryKeys});
  if (absl::Status s = RefuseReplicateKeys(config->path, item, key, line); !s.ok()) return s;
  absl::StatusOr<MapView> view = MapView::Make(config->path, item, key, line, known);
  if (!view.ok()) return view.status();
  const MapView& m = *view;
  MonitoredReplica r;
  if (absl::Status s = m.ReadString("name", &r.name); !s.ok()) return s;
  if (r.name.empty()) {
    return m.Error(m.Has("name") ? "name" : "", "needs a name: (it fills {name} in templates)");
  }
  for (const MonitoredReplica& other : config->replicas) {
    if (other.name == r.name) {
      return m.Error("name", fmt::format("\"{}\" is already used ({})", r.name, other.source));
    }
  }
  r.source = fmt::format("{}:{}: {}", config->path, m.Line(), key);

  config_internal::ReplicaDefaults d;
  d.top = defaults;
  d.extra_keys = kReplicaParserExtraKeys;
  std::string url_template;
  if (defaults != nullptr && defaults->Has("url") && !m.Has("url") && !m.Has("path")) {
    if (absl::Status s = defaults->ReadString("url", &url_template); !s.ok()) return s;
    d.url = absl::StrReplaceAll(url_template, {{"{name}", r.name}});
    d.url_from = defaults;
  }
  absl::StatusOr<ReplicaOptions> replica =
      config_internal::ParseReplica(config->path, item, key, line, d);
  if (!replica.ok()) return replica.status();
  r.replica = *std::move(replica);
  if (!m.Has("age") && defaults != nullptr && defaults->Has("age")) {
    if (absl::Status s = config_internal::ParseAge(*defaults, &r.replica.age); !s.ok()) return s;
  }
  for (const MonitoredReplica& other : config->replicas) {
    if (config_internal::ReplicaLocation(other.replica) ==
        config_internal::ReplicaLocation(r.replica)) {
      const MapView& at = m.Has("url") || m.Has("path") || defaults == nullptr ? m : *defaults;
      return at.Error(at.Has("url") ? "url" : "path",
                      fmt::format("replica \"{}\" is {}, like \"{}\" ({}){}", r.name,
                                  r.replica.Describe(), other.name, other.source,
                                  &at == defaults ? ": put {name} in the url template" : ""));
    }
  }

  const MapView* age_from = From(m, defaults, "max-age");
  if (absl::Status s = age_from->ReadDuration("max-age", DurationRule::kPositive, &r.max_age);
      !s.ok()) {
    return s;
  }
  r.check_interval = DefaultCheckInterval(r.max_age);
  const MapView* check_from = From(m, defaults, "check-interval");
  if (absl::Status s =
          check_from->ReadDuration("check-interval", DurationRule::kPositive, &r.check_interval);
      !s.ok()) {
    return s;
  }
  if (r.check_interval > r.max_age) {
    return check_from->Error("check-interval",
                             fmt::format("must not exceed max-age ({}) of replica \"{}\" (got {})",
                                         absl::FormatDuration(r.max_age), r.name,
                                         absl::FormatDuration(r.check_interval)));
  }
  if (absl::Status s =
          From(m, defaults, "verify-interval")
              ->ReadDuration("verify-interval", DurationRule::kNonNegative, &r.verify_interval);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ParseEntryTarget(m, defaults, r, &config->targets); !s.ok()) return s;
  config->replicas.push_back(std::move(r));
  return absl::OkStatus();
}

// One item of heartbeats: (or heartbeat-url:): the syntax of litesync.yml's, with
// replicas: (names) where litesync.yml has databases:.
absl::Status ParseTarget(const MapView& m, std::string_view url_key, MonitorConfig* config) {
  MonitorTarget t;
  t.source = fmt::format("{}:{}: {}", m.file(), m.LineOf(url_key), m.KeyPath(url_key));
  std::string url, fail_url;
  if (absl::Status s = m.ReadString(url_key, &url); !s.ok()) return s;
  if (url.empty()) return m.Error(m.Has(url_key) ? url_key : "", "needs a url:");
  if (absl::Status s = CheckHeartbeatUrl(m, url_key, url); !s.ok()) return s;
  t.url = Secret(url);
  if (url_key != "url") {  // heartbeat-url: every replica, nothing else
    config->targets.push_back(std::move(t));
    return absl::OkStatus();
  }
  if (absl::Status s = m.ReadString("fail-url", &fail_url); !s.ok()) return s;
  if (!fail_url.empty()) {
    if (absl::Status s = CheckHeartbeatUrl(m, "fail-url", fail_url); !s.ok()) return s;
    t.fail_url = Secret(fail_url);
  }
  if (absl::Status s = ReadPingInterval(m, "interval", &t.interval); !s.ok()) return s;
  if (absl::Status s = ReadPingRequest(m, &t.timeout, &t.method); !s.ok()) return s;
  if (absl::Status s = m.ReadStringList("replicas", &t.replicas); !s.ok()) return s;
  for (size_t j = 0; j < t.replicas.size(); ++j) {
    const std::string& name = t.replicas[j];
    if (std::none_of(config->replicas.begin(), config->replicas.end(),
                     [&](const MonitoredReplica& r) { return r.name == name; })) {
      return ConfigError(m.file(), LineOf(m.Get("replicas")[j], m.LineOf("replicas")),
                         fmt::format("{}[{}]", m.KeyPath("replicas"), j),
                         fmt::format("\"{}\" is not the name of an entry of replicas:", name));
    }
  }
  config->targets.push_back(std::move(t));
  return absl::OkStatus();
}

absl::Status ParseTargets(const MapView& top, MonitorConfig* config) {
  if (top.Has("heartbeat-url")) {
    if (absl::Status s = ParseTarget(top, "heartbeat-url", config); !s.ok()) return s;
  }
  if (!top.Has("heartbeats") || top.Get("heartbeats").IsNull()) return absl::OkStatus();
  YAML::Node list = top.Get("heartbeats");
  if (!list.IsSequence()) {
    return top.Error("heartbeats", "must be a list: start each target with `- url:`");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    absl::StatusOr<MapView> view =
        MapView::Make(top.file(), list[i], fmt::format("heartbeats[{}]", i),
                      LineOf(list[i], top.LineOf("heartbeats")),
                      {"url", "fail-url", "interval", "timeout", "method", "replicas"});
    if (!view.ok()) return view.status();
    if (absl::Status s = ParseTarget(*view, "url", config); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<MonitorConfig> ParseRoot(const YAML::Node& root, const std::string& file) {
  if (!root.IsDefined() || root.IsNull()) {
    return ConfigError(file, 1, "",
                       "the config is empty: it needs a replicas: list (see etc/monitor.yml)");
  }
  absl::StatusOr<MapView> view = MapView::Make(
      file, root, "", 1,
      {"addr", "log-level", "scratch-dir", "defaults", "replicas", "heartbeat-url", "heartbeats"});
  if (!view.ok()) return view.status();
  const MapView& top = *view;
  MonitorConfig config;
  config.path = file;
  if (absl::Status s = top.ReadString("addr", &config.addr); !s.ok()) return s;
  if (size_t colon = config.addr.rfind(':'); !config.addr.empty()) {
    int port = -1;
    if (colon == std::string::npos || !absl::SimpleAtoi(config.addr.substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      return top.Error("addr", fmt::format("must be HOST:PORT like 127.0.0.1:9091 or :9091 "
                                           "(got \"{}\")",
                                           config.addr));
    }
  }
  std::string level;
  if (absl::Status s = top.ReadString("log-level", &level); !s.ok()) return s;
  if (top.Has("log-level")) {
    LogLevel l;
    if (!ParseLogLevel(level, &l)) {
      return top.Error("log-level",
                       fmt::format("must be debug, info, warn or error (got \"{}\")", level));
    }
    config.log_level = l;
  }
  std::string scratch;
  if (absl::Status s = top.ReadString("scratch-dir", &scratch); !s.ok()) return s;
  config.scratch_dir = config_internal::AbsolutePath(scratch);

  std::optional<MapView> defaults;
  if (top.Has("defaults")) {
    if (absl::Status s =
            RefuseReplicateKeys(file, top.Get("defaults"), "defaults", top.LineOf("defaults"));
        !s.ok()) {
      return s;
    }
    absl::StatusOr<MapView> d =
        MapView::Make(file, top.Get("defaults"), "defaults", top.LineOf("defaults"),
                      Keys({ReplicaKeys(), kMonitorKeys}));
    if (!d.ok()) return d.status();
    defaults = *std::move(d);
  }
  YAML::Node list = top.Get("replicas");
  if (!top.Has("replicas") || list.IsNull() || (list.IsSequence() && list.size() == 0)) {
    return top.Error(top.Has("replicas") ? "replicas" : "",
                     "no replicas: add a replicas: list, each entry with a name");
  }
  if (!list.IsSequence()) {
    return top.Error("replicas", "must be a list: start each replica with `- name:`");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (absl::Status s = ParseEntry(list[i], i, top.LineOf("replicas"),
                                    defaults ? &*defaults : nullptr, &config);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = ParseTargets(top, &config); !s.ok()) return s;
  return config;
}

absl::StatusOr<MonitorConfig> ParseExpanded(const std::string& text, const std::string& path) {
  try {
    return ParseRoot(YAML::Load(text), path);
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    return ConfigError(path, line, "", fmt::format("invalid YAML: {}", e.msg));
  }
}

}  // namespace

absl::Duration DefaultCheckInterval(absl::Duration max_age) {
  return std::clamp(max_age / 5, kMinMonitorCheckInterval, kMaxMonitorCheckInterval);
}

absl::StatusOr<MonitorConfig> ParseMonitorConfigText(const std::string& text,
                                                     const std::string& path) {
  return config_internal::ParseExpandingEnv(text, path, !*NoExpandEnvFlag(), ParseExpanded);
}

absl::StatusOr<MonitorConfig> LoadMonitorConfig(const std::string& path) {
  absl::StatusOr<std::string> text = config_internal::ReadConfigFile(path);
  if (!text.ok()) return text.status();
  return ParseMonitorConfigText(*text, path);
}

}  // namespace litesync
