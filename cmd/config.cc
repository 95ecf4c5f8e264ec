// litesync.yml: the top level, dbs and dirs (heartbeats: config_heartbeat.cc). The
// only yaml-cpp user (with the other cmd/config_*.cc); yaml-cpp exceptions stop here.
#include "cmd/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>
#include <map>
#include <span>
#include <system_error>

#include "absl/strings/numbers.h"
#include "base/handles.h"
#include "base/log.h"
#include "fmt/format.h"
#include <yaml-cpp/yaml.h>

#include "cmd/config_internal.h"
#include "replica/storage/backend.h"

namespace litesync {
namespace {

using config_internal::AbsolutePath;
using config_internal::ConfigError;
using config_internal::DurationRule;
using config_internal::LineOf;
using config_internal::MapView;
using config_internal::ReplicaDefaults;

// Where each replica location was first claimed, to refuse sharing one.
struct LocationOwner {
  std::string db;
  int line;
};

absl::Status ParseDir(const std::string& file, const YAML::Node& item, const std::string& key,
                      int list_line, const ReplicaDefaults& global, Config* config);

absl::Status ParseDb(const std::string& file, const YAML::Node& item, size_t i, int list_line,
                     const ReplicaDefaults& global, Config* config,
                     std::map<std::string, int>* db_lines,
                     std::map<std::string, LocationOwner>* locations) {
  std::string key = fmt::format("dbs[{}]", i);
  int line = LineOf(item, list_line);
  if (!item.IsDefined() || item.IsNull()) {
    return ConfigError(file, line, key, "is empty: each database needs a path and a replica");
  }
  if (item.IsMap() && item["dir"]) {
    if (item["path"]) {
      return ConfigError(file, LineOf(item["dir"], line), key + ".dir",
                         "give either path: (one database) or dir: (a folder), not both");
    }
    return ParseDir(file, item, key, list_line, global, config);
  }
  std::vector<std::string_view> known = {"path",
                                         "replica",
                                         "replicas",
                                         "min-checkpoint-page-count",
                                         "truncate-page-n",
                                         "checkpoint-interval",
                                         "busy-timeout"};
  known.insert(known.end(), std::begin(config_internal::kLitestreamDbKeys),
               std::end(config_internal::kLitestreamDbKeys));
  absl::StatusOr<MapView> view = MapView::Make(file, item, key, line, known);
  if (!view.ok()) return view.status();
  const MapView& m = *view;
  DbOptions db;
  ReplicaDefaults defaults = global;  // the database's snapshot: overrides the top level's
  bool restore_if_missing = false;
  if (absl::Status s = config_internal::ParseLitestreamDb(m, &defaults, &db, &restore_if_missing);
      !s.ok()) {
    return s;
  }
  std::string path;
  if (absl::Status s = m.ReadString("path", &path); !s.ok()) return s;
  for (std::string_view scheme : {"sqlite://", "sqlite3://"}) {  // Litestream's URL form
    if (path.rfind(scheme, 0) == 0) path = path.substr(scheme.size());
  }
  if (path.empty())
    return m.Error(m.Has("path") ? "path" : "", "needs a path: (the database file)");
  db.path = AbsolutePath(path);
  if (auto it = db_lines->find(db.path); it != db_lines->end()) {
    return m.Error("path", fmt::format("{} is already listed at line {}", db.path, it->second));
  }
  (*db_lines)[db.path] = m.LineOf("path");

  if (absl::Status s = m.ReadInt("min-checkpoint-page-count", 1, &db.min_checkpoint_pages);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = m.ReadInt("truncate-page-n", 1, &db.truncate_pages); !s.ok()) return s;
  if (db.truncate_pages <= db.min_checkpoint_pages) {
    std::string_view max_key =
        m.Has("max-checkpoint-page-count") ? "max-checkpoint-page-count" : "truncate-page-n";
    return m.Error(m.Has(max_key) ? max_key : "min-checkpoint-page-count",
                   fmt::format("truncate-page-n ({}) must be greater than "
                               "min-checkpoint-page-count ({})",
                               db.truncate_pages, db.min_checkpoint_pages));
  }
  if (absl::Status s =
          m.ReadDuration("checkpoint-interval", DurationRule::kPositive, &db.checkpoint_interval);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = m.ReadDuration("busy-timeout", DurationRule::kPositive, &db.busy_timeout);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<ReplicaOptions>> replicas = ParseReplicas(m, defaults);
  if (!replicas.ok()) return replicas.status();
  db.replicas = *std::move(replicas);
  if (restore_if_missing) config->restore_if_missing.push_back(db.path);
  for (const ReplicaOptions& r : db.replicas) {
    std::string loc = config_internal::ReplicaLocation(r);
    int rline = m.LineOf(m.Has("replica") ? "replica" : "replicas");
    if (auto it = locations->find(loc); it != locations->end()) {
      return m.Error(m.Has("replica") ? "replica" : "replicas",
                     fmt::format("{} is already the replica of {} (line {}); each database "
                                 "needs its own replica location",
                                 r.Describe(), it->second.db, it->second.line));
    }
    (*locations)[loc] = LocationOwner{db.path, rline};
  }
  config->dbs.push_back(std::move(db));
  config->db_sources.push_back(fmt::format("{}:{}: {}.path", file, m.LineOf("path"), key));
  return absl::OkStatus();
}

// A folder of databases: an item of `dirs:` (key "dirs[i]") or a `dbs:` item with
// `dir:` (key "dbs[i]", Litestream v0.5's form).
absl::Status ParseDir(const std::string& file, const YAML::Node& item, const std::string& key,
                      int list_line, const ReplicaDefaults& global, Config* config) {
  int line = LineOf(item, list_line);
  absl::StatusOr<MapView> view = MapView::Make(
      file, item, key, line,
      {"dir", "pattern", "recursive", "watch", "replica", "replicas", "snapshot", "meta-dir"});
  if (!view.ok()) return view.status();
  const MapView& m = *view;
  ReplicaDefaults defaults = global;
  if (absl::Status s = config_internal::ParseLitestreamDb(m, &defaults, nullptr, nullptr);
      !s.ok()) {
    return s;
  }
  bool watch = true;
  if (absl::Status s = m.ReadBool("watch", &watch); !s.ok()) return s;
  if (!watch) {
    config_internal::Note(defaults, m, "watch",
                          "litesync rescans the folder every few seconds and on SIGHUP even "
                          "with watch: false");
  }
  DirOptions d;
  std::string dir;
  if (absl::Status s = m.ReadString("dir", &dir); !s.ok()) return s;
  if (dir.empty()) return m.Error(m.Has("dir") ? "dir" : "", "needs a dir: (the folder to watch)");
  d.dir = AbsolutePath(dir);
  if (absl::Status s = m.ReadString("pattern", &d.pattern); !s.ok()) return s;
  if (d.pattern.empty() || d.pattern.find('/') != std::string::npos) {
    return m.Error("pattern", "must match file names, like \"*.db\" (no slashes)");
  }
  if (absl::Status s = m.ReadBool("recursive", &d.recursive); !s.ok()) return s;
  absl::StatusOr<std::vector<ReplicaOptions>> replicas = ParseReplicas(m, defaults);
  if (!replicas.ok()) return replicas.status();
  d.replicas = *std::move(replicas);
  d.source = fmt::format("{}:{}: {}", file, m.Line(), key);
  for (const DirOptions& other : config->dirs) {
    if (other.dir == d.dir) {
      return m.Error("dir", fmt::format("{} is already listed ({})", d.dir, other.source));
    }
  }
  config->dirs.push_back(std::move(d));
  return absl::OkStatus();
}

absl::Status CheckAddr(const MapView& top, const std::string& addr) {
  size_t colon = addr.rfind(':');
  int port = 0;
  bool ok = colon != std::string::npos && absl::SimpleAtoi(addr.substr(colon + 1), &port) &&
            port >= 0 && port <= 65535;
  std::string host = ok ? addr.substr(0, colon) : "";
  if (ok && !host.empty() && host.front() == '[') ok = host.back() == ']';
  if (ok && host.find(':') != std::string::npos && host.front() != '[') ok = false;
  if (!ok) {
    return top.Error("addr", fmt::format("must be HOST:PORT like 127.0.0.1:9090 or :9090 "
                                         "(got \"{}\")",
                                         addr));
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> ParseRoot(const YAML::Node& root, const std::string& file) {
  if (!root.IsDefined() || root.IsNull()) {
    return ConfigError(file, 1, "",
                       "the config is empty: it needs at least a dbs: list (see "
                       "etc/litesync.yml for an annotated example)");
  }
  std::vector<std::string_view> known = {
      "log-level",  "addr", "heartbeat-url", "heartbeat-interval",
      "heartbeats", "dbs",  "dirs",          "shutdown-sync-timeout"};
  known.insert(known.end(), std::begin(config_internal::kLitestreamTopKeys),
               std::end(config_internal::kLitestreamTopKeys));
  for (const Backend* b : Backends()) {  // every replica inherits its backend's keys set here
    if (!b->naming_key.empty()) known.push_back(b->naming_key);
    known.insert(known.end(), b->settings_keys.begin(), b->settings_keys.end());
  }
  known.insert(known.end(), std::begin(config_internal::kLitestreamReplicaOnlyKeys),
               std::end(config_internal::kLitestreamReplicaOnlyKeys));
  absl::StatusOr<MapView> view = MapView::Make(file, root, "", 1, known);
  if (!view.ok()) return view.status();
  const MapView& top = *view;
  Config config;
  config.path = file;
  ReplicaDefaults defaults;
  defaults.top = &top;
  defaults.notes = &config.notes;
  if (absl::Status s = config_internal::ParseLitestreamTop(top, &config, &defaults); !s.ok()) {
    return s;
  }

  std::string level;
  if (absl::Status s = top.ReadString("log-level", &level); !s.ok()) return s;
  if (top.Has("log-level")) {  // logging.level (ParseLitestreamTop) refuses to be given too
    LogLevel l;
    if (!ParseLogLevel(level, &l)) {
      return top.Error("log-level",
                       fmt::format("must be debug, info, warn or error (got \"{}\")", level));
    }
    config.log_level = l;
  }
  if (absl::Status s = top.ReadString("addr", &config.addr); !s.ok()) return s;
  if (!config.addr.empty()) {
    if (absl::Status s = CheckAddr(top, config.addr); !s.ok()) return s;
  }
  if (!config.addr.empty() && config.addr.front() == ':') {
    config_internal::Note(defaults, top, "addr",
                          fmt::format("without a host litesync listens on 127.0.0.1{} only "
                                      "(Litestream: every interface); write 0.0.0.0{} for every "
                                      "interface",
                                      config.addr, config.addr));
  }
  if (absl::Status s = top.ReadDuration("shutdown-sync-timeout", DurationRule::kNonNegative,
                                        &config.shutdown_sync_timeout);
      !s.ok()) {
    return s;
  }
  for (const Backend* b : Backends()) {
    if (b->check_defaults == nullptr) continue;
    if (absl::Status s = b->check_defaults(top); !s.ok()) return s;
  }

  std::map<std::string, int> db_lines;
  std::map<std::string, LocationOwner> locations;
  if (top.Has("dbs") && !top.Get("dbs").IsNull()) {
    YAML::Node dbs = top.Get("dbs");
    if (!dbs.IsSequence()) {
      return top.Error("dbs", "must be a list: start each database with `- path:`");
    }
    for (size_t i = 0; i < dbs.size(); ++i) {
      if (absl::Status s =
              ParseDb(file, dbs[i], i, top.LineOf("dbs"), defaults, &config, &db_lines, &locations);
          !s.ok()) {
        return s;
      }
    }
  }
  if (top.Has("dirs") && !top.Get("dirs").IsNull()) {
    YAML::Node dirs = top.Get("dirs");
    if (!dirs.IsSequence()) return top.Error("dirs", "must be a list: start each with `- dir:`");
    for (size_t i = 0; i < dirs.size(); ++i) {
      if (absl::Status s = ParseDir(file, dirs[i], fmt::format("dirs[{}]", i), top.LineOf("dirs"),
                                    defaults, &config);
          !s.ok())
        return s;
    }
  }
  if (config.dbs.empty() && config.dirs.empty()) {
    return top.Error(top.Has("dbs") ? "dbs" : "",
                     "no databases: add a dbs: list, each entry with a path and a replica");
  }
  if (absl::Status s = config_internal::ParseHeartbeats(top, &config); !s.ok()) return s;
  return config;
}

absl::StatusOr<Config> ParseExpanded(const std::string& expanded, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(expanded);
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    return ConfigError(path, line, "", fmt::format("invalid YAML: {}", e.msg));
  }
  try {
    return ParseRoot(root, path);
  } catch (const YAML::Exception& e) {  // a conversion the checks above did not foresee
    int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    return ConfigError(path, line, "", fmt::format("invalid config: {}", e.msg));
  }
}

bool g_expand_env = true;

}  // namespace

void SetConfigExpandEnv(bool expand) { g_expand_env = expand; }

absl::StatusOr<Config> ParseConfigText(const std::string& text, const std::string& path) {
  return config_internal::ParseExpandingEnv(text, path, g_expand_env, ParseExpanded);
}

absl::StatusOr<std::string> config_internal::ReadConfigFile(const std::string& path) {
  auto cannot_read = [&path](int err) {
    return absl::InvalidArgumentError(
        fmt::format("{}: cannot read the config file: {}", path,
                    std::error_code(err, std::generic_category()).message()));
  };
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return cannot_read(errno);
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cannot_read(errno);
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

absl::StatusOr<Config> LoadConfig(const std::string& path) {
  absl::StatusOr<std::string> text = config_internal::ReadConfigFile(path);
  if (!text.ok()) return text.status();
  return ParseConfigText(*text, path);
}

}  // namespace litesync
