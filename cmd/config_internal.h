// Internals of the config parser shared by cmd/config*.cc (not for other callers):
// a checked view of a YAML map whose errors cite `file:line: key.path: problem`,
// ${VAR} expansion, path normalization and the replica parser. Not thread-safe
// (reads the environment); used on the main thread before anything starts.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/path.h"
#include <yaml-cpp/yaml.h>

#include "cmd/config.h"
#include "replica/storage/config_view.h"
#include "replica/storage/replica_options.h"

namespace litesync::config_internal {

// Line (1-based) of `node`, or `fallback` when it is undefined or null (a null
// node's position is unreliable).
int LineOf(const YAML::Node& node, int fallback);

// `file:line: key: msg` (or `file:line: msg` when key is empty), InvalidArgument.
absl::Status ConfigError(const std::string& file, int line, std::string_view key,
                         std::string_view msg);

// One variable reference ExpandEnv replaced.
struct Substitution {
  int line = 0;           // 1-based, in the file as written
  std::string reference;  // as written: "${VAR}" or "$VAR"
  std::string value;      // what it was replaced with
};

// Replaces ${VAR} and $VAR (VAR = [A-Za-z_][A-Za-z0-9_]*) with the environment's
// value; `$$` is a literal `$`; a `$` before anything else is kept. YAML comments
// (a `#` at the start of a line or after a blank, outside quotes) are left alone.
// An unset variable is an error naming it and its line. Each replacement is
// appended to `subs` when it is not null.
absl::StatusOr<std::string> ExpandEnv(std::string_view text, const std::string& file,
                                      std::vector<Substitution>* subs = nullptr);

// A config error about the expanded text, shown as the file is written: every
// value a variable gave that the message quotes becomes the variable's reference
// again, so an error never prints what the environment holds (a secret in
// `endpoint: notaurl${SECRET}` reads `notaurl${SECRET}`). Values from the line the
// message cites are replaced whatever their length; values from other lines
// (which a message quotes more rarely, e.g. another entry's replica location)
// from 8 characters, so that a short value such as `s3` or `1h` does not
// rewrite the words of the message itself.
absl::Status AsWritten(const absl::Status& error, const std::string& file,
                       const std::vector<Substitution>& subs);

// `parse(text, path)` of the text after ExpandEnv (unless `expand` is false),
// its errors shown AsWritten: litesync.yml and monitor.yml alike.
template <typename Parse>
auto ParseExpandingEnv(const std::string& text, const std::string& path, bool expand, Parse parse)
    -> decltype(parse(text, path)) {
  if (!expand) return parse(text, path);
  std::vector<Substitution> subs;
  absl::StatusOr<std::string> expanded = ExpandEnv(text, path, &subs);
  if (!expanded.ok()) return expanded.status();
  auto config = parse(*expanded, path);
  if (!config.ok()) return AsWritten(config.status(), path, subs);
  return config;
}

// A config file's whole text; InvalidArgument naming the file when it cannot be
// read.
absl::StatusOr<std::string> ReadConfigFile(const std::string& path);

// "~" and "~/x" from $HOME; relative paths against the working directory
// (base/path.h, shared with the backends' config readers).
using litesync::AbsolutePath;

enum class DurationRule { kPositive, kNonNegative };

// The keys and values of one YAML map, checked against the keys it may hold; the
// backends read their keys through it as a ConfigView.
class MapView : public ConfigView {
 public:
  // Errors when `node` is not a map (or null/empty when `allow_null`), when a key is
  // repeated or unknown (with a did-you-mean or the list of known keys). `path` is
  // the key path of the map itself ("dbs[0].replica"; empty at the top level);
  // `parent_line` is used when the node has no position.
  static absl::StatusOr<MapView> Make(const std::string& file, const YAML::Node& node,
                                      std::string path, int parent_line,
                                      std::span<const std::string_view> known);
  static absl::StatusOr<MapView> Make(const std::string& file, const YAML::Node& node,
                                      std::string path, int parent_line,
                                      std::initializer_list<std::string_view> known) {
    return Make(file, node, std::move(path), parent_line,
                std::span<const std::string_view>(known.begin(), known.size()));
  }
  // The keys present, in name order.
  std::vector<std::string> Keys() const;

