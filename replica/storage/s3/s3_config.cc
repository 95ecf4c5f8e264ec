#include "replica/storage/s3/s3_config.h"

#include <string>
#include <vector>

#include "base/secret.h"
#include "base/url.h"
#include "fmt/format.h"

#include "replica/storage/backend.h"
#include "replica/storage/s3/s3_environment.h"
#include "replica/storage/s3/s3_settings.h"
#include "replica/storage/url_parts.h"

namespace litesync::s3_config {
namespace {

using url_parts::Lower;
using url_parts::StripSlashes;

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
    if (!kv.empty()) out.push_back(Lower(kv.substr(0, kv.find('='))));
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

// An s3:// URL with a query (Litestream's `s3://bucket/path?endpoint=...&region=...`):
// the query's settings go in `s`; a key of the same map that sets one too is an error.
absl::Status ParseUrlQuery(const ConfigView& m, const std::string& url, S3Settings* s) {
  if (url.find('#') != std::string::npos) return m.Error("url", "must not hold a #fragment");
  size_t sep = url.find("://");
  absl::StatusOr<ReplicaOptions> parsed =
      kS3Backend.from_url(url, std::string_view(url).substr(sep + 3));
  if (!parsed.ok()) {
    std::string msg(parsed.status().message());
    if (msg.find("must start with http") != std::string::npos) {
      msg +=
          " (Litestream guesses http:// for local hosts and https:// for others; litesync "
          "needs the scheme written)";
    }
    return m.Error("url", msg);
  }
  const S3Settings& p = parsed->settings<S3Settings>();
  for (const std::string& name : QueryNames(url)) {
    std::string key = name == "forcepathstyle" || name == "force_path_style" ? "force-path-style"
                      : name == "skipverify" || name == "skip_verify"        ? "skip-verify"
                                                                             : name;
    if (m.Has(key)) {
      return m.Error(key, fmt::format("is also given in the url's query (?{}=); keep one", name));
    }
    if (key == "endpoint") s->endpoint = p.endpoint;
    if (key == "region") s->region = p.region;
    if (key == "force-path-style") s->force_path_style = p.force_path_style;
    if (key == "skip-verify") s->skip_verify = p.skip_verify;
  }
  s->bucket = p.bucket;
  s->prefix = p.prefix;
  return absl::OkStatus();
}

absl::Status LocationFromUrl(const ConfigView& m, const std::string& url, S3Settings* s) {
  if (m.Has("path")) {
    return m.Error("path", "the key prefix goes in the url (s3://bucket/prefix)");
  }
  if (m.Has("bucket")) return m.Error("bucket", "the bucket goes in the url (s3://bucket/prefix)");
  std::string rest = url.substr(url.find("://") + 3);
  if (rest.find_first_of("?#") != std::string::npos) return ParseUrlQuery(m, url, s);
  size_t slash = rest.find('/');
  std::string host = rest.substr(0, slash);
  std::string after = slash == std::string::npos ? "" : rest.substr(slash);
  if (host.empty()) return m.Error("url", "names no bucket: write s3://bucket/prefix");
  if (Lower(host).rfind("arn:", 0) == 0) {
    return m.Error("url",
                   "S3 access point ARNs are not supported; give the access point's alias "
                   "as the bucket (s3://<alias>/prefix)");
  }
  if (host.find('@') != std::string::npos) {
    return m.Error("url", "must not carry credentials; use access-key-id/secret-access-key");
  }
  s->bucket = host;
  s->prefix = StripSlashes(after);
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

// The endpoint: the URL's query, else the endpoint key (replica, then defaults),
// else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
absl::Status ParseEndpoint(const ReplicaConfig& c, S3Settings* r) {
  const ConfigView& src = c.From("endpoint");
  std::string endpoint_source = "endpoint";
  if (r->endpoint.empty()) {
    if (absl::Status s = src.ReadString("endpoint", &r->endpoint); !s.ok()) return s;
    if (const S3Environment env = ReadS3Environment();
        r->endpoint.empty() && !src.Has("endpoint") && !env.endpoint.empty()) {
      r->endpoint = env.endpoint;
      endpoint_source = env.endpoint_var;
    }
  }
  if (r->endpoint.empty()) return absl::OkStatus();
  std::string lower = Lower(r->endpoint);
  if (endpoint_source == "endpoint" && src.Has("endpoint") &&
      lower.find("://") == std::string::npos && LooksLikeHost(lower)) {
    // Litestream's rule for an endpoint without a scheme: http:// for local and
    // private hosts, https:// for the rest.
    std::string host = lower.substr(0, lower.find_first_of(":/"));
    bool local = host == "localhost" || host.rfind("127.", 0) == 0 ||
                 host.rfind("192.168.", 0) == 0 || host.rfind("10.", 0) == 0 ||
                 host.rfind("172.16.", 0) == 0 || host.rfind("172.17.", 0) == 0;
    r->endpoint = (local ? "http://" : "https://") + r->endpoint;
    c.Note(src, "endpoint", fmt::format("has no scheme: read as {}", r->endpoint));
    lower = Lower(r->endpoint);
  }
  if (lower.rfind("http://", 0) != 0 && lower.rfind("https://", 0) != 0) {
    std::string msg =
        fmt::format("must start with http:// or https:// (got \"{}\")", RedactUrl(r->endpoint));
    if (endpoint_source != "endpoint") msg = fmt::format("{} {}", endpoint_source, msg);
    return src.Error(endpoint_source == "endpoint" && src.Has("endpoint") ? "endpoint" : "", msg);
  }
  while (r->endpoint.back() == '/') r->endpoint.pop_back();
  return absl::OkStatus();
}

// Credentials: the replica's keys, else the defaults', else AWS_* (and, where an
// AWS_* variable is not set, Litestream's LITESTREAM_ACCESS_KEY_ID/_SECRET_ACCESS_KEY).
absl::Status ParseCredentials(const ReplicaConfig& c, S3Settings* r) {
  const ConfigView& m = *c.replica;
  bool own = m.Has("access-key-id") || m.Has("secret-access-key");
  bool top = c.defaults != nullptr &&
             (c.defaults->Has("access-key-id") || c.defaults->Has("secret-access-key"));
  const ConfigView& src = !own && top ? *c.defaults : m;
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
  r->access_key_id = Secret(id);
  r->secret_access_key = Secret(secret);
  r->session_token = Secret(token);
  return absl::OkStatus();
}

}  // namespace

absl::Status LocationFromConfig(const ReplicaConfig& c, ReplicaOptions* options) {
  S3Settings& s = options->settings<S3Settings>();
  if (!c.url.empty()) return LocationFromUrl(*c.url_from, c.url, &s);
  const ConfigView& bucket_from = c.From("bucket");
  if (absl::Status st = bucket_from.ReadString("bucket", &s.bucket); !st.ok()) return st;
  if (s.bucket.empty()) {
    return bucket_from.Error(bucket_from.Has("bucket") ? "bucket" : "",
                             "an s3 replica needs a bucket: write url: s3://bucket/prefix");
  }
  std::string path;  // Litestream: with `bucket:`, `path:` is the key prefix
  if (absl::Status st = c.replica->ReadString("path", &path); !st.ok()) return st;
  s.prefix = StripSlashes(path);
  return absl::OkStatus();
}

absl::Status SettingsFromConfig(const ReplicaConfig& c, ReplicaOptions* options) {
  S3Settings& r = options->settings<S3Settings>();
  if (absl::Status s = ParseEndpoint(c, &r); !s.ok()) return s;
  if (r.region.empty()) {
    if (absl::Status s = c.From("region").ReadString("region", &r.region); !s.ok()) return s;
  }
  if (r.region.empty()) r.region = ReadS3Environment().region;
  // Unset, the S3 client picks: path style with an endpoint (MinIO, s3rver, R2...),
  // virtual-hosted on AWS.
  if (const ConfigView& src = c.From("force-path-style");
      !r.force_path_style.has_value() && src.Has("force-path-style")) {
    bool path_style = false;
    if (absl::Status s = src.ReadBool("force-path-style", &path_style); !s.ok()) return s;
    r.force_path_style = path_style;
  }
  if (!r.skip_verify) {
    if (absl::Status s = c.From("skip-verify").ReadBool("skip-verify", &r.skip_verify); !s.ok()) {
      return s;
    }
  }
  return ParseCredentials(c, &r);
}

absl::Status CheckDefaults(const ConfigView& top) {
  std::string id, secret;
  if (absl::Status s = top.ReadString("access-key-id", &id); !s.ok()) return s;
  if (absl::Status s = top.ReadString("secret-access-key", &secret); !s.ok()) return s;
  if (id.empty() != secret.empty()) {
    std::string_view set = id.empty() ? "secret-access-key" : "access-key-id";
    std::string_view unset = id.empty() ? "access-key-id" : "secret-access-key";
    return top.Error(set, fmt::format("is set but {} is not", unset));
  }
  return absl::OkStatus();
}

}  // namespace litesync::s3_config
