// The S3 backend's settings (replica/storage/backend_settings.h).
#pragma once

#include <optional>
#include <string>

#include "base/secret.h"

#include "replica/storage/backend_settings.h"

namespace litesync {

struct S3Settings : BackendSettingsOf<S3Settings> {
  // Bucket and key prefix (no leading or trailing slash).
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

  bool operator==(const S3Settings&) const = default;
};

}  // namespace litesync
