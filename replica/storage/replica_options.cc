#include "replica/storage/replica_options.h"

#include "fmt/format.h"

namespace litesync {

std::string ReplicaOptions::Describe() const {
  if (type == "s3") {
    return prefix.empty() ? fmt::format("s3://{}", bucket)
                          : fmt::format("s3://{}/{}", bucket, prefix);
  }
  return "file://" + path;
}

}  // namespace litesync
