#include "replica/storage/s3/s3_api.h"

#include <algorithm>
#include <cstdlib>

#include "absl/time/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/storage/s3/s3_environment.h"
#include "replica/storage/s3/s3_xml.h"

namespace litesync {
namespace {

// Slowest transfer rate a data request is allowed before its total timeout.
constexpr uint64_t kMinBytesPerSecond = 64 * 1024;

std::string StripSlashes(std::string s) {
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// S3 codes worth another attempt besides 5xx and 429.
bool RetryableCode(std::string_view code) {
  return code == "SlowDown" || code == "RequestTimeout" || code == "InternalError" ||
         code == "ServiceUnavailable" || code == "OperationAborted";
}

bool IsTransient(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace

absl::StatusOr<S3Target> ResolveS3Target(const ReplicaOptions& replica) {
  const S3Settings& options = replica.settings<S3Settings>();
  S3Target t;
  t.bucket = options.bucket;
  t.prefix = StripSlashes(options.prefix);
  std::string where = fmt::format("s3 replica s3://{}/{}", t.bucket, t.prefix);
  if (t.bucket.empty()) return absl::InvalidArgumentError(where + ": bucket is empty");
  if (t.bucket.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("{}: bucket \"{}\" contains '/'", where, t.bucket));
  }
  t.region = options.region;
  const S3Environment env = ReadS3Environment();
  if (t.region.empty()) t.region = env.region;
  if (t.region.empty()) t.region = "us-east-1";
  t.endpoint = options.endpoint;
  if (t.endpoint.empty()) t.endpoint = env.endpoint;
  // Only AWS itself is reached without an endpoint; every other S3-compatible
  // service accepts path-style requests, which need no DNS per bucket, unless
  // force-path-style: false asks for BUCKET.endpoint-host.
  t.path_style = options.force_path_style.value_or(!t.endpoint.empty());
  if (t.endpoint.empty()) t.endpoint = fmt::format("https://s3.{}.amazonaws.com", t.region);
  while (!t.endpoint.empty() && t.endpoint.back() == '/') t.endpoint.pop_back();
  if (!StartsWith(t.endpoint, "http://") && !StartsWith(t.endpoint, "https://")) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: endpoint \"{}\" must start with http:// or https://", where, RedactUrl(t.endpoint)));
  }
  if (t.endpoint.find('@') != std::string::npos) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: endpoint \"{}\" must not carry credentials; use access-key-id and secret-access-key",
        where, RedactUrl(t.endpoint)));
  }
  t.skip_verify = options.skip_verify;
  t.credentials.region = t.region;
  t.credentials.access_key_id = options.access_key_id.reveal();
  t.credentials.secret_access_key = options.secret_access_key;
  t.session_token = options.session_token;
  if (t.credentials.access_key_id.empty() && t.credentials.secret_access_key.empty()) {
    t.credentials.access_key_id = env.access_key_id;
    t.credentials.secret_access_key = env.secret_access_key;
    if (t.session_token.empty()) t.session_token = env.session_token;
  }
  if (t.credentials.access_key_id.empty() || t.credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: no credentials: set access-key-id and secret-access-key, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (LITESTREAM_ACCESS_KEY_ID and LITESTREAM_SECRET_ACCESS_KEY work "
        "too)",
        where));
  }
  return t;
}

S3Api::S3Api(S3Target target, S3Tuning tuning)
    : target_(std::move(target)),
      tuning_(std::move(tuning)),
      clock_(tuning_.clock != nullptr ? tuning_.clock : Clock::Real()),
      rng_(std::random_device{}()) {
  std::string_view ep = target_.endpoint;
  size_t scheme_end = ep.find("://") + 3;
  size_t path_start = ep.find('/', scheme_end);
  std::string scheme(ep.substr(0, scheme_end));
  std::string authority(ep.substr(scheme_end, path_start - scheme_end));
  std::string path = path_start == std::string_view::npos ? "" : std::string(ep.substr(path_start));
  if (target_.path_style) {
    host_ = authority;
    base_path_ = path + "/" + UriEncode(target_.bucket, true);
  } else {
    host_ = target_.bucket + "." + authority;
    base_path_ = path;
  }
  base_url_ = scheme + host_ + base_path_;
}

std::string S3Api::S3Url(std::string_view key) const {
  return fmt::format("s3://{}/{}", target_.bucket, key);
}

