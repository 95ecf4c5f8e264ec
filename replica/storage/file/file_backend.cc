// The directory backend's registration (replica/storage/backend.h).
#include <filesystem>
#include <string>

#include "replica/storage/backend.h"
#include "replica/storage/file/file_replica_client.h"
#include "replica/storage/file/file_settings.h"
#include "replica/storage/url_parts.h"

namespace litesync {
namespace {

using namespace url_parts;  // NOLINT: the URL parsers' shared pieces

absl::StatusOr<ReplicaOptions> ParseFileUrl(std::string_view url, std::string_view rest) {
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return UrlError(url, "a file URL takes no query");
  }
  if (rest.substr(0, 10) == "localhost/") rest.remove_prefix(9);
  if (rest.empty() || rest[0] != '/') {
    return UrlError(url, "a file URL must be file:///absolute/path");
  }
  ReplicaOptions o;
  o.type = "file";
  if (!PercentDecode(rest, &o.settings<FileSettings>().path))
    return UrlError(url, "bad %-escape in the path");
  return o;
}

std::string Describe(const ReplicaOptions& o) {
  return "file://" + o.settings<FileSettings>().path;
}

std::string Location(const ReplicaOptions& o) { return "file:" + o.settings<FileSettings>().path; }

ReplicaOptions Derive(const ReplicaOptions& tmpl, const std::string& relative) {
  ReplicaOptions r = tmpl;
  std::string& path = r.settings<FileSettings>().path;
  path = (std::filesystem::path(path) / relative).lexically_normal().string();
  return r;
}

absl::StatusOr<std::unique_ptr<ReplicaClient>> Open(const ReplicaOptions& o) {
  return NewFileReplicaClient(o);
}

// A directory that cannot be reached is not a server still starting.
bool Transient(const absl::Status&) { return false; }

}  // namespace

const Backend kFileBackend = {
    .scheme = "file",
    .from_url = ParseFileUrl,
    .describe = Describe,
    .location = Location,
    .open = Open,
    .derive = Derive,
    .transient = Transient,
    .spills_to_scratch = false,
    .parallel_reads = false,
    .config_keys = {},
};

}  // namespace litesync
