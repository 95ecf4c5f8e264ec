// The directory backend's registration (replica/storage/backend.h).
#include <filesystem>
#include <string>

#include "base/path.h"
#include "fmt/format.h"

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

ReplicaOptions FromPath(std::string_view path) {
  ReplicaOptions o;
  o.type = "file";
  o.settings<FileSettings>().path = std::string(path);
  return o;
}

// url: file:///backups/app, or path: (relative to the working directory or ~).
absl::Status LocationFromConfig(const ReplicaConfig& c, ReplicaOptions* r) {
  std::string& path = r->settings<FileSettings>().path;
  if (c.url.empty()) {
    const ConfigView& m = *c.replica;
    if (absl::Status s = m.ReadString("path", &path); !s.ok()) return s;
    if (path.empty()) return m.Error(m.Has("path") ? "path" : "", "needs a path (or a url)");
    path = AbsolutePath(path);
    return absl::OkStatus();
  }
  const ConfigView& m = *c.url_from;
  if (m.Has("path")) return m.Error("path", "give either url or path, not both");
  std::string rest = c.url.substr(c.url.find("://") + 3);
  if (rest.find_first_of("?#") != std::string::npos) {
    return m.Error("url", "a file URL takes no ?query or #fragment");
  }
  size_t slash = rest.find('/');
  std::string host = rest.substr(0, slash);
  std::string after = slash == std::string::npos ? "" : rest.substr(slash);
  if (!host.empty() && host != "localhost") {
    return m.Error("url", fmt::format("a file URL needs an absolute path: file:///{} (or use "
                                      "path: for a relative directory)",
                                      rest));
  }
  if (StripSlashes(after).empty()) return m.Error("url", "names no directory");
  path = AbsolutePath(after);
  return absl::OkStatus();
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
    .naming_key = "",
    .settings_keys = {},
    .from_path = FromPath,
    .location_from_config = LocationFromConfig,
    .settings_from_config = nullptr,
    .check_defaults = nullptr,
};

}  // namespace litesync
