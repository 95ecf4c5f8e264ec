#include "tests/heartbeat/log_capture.h"

#include <mutex>

#include "base/log.h"
#include "fmt/format.h"

namespace litesync::testing {
namespace {

std::mutex g_mu;
std::vector<std::string>* g_lines = nullptr;

void Sink(std::string_view line) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_lines != nullptr) g_lines->emplace_back(line);
}

}  // namespace

LogCapture::LogCapture() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_lines = new std::vector<std::string>();
  SetLogSink(&Sink);
}

LogCapture::~LogCapture() {
  SetLogSink(nullptr);
  std::lock_guard<std::mutex> lock(g_mu);
  delete g_lines;
  g_lines = nullptr;
}

std::vector<std::string> LogCapture::Lines() const {
  std::lock_guard<std::mutex> lock(g_mu);
  return *g_lines;
}

std::vector<std::string> LogCapture::WithMsg(std::string_view msg) const {
  std::string needle = fmt::format("msg=\"{}\"", msg);
  std::vector<std::string> out;
  for (std::string& l : Lines()) {
    if (l.find(needle) != std::string::npos) out.push_back(std::move(l));
  }
  return out;
}

}  // namespace litesync::testing

// libcurl's global set-up, once, before any test starts a thread (main does it in
// the daemon).
#include <curl/curl.h>
namespace {
const CURLcode kCurlInit = curl_global_init(CURL_GLOBAL_DEFAULT);
}  // namespace
