// A URL split into its fields by libcurl's parser (CURLU) and rendered with the
// fields that carry credentials masked. Redaction acts on the fields of the one
// URL being rendered, never by searching finished text for secret strings (which
// masked "fail" inside "failed" and metric names). Immutable; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace litesync {

class Url {
 public:
  enum class Kind {
    // Replica and endpoint URLs: userinfo and the values of signature and
    // credential query parameters (X-Amz-*, signature, token, key...) are secret.
    kCredentials,
    // Heartbeat URLs, where the URL is the credential: also the path after its
    // routing words (api, v1, push, heartbeat, p, ping) and every query value but
    // status, msg, ping and state.
    kHeartbeat,
  };

  // Parses `text` with libcurl (any scheme). InvalidArgument when it is not a URL;
  // the message never quotes the text.
  static absl::StatusOr<Url> Parse(std::string_view text, Kind kind);

  // The URL with every secret field masked as "****", e.g.
  //   https://hc-ping.com/1f2e-...              ->  https://hc-ping.com/****
  //   https://kuma.example/api/push/abc?status=up  ->  https://kuma.example/api/push/****?status=up
  std::string Redacted() const;

 private:
  Url() = default;
  Kind kind_ = Kind::kCredentials;
  std::string scheme_, host_, port_, path_, query_, fragment_;
  bool has_userinfo_ = false;
  bool has_path_ = false;  // "s3://bucket" has none; libcurl reports "/"
};

// Url::Parse(url, kind).Redacted(). Text that is not a URL (no "://", e.g. a file
// path) is returned as is, except with `mask_path` (a heartbeat URL missing its
// scheme, "hc-ping.com/<uuid>": its path is masked all the same); a URL libcurl
// cannot parse renders as "<scheme>://****". `mask_path`: Url::Kind::kHeartbeat.
std::string RedactUrl(std::string_view url, bool mask_path = false);

}  // namespace litesync
