#include "tests/cmd/cli_util.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "fmt/format.h"
#include <curl/curl.h>

#include "tests/testutil/s3_server.h"

namespace litesync::testing {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Cli::NextLog() { return dir_.Join(fmt::format("litesync-run-{}.log", ++runs_)); }

CliResult Cli::RunWith(const std::vector<std::string>& prefix, const std::vector<std::string>& args,
                       absl::Duration timeout) {
  std::vector<std::string> argv = prefix;
  argv.push_back(LitesyncBin());
  argv.insert(argv.end(), args.begin(), args.end());
  std::string log = NextLog();
  CliResult r;
  {
    Process p(argv, log);
    r.code = p.Wait(timeout);
  }  // ~Process kills (by its PID) a child that outlived the timeout
  r.output = ReadFileOrEmpty(log);
  return r;
}

CliResult Cli::Run(const std::vector<std::string>& args, absl::Duration timeout) {
  return RunWith({}, args, timeout);
}

std::unique_ptr<Process> Cli::Start(const std::vector<std::string>& args, std::string* log_path) {
  std::vector<std::string> argv = {LitesyncBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  *log_path = NextLog();
  return std::make_unique<Process>(argv, *log_path);
}

bool WaitForText(const std::string& path, std::string_view text, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (ReadFileOrEmpty(path).find(text) != std::string::npos) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

namespace {

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

int HttpGet(const std::string& url, std::string* body) {
  InitCurlOnce();
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  long code = -1;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(c);
  return static_cast<int>(code);
}

std::string OneDbConfig(const std::string& db, const std::string& replica,
                        const std::string& extra) {
  return fmt::format("dbs:\n  - path: {}\n    replica:\n      path: {}\n{}", db, replica, extra);
}

std::string WriteTxns(const std::string& db, int txns, int seed, const std::string& log) {
  int code =
      RunProcess({WriterBin(), db, "-txns", std::to_string(txns), "-seed", std::to_string(seed)},
                 absl::Seconds(60), log);
  if (code == 0) return "";
  return fmt::format("test_writer exited {}: {}", code, ReadFileOrEmpty(log));
}

void CliDbTest::SetUp() {
  for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET"}) unsetenv(v);
  db_ = dir_.Join("app.db");
  replica_ = dir_.Join("replica");
  config_ = dir_.Join("litesync.yml");
}

}  // namespace litesync::testing
