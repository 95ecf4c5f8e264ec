// Captures log lines (base/log.h) for one test, and the token every heartbeat
// test URL carries, so each fixture can check that no line ever shows it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace litesync::testing {

// The secret part of every heartbeat URL in these tests.
inline constexpr std::string_view kToken = "t0ken-5ecret-0ddba11";

// While alive, log lines go to memory instead of stderr. One at a time.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> Lines() const;
  // Lines with msg="<msg>".
  std::vector<std::string> WithMsg(std::string_view msg) const;
};

}  // namespace litesync::testing
