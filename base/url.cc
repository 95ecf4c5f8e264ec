#include "base/url.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include <curl/curl.h>

namespace litesync {
namespace {

struct CurlUrlCleanup {
  void operator()(CURLU* p) const { curl_url_cleanup(p); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlCleanup>;

constexpr std::string_view kMask = "****";

// "a/b" -> {"a", "b"} (Abseil 20220623's StrSplit takes its own string_view).
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

// The part, or "" when the URL has none.
std::string Part(CURLU* u, CURLUPart part) {
  char* s = nullptr;
  if (curl_url_get(u, part, &s, 0) != CURLUE_OK || s == nullptr) return "";
  std::string out(s);
  curl_free(s);
  return out;
}

bool IsCredentialParam(std::string_view name) {
  std::string n = absl::AsciiStrToLower(std::string(name));
  for (const char* w :
       {"signature", "credential", "token", "key", "secret", "password", "pass", "auth", "sig"}) {
    if (n.find(w) != std::string::npos) return true;
  }
  return false;
}

bool IsHeartbeatParam(std::string_view name) {
  return name == "status" || name == "msg" || name == "ping" || name == "state";
}

bool IsRoutingWord(std::string_view segment) {
  std::string s = absl::AsciiStrToLower(std::string(segment));
  return s == "api" || s == "v1" || s == "v2" || s == "ping" || s == "p" || s == "heartbeat" ||
         s == "push";
}

// A heartbeat path: its leading routing words, then one mask for the rest.
std::string RedactHeartbeatPath(std::string_view path) {
  if (path.empty() || path == "/") return std::string(path);
  std::vector<std::string_view> segs = Split(path.substr(1), '/');
  std::string out;
  for (size_t i = 0; i + 1 < segs.size() && IsRoutingWord(segs[i]); ++i) {
    out += "/" + std::string(segs[i]);
  }
  return out + "/" + std::string(kMask);
}

}  // namespace

absl::StatusOr<Url> Url::Parse(std::string_view text, Kind kind) {
  CurlUrl u(curl_url());
  if (u == nullptr) return absl::ResourceExhaustedError("parse URL: out of memory");
  std::string s(text);
  // libcurl accepts only local file URLs (file:///path); a file URL naming a host
  // is still a URL whose fields render the same, so it is parsed under a scheme
  // libcurl does not know.
  const bool file = absl::AsciiStrToLower(std::string(text.substr(0, 7))) == "file://" &&
                    text.size() > 7 && text[7] != '/';
  if (file) s = "litesync-file" + s.substr(4);
  CURLUcode rc =
      curl_url_set(u.get(), CURLUPART_URL, s.c_str(), CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS);
  if (rc != CURLUE_OK) {
    return absl::InvalidArgumentError(std::string("not a URL: ") + curl_url_strerror(rc));
  }
  Url url;
  url.kind_ = kind;
  url.scheme_ = file ? "file" : Part(u.get(), CURLUPART_SCHEME);
  url.host_ = Part(u.get(), CURLUPART_HOST);
  url.port_ = Part(u.get(), CURLUPART_PORT);
  url.path_ = Part(u.get(), CURLUPART_PATH);
  url.query_ = Part(u.get(), CURLUPART_QUERY);
  url.fragment_ = Part(u.get(), CURLUPART_FRAGMENT);
  url.has_userinfo_ = !Part(u.get(), CURLUPART_USER).empty() ||
                      !Part(u.get(), CURLUPART_PASSWORD).empty() ||
                      !Part(u.get(), CURLUPART_OPTIONS).empty();
  size_t authority = text.find("://");
  authority = authority == std::string_view::npos ? 0 : authority + 3;
  url.has_path_ = text.find('/', authority) != std::string_view::npos;
  return url;
}

std::string Url::Redacted() const {
  std::string out = scheme_ + "://";
  if (has_userinfo_) out += std::string(kMask) + "@";
  out += host_;
  if (!port_.empty()) out += ":" + port_;
  if (has_path_) out += kind_ == Kind::kHeartbeat ? RedactHeartbeatPath(path_) : path_;
  if (!query_.empty()) {
    std::vector<std::string> parts;
    for (std::string_view kv : Split(query_, '&')) {
      size_t eq = kv.find('=');
      std::string_view name = kv.substr(0, eq);
      const bool has_value = eq != std::string_view::npos;
      // In a heartbeat URL a bare word (?Tok3n) may be the token itself.
      bool secret = kind_ == Kind::kHeartbeat ? !IsHeartbeatParam(name)
                                              : has_value && IsCredentialParam(name);
      if (!secret) {
        parts.emplace_back(kv);
      } else {
        parts.push_back(has_value ? std::string(name) + "=" + std::string(kMask)
                                  : std::string(kMask));
      }
    }
    out += "?" + absl::StrJoin(parts, "&");
  }
  // A fragment is never sent; in a heartbeat URL it may still hold a pasted token.
  if (!fragment_.empty()) out += "#" + std::string(kind_ == Kind::kHeartbeat ? kMask : fragment_);
  return out;
}

std::string RedactUrl(std::string_view url, bool mask_path) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos && mask_path) {
    // A heartbeat URL missing its scheme (a config error) still carries its token.
    constexpr std::string_view kScheme = "http://";
    absl::StatusOr<Url> parsed =
        Url::Parse(std::string(kScheme) + std::string(url), Url::Kind::kHeartbeat);
    if (parsed.ok()) return parsed->Redacted().substr(kScheme.size());
    size_t slash = url.find('/');  // not even host/path: keep what precedes a path
    return slash == std::string_view::npos ? std::string(url)
                                           : std::string(url.substr(0, slash)) + "/****";
  }
  if (scheme_end == std::string_view::npos) return std::string(url);
  absl::StatusOr<Url> parsed =
      Url::Parse(url, mask_path ? Url::Kind::kHeartbeat : Url::Kind::kCredentials);
  if (!parsed.ok()) return std::string(url.substr(0, scheme_end)) + "://" + std::string(kMask);
  return parsed->Redacted();
}

}  // namespace litesync
