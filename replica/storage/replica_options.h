// Plain option structs the config parser fills and the replica module consumes.
// No YAML here: cmd/config.cc is the only yaml-cpp user.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/secret.h"

namespace litesync {

// Encryption at rest with age (replica/crypto/age.h). Off when both lists are
// empty. Files are encrypted to `recipients` (or, when there are none, to the
// identities' own public keys) and read with `identities`.
struct AgeOptions {
  std::vector<std::string> recipients;  // "age1..."
  std::vector<Secret> identities;       // "AGE-SECRET-KEY-1..."
  bool enabled() const { return !recipients.empty() || !identities.empty(); }
};

struct ReplicaOptions {
  std::string type;  // "file" or "s3"
  std::string name;  // optional, for logs and status; defaults to type

  // file: the replica directory (absolute or relative to the working directory).
  std::string path;

  // s3: bucket and key prefix (no leading or trailing slash), server settings.
  std::string bucket;
  std::string prefix;
  std::string endpoint;  // e.g. http://127.0.0.1:9000; empty: AWS for `region`
  std::string region;    // empty: us-east-1
  // Path style (https://host/BUCKET/key) or virtual-hosted (https://BUCKET.host/key).
  // Unset: path style with an endpoint (what S3-compatible servers accept without
  // DNS per bucket), virtual-hosted on AWS.
  std::optional<bool> force_path_style;
  bool skip_verify = false;
  Secret access_key_id;
  Secret secret_access_key;
  Secret session_token;

  absl::Duration sync_interval = absl::Seconds(1);
  absl::Duration retention = absl::Hours(24);
  absl::Duration snapshot_interval = absl::ZeroDuration();    // 0: only when needed
  absl::Duration validation_interval = absl::ZeroDuration();  // 0: off
  // How often compaction builds levels 1, 2 and 3 (replica/maintenance/compactor.h); zero
  // disables that level and every level above it.
  std::array<absl::Duration, 3> compaction_intervals = {absl::Seconds(30), absl::Minutes(5),
                                                        absl::Hours(1)};
  AgeOptions age;

  // Compaction, retention and periodic snapshots run inside the watcher; tests
  // that drive them by hand turn this off.
  bool maintenance = true;

  // For logs and status: "file:///backups/app" or "s3://bucket/prefix" (no secrets).
  std::string Describe() const;
};

struct DbOptions {
  std::string path;  // the database file
  std::vector<ReplicaOptions> replicas;

  // WAL bounds: PASSIVE checkpoint past min_checkpoint_pages frames, TRUNCATE past
  // truncate_pages (which may briefly wait for the application's readers).
  int64_t min_checkpoint_pages = 1000;
  int64_t truncate_pages = 121359;  // ~ 500 MB of 4 KiB pages
  absl::Duration checkpoint_interval = absl::Minutes(1);
  absl::Duration busy_timeout = absl::Seconds(1);
  // The health rule's interval (the shortest heartbeat interval, 5m without
  // one): a replica with nothing to write is reached (one cheap request) every
  // 0.5-0.6 of it, jittered, so it stays healthy and an unreachable one shows
  // within the interval. Zero: every 10 s (or sync-interval, if longer).
  absl::Duration health_interval = absl::ZeroDuration();
  // `replicate -once -force-snapshot`: the final sync, once every replica has
  // everything, also writes a full snapshot to each (Litestream's meaning).
  bool force_snapshot = false;
};

}  // namespace litesync
