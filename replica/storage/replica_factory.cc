// The factory behind replica_client.h: the one place that knows the concrete
// backends, and the parser of replica URLs given on the command line.
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/secret.h"
#include "fmt/format.h"

#include "replica/storage/file/file_replica_client.h"
#include "replica/storage/replica_client.h"
#include "replica/storage/s3/s3_environment.h"
#include "replica/storage/s3/s3_replica_client.h"

namespace litesync {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding ('+' stays '+': these are paths and values, not form data).
bool PercentDecode(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    int hi = i + 1 < s.size() ? HexDigit(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? HexDigit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string StripSlashes(std::string s) {
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

absl::Status UrlError(std::string_view url, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("replica URL \"{}\": {}", RedactUrl(url), what));
}

absl::StatusOr<bool> ParseBool(std::string_view url, std::string_view name, std::string_view v) {
  std::string l = Lower(v);
  if (l.empty() || l == "true" || l == "1" || l == "yes") return true;
  if (l == "false" || l == "0" || l == "no") return false;
  return UrlError(url, fmt::format("{} must be true or false (got \"{}\")", name, v));
}

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
  if (!PercentDecode(rest, &o.path)) return UrlError(url, "bad %-escape in the path");
  return o;
}

absl::StatusOr<ReplicaOptions> ParseS3Url(std::string_view url, std::string_view rest) {
  ReplicaOptions o;
  o.type = "s3";
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
    } else if (name == "force-path-style" || name == "force_path_style") {
      absl::StatusOr<bool> b = ParseBool(url, name, value);
      if (!b.ok()) return b.status();
      o.force_path_style = *b;
    } else if (name == "skip-verify" || name == "skip_verify") {
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
  return o;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplicaClient>> NewReplicaClient(const ReplicaOptions& options) {
  if (options.type == "file") return NewFileReplicaClient(options);
  if (options.type == "s3") return NewS3ReplicaClient(options);
  std::string name = options.name.empty() ? "" : fmt::format(" \"{}\"", options.name);
  return absl::InvalidArgumentError(
      fmt::format("replica{}: type must be \"file\" or \"s3\" (got \"{}\")", name, options.type));
}

absl::StatusOr<ReplicaOptions> ReplicaOptionsFromUrl(std::string_view url) {
  if (url.empty()) return absl::InvalidArgumentError("replica URL is empty");
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    ReplicaOptions o;  // a plain directory path
    o.type = "file";
    o.path = std::string(url);
    return o;
  }
  std::string scheme = Lower(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  if (scheme == "file") return ParseFileUrl(url, rest);
  if (scheme == "s3") return ParseS3Url(url, rest);
  return UrlError(url, fmt::format("scheme must be \"file\" or \"s3\" (got \"{}\")", scheme));
}

}  // namespace litesync
