// AWS Signature Version 4 for S3 requests, over OpenSSL: canonical request, string
// to sign, signing key and Authorization header. SignV4 is a pure function of its
// inputs (no clock, no environment), so it is tested against AWS's published
// examples. Also the digests S3 requests need (SHA-256 hex, MD5 base64).
// Everything here is thread-safe.
//
// Why not libcurl's CURLOPT_AWS_SIGV4 (Debian 12's libcurl 7.88.1): it hashes
// only a body given in memory (POSTFIELDS), and litesync streams uploads through
// a read callback (spilled to disk past 16 MiB), so the payload hash
// (Sha256Hasher) stays ours; it signs the URL's query exactly as written, so
// CanonicalQueryString stays ours (tests/replica/sigv4_libcurl_test.cc has to
// hand libcurl both before the two signatures agree); and the digests are
// needed for headers either way. What libcurl would replace is SignV4 and the
// key derivation, about 45 lines, at the price of signatures nothing checks
// before a real server does (s3rver verifies none): SignV4 is a pure function,
// checked against AWS's published examples (tests/replica/sigv4_test.cc) and
// against libcurl on every request shape litesync sends.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "base/secret.h"

namespace litesync {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using QueryList = std::vector<std::pair<std::string, std::string>>;

// SHA-256 of the empty string: the payload hash of a request without a body.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SigV4Credentials {
  std::string access_key_id;
  Secret secret_access_key;
  std::string region;  // e.g. "us-east-1"
  std::string service = "s3";
};

struct SigV4Request {
  std::string method;  // "GET", "PUT", ...
  // The path as sent on the wire, already URI-encoded (UriEncode(path, false)).
  std::string path;
  // Decoded query parameters in any order; a parameter without value has "".
  QueryList query;
  // Every header to sign, any case and order. Must include host, x-amz-date and
  // x-amz-content-sha256 (and x-amz-security-token with temporary credentials).
  HeaderList headers;
  std::string payload_sha256;  // hex, or "UNSIGNED-PAYLOAD"
  std::string amz_date;        // "20130524T000000Z", the x-amz-date value
};

struct SigV4Result {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;range;x-amz-content-sha256;x-amz-date"
  std::string signature;       // 64 lowercase hex digits
  std::string authorization;   // the Authorization header value
};

SigV4Result SignV4(const SigV4Request& request, const SigV4Credentials& credentials);

// HMAC-SHA256(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
// raw 32 bytes. `date` is "YYYYMMDD".
std::string SigV4SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                            std::string_view service);

// RFC 3986 encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - . _ ~)
// stay, everything else is %XX with upper-case hex; '/' stays unless `encode_slash`.
std::string UriEncode(std::string_view s, bool encode_slash);
// "a=1&b=x%20y": each name and value UriEncoded, sorted by name then value.
// Also the query string to send, so what is signed is what is sent.
std::string CanonicalQueryString(const QueryList& query);
// "20130524T000000Z" in UTC.
std::string AmzDate(absl::Time t);

std::string HexEncode(std::string_view bytes);
std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string Md5Base64(std::string_view data);                         // for Content-MD5

// Incremental SHA-256 for bodies streamed from a ByteSource.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::string_view data);
  std::string HexDigest();  // once; the hasher is spent afterwards

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace litesync
