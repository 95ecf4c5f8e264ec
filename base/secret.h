// Secrets (access keys, heartbeat URLs). A Secret formats as "****" everywhere;
// only the code that must use it calls reveal(). URLs are redacted by
// base/url.h (included here for RedactUrl's callers).
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "base/url.h"
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

}  // namespace litesync

template <>
struct fmt::formatter<litesync::Secret> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const litesync::Secret&, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format("****", ctx);
  }
};
