// The S3 backend's registration (replica/storage/backend.h).
#include <string>

#include "fmt/format.h"

#include "replica/storage/backend.h"
#include "replica/storage/s3/s3_config.h"
#include "replica/storage/s3/s3_environment.h"
#include "replica/storage/s3/s3_replica_client.h"
#include "replica/storage/s3/s3_settings.h"
#include "replica/storage/url_parts.h"

namespace litesync {
namespace {

using namespace url_parts;  // NOLINT: the URL parsers' shared pieces

constexpr std::string_view kSettingsKeys[] = {"endpoint",    "region",        "force-path-style",
                                              "skip-verify", "access-key-id", "secret-access-key"};

absl::StatusOr<ReplicaOptions> ParseS3Url(std::string_view url, std::string_view rest) {
  ReplicaOptions r;
  r.type = "s3";
  S3Settings& o = r.settings<S3Settings>();
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  std::string_view bucket = rest.substr(0, slash);
  if (bucket.find('@') != std::string_view::npos) {
    return UrlError(url,
                    "credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY");
  }
  if (bucket.empty()) return UrlError(url, "the bucket is missing (s3://BUCKET/PREFIX)");
  o.bucket = std::string(bucket);
  if (slash != std::string_view::npos) {
    std::string prefix;
    if (!PercentDecode(rest.substr(slash + 1), &prefix)) {
      return UrlError(url, "bad %-escape in the prefix");
    }
    o.prefix = StripSlashes(prefix);
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (kv.empty()) continue;
    size_t eq = kv.find('=');
    std::string name = Lower(kv.substr(0, eq));
    std::string value;
    if (eq != std::string_view::npos && !PercentDecode(kv.substr(eq + 1), &value)) {
      return UrlError(url, fmt::format("bad %-escape in parameter {}", name));
    }
    if (name == "endpoint") {
      o.endpoint = value;
    } else if (name == "region") {
      o.region = value;
    } else if (name == "force-path-style" || name == "force_path_style" ||
               name == "forcepathstyle") {  // Litestream writes forcePathStyle
      absl::StatusOr<bool> b = ParseBool(url, name, value);
      if (!b.ok()) return b.status();
      o.force_path_style = *b;
    } else if (name == "skip-verify" || name == "skip_verify" || name == "skipverify") {
      absl::StatusOr<bool> b = ParseBool(url, name, value);
      if (!b.ok()) return b.status();
      o.skip_verify = *b;
    } else {
      return UrlError(url, fmt::format("unknown parameter \"{}\" (known: endpoint, region, "
                                       "force-path-style, skip-verify)",
                                       name));
    }
  }
  if (!o.endpoint.empty() && o.endpoint.rfind("http://", 0) != 0 &&
      o.endpoint.rfind("https://", 0) != 0) {
    return UrlError(url, fmt::format("endpoint \"{}\" must start with http:// or https://",
                                     RedactUrl(o.endpoint)));
  }
  const S3Environment env = ReadS3Environment();
  if (o.endpoint.empty()) o.endpoint = env.endpoint;
  if (o.region.empty()) o.region = env.region;
  o.access_key_id = Secret(env.access_key_id);
  o.secret_access_key = env.secret_access_key;
  o.session_token = env.session_token;
  return r;
}

std::string Describe(const ReplicaOptions& r) {
  const S3Settings& o = r.settings<S3Settings>();
  return o.prefix.empty() ? fmt::format("s3://{}", o.bucket)
                          : fmt::format("s3://{}/{}", o.bucket, o.prefix);
}

std::string Location(const ReplicaOptions& r) {
  const S3Settings& o = r.settings<S3Settings>();
  return fmt::format("s3:{}/{}/{}", o.endpoint, o.bucket, o.prefix);
}

ReplicaOptions Derive(const ReplicaOptions& tmpl, const std::string& relative) {
  ReplicaOptions r = tmpl;
  std::string& prefix = r.settings<S3Settings>().prefix;
  prefix = prefix.empty() ? relative : prefix + "/" + relative;
  return r;
}

absl::StatusOr<std::unique_ptr<ReplicaClient>> Open(const ReplicaOptions& o) {
  return NewS3ReplicaClient(o);
}

// The server may still be starting (a compose file, a pod): wait it out.
bool Transient(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

}  // namespace

const Backend kS3Backend = {
    .scheme = "s3",
    .from_url = ParseS3Url,
    .describe = Describe,
    .location = Location,
    .open = Open,
    .derive = Derive,
    .transient = Transient,
    .spills_to_scratch = true,
    .parallel_reads = true,
    .naming_key = "bucket",
    .settings_keys = kSettingsKeys,
    .from_path = nullptr,
    .location_from_config = s3_config::LocationFromConfig,
    .settings_from_config = s3_config::SettingsFromConfig,
    .check_defaults = s3_config::CheckDefaults,
};

}  // namespace litesync
