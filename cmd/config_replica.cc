// Parsing of `replica:` / `replicas:` entries: type inference from url/path/bucket,
// file and s3 URLs, AWS_* environment fallbacks, interval bounds.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "base/secret.h"
#include "fmt/format.h"

#include "cmd/config_internal.h"
#include "replica/storage/s3/s3_environment.h"

namespace litesync::config_internal {
namespace {

// Below this a sync loop only burns CPU and requests; Litestream's default is 1s.
constexpr absl::Duration kMinSyncInterval = absl::Milliseconds(10);

constexpr std::string_view kS3OnlyKeys[] = {"bucket",           "endpoint",    "region",
                                            "force-path-style", "skip-verify", "access-key-id",
                                            "secret-access-key"};

std::string StripSlashes(std::string s) {
  while (!s.empty() && s.front() == '/') s.erase(s.begin());
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// Fills type/path/bucket/prefix from `url:` (or from path/bucket when there is none).
absl::Status ParseLocation(const MapView& m, ReplicaOptions* r) {
  std::string url, path, bucket;
  if (absl::Status s = m.ReadString("url", &url); !s.ok()) return s;
  if (absl::Status s = m.ReadString("path", &path); !s.ok()) return s;
  if (absl::Status s = m.ReadString("bucket", &bucket); !s.ok()) return s;
  if (url.empty() && m.Has("url")) return m.Error("url", "is empty");
  if (!url.empty()) {
    size_t sep = url.find("://");
    if (sep == std::string::npos) {
      return m.Error("url", fmt::format("must look like file:///backups/app or s3://bucket/prefix "
                                        "(got \"{}\"); a plain directory goes in path:",
                                        RedactUrl(url)));
    }
    std::string scheme = absl::AsciiStrToLower(url.substr(0, sep));
    if (scheme != "file" && scheme != "s3") {
      return m.Error("url", fmt::format("scheme must be \"file\" or \"s3\" (got \"{}\")", scheme));
    }
    if (!r->type.empty() && r->type != scheme) {
      return m.Error("type", fmt::format("is \"{}\" but url is an {}:// URL", r->type, scheme));
    }
    r->type = scheme;
    if (m.Has("path")) {
      return m.Error("path", scheme == "file"
                                 ? "give either url or path, not both"
                                 : "the key prefix goes in the url (s3://bucket/prefix)");
    }
    if (m.Has("bucket"))
      return m.Error("bucket", "the bucket goes in the url (s3://bucket/prefix)");
    std::string rest = url.substr(sep + 3);
    if (rest.find_first_of("?#") != std::string::npos) {
      return m.Error("url",
                     "query parameters are not read from a config url; use the endpoint, region "
                     "and force-path-style keys");
    }
    size_t slash = rest.find('/');
    std::string host = rest.substr(0, slash);
    std::string after = slash == std::string::npos ? "" : rest.substr(slash);
    if (scheme == "file") {
      if (!host.empty() && host != "localhost") {
        return m.Error("url", fmt::format("a file URL needs an absolute path: file:///{} (or use "
                                          "path: for a relative directory)",
                                          rest));
      }
      if (StripSlashes(after).empty()) return m.Error("url", "names no directory");
      r->path = AbsolutePath(after);
    } else {
      if (host.empty()) return m.Error("url", "names no bucket: write s3://bucket/prefix");
      if (host.find('@') != std::string::npos) {
        return m.Error("url", "must not carry credentials; use access-key-id/secret-access-key");
      }
      r->bucket = host;
      r->prefix = StripSlashes(after);
    }
    return absl::OkStatus();
  }
  if (r->type.empty()) {
    if (m.Has("bucket")) {
      r->type = "s3";
    } else if (m.Has("path")) {
      r->type = "file";
    } else {
      return m.Error("", "needs a url (file:///backups/app or s3://bucket/prefix) or a path");
    }
  }
  if (r->type == "file") {
    if (path.empty()) return m.Error(m.Has("path") ? "path" : "", "needs a path (or a url)");
    r->path = AbsolutePath(path);
  } else {
    if (bucket.empty()) {
      return m.Error(m.Has("bucket") ? "bucket" : "",
                     "an s3 replica needs a bucket: write url: s3://bucket/prefix");
    }
    r->bucket = bucket;
    r->prefix = StripSlashes(path);  // Litestream: with `bucket:`, `path:` is the key prefix
  }
  return absl::OkStatus();
}

absl::Status ParseS3Settings(const MapView& m, const GlobalCredentials& global, ReplicaOptions* r) {
  std::string endpoint_source = "endpoint";
  if (absl::Status s = m.ReadString("endpoint", &r->endpoint); !s.ok()) return s;
  const S3Environment env = ReadS3Environment();
  if (r->endpoint.empty() && !m.Has("endpoint") && !env.endpoint.empty()) {
    r->endpoint = env.endpoint;
    endpoint_source = env.endpoint_var;
  }
  if (!r->endpoint.empty()) {
    std::string lower = absl::AsciiStrToLower(r->endpoint);
    if (lower.rfind("http://", 0) != 0 && lower.rfind("https://", 0) != 0) {
      std::string msg =
          fmt::format("must start with http:// or https:// (got \"{}\")", RedactUrl(r->endpoint));
      if (endpoint_source != "endpoint") msg = fmt::format("{} {}", endpoint_source, msg);
      return m.Error(endpoint_source == "endpoint" ? "endpoint" : "", msg);
    }
    while (r->endpoint.back() == '/') r->endpoint.pop_back();
  }
  if (absl::Status s = m.ReadString("region", &r->region); !s.ok()) return s;
  if (r->region.empty()) r->region = env.region;
  // Unset, the S3 client picks: path style with an endpoint (MinIO, s3rver, R2...),
  // virtual-hosted on AWS.
  if (m.Has("force-path-style")) {
    bool path_style = false;
    if (absl::Status s = m.ReadBool("force-path-style", &path_style); !s.ok()) return s;
    r->force_path_style = path_style;
  }
  if (absl::Status s = m.ReadBool("skip-verify", &r->skip_verify); !s.ok()) return s;

  std::string id, secret;
  if (absl::Status s = m.ReadString("access-key-id", &id); !s.ok()) return s;
  if (absl::Status s = m.ReadString("secret-access-key", &secret); !s.ok()) return s;
  std::string id_name = "access-key-id", secret_name = "secret-access-key";
  if (id.empty() && secret.empty()) {
    id = global.access_key_id;
    secret = global.secret_access_key;
  }
  std::string token;
  if (id.empty() && secret.empty()) {
    id = env.access_key_id;
    secret = env.secret_access_key.reveal();
    token = env.session_token.reveal();
    id_name = kAccessKeyIdVar;
    secret_name = kSecretAccessKeyVar;
  }
  if (id.empty() != secret.empty()) {
    std::string_view set = id.empty() ? secret_name : id_name;
    std::string_view unset = id.empty() ? id_name : secret_name;
    return m.Error(m.Has(set) ? set : "", fmt::format("{} is set but {} is not", set, unset));
  }
  r->access_key_id = Secret(id);
  r->secret_access_key = Secret(secret);
  r->session_token = Secret(token);
  return absl::OkStatus();
}

// compaction-intervals: [30s, 5m, 1h]: levels 1, 2, 3; missing entries and 0
// disable a level (and the levels above it, which are built from it).
absl::Status ParseCompactionIntervals(const MapView& m, ReplicaOptions* r) {
  constexpr std::string_view kKey = "compaction-intervals";
  std::vector<std::string> values;
  if (absl::Status s = m.ReadStringList(kKey, &values); !s.ok()) return s;
  if (!m.Has(kKey)) return absl::OkStatus();
  if (values.empty() || values.size() > r->compaction_intervals.size()) {
    return m.Error(kKey, fmt::format("must list 1 to {} durations, for levels 1, 2 and 3 (got {})",
                                     r->compaction_intervals.size(), values.size()));
  }
  r->compaction_intervals.fill(absl::ZeroDuration());
  for (size_t i = 0; i < values.size(); ++i) {
    absl::Duration d;
    if (!absl::ParseDuration(values[i], &d) || d < absl::ZeroDuration() ||
        d == absl::InfiniteDuration()) {
      return m.Error(kKey, fmt::format("level {}: must be a duration like 30s, 5m or 1h, or 0 to "
                                       "disable the level (got \"{}\")",
                                       i + 1, values[i]));
    }
    r->compaction_intervals[i] = d;
  }
  return absl::OkStatus();
}

}  // namespace

std::string ReplicaLocation(const ReplicaOptions& r) {
  if (r.type == "file") return "file:" + r.path;
  return fmt::format("s3:{}/{}/{}", r.endpoint, r.bucket, r.prefix);
}

absl::StatusOr<ReplicaOptions> ParseReplica(const std::string& file, const YAML::Node& node,
                                            const std::string& key, int parent_line,
                                            const GlobalCredentials& global) {
  absl::StatusOr<MapView> view = MapView::Make(
      file, node, key, parent_line,
      {"type", "name", "url", "path", "bucket", "endpoint", "region", "force-path-style",
       "skip-verify", "access-key-id", "secret-access-key", "sync-interval", "retention",
       "snapshot-interval", "validation-interval", "compaction-intervals"});
  if (!view.ok()) return view.status();
  const MapView& m = *view;
  ReplicaOptions r;
  if (absl::Status s = m.ReadString("type", &r.type); !s.ok()) return s;
  r.type = absl::AsciiStrToLower(r.type);
  if (m.Has("type") && r.type != "file" && r.type != "s3") {
    return m.Error("type", fmt::format("must be \"file\" or \"s3\" (got \"{}\")", r.type));
  }
  if (absl::Status s = m.ReadString("name", &r.name); !s.ok()) return s;
  if (absl::Status s = ParseLocation(m, &r); !s.ok()) return s;
  if (r.type == "file") {
    for (std::string_view k : kS3OnlyKeys) {
      if (m.Has(k)) return m.Error(k, "applies only to s3 replicas");
    }
  } else if (absl::Status s = ParseS3Settings(m, global, &r); !s.ok()) {
    return s;
  }
  using DR = DurationRule;
  if (absl::Status s = m.ReadDuration("sync-interval", DR::kPositive, &r.sync_interval); !s.ok()) {
    return s;
  }
  if (r.sync_interval < kMinSyncInterval) {
    return m.Error("sync-interval", fmt::format("must be at least {} (got {})",
                                                absl::FormatDuration(kMinSyncInterval),
                                                absl::FormatDuration(r.sync_interval)));
  }
  if (absl::Status s = m.ReadDuration("retention", DR::kPositive, &r.retention); !s.ok()) return s;
  if (absl::Status s = m.ReadDuration("snapshot-interval", DR::kNonNegative, &r.snapshot_interval);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          m.ReadDuration("validation-interval", DR::kNonNegative, &r.validation_interval);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ParseCompactionIntervals(m, &r); !s.ok()) return s;
  return r;
}

absl::StatusOr<std::vector<ReplicaOptions>> ParseReplicas(const MapView& owner,
                                                          const GlobalCredentials& global) {
  std::vector<ReplicaOptions> out;
  std::vector<int> lines;
  if (owner.Has("replica") && owner.Has("replicas")) {
    return owner.Error("replicas", "give either replica: or replicas:, not both");
  }
  if (owner.Has("replica")) {
    absl::StatusOr<ReplicaOptions> r =
        ParseReplica(owner.file(), owner.Get("replica"), owner.KeyPath("replica"),
                     owner.LineOf("replica"), global);
    if (!r.ok()) return r.status();
    out.push_back(*std::move(r));
    lines.push_back(owner.LineOf("replica"));
  } else if (owner.Has("replicas")) {
    YAML::Node list = owner.Get("replicas");
    if (!list.IsSequence() || list.size() == 0) {
      return owner.Error("replicas", "must be a non-empty list of replicas");
    }
    for (size_t i = 0; i < list.size(); ++i) {
      int line = LineOf(list[i], owner.LineOf("replicas"));
      absl::StatusOr<ReplicaOptions> r = ParseReplica(
          owner.file(), list[i], fmt::format("{}[{}]", owner.KeyPath("replicas"), i), line, global);
      if (!r.ok()) return r.status();
      out.push_back(*std::move(r));
      lines.push_back(line);
    }
  } else {
    return owner.Error("",
                       "has no replica: add `replica:` with a url or path (or a `replicas:` "
                       "list)");
  }
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      std::string ni = out[i].name.empty() ? out[i].type : out[i].name;
      std::string nj = out[j].name.empty() ? out[j].type : out[j].name;
      if (ni == nj) {
        return ConfigError(owner.file(), lines[i],
                           fmt::format("{}[{}]", owner.KeyPath("replicas"), i),
                           fmt::format("two replicas are named \"{}\" (the other at line {}); "
                                       "give each a distinct name:",
                                       ni, lines[j]));
      }
    }
  }
  return out;
}

}  // namespace litesync::config_internal
