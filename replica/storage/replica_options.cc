#include "replica/storage/replica_options.h"

#include "replica/storage/backend.h"

namespace litesync {

std::string ReplicaOptions::Describe() const {
  const Backend* backend = FindBackend(type);
  return backend ? backend->describe(*this) : type + "://?";
}

}  // namespace litesync