std::string S3Api::Key(std::string_view rest) const {
  return target_.prefix.empty() ? std::string(rest) : target_.prefix + "/" + std::string(rest);
}

namespace {

// The op S3 bills a call as: ListObjectsV2 is a LIST, DeleteObjects (POST
// ?delete) a DELETE, multipart calls (POST) PUTs.
RequestOp OpOf(const S3Call& call) {
  auto has = [&](std::string_view name) {
    return std::any_of(call.query.begin(), call.query.end(),
                       [&](const auto& q) { return q.first == name; });
  };
  if (call.method == "GET") return has("list-type") ? RequestOp::kList : RequestOp::kGet;
  if (call.method == "HEAD") return RequestOp::kHead;
  if (call.method == "DELETE") return RequestOp::kDelete;
  if (call.method == "POST" && has("delete")) return RequestOp::kDelete;
  return RequestOp::kPut;
}

// An answer the caller acts on, not a failure: 2xx, 404 (no such key), 409 and
// 412 (a conditional write that did not hold), 304.
bool Answered(long status) {
  return (status >= 200 && status < 300) || status == 304 || status == 404 || status == 409 ||
         status == 412;
}

}  // namespace

absl::StatusOr<HttpResponse> S3Api::SendOnce(const S3Call& call, const HeaderList& extra) {
  std::string path = base_path_;
  if (!call.key.empty() || !target_.path_style) path += "/" + UriEncode(call.key, false);
  // On the wire a parameter without value is bare (?uploads); signed, it is "uploads=".
  std::string query;
  for (const auto& [name, value] : call.query) {
    query += query.empty() ? "?" : "&";
    query += UriEncode(name, true);
    if (!value.empty()) query += "=" + UriEncode(value, true);
  }

  std::string payload_sha256 = call.payload_sha256;
  if (payload_sha256.empty()) {
    payload_sha256 = call.body.empty() ? std::string(kEmptySha256) : Sha256Hex(call.body);
  }
  SigV4Request sig;
  sig.method = call.method;
  sig.path = path;
  sig.query = call.query;
  sig.payload_sha256 = payload_sha256;
  sig.amz_date = AmzDate(absl::Now());  // the server's clock, not a test's fake one
  sig.headers = {
      {"host", host_}, {"x-amz-date", sig.amz_date}, {"x-amz-content-sha256", payload_sha256}};
  if (!target_.session_token.empty()) {
    sig.headers.emplace_back("x-amz-security-token", target_.session_token.reveal());
  }
  sig.headers.insert(sig.headers.end(), call.headers.begin(), call.headers.end());
  sig.headers.insert(sig.headers.end(), extra.begin(), extra.end());
  SigV4Result signed_request = SignV4(sig, target_.credentials);

  HttpRequest req;
  req.method = call.method;
  req.url = base_url_.substr(0, base_url_.size() - base_path_.size()) + path + query;
  req.headers = std::move(sig.headers);
  req.headers.emplace_back("Authorization", std::move(signed_request.authorization));
  req.body_source = call.body_source;
  req.body = call.body;
  req.sink = call.sink;
  req.connect_timeout = tuning_.connect_timeout;
  req.stall_timeout = tuning_.request_timeout;
  uint64_t bytes = call.transfer_bytes;
  if (call.body_source != nullptr) bytes = std::max(bytes, call.body_source->Size());
  bytes = std::max<uint64_t>(bytes, call.body.size());
  req.timeout = (call.sink && call.transfer_bytes == 0)
                    ? absl::ZeroDuration()
                    : tuning_.request_timeout +
                          absl::Seconds(static_cast<double>(bytes) / kMinBytesPerSecond);
  req.skip_verify = target_.skip_verify;
  return http_.Do(req);
}

