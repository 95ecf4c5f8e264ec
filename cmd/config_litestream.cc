// The keys of Litestream's config (benbjohnson/litestream cmd/litestream/main.go,
// v0.3.13 and v0.5) that litesync reads with Litestream's meaning, reads
// differently (each becomes a note), or refuses with what to do instead.
#include <array>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "base/log.h"
#include "fmt/format.h"

#include "cmd/config_internal.h"

namespace litesync::config_internal {
namespace {

struct Reason {
  std::string_view key;
  std::string_view why;
};

constexpr std::string_view kOnlyFileAndS3 =
    "litesync writes to a directory (file) or to S3-compatible storage (s3)";

constexpr Reason kRefusedBackends[] = {
    {"gs",
     "Google Cloud Storage speaks S3: use type: s3 with endpoint: https://storage.googleapis.com "
     "and an HMAC key in access-key-id/secret-access-key"},
    {"abs",
     "litesync has no Azure Blob Storage client; replicate to S3-compatible storage or to a "
     "directory"},
    {"sftp", "replicate to a directory (an sshfs mount works) or to S3-compatible storage"},
    {"webdav", "replicate to a directory (a davfs2 mount works) or to S3-compatible storage"},
    {"webdavs", "replicate to a directory (a davfs2 mount works) or to S3-compatible storage"},
    {"nats", "replicate to S3-compatible storage or to a directory"},
    {"oss",
     "Alibaba Cloud OSS speaks S3: use type: s3 with endpoint: "
     "https://oss-<region>.aliyuncs.com"},
};

constexpr Reason kRefusedKeys[] = {
    {"storage-class",
     "litesync writes objects in the bucket's default storage class; remove the key (a "
     "lifecycle rule can move objects to another class)"},
    {"sse-customer-algorithm",
     "litesync sends no server-side-encryption headers; use the bucket's default encryption "
     "(SSE-S3 or SSE-KMS) instead"},
    {"sse-customer-key",
     "litesync sends no server-side-encryption headers; use the bucket's default encryption "
     "(SSE-S3 or SSE-KMS) instead"},
    {"sse-customer-key-path",
     "litesync sends no server-side-encryption headers; use the bucket's default encryption "
     "(SSE-S3 or SSE-KMS) instead"},
    {"sse-kms-key-id",
     "litesync sends no server-side-encryption headers; set the KMS key as the bucket's "
     "default encryption instead"},
    {"mcp-addr",
     "litesync has no MCP server; `litesync status -json` and the addr: endpoint's /status "
     "report the same state"},
};

// Settings of the backends litesync lacks: which backend each belongs to.
constexpr Reason kBackendKeys[] = {
    {"account-name", "abs"},
    {"account-key", "abs"},
    {"sas-token", "abs"},
    {"host", "sftp"},
    {"user", "sftp"},
    {"password", "sftp or nats"},
    {"key-path", "sftp"},
    {"concurrent-writes", "sftp"},
    {"host-key", "sftp"},
    {"webdav-url", "webdav"},
    {"webdav-username", "webdav"},
    {"webdav-password", "webdav"},
    {"jwt", "nats"},
    {"seed", "nats"},
    {"creds", "nats"},
    {"nkey", "nats"},
    {"username", "nats"},
    {"token", "nats"},
    {"tls", "nats"},
    {"root-cas", "nats"},
    {"client-cert", "nats"},
    {"client-key", "nats"},
    {"max-reconnects", "nats"},
    {"reconnect-wait", "nats"},
    {"timeout", "nats"},
};

constexpr Reason kIgnoredReplicaKeys[] = {
    {"max-sync-ltx-files",
     "ignored: litesync ships every committed transaction on each sync, however many"},
    {"auto-recover",
     "ignored: litesync always recovers by itself, starting a new lineage with a snapshot when "
     "the replica's chain no longer matches the database"},
    {"sign-payload",
     "ignored: litesync always signs the SHA-256 of each request body (x-amz-content-sha256)"},
    {"require-content-md5",
     "ignored: litesync sends Content-MD5 where S3 requires it (DeleteObjects)"},
    {"part-size", "ignored: litesync uploads each file in one PUT"},
    {"concurrency", "ignored: litesync uploads each file in one PUT"},
};

std::string_view Find(std::span<const Reason> table, std::string_view key) {
  for (const Reason& r : table) {
    if (r.key == key) return r.why;
  }
  return {};
}

using DR = DurationRule;

absl::StatusOr<MapView> Block(const MapView& owner, std::string_view name,
                              std::initializer_list<std::string_view> known) {
  return MapView::Make(owner.file(), owner.Get(name), owner.KeyPath(name), owner.LineOf(name),
                       known);
}

absl::Status ReadOptional(const MapView& m, std::string_view name, DR rule,
                          std::optional<absl::Duration>* out) {
  if (!m.Has(name)) return absl::OkStatus();
  absl::Duration d;
  if (absl::Status s = m.ReadDuration(name, rule, &d); !s.ok()) return s;
  *out = d;
  return absl::OkStatus();
}

// snapshot: {interval, retention} (top level or a database's own).
absl::Status ParseSnapshot(const MapView& owner, ReplicaDefaults* d) {
  if (!owner.Has("snapshot")) return absl::OkStatus();
  absl::StatusOr<MapView> m = Block(owner, "snapshot", {"interval", "retention"});
  if (!m.ok()) return m.status();
  if (absl::Status s = ReadOptional(*m, "interval", DR::kPositive, &d->snapshot_interval); !s.ok())
    return s;
  return ReadOptional(*m, "retention", DR::kPositive, &d->retention);
}

absl::Status ParseLogging(const MapView& top, Config* config, const ReplicaDefaults& d) {
  if (!top.Has("logging")) return absl::OkStatus();
  absl::StatusOr<MapView> view = Block(top, "logging", {"level", "type", "stderr", "source"});
  if (!view.ok()) return view.status();
  const MapView& m = *view;
  if (m.Has("level")) {
    if (top.Has("log-level")) return m.Error("level", "give log-level or logging.level, not both");
    std::string level;
    if (absl::Status s = m.ReadString("level", &level); !s.ok()) return s;
    LogLevel l;
    if (absl::AsciiStrToLower(level) == "trace") {
      l = LogLevel::kDebug;
      Note(d, m, "level", "trace is read as debug, litesync's most detailed level");
    } else if (!ParseLogLevel(absl::AsciiStrToLower(level), &l)) {
      return m.Error("level",
                     fmt::format("must be debug, info, warn or error (got \"{}\")", level));
    }
    config->log_level = l;
  }
  if (m.Has("type")) {
    std::string type;
    if (absl::Status s = m.ReadString("type", &type); !s.ok()) return s;
    type = absl::AsciiStrToLower(type);
    if (type != "text" && type != "json") {
      return m.Error("type", fmt::format("must be text or json (got \"{}\")", type));
    }
    config->log_format = type == "json" ? LogFormat::kJson : LogFormat::kText;
  }
  if (m.Has("stderr")) {
    bool to_stderr = true;
    if (absl::Status s = m.ReadBool("stderr", &to_stderr); !s.ok()) return s;
    config->log_stderr = to_stderr;
  }
  if (m.Has("source")) Note(d, m, "source", "ignored: litesync log lines name no source file");
  return absl::OkStatus();
}

// levels: [{interval: 5m}, {interval: 1h}, ...]: litesync's compaction levels 1 to 3.
absl::Status ParseLevels(const MapView& top, ReplicaDefaults* d) {
  if (!top.Has("levels")) return absl::OkStatus();
  YAML::Node list = top.Get("levels");
  if (!list.IsSequence()) return top.Error("levels", "must be a list of `- interval: 5m` entries");
  std::array<absl::Duration, 3> intervals;
  intervals.fill(absl::ZeroDuration());
  if (list.size() > intervals.size()) {
    return top.Error("levels", fmt::format("litesync builds at most {} compaction levels above "
                                           "level 0 (got {}); remove the rest",
                                           intervals.size(), list.size()));
  }
  for (size_t i = 0; i < list.size(); ++i) {
    absl::StatusOr<MapView> m = MapView::Make(top.file(), list[i], fmt::format("levels[{}]", i),
                                              LineOf(list[i], top.LineOf("levels")), {"interval"});
    if (!m.ok()) return m.status();
    if (!m->Has("interval")) return m->Error("", "needs an interval:");
    if (absl::Status s = m->ReadDuration("interval", DR::kPositive, &intervals[i]); !s.ok())
      return s;
  }
  d->compaction_intervals = intervals;
  return absl::OkStatus();
}

// socket: {enabled, path, permissions}.
absl::Status ParseSocket(const MapView& top, Config* config, const ReplicaDefaults& d) {
  if (!top.Has("socket")) return absl::OkStatus();
  absl::StatusOr<MapView> view = Block(top, "socket", {"enabled", "path", "permissions"});
  if (!view.ok()) return view.status();
  const MapView& m = *view;
  std::string path;
  if (absl::Status s = m.ReadString("path", &path); !s.ok()) return s;
  config->socket_path = AbsolutePath(path);
  Note(d, top, "socket",
       "litesync's control socket speaks litesync's protocol (litesync status, litesync sync); "
       "Litestream's CLI cannot use it");
  if (m.Has("enabled")) {
    Note(d, m, "enabled",
         "ignored: litesync always opens its control socket; `litesync status` and "
         "`litesync sync` need it");
  }
  if (m.Has("permissions")) {
    Note(d, m, "permissions", "ignored: the socket's directory decides who may connect");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseLitestreamTop(const MapView& top, Config* config, ReplicaDefaults* d) {
  for (const std::string& k : top.Keys()) {
    if (std::string why = RefusedKeyReason(k); !why.empty()) return top.Error(k, why);
    if (std::string why = IgnoredReplicaKeyReason(k); !why.empty()) Note(*d, top, k, why);
  }
  if (absl::Status s = ParseLogging(top, config, *d); !s.ok()) return s;
  if (absl::Status s = ParseSnapshot(top, d); !s.ok()) return s;
  if (absl::Status s = ParseLevels(top, d); !s.ok()) return s;
  if (top.Has("validation")) {
    absl::StatusOr<MapView> m = Block(top, "validation", {"interval"});
    if (!m.ok()) return m.status();
    if (absl::Status s = ReadOptional(*m, "interval", DR::kNonNegative, &d->validation_interval);
        !s.ok())
      return s;
  }
  if (top.Has("retention")) {
    absl::StatusOr<MapView> m = Block(top, "retention", {"enabled"});
    if (!m.ok()) return m.status();
    bool enabled = true;
    if (absl::Status s = m->ReadBool("enabled", &enabled); !s.ok()) return s;
    d->retention_disabled = !enabled;
  }
  absl::Duration ignored;
  if (absl::Status s = top.ReadDuration("l0-retention", DR::kNonNegative, &ignored); !s.ok())
    return s;
  if (top.Has("l0-retention")) {
    Note(*d, top, "l0-retention",
         "ignored: litesync deletes level-0 files by its retention rule (snapshot.retention), "
         "not on a clock of their own");
  }
  static constexpr Reason kIgnoredTop[] = {
      {"l0-retention-check-interval", "ignored: retention runs after each compaction"},
      {"verify-compaction",
       "ignored: use validation: (a periodic restore check of every replica) instead"},
      {"shutdown-sync-interval",
       "ignored: the final sync retries with litesync's own backoff until "
       "shutdown-sync-timeout"},
  };
  for (const Reason& r : kIgnoredTop) {
    if (top.Has(r.key)) Note(*d, top, r.key, r.why);
  }
  if (absl::Status s = top.ReadString("exec", &config->exec); !s.ok()) return s;
  return ParseSocket(top, config, *d);
}

absl::Status ParseLitestreamDb(const MapView& m, ReplicaDefaults* d, DbOptions* db,
                               bool* restore_if_missing) {
  if (absl::Status s = ParseSnapshot(m, d); !s.ok()) return s;
  static constexpr Reason kIgnoredDb[] = {
      {"meta-path", "ignored: litesync keeps no local metadata directory"},
      {"meta-dir", "ignored: litesync keeps no local metadata directory"},
      {"monitor-interval", "ignored: litesync polls the WAL every sync-interval"},
      {"max-sync-wal-bytes", "ignored: litesync has no per-sync WAL byte limit"},
  };
  for (const Reason& r : kIgnoredDb) {
    if (m.Has(r.key)) Note(*d, m, r.key, r.why);
  }
  if (db != nullptr && m.Has("max-checkpoint-page-count")) {
    if (m.Has("truncate-page-n")) {
      return m.Error("max-checkpoint-page-count", "give it or truncate-page-n, not both");
    }
    if (absl::Status s = m.ReadInt("max-checkpoint-page-count", 1, &db->truncate_pages); !s.ok())
      return s;
    Note(*d, m, "max-checkpoint-page-count",
         "read as truncate-page-n: past it litesync forces a TRUNCATE checkpoint (Litestream "
         "v0.3 forced a RESTART one)");
  }
  if (restore_if_missing == nullptr) return absl::OkStatus();
  // Acted on by `litesync replicate` (cmd/restore_on_start.h), as in Litestream.
  return m.ReadBool("restore-if-db-not-exists", restore_if_missing);
}

void Note(const ReplicaDefaults& defaults, const MapView& m, std::string_view name,
          std::string_view text) {
  if (defaults.notes == nullptr) return;
  std::string note = fmt::format("{}:{}: {}: {}", m.file(), m.LineOf(name), m.KeyPath(name), text);
  for (const std::string& n : *defaults.notes) {
    if (n == note) return;  // a top-level key inherited by many replicas: once
  }
  defaults.notes->push_back(std::move(note));
}

std::string RefusedBackendReason(std::string_view type) {
  std::string lower = absl::AsciiStrToLower(std::string(type));
  std::string_view why = Find(kRefusedBackends, lower);
  return why.empty() ? "" : fmt::format("{}; {}", kOnlyFileAndS3, why);
}

std::string RefusedKeyReason(std::string_view name) {
  if (std::string_view why = Find(kRefusedKeys, name); !why.empty()) return std::string(why);
  if (std::string_view backend = Find(kBackendKeys, name); !backend.empty()) {
    std::string first(backend.substr(0, backend.find(' ')));
    return fmt::format(
        "is a setting of Litestream's {} replicas, which litesync does not "
        "have; {}",
        backend, RefusedBackendReason(first));
  }
  return "";
}

std::string IgnoredReplicaKeyReason(std::string_view name) {
  return std::string(Find(kIgnoredReplicaKeys, name));
}

}  // namespace litesync::config_internal
