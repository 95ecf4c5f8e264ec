// Parsing of `replica:` / `replicas:` entries: type inference from url/path/bucket,
// file and s3 URLs (with Litestream's ?endpoint=... query), defaults inherited from
// the top level, AWS_* / LITESTREAM_* environment fallbacks, interval bounds.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "base/secret.h"
#include "fmt/format.h"

#include "cmd/config_internal.h"
#include "replica/storage/backend.h"
#include "replica/storage/file/file_settings.h"
#include "replica/storage/replica_client.h"
#include "replica/storage/s3/s3_environment.h"
#include "replica/storage/s3/s3_settings.h"

namespace litesync::config_internal {
namespace {

// Below this a sync loop only burns CPU and requests; Litestream's default is 1s.
constexpr absl::Duration kMinSyncInterval = absl::Milliseconds(10);

// Where a replica setting is read from: the replica's own map, else the top level's
// (Litestream's ReplicaSettings.SetDefaults), so errors cite the line that set it.
const MapView& From(const MapView& m, const ReplicaDefaults& d, std::string_view name) {
  if (m.Has(name) || d.top == nullptr || !d.top->Has(name)) return m;
  return *d.top;
}

// The parameters of `url`'s query string, lower-cased ("forcePathStyle" ->
// "forcepathstyle").
std::vector<std::string> QueryNames(const std::string& url) {
  std::vector<std::string> out;
  size_t q = url.find('?');
  if (q == std::string::npos) return out;
  std::string query = url.substr(q + 1);
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    std::string kv =
        query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    if (!kv.empty()) out.push_back(absl::AsciiStrToLower(kv.substr(0, kv.find('='))));
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

// An s3:// URL with a query (Litestream's `s3://bucket/path?endpoint=...&region=...`):
// the query's settings go in `r`; a key of the same map that sets one too is an error.
absl::Status ParseS3UrlQuery(const MapView& m, const std::string& url, ReplicaOptions* r) {
  if (url.find('#') != std::string::npos) return m.Error("url", "must not hold a #fragment");
  absl::StatusOr<ReplicaOptions> parsed = ReplicaOptionsFromUrl(url);
  if (!parsed.ok()) {
    std::string msg(parsed.status().message());
    if (msg.find("must start with http") != std::string::npos) {
      msg +=
          " (Litestream guesses http:// for local hosts and https:// for others; litesync "
          "needs the scheme written)";
    }
    return m.Error("url", msg);
  }
  for (const std::string& name : QueryNames(url)) {
    std::string key = name == "forcepathstyle" || name == "force_path_style" ? "force-path-style"
                      : name == "skipverify" || name == "skip_verify"        ? "skip-verify"
                                                                             : name;
    if (m.Has(key)) {
      return m.Error(key, fmt::format("is also given in the url's query (?{}=); keep one", name));
    }
    if (key == "endpoint")
      r->settings<S3Settings>().endpoint = parsed->settings<S3Settings>().endpoint;
    if (key == "region") r->settings<S3Settings>().region = parsed->settings<S3Settings>().region;
    if (key == "force-path-style")
      r->settings<S3Settings>().force_path_style = parsed->settings<S3Settings>().force_path_style;
    if (key == "skip-verify")
      r->settings<S3Settings>().skip_verify = parsed->settings<S3Settings>().skip_verify;
  }
  r->settings<S3Settings>().bucket = parsed->settings<S3Settings>().bucket;
  r->settings<S3Settings>().prefix = parsed->settings<S3Settings>().prefix;
  return absl::OkStatus();
}

std::string StripSlashes(std::string s) {
  while (!s.empty() && s.front() == '/') s.erase(s.begin());
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

absl::Status ParseBucketOrPath(const MapView& m, const ReplicaDefaults& d, const std::string& path,
                               ReplicaOptions* r);

// Fills type/path/bucket/prefix from `url:` (or from path/bucket when there is none).
absl::Status ParseLocation(const MapView& replica, const ReplicaDefaults& d, ReplicaOptions* r) {
  std::string url, path;
  if (absl::Status s = replica.ReadString("url", &url); !s.ok()) return s;
  if (absl::Status s = replica.ReadString("path", &path); !s.ok()) return s;
  if (url.empty() && replica.Has("url")) return replica.Error("url", "is empty");
  // The url's map: the replica's own, or the one that wrote an inherited url template.
  const bool inherited = !replica.Has("url") && !replica.Has("path") && d.url_from != nullptr;
  if (inherited) url = d.url;
  const MapView& m = inherited ? *d.url_from : replica;
  if (!url.empty()) {
    size_t sep = url.find("://");
    if (sep == std::string::npos) {
      return m.Error("url", fmt::format("must look like file:///backups/app or s3://bucket/prefix "
                                        "(got \"{}\"); a plain directory goes in path:",
                                        RedactUrl(url)));
    }
    std::string scheme = absl::AsciiStrToLower(url.substr(0, sep));
    if (std::string why = RefusedBackendReason(scheme); !why.empty()) {
      return m.Error("url", fmt::format("{}:// replicas are not supported: {}", scheme, why));
    }
    if (!FindBackend(scheme)) {
      return m.Error("url", fmt::format("scheme must be {} (got \"{}\")", KnownBackends(), scheme));
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
    if (scheme == "s3" && rest.find_first_of("?#") != std::string::npos) {
      return ParseS3UrlQuery(m, url, r);
    }
    if (rest.find_first_of("?#") != std::string::npos) {
      return m.Error("url", "a file URL takes no ?query or #fragment");
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
      r->settings<FileSettings>().path = AbsolutePath(after);
    } else {
      if (host.empty()) return m.Error("url", "names no bucket: write s3://bucket/prefix");
      if (absl::AsciiStrToLower(host).rfind("arn:", 0) == 0) {
        return m.Error("url",
                       "S3 access point ARNs are not supported; give the access point's alias "
                       "as the bucket (s3://<alias>/prefix)");
      }
      if (host.find('@') != std::string::npos) {
        return m.Error("url", "must not carry credentials; use access-key-id/secret-access-key");
      }
      r->settings<S3Settings>().bucket = host;
      r->settings<S3Settings>().prefix = StripSlashes(after);
    }
    return absl::OkStatus();
  }
  return ParseBucketOrPath(replica, d, path, r);
}

// A replica given by path: (and bucket:) rather than a url.
absl::Status ParseBucketOrPath(const MapView& m, const ReplicaDefaults& d, const std::string& path,
                               ReplicaOptions* r) {
  std::string bucket;
  // Litestream: a replica without url: or type: is a file replica, unless it names a
  // bucket itself (litesync's reading: then it can only mean S3).
  const MapView& bucket_from = From(m, d, "bucket");
  if (absl::Status s = bucket_from.ReadString("bucket", &bucket); !s.ok()) return s;
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
    r->settings<FileSettings>().path = AbsolutePath(path);
  } else {
    if (bucket.empty()) {
      return bucket_from.Error(bucket_from.Has("bucket") ? "bucket" : "",
                               "an s3 replica needs a bucket: write url: s3://bucket/prefix");
    }
    r->settings<S3Settings>().bucket = bucket;
    r->settings<S3Settings>().prefix =
        StripSlashes(path);  // Litestream: with `bucket:`, `path:` is the key prefix
  }
  return absl::OkStatus();
}

// "host.example.com[:port][/...]" or "localhost[:port]": a host name Litestream
// would put a scheme in front of.
bool LooksLikeHost(const std::string& lower) {
  std::string host = lower.substr(0, lower.find_first_of(":/"));
  return host == "localhost" ||
         (host.find('.') != std::string::npos &&
          host.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") == std::string::npos);
}

// The endpoint: the URL's query, else the endpoint key (replica, then top level),
// else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
absl::Status ParseEndpoint(const MapView& m, const ReplicaDefaults& d, ReplicaOptions* r) {
  const MapView& src = From(m, d, "endpoint");
  std::string endpoint_source = "endpoint";
  if (r->settings<S3Settings>().endpoint.empty()) {
    if (absl::Status s = src.ReadString("endpoint", &r->settings<S3Settings>().endpoint); !s.ok())
      return s;
    if (const S3Environment env = ReadS3Environment(); r->settings<S3Settings>().endpoint.empty() &&
                                                       !src.Has("endpoint") &&
                                                       !env.endpoint.empty()) {
      r->settings<S3Settings>().endpoint = env.endpoint;
      endpoint_source = env.endpoint_var;
    }
  }
  if (r->settings<S3Settings>().endpoint.empty()) return absl::OkStatus();
  std::string lower = absl::AsciiStrToLower(r->settings<S3Settings>().endpoint);
  if (endpoint_source == "endpoint" && src.Has("endpoint") &&
      lower.find("://") == std::string::npos && LooksLikeHost(lower)) {
    // Litestream's rule for an endpoint without a scheme: http:// for local and
    // private hosts, https:// for the rest.
    std::string host = lower.substr(0, lower.find_first_of(":/"));
    bool local = host == "localhost" || host.rfind("127.", 0) == 0 ||
                 host.rfind("192.168.", 0) == 0 || host.rfind("10.", 0) == 0 ||
                 host.rfind("172.16.", 0) == 0 || host.rfind("172.17.", 0) == 0;
    r->settings<S3Settings>().endpoint =
        (local ? "http://" : "https://") + r->settings<S3Settings>().endpoint;
    Note(d, src, "endpoint",
         fmt::format("has no scheme: read as {}", r->settings<S3Settings>().endpoint));
    lower = absl::AsciiStrToLower(r->settings<S3Settings>().endpoint);
  }
  if (lower.rfind("http://", 0) != 0 && lower.rfind("https://", 0) != 0) {
    std::string msg = fmt::format("must start with http:// or https:// (got \"{}\")",
                                  RedactUrl(r->settings<S3Settings>().endpoint));
    if (endpoint_source != "endpoint") msg = fmt::format("{} {}", endpoint_source, msg);
    return src.Error(endpoint_source == "endpoint" && src.Has("endpoint") ? "endpoint" : "", msg);
  }
  while (r->settings<S3Settings>().endpoint.back() == '/')
    r->settings<S3Settings>().endpoint.pop_back();
  return absl::OkStatus();
}

// Credentials: the replica's keys, else the top level's, else AWS_* (and, where an
// AWS_* variable is not set, Litestream's LITESTREAM_ACCESS_KEY_ID/_SECRET_ACCESS_KEY).
absl::Status ParseCredentials(const MapView& m, const ReplicaDefaults& d, ReplicaOptions* r) {
  bool own = m.Has("access-key-id") || m.Has("secret-access-key");
  bool top = d.top != nullptr && (d.top->Has("access-key-id") || d.top->Has("secret-access-key"));
  const MapView& src = !own && top ? *d.top : m;
  std::string id, secret;
  if (absl::Status s = src.ReadString("access-key-id", &id); !s.ok()) return s;
  if (absl::Status s = src.ReadString("secret-access-key", &secret); !s.ok()) return s;
  std::string id_name = "access-key-id", secret_name = "secret-access-key";
  std::string token;
  if (id.empty() && secret.empty()) {
    const S3Environment env = ReadS3Environment();
    id = env.access_key_id;
    secret = env.secret_access_key.reveal();
    token = env.session_token.reveal();
    id_name = env.access_key_id_var;
    secret_name = env.secret_access_key_var;
  }
  if (id.empty() != secret.empty()) {
    std::string_view set = id.empty() ? secret_name : id_name;
    std::string_view unset = id.empty() ? id_name : secret_name;
    return src.Error(src.Has(set) ? set : "", fmt::format("{} is set but {} is not", set, unset));
  }
  r->settings<S3Settings>().access_key_id = Secret(id);
  r->settings<S3Settings>().secret_access_key = Secret(secret);
  r->settings<S3Settings>().session_token = Secret(token);
  return absl::OkStatus();
}

absl::Status ParseS3Settings(const MapView& m, const ReplicaDefaults& d, ReplicaOptions* r) {
  if (absl::Status s = ParseEndpoint(m, d, r); !s.ok()) return s;
  if (r->settings<S3Settings>().region.empty()) {
    if (absl::Status s =
            From(m, d, "region").ReadString("region", &r->settings<S3Settings>().region);
        !s.ok())
      return s;
  }
  if (r->settings<S3Settings>().region.empty())
    r->settings<S3Settings>().region = ReadS3Environment().region;
  // Unset, the S3 client picks: path style with an endpoint (MinIO, s3rver, R2...),
  // virtual-hosted on AWS.
  if (const MapView& src = From(m, d, "force-path-style");
      !r->settings<S3Settings>().force_path_style.has_value() && src.Has("force-path-style")) {
    bool path_style = false;
    if (absl::Status s = src.ReadBool("force-path-style", &path_style); !s.ok()) return s;
    r->settings<S3Settings>().force_path_style = path_style;
  }
  if (!r->settings<S3Settings>().skip_verify) {
    if (absl::Status s = From(m, d, "skip-verify")
                             .ReadBool("skip-verify", &r->settings<S3Settings>().skip_verify);
        !s.ok()) {
      return s;
    }
  }
  return ParseCredentials(m, d, r);
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

// sync-interval, retention, snapshot-interval, validation-interval,
// liveness-interval (the replica's own key only) and compaction-intervals: the replica's own key,
// else the inherited default.
absl::Status ParseIntervals(const MapView& m, const ReplicaDefaults& d, ReplicaOptions* r) {
  using DR = DurationRule;
  const MapView& sync_from = From(m, d, "sync-interval");
  if (absl::Status s = sync_from.ReadDuration("sync-interval", DR::kPositive, &r->sync_interval);
      !s.ok()) {
    return s;
  }
  if (r->sync_interval < kMinSyncInterval) {
    return sync_from.Error("sync-interval", fmt::format("must be at least {} (got {})",
                                                        absl::FormatDuration(kMinSyncInterval),
                                                        absl::FormatDuration(r->sync_interval)));
  }
  if (d.retention) r->retention = *d.retention;
  if (absl::Status s = m.ReadDuration("retention", DR::kPositive, &r->retention); !s.ok()) return s;
  if (d.retention_disabled) r->retention = absl::InfiniteDuration();
  if (d.snapshot_interval) r->snapshot_interval = *d.snapshot_interval;
  if (absl::Status s = m.ReadDuration("snapshot-interval", DR::kNonNegative, &r->snapshot_interval);
      !s.ok()) {
    return s;
  }
  if (d.validation_interval) r->validation_interval = *d.validation_interval;
  if (absl::Status s =
          From(m, d, "validation-interval")
              .ReadDuration("validation-interval", DR::kNonNegative, &r->validation_interval);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = m.ReadDuration("liveness-interval", DR::kNonNegative, &r->liveness_interval);
      !s.ok()) {
    return s;
  }
  if (d.compaction_intervals) r->compaction_intervals = *d.compaction_intervals;
  return ParseCompactionIntervals(m, r);
}

}  // namespace

std::string ReplicaLocation(const ReplicaOptions& r) {
  const Backend* backend = FindBackend(r.type);
  return backend ? backend->location(r) : r.type;
}

absl::StatusOr<ReplicaOptions> ParseReplica(const std::string& file, const YAML::Node& node,
                                            const std::string& key, int parent_line,
                                            const ReplicaDefaults& d) {
  std::vector<std::string_view> known = {"type",
                                         "name",
                                         "url",
                                         "path",
                                         "bucket",
                                         "endpoint",
                                         "region",
                                         "force-path-style",
                                         "skip-verify",
                                         "access-key-id",
                                         "secret-access-key",
                                         "sync-interval",
                                         "retention",
                                         "snapshot-interval",
                                         "validation-interval",
                                         "liveness-interval",
                                         "compaction-intervals",
                                         "age",
                                         "retention-check-interval"};
  for (std::string_view k : kLitestreamReplicaOnlyKeys) known.push_back(k);
  known.insert(known.end(), d.extra_keys.begin(), d.extra_keys.end());
  absl::StatusOr<MapView> view = MapView::Make(file, node, key, parent_line, known);
  if (!view.ok()) return view.status();
  const MapView& m = *view;
  if (m.Has("retention-check-interval")) {
    Note(d, m, "retention-check-interval", "ignored: retention is enforced after each compaction");
  }
  ReplicaOptions r;
  if (absl::Status s = m.ReadString("type", &r.type); !s.ok()) return s;
  r.type = absl::AsciiStrToLower(r.type);
  if (std::string why = RefusedBackendReason(r.type); m.Has("type") && !why.empty()) {
    return m.Error("type", fmt::format("\"{}\" replicas are not supported: {}", r.type, why));
  }
  if (m.Has("type") && !FindBackend(r.type)) {
    return m.Error("type", fmt::format("must be {} (got \"{}\")", KnownBackends(), r.type));
  }
  if (absl::Status s = m.ReadString("name", &r.name); !s.ok()) return s;
  if (absl::Status s = ParseLocation(m, d, &r); !s.ok()) return s;
  // After the type and the URL: "nats replicas are not supported" says more than
  // "password is a setting of nats replicas".
  for (const std::string& k : m.Keys()) {
    if (std::string why = RefusedKeyReason(k); !why.empty()) return m.Error(k, why);
    if (std::string why = IgnoredReplicaKeyReason(k); !why.empty()) Note(d, m, k, why);
  }

  for (const std::string& k : m.Keys()) {  // a key of another backend
    const Backend* owner = BackendOfKey(k);
    if (owner && owner->scheme != r.type) {
      return m.Error(k, fmt::format("applies only to {} replicas", owner->scheme));
    }
  }
  if (r.type == kS3Backend.scheme) {
    if (absl::Status s = ParseS3Settings(m, d, &r); !s.ok()) return s;
  }
  if (absl::Status s = ParseIntervals(m, d, &r); !s.ok()) return s;
  if (absl::Status s = ParseAge(m, &r.age); !s.ok()) return s;
  return r;
}

absl::StatusOr<std::vector<ReplicaOptions>> ParseReplicas(const MapView& owner,
                                                          const ReplicaDefaults& global) {
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
