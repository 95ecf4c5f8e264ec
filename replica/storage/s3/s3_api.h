// The request layer under the S3 replica client: addressing (path style or
// virtual-hosted), Signature V4, retries with exponential backoff and jitter, and
// the mapping of S3 answers to Status codes with messages that name the bucket,
// the key and what to check. Secrets never reach a message or a log line.
// One thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "base/repeat_log.h"
#include "base/request_counts.h"

#include "replica/storage/http_client.h"
#include "replica/storage/replica_options.h"
#include "replica/storage/s3/s3_settings.h"
#include "replica/storage/s3/sigv4.h"

namespace litesync {

// Knobs of the S3 client; the defaults suit production, tests shrink them.
struct S3Tuning {
  // Objects larger than this are uploaded in parts of this size (S3's minimum part
  // is 5 MiB); raised automatically so an object never needs more than 10,000 parts.
  uint64_t part_size = 16 << 20;
  int max_attempts = 5;                              // per request, the first included
  absl::Duration max_retry_time = absl::Minutes(2);  // no retry starts after this
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(10);
  // A request without data to move, and the allowance on top of the transfer time
  // of one that has (at 64 KiB/s); also the stall limit while data moves.
  absl::Duration request_timeout = absl::Seconds(60);
  // Open() keeps objects up to this size in memory, larger ones in an unlinked
  // temporary file under temp_dir (empty: $TMPDIR, else /tmp).
  uint64_t memory_read_limit = 4 << 20;
  std::string temp_dir;
  Clock* clock = nullptr;  // backoff sleeps; null: real time
};

// Where the requests go, resolved once from ReplicaOptions.
struct S3Target {
  std::string bucket;
  std::string prefix;    // no leading or trailing slash; may be empty
  std::string endpoint;  // "https://s3.us-east-1.amazonaws.com" or as configured
  std::string region;
  bool path_style = false;
  bool skip_verify = false;
  SigV4Credentials credentials;
  Secret session_token;
};

// Fills in the defaults (region, AWS endpoint, credentials from the environment)
// and checks what is required; errors name the replica and the option.
absl::StatusOr<S3Target> ResolveS3Target(const ReplicaOptions& options);

struct S3Call {
  std::string method = "GET";
  std::string key;  // the object key; empty for requests on the bucket
  QueryList query;
  HeaderList headers;  // extra headers, signed
  // The body, as in HttpRequest; with body_source, payload_sha256 is required.
  const ByteSource* body_source = nullptr;
  std::string_view body;
  std::string payload_sha256;  // empty: computed from `body`
  BodySink sink;               // as in HttpRequest
  // Bytes expected to move, for the total timeout; 0 with a sink: unknown, the
  // request is bounded by the stall timeout only.
  uint64_t transfer_bytes = 0;
  // Called before every attempt, e.g. to add Range for a resumed download.
  std::function<void(HeaderList* headers)> before_attempt;
  // Judges a 2xx response (CompleteMultipartUpload can answer 200 with an <Error>);
  // a transient error from it is retried like any other.
  std::function<absl::Status(const HttpResponse& response)> check;
  std::string what;  // "PUT s3://bkt/app/...", the start of every message
};

class S3Api {
 public:
  S3Api(S3Target target, S3Tuning tuning);

  // Sends `call`, retrying 5xx, 429, SlowDown, timeouts and connection errors up to
  // tuning.max_attempts within tuning.max_retry_time; each attempt restarts the
  // body from its first byte. Returns the 2xx response or a Status: NotFound (no
  // such key), PermissionDenied (403), FailedPrecondition (no such bucket, wrong
  // region, other 4xx), Unavailable or DeadlineExceeded (transient, retries spent).
  absl::StatusOr<HttpResponse> Send(const S3Call& call);

  // The error an S3 <Error> document (possibly inside a 200) stands for.
  absl::Status ErrorFor(const S3Call& call, long http_status, std::string_view body,
                        std::string_view bucket_region_header = "") const;

  // "s3://bucket/key" for messages and Describe().
  std::string S3Url(std::string_view key) const;
  // "<prefix>/<rest>", or `rest` without a prefix.
  std::string Key(std::string_view rest) const;
  const S3Target& target() const { return target_; }
  const S3Tuning& tuning() const { return tuning_; }
  // Every attempt Send made, by the op S3 bills it as (base/request_counts.h).
  const RequestCounts& requests() const { return requests_; }

 private:
  absl::StatusOr<HttpResponse> SendOnce(const S3Call& call, const HeaderList& extra);

  S3Target target_;
  S3Tuning tuning_;
  RequestCounts requests_;
  Clock* clock_;
  StopSignal never_;  // the client has no stop; sleeps end at their deadline
  HttpClient http_;
  std::mt19937_64 rng_;
  // Requests that needed retries but succeeded, logged once per step (never
  // "recovered": a clean request between two retried ones says little).
  RepeatedErrorLog retried_{LogLevel::kWarn, "s3 request succeeded after retrying", ""};
  std::string host_;       // Host header
  std::string base_url_;   // scheme://host[:port][/path] up to the key
  std::string base_path_;  // the path part of base_url_, canonical
};

}  // namespace litesync
