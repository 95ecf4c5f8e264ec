#include "replica/secret.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace litesync {
namespace {

bool IsSecretParam(std::string_view name) {
  std::string n = absl::AsciiStrToLower(std::string(name));
  static const char* kWords[] = {"signature", "credential", "token", "key", "secret",
                                 "password",  "pass",       "auth",  "sig"};
  for (const char* w : kWords) {
    if (absl::StrContains(n, w)) return true;
  }
  return false;
}

}  // namespace

std::string RedactUrl(std::string_view url, bool mask_path) {
  std::string_view rest = url;
  std::string out;
  size_t scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    out.append(rest.substr(0, scheme_end + 3));
    rest.remove_prefix(scheme_end + 3);
  }
  // Authority: [userinfo@]host[:port]
  size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  rest = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    out.append("****@");
    authority.remove_prefix(at + 1);
  }
  out.append(authority);

  std::string_view path = rest.substr(0, rest.find_first_of("?#"));
  std::string_view query_and_more = rest.substr(path.size());
  if (mask_path && !path.empty() && path != "/") {
    std::vector<std::string> segs = absl::StrSplit(std::string(path.substr(1)), '/');
    // Keep the leading segments that look like routing (api, v1, push, p, ping...),
    // mask from the first segment that could be a token onwards.
    std::string kept;
    size_t i = 0;
    if (segs.size() > 1) {
      for (; i + 1 < segs.size(); ++i) {
        std::string s = absl::AsciiStrToLower(segs[i]);
        if (s == "api" || s == "v1" || s == "v2" || s == "ping" || s == "p" || s == "heartbeat" ||
            s == "push") {
          kept += "/" + std::string(segs[i]);
          continue;
        }
        break;
      }
    }
    out.append(kept);
    out.append("/****");
  } else {
    out.append(path);
  }
  if (!query_and_more.empty() && query_and_more[0] == '?') {
    std::string_view query = query_and_more.substr(1, query_and_more.find('#') - 1);
    std::vector<std::string> parts;
    for (const std::string& kv_s :
         std::vector<std::string>(absl::StrSplit(std::string(query), '&'))) {
      std::string_view kv = kv_s;
      size_t eq = kv.find('=');
      std::string_view name = kv.substr(0, eq);
      if (eq != std::string_view::npos && IsSecretParam(name)) {
        parts.push_back(std::string(name) + "=****");
      } else {
        parts.emplace_back(kv);
      }
    }
    out.append("?");
    out.append(absl::StrJoin(parts, "&"));
  }
  return out;
}

}  // namespace litesync