  bool Has(std::string_view name) const override { return entries_.count(std::string(name)) > 0; }
  // The value node (an undefined node when absent).
  YAML::Node Get(std::string_view name) const;
  int Line() const { return line_; }
  int LineOf(std::string_view name) const;  // the key's line, or the map's when absent
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  std::string KeyPath(std::string_view name) const;  // "dbs[0].replica" + "url"

  // Readers: an absent key leaves `out` unchanged and returns OK.
  absl::Status ReadString(std::string_view name, std::string* out) const override;
  absl::Status ReadBool(std::string_view name, bool* out) const override;
  absl::Status ReadInt(std::string_view name, int64_t min, int64_t* out) const;
  absl::Status ReadDuration(std::string_view name, DurationRule rule, absl::Duration* out) const;
  // A list of strings (a single scalar counts as a list of one).
  absl::Status ReadStringList(std::string_view name, std::vector<std::string>* out) const;

  // An error at `name` (its line, its key path), or at the map itself when empty.
  absl::Status Error(std::string_view name, std::string_view msg) const override;

 private:
  struct Entry {
    YAML::Node key;
    YAML::Node value;
    int line = 0;
  };
  MapView(std::string file, std::string path, int line)
      : file_(std::move(file)), path_(std::move(path)), line_(line) {}
  absl::StatusOr<std::string> Scalar(std::string_view name) const;

