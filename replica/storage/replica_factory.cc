// The factory behind replica_client.h: a client for a replica's options, and the
// options for a replica URL, each from the backend's registration (backend.h).
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/secret.h"
#include "fmt/format.h"

#include "replica/crypto/age_replica_client.h"
#include "replica/storage/backend.h"
#include "replica/storage/replica_client.h"
#include "replica/storage/url_parts.h"

namespace litesync {

absl::StatusOr<std::unique_ptr<ReplicaClient>> NewReplicaClient(const ReplicaOptions& options) {
  const Backend* backend = FindBackend(options.type);
  if (!backend) {
    std::string name = options.name.empty() ? "" : fmt::format(" \"{}\"", options.name);
    return absl::InvalidArgumentError(fmt::format("replica{}: type must be {} (got \"{}\")", name,
                                                  KnownBackends(), options.type));
  }
  absl::StatusOr<std::unique_ptr<ReplicaClient>> client = backend->open(options);
  if (!client.ok()) return client.status();
  return WrapAgeReplicaClient(*std::move(client), options.age);  // a no-op without age:
}

absl::StatusOr<ReplicaOptions> ReplicaOptionsFromUrl(std::string_view url) {
  if (url.empty()) return absl::InvalidArgumentError("replica URL is empty");
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return PlainPathBackend().from_path(url);
  std::string scheme = url_parts::Lower(url.substr(0, sep));
  const Backend* backend = FindBackend(scheme);
  if (!backend) {
    return url_parts::UrlError(
        url, fmt::format("scheme must be {} (got \"{}\")", KnownBackends(), scheme));
  }
  return backend->from_url(url, url.substr(sep + 3));
}

}  // namespace litesync