absl::Status S3Api::ErrorFor(const S3Call& call, long http_status, std::string_view body,
                             std::string_view bucket_region_header) const {
  XmlDocument xml(body);
  std::string code = XmlText(xml.root(), "Code").value_or("");
  std::string message = XmlText(xml.root(), "Message").value_or("");
  std::string head = fmt::format("{}: HTTP {}", call.what, http_status);
  if (!code.empty()) head += " " + code;
  if (!message.empty()) head += ": " + message;
  std::string endpoint = RedactUrl(target_.endpoint);
  std::string bucket = target_.bucket;
  if (code == "NoSuchBucket") {
    return absl::FailedPreconditionError(fmt::format(
        "{} (bucket \"{}\" does not exist at {}: check the bucket name, endpoint and region)", head,
        bucket, endpoint));
  }
  if (http_status == 404) {
    if (code.empty() && call.method == "HEAD") head += " NoSuchKey";
    return absl::NotFoundError(head);
  }
  if (http_status == 403 || http_status == 401) {
    std::string check =
        code == "RequestTimeTooSkewed"
            ? "check this machine's clock"
            : fmt::format(
                  "check the access key id, secret access key and region ({}), and that they "
                  "may use bucket \"{}\" at {}",
                  target_.region, bucket, endpoint);
    return absl::PermissionDeniedError(fmt::format("{} ({})", head, check));
  }
  if (http_status == 301 || http_status == 307 || code == "AuthorizationHeaderMalformed" ||
      code == "PermanentRedirect") {
    std::string region(bucket_region_header);
    if (region.empty()) region = XmlText(xml.root(), "Region").value_or("");
    return absl::FailedPreconditionError(
        fmt::format("{} (bucket \"{}\" is {}; set region, or the endpoint of that region)", head,
                    bucket, region.empty() ? "in another region" : "in region " + region));
  }
  // A conditional write whose condition failed (412), or that raced another
  // conditional write to the key (409 ConditionalRequestConflict).
  if (http_status == 412 || code == "ConditionalRequestConflict") return absl::AbortedError(head);
  if (http_status == 408 || code == "RequestTimeout") return absl::DeadlineExceededError(head);
  if (http_status == 501) return absl::UnimplementedError(head);
  if (http_status >= 500 || http_status == 429 || RetryableCode(code)) {
    return absl::UnavailableError(head);
  }
  return absl::FailedPreconditionError(head);
}

absl::StatusOr<HttpResponse> S3Api::Send(const S3Call& call) {
  absl::Time start = clock_->Now();
  absl::Status last;
  int attempt = 1;
  for (;; ++attempt) {
    HeaderList extra;
    if (call.before_attempt) call.before_attempt(&extra);
    absl::StatusOr<HttpResponse> r = SendOnce(call, extra);
    requests_.Count(OpOf(call), r.ok() && Answered(r->status));
    if (r.ok() && r->status >= 200 && r->status < 300) {
      absl::Status checked = call.check ? call.check(*r) : absl::OkStatus();
      // A request that failed and then succeeded shows flaky storage: one WARN line
      // (per step, while it keeps happening). One that keeps failing is the
      // caller's error to log, once, with "gave up after N attempts".
      if (checked.ok() && attempt > 1) {
        retried_.Failed(last, clock_->Now(),
                        {{"replica", S3Url(target_.prefix)}, {"attempts", attempt}});
      }
      last = checked;
      if (last.ok()) return r;
    } else {
      absl::Status before = last;
      last = r.ok() ? ErrorFor(call, r->status, r->body, r->Header("x-amz-bucket-region"))
                    : Annotate(r.status(), call.what);
      // A retried request answered in the end (404 for an absent object): as
      // flaky as one that succeeded, and logged the same way.
      if (absl::IsNotFound(last) && attempt > 1) {
        retried_.Failed(before, clock_->Now(),
                        {{"replica", S3Url(target_.prefix)}, {"attempts", attempt}});
      }
    }
    if (!IsTransient(last)) return last;
    if (attempt >= tuning_.max_attempts) break;
    absl::Duration base = tuning_.initial_backoff * (int64_t{1} << std::min(attempt - 1, 20));
    base = std::min(base, tuning_.max_backoff);
    // Equal jitter: half the backoff fixed, half random, so clients spread out.
    double jitter = std::uniform_real_distribution<double>(0.5, 1.0)(rng_);
    absl::Duration sleep = base * jitter;
    if (clock_->Now() + sleep - start > tuning_.max_retry_time) break;
    LogDebug("s3 request failed, retrying", {{"replica", S3Url(target_.prefix)},
                                             {"attempt", attempt},
                                             {"backoff", sleep},
                                             {"err", last}});
    clock_->SleepUntil(clock_->Now() + sleep, never_);
  }
  if (attempt == 1) return last;
  return absl::Status(
      last.code(), fmt::format("{} (gave up after {} attempts in {})", std::string(last.message()),
                               attempt, absl::FormatDuration(clock_->Now() - start)));
}

}  // namespace litesync