  std::string file_;
  std::string path_;
  int line_ = 0;
  std::map<std::string, Entry> entries_;
};

// Keys of Litestream's ReplicaSettings that litesync reads nowhere else (refused
// or noted by RefusedKeyReason / IgnoredReplicaKeyReason).
inline constexpr std::string_view kLitestreamReplicaOnlyKeys[] = {"max-sync-ltx-files",
                                                                  "auto-recover",
                                                                  "sign-payload",
                                                                  "require-content-md5",
                                                                  "storage-class",
                                                                  "part-size",
                                                                  "concurrency",
                                                                  "sse-customer-algorithm",
                                                                  "sse-customer-key",
                                                                  "sse-customer-key-path",
                                                                  "sse-kms-key-id",
                                                                  "account-name",
                                                                  "account-key",
                                                                  "sas-token",
                                                                  "host",
                                                                  "user",
                                                                  "password",
                                                                  "key-path",
                                                                  "concurrent-writes",
                                                                  "host-key",
                                                                  "webdav-url",
                                                                  "webdav-username",
                                                                  "webdav-password",
                                                                  "jwt",
                                                                  "seed",
                                                                  "creds",
                                                                  "nkey",
                                                                  "username",
                                                                  "token",
                                                                  "tls",
                                                                  "root-cas",
                                                                  "client-cert",
                                                                  "client-key",
                                                                  "max-reconnects",
                                                                  "reconnect-wait",
                                                                  "timeout",
                                                                  "age"};

// What every replica inherits unless it sets the key itself (Litestream's rule):
// the replica settings written at the top level of the config, and the values of
// the snapshot:, levels:, validation: and retention: blocks.
struct ReplicaDefaults {
  const MapView* top = nullptr;  // the top-level map; its replica-setting keys are defaults
  std::optional<absl::Duration> snapshot_interval;  // snapshot.interval
  std::optional<absl::Duration> retention;          // snapshot.retention
  std::optional<absl::Duration> validation_interval;
  std::optional<std::array<absl::Duration, 3>> compaction_intervals;  // levels:
  bool retention_disabled = false;                                    // retention.enabled: false
  // Keys litesync reads differently from Litestream: "file:line: key: what litesync does".
  std::vector<std::string>* notes = nullptr;
  // monitor.yml: the url a replica map without url: or path: takes (the defaults'
  // template with the entry's name filled in) and the map that wrote it, whose line
  // errors about it cite; and keys of the replica map that the caller reads itself.
  std::string url;
  const MapView* url_from = nullptr;
  std::span<const std::string_view> extra_keys;
};

// Adds "file:line: key: text" for `name` of `m` to defaults.notes (once per line).
void Note(const ReplicaDefaults& defaults, const MapView& m, std::string_view name,
          std::string_view text);

// Litestream keys litesync refuses, with what it does instead; "" when `name` is
// not one of them. Covers the backends litesync lacks (gs, abs, sftp, webdav,
// nats, oss) and their settings.
std::string RefusedKeyReason(std::string_view name);
// The same for a replica type or URL scheme ("gs", "sftp", ...); "" when known.
std::string RefusedBackendReason(std::string_view type);
// The replica settings Litestream accepts at the top level and in a replica that
// litesync accepts and ignores, with the reason (for Note).
std::string IgnoredReplicaKeyReason(std::string_view name);

// The top level's Litestream keys: logging, snapshot, levels, validation,
// retention, l0-retention, l0-retention-check-interval, verify-compaction, exec,
// socket, mcp-addr, shutdown-sync-interval, and the replica settings litesync
// refuses or ignores. Fills config->log_*, exec, socket_path and notes, and
// `defaults` (whose `top` and `notes` the caller sets).
absl::Status ParseLitestreamTop(const MapView& top, Config* config, ReplicaDefaults* defaults);
inline constexpr std::string_view kLitestreamTopKeys[] = {"logging",
                                                          "snapshot",
                                                          "levels",
                                                          "validation",
                                                          "retention",
                                                          "l0-retention",
                                                          "l0-retention-check-interval",
                                                          "verify-compaction",
                                                          "exec",
                                                          "socket",
                                                          "mcp-addr",
                                                          "shutdown-sync-interval",
                                                          "sync-interval",
                                                          "validation-interval"};

// A database's Litestream keys: snapshot: (its replicas' defaults), meta-path,
// monitor-interval, max-sync-wal-bytes, max-checkpoint-page-count (read as
// truncate-page-n) and restore-if-db-not-exists. `db` and `restore_if_missing`
// may be null (a dir: entry, which has neither).
absl::Status ParseLitestreamDb(const MapView& m, ReplicaDefaults* defaults, DbOptions* db,
                               bool* restore_if_missing);
inline constexpr std::string_view kLitestreamDbKeys[] = {"snapshot",
                                                         "meta-path",
                                                         "meta-dir",
                                                         "monitor-interval",
                                                         "max-sync-wal-bytes",
                                                         "max-checkpoint-page-count",
                                                         "restore-if-db-not-exists"};

// heartbeat-url, heartbeat-interval and heartbeats: of the top level, after the
// databases (a heartbeat's databases: must name configured ones). cmd/config_heartbeat.cc.
absl::Status ParseHeartbeats(const MapView& top, Config* config);
// ValidateHeartbeatUrl (heartbeat/heartbeat_url.h) of the URL at `key`, its
// message behind the file, line and key.
absl::Status CheckHeartbeatUrl(const MapView& m, std::string_view key, std::string_view url);
// A heartbeat item's timeout: (positive, when present) and method: (GET or POST,
// any case, stored upper-case), as litesync.yml and monitor.yml both read them.
absl::Status ReadPingRequest(const MapView& m, absl::Duration* timeout, std::string* method);

// Parses one replica map (`replica:` or an item of `replicas:`). `key` is its key
// path. Applies `defaults` and the AWS_* / LITESTREAM_* environment fallbacks.
absl::StatusOr<ReplicaOptions> ParseReplica(const std::string& file, const YAML::Node& node,
                                            const std::string& key, int parent_line,
                                            const ReplicaDefaults& defaults);

// Parses the replica's `age:` map into `out` (nothing when absent); key files are
// read here. cmd/config_age.cc.
absl::Status ParseAge(const MapView& replica, AgeOptions* out);

// Parses `replica:` / `replicas:` of a db or dir map (exactly one must be present).
absl::StatusOr<std::vector<ReplicaOptions>> ParseReplicas(const MapView& owner,
                                                          const ReplicaDefaults& defaults);

// An identity for "two databases must not share a replica location":
// "file:/abs/path" or "s3:<endpoint>/<bucket>/<prefix>".
std::string ReplicaLocation(const ReplicaOptions& r);

// Distance for did-you-mean suggestions (exposed for tests).
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace litesync::config_internal
