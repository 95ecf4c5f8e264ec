// The S3 backend's config reading (replica/storage/backend.h, config_view.h):
// the location (url: with Litestream's ?endpoint=... query, or bucket: and
// path:), the server settings and credentials, with the defaults' keys and the
// AWS_* / LITESTREAM_* environment as fallbacks. Main thread only.
#pragma once

#include "absl/status/status.h"

#include "replica/storage/config_view.h"
#include "replica/storage/replica_options.h"

namespace litesync::s3_config {

absl::Status LocationFromConfig(const ReplicaConfig& config, ReplicaOptions* options);
absl::Status SettingsFromConfig(const ReplicaConfig& config, ReplicaOptions* options);
// access-key-id and secret-access-key come as a pair.
absl::Status CheckDefaults(const ConfigView& defaults);

}  // namespace litesync::s3_config
