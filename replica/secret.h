// Secrets (access keys, heartbeat URLs) and URL redaction. A Secret formats as
// "****" everywhere; only the code that must use it calls reveal().
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "fmt/format.h"

namespace litesync {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "****"; }
  bool operator==(const Secret& o) const { return value_ == o.value_; }

 private:
  std::string value_;
};

// Masks what a URL carries as credentials: userinfo (user:pass@), query values of
// signature and credential parameters (X-Amz-*, signature, token, key...), and,
// when `mask_path` is set (heartbeat URLs, whose token is the path), every path
// segment after the first, e.g.
//   https://hc-ping.com/1f2e-...  ->  https://hc-ping.com/****
//   https://kuma.example.com/api/push/abc?status=up -> https://kuma.example.com/api/****?status=up
std::string RedactUrl(std::string_view url, bool mask_path = false);

}  // namespace litesync

template <>
struct fmt::formatter<litesync::Secret> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const litesync::Secret&, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format("****", ctx);
  }
};
