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

#include "replica/storage/backend_settings.h"

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
  std::string type;  // a registered backend's scheme (replica/storage/backend.h)
  std::string name;  // optional, for logs and status; defaults to type

  // The backend's own settings (its folder's FileSettings, S3Settings...): where
  // the replica lives and how to reach it. `settings<T>()` on const options gives
  // T's defaults when they hold none (or another backend's); on mutable options
  // it makes them.
  BackendSettingsHolder backend_settings;
  template <typename T>
  const T& settings() const {
    static const T kDefaults;
    const T* s = backend_settings.Find<T>();
    return s != nullptr ? *s : kDefaults;
  }
  template <typename T>
  T& settings() {
    return backend_settings.Get<T>();
  }

  absl::Duration sync_interval = absl::Seconds(1);
  absl::Duration retention = absl::Hours(24);
  absl::Duration snapshot_interval = absl::ZeroDuration();    // 0: only when needed
  absl::Duration validation_interval = absl::ZeroDuration();  // 0: off
  // How often, at most, the liveness record (replica/format/liveness.h) is
  // written while the replica is caught up: what an independent monitor needs to
  // tell an idle database from a dead sidecar. One PUT per interval; 0: off.
  absl::Duration liveness_interval = absl::ZeroDuration();
  // How often compaction builds levels 1, 2 and 3 (replica/maintenance/compactor.h); zero
  // disables that level and every level above it.
  std::array<absl::Duration, 3> compaction_intervals = {absl::Seconds(30), absl::Minutes(5),
                                                        absl::Hours(1)};
  AgeOptions age;

  // A reader that must not change the replica (`litesync monitor`): the
  // directory backend then leaves abandoned temp files alone when it lists.
  bool read_only = false;

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
