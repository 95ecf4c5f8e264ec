// The storage backends. A backend is one folder under replica/storage/ and one
// registration: a `Backend` it defines there, listed once in backend.cc. Nothing
// else in the program branches on a replica's type; it asks the registration.
// docs/DESIGN.md, "Adding a backend", walks through it.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "replica/storage/config_view.h"
#include "replica/storage/replica_client.h"
#include "replica/storage/replica_options.h"

namespace litesync {

struct Backend {
  // The URL scheme and the config's `type:` ("file", "s3").
  std::string_view scheme;
  // Parses a replica URL given on the command line or in a config: `rest` is
  // what follows "scheme://", `url` the whole URL (for messages).
  absl::StatusOr<ReplicaOptions> (*from_url)(std::string_view url, std::string_view rest);
  // For logs and status, never with secrets: "s3://bucket/prefix".
  std::string (*describe)(const ReplicaOptions& options);
  // Where the files live, including the server, so a config that points two
  // replicas at one place is refused: "s3:http://host:9000/bucket/prefix".
  std::string (*location)(const ReplicaOptions& options);
  // The client (ReplicaClient) for these options.
  absl::StatusOr<std::unique_ptr<ReplicaClient>> (*open)(const ReplicaOptions& options);
  // The replica of a database found at `relative` under a directory entry whose
  // replica template is `options` (a sub-directory, a longer key prefix).
  ReplicaOptions (*derive)(const ReplicaOptions& options, const std::string& relative);
  // An error reaching the replica at start-up that is worth waiting out (a
  // server still starting): replication starts and retries instead of failing.
  bool (*transient)(const absl::Status& s);
  // Large downloads spill to the scratch directory (restore checks it first).
  bool spills_to_scratch = false;
  // Large objects come faster as ranged reads on parallel connections (a store
  // across a network) than as one read.
  bool parallel_reads = false;
  // Config files (litesync.yml, monitor.yml; config_view.h). A key that, with
  // neither url: nor type:, makes a replica this backend's ("bucket"), or empty.
  std::string_view naming_key;
  // The backend's other keys, inherited from the defaults like the rest; every
  // one of these and `naming_key` is refused in another backend's replica.
  std::span<const std::string_view> settings_keys;
  // The replica at a plain path (a URL without a scheme, a config's replica
  // with only path:): one registration takes them, the others leave this null.
  ReplicaOptions (*from_path)(std::string_view path) = nullptr;
  // The replica's location, from `config.url` when it is set (its scheme is this
  // backend's; the url's map holds no other location key), else from the keys.
  absl::Status (*location_from_config)(const ReplicaConfig& config, ReplicaOptions* options);
  // The backend's settings (`settings_keys`, then the environment), read after
  // the location and the checks of every key; null when there are none.
  absl::Status (*settings_from_config)(const ReplicaConfig& config,
                                       ReplicaOptions* options) = nullptr;
  // Checks the backend's keys written as defaults (the config's top level) once,
  // so a mistake there shows even while no replica inherits it; may be null.
  absl::Status (*check_defaults)(const ConfigView& defaults) = nullptr;
};

// The registration for `scheme` (case-sensitive, lower case), or null.
const Backend* FindBackend(std::string_view scheme);
// Every registration, in a fixed order.
std::span<const Backend* const> Backends();
// The known schemes for messages: "\"file\" or \"s3\"".
std::string KnownBackends();
// The backend that takes config key `key` (its naming or settings key), when
// only one does, else null.
const Backend* BackendOfKey(std::string_view key);
// The backend of a config's replica given with neither url: nor type:, from the
// keys of its map: the backend whose naming key it holds, else the plain-path
// backend when it holds path:, else null.
const Backend* InferBackend(const ConfigView& replica);
// The backend of plain paths (the one with `from_path`).
const Backend& PlainPathBackend();

// True when any of `replicas` spills large downloads to the scratch directory.
bool AnySpillsToScratch(std::span<const ReplicaOptions> replicas);

// Registrations, each defined in its backend's folder.
extern const Backend kFileBackend;  // replica/storage/file/file_backend.cc
extern const Backend kS3Backend;    // replica/storage/s3/s3_backend.cc

}  // namespace litesync
