#include "cmd/databases.h"

#include <fnmatch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "base/log.h"
#include "base/secret.h"
#include "fmt/format.h"
#include <nlohmann/json.hpp>

#include "cmd/command.h"
#include "cmd/control_server.h"
#include "cmd/flags.h"
#include "replica/storage/backend.h"

namespace litesync {
namespace {

constexpr char kUsage[] =
    "Usage: litesync databases [-config PATH] [-json]\n"
    "\n"
    "Lists the databases of the config and the replicas each is copied to (credentials\n"
    "are never shown). Databases found in dirs: folders are listed as they are now.\n"
    "Then lists each key of the config that litesync reads differently from Litestream\n"
    "(`litesync databases -config /etc/litestream.yml` checks a Litestream config).\n"
    "With -json, prints one JSON object: {\"config\", \"databases\": [{\"path\",\n"
    "\"restore_if_db_not_exists\", \"replicas\": [{\"name\", \"type\", \"url\",\n"
    "\"sync_interval\", \"retention\", \"liveness_interval\"}]}], \"notes\": [...]}.\n"
    "LIVENESS is the replica's liveness-interval: how often, at most, it writes the\n"
    "liveness record `litesync monitor` needs to judge an idle database (one PUT each\n"
    "time); \"off\" by default.\n";

std::string LivenessText(const ReplicaOptions& r) {
  if (r.liveness_interval <= absl::ZeroDuration()) return "off";
  return absl::FormatDuration(r.liveness_interval);
}

bool IsSidecarFile(const std::string& name) {
  for (std::string_view suffix : {"-wal", "-shm", "-journal"}) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

bool Matches(const DirOptions& d, const std::string& relative) {
  if (!d.recursive && relative.find('/') != std::string::npos) return false;
  std::string base = std::filesystem::path(relative).filename().string();
  return !IsSidecarFile(base) && fnmatch(d.pattern.c_str(), base.c_str(), 0) == 0;
}

ResolvedDb FromDir(const DirOptions& d, const std::string& path, const std::string& relative) {
  ResolvedDb r;
  r.options.path = path;
  for (const ReplicaOptions& t : d.replicas)
    r.options.replicas.push_back(DeriveReplica(t, relative));
  r.source = d.source;
  return r;
}

absl::Status ScanDir(const DirOptions& d, const std::set<std::string>& listed,
                     std::vector<ResolvedDb>* out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(d.dir, ec)) {
    return absl::FailedPreconditionError(
        fmt::format("{}: {} is not a directory (create it, or fix dir:)", d.source, d.dir));
  }
  std::vector<std::string> found;
  auto visit = [&](const fs::directory_entry& e) {
    std::error_code fe;
    if (!e.is_regular_file(fe)) return;
    // Lexical: no readlink per path component on every rescan.
    std::string rel = e.path().lexically_relative(d.dir).string();
    if (!rel.empty() && Matches(d, rel)) found.push_back(rel);
  };
  if (d.recursive) {
    fs::recursive_directory_iterator it(d.dir, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) visit(*it);
  } else {
    fs::directory_iterator it(d.dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) visit(*it);
  }
  if (ec) {
    return absl::FailedPreconditionError(
        fmt::format("{}: cannot list {}: {}", d.source, d.dir, ec.message()));
  }
  std::sort(found.begin(), found.end());
  for (const std::string& rel : found) {
    std::string path = (fs::path(d.dir) / rel).lexically_normal().string();
    if (listed.count(path) == 0) out->push_back(FromDir(d, path, rel));
  }
  return absl::OkStatus();
}

bool RestoresIfMissing(const Config& config, const std::string& path) {
  return std::find(config.restore_if_missing.begin(), config.restore_if_missing.end(), path) !=
         config.restore_if_missing.end();
}

std::string DatabasesJson(const Config& config, const std::vector<ResolvedDb>& dbs) {
  nlohmann::ordered_json out;
  out["config"] = config.path;
  out["databases"] = nlohmann::ordered_json::array();
  for (const ResolvedDb& db : dbs) {
    nlohmann::ordered_json d;
    d["path"] = db.options.path;
    d["restore_if_db_not_exists"] = RestoresIfMissing(config, db.options.path);
    d["replicas"] = nlohmann::ordered_json::array();
    for (const ReplicaOptions& r : db.options.replicas) {
      d["replicas"].push_back({{"name", r.name.empty() ? r.type : r.name},
                               {"type", r.type},
                               {"url", RedactUrl(r.Describe())},
                               {"sync_interval", absl::FormatDuration(r.sync_interval)},
                               {"retention", absl::FormatDuration(r.retention)},
                               {"liveness_interval", LivenessText(r)}});
    }
    out["databases"].push_back(std::move(d));
  }
  out["notes"] = config.notes;
  return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string DatabasesTable(const Config& config, const std::vector<ResolvedDb>& dbs) {
  std::vector<std::vector<std::string>> rows = {
      {"PATH", "REPLICA", "NAME", "SYNC-INTERVAL", "RETENTION", "LIVENESS"}};
  for (const ResolvedDb& db : dbs) {
    for (size_t i = 0; i < db.options.replicas.size(); ++i) {
      const ReplicaOptions& r = db.options.replicas[i];
      rows.push_back({i == 0 ? db.options.path : "", RedactUrl(r.Describe()),
                      r.name.empty() ? r.type : r.name, absl::FormatDuration(r.sync_interval),
                      absl::FormatDuration(r.retention), LivenessText(r)});
    }
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += c + 1 < row.size() ? fmt::format("{:<{}}  ", row[c], width[c]) : row[c];
    }
    out += line + "\n";
  }
  if (!config.notes.empty()) {
    out += "\nKeys litesync reads differently from Litestream:\n";
    for (const std::string& note : config.notes) out += "  " + note + "\n";
  }
  return out;
}

}  // namespace

ReplicaOptions DeriveReplica(const ReplicaOptions& tmpl, const std::string& relative) {
  const Backend* backend = FindBackend(tmpl.type);
  return backend ? backend->derive(tmpl, relative) : tmpl;
}

absl::StatusOr<std::vector<ResolvedDb>> ResolveDatabases(const Config& config) {
  std::vector<ResolvedDb> out;
  std::set<std::string> listed;
  for (size_t i = 0; i < config.dbs.size(); ++i) {
    out.push_back({config.dbs[i], i < config.db_sources.size() ? config.db_sources[i] : ""});
    listed.insert(config.dbs[i].path);
  }
  for (const DirOptions& d : config.dirs) {
    if (absl::Status s = ScanDir(d, listed, &out); !s.ok()) return s;
  }
  // An idle replica is reached as often as the health rule needs, no more.
  for (ResolvedDb& r : out) r.options.health_interval = HealthInterval(config);
  return out;
}

absl::StatusOr<ResolvedDb> FindDatabase(const Config& config, const std::string& path) {
  std::string want = NormalizePath(path);
  for (size_t i = 0; i < config.dbs.size(); ++i) {
    if (config.dbs[i].path == want) {
      return ResolvedDb{config.dbs[i], i < config.db_sources.size() ? config.db_sources[i] : ""};
    }
  }
  for (const DirOptions& d : config.dirs) {
    std::string dir = d.dir == "/" ? "" : d.dir;
    if (want.size() > dir.size() + 1 && want.compare(0, dir.size(), dir) == 0 &&
        want[dir.size()] == '/') {
      std::string rel = want.substr(dir.size() + 1);
      if (Matches(d, rel)) return FromDir(d, want, rel);
    }
  }
  std::string known;
  for (const DbOptions& db : config.dbs) known += "\n  " + db.path;
  for (const DirOptions& d : config.dirs) {
    known += fmt::format("\n  {}/{}{}", d.dir, d.recursive ? "**/" : "", d.pattern);
  }
  return absl::NotFoundError(
      fmt::format("{} is not a database of {}; its databases are:{}", want, config.path, known));
}

absl::StatusOr<std::vector<ReplicaOptions>> PickReplicas(const DbOptions& db,
                                                         const std::string& name) {
  std::vector<ReplicaOptions> out;
  std::string names;
  for (const ReplicaOptions& r : db.replicas) {
    std::string its = r.name.empty() ? r.type : r.name;
    names += (names.empty() ? "" : ", ") + its;
    if (name.empty() || name == its) out.push_back(r);
  }
  if (out.empty()) {
    return absl::NotFoundError(
        fmt::format("{} has no replica named \"{}\" (its replicas: {})", db.path, name, names));
  }
  return out;
}

int RunDatabasesCommand(const std::vector<std::string>& args) {
  std::string config_flag;
  bool json = false;
  FlagSet flags(kUsage);
  flags.Bool("json", &json, "print JSON instead of a table");
  flags.String("config", &config_flag, "PATH", kConfigFlagHelp);
  flags.Bool("no-expand-env", NoExpandEnvFlag(), kNoExpandEnvFlagHelp);
  if (std::optional<int> code = flags.ParseOrExit(args, "litesync databases")) return *code;
  if (!flags.args().empty()) {
    PrintError("databases", fmt::format("unexpected argument \"{}\"", flags.args()[0]));
    return kExitUsage;
  }
  absl::StatusOr<Config> config = LoadCommandConfig(config_flag, "");
  if (!config.ok()) {
    PrintError("databases", config.status());
    return kExitUsage;
  }
  absl::StatusOr<std::vector<ResolvedDb>> dbs = ResolveDatabases(*config);
  if (!dbs.ok()) {
    PrintError("databases", dbs.status());
    return kExitUsage;
  }
  std::fputs(json ? DatabasesJson(*config, *dbs).c_str() : DatabasesTable(*config, *dbs).c_str(),
             stdout);
  return kExitOk;
}

}  // namespace litesync
