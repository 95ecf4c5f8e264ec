// Runs the litesync binary of this build as a child process for end-to-end tests:
// every run is bounded in time and killed by the PID it started.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include <gtest/gtest.h>

#include "tests/testutil/process.h"
#include "tests/testutil/temp_dir.h"

namespace litesync::testing {

struct CliResult {
  int code = -1;       // exit code, 128+signal, or -1 on timeout (the child is killed)
  std::string output;  // stdout and stderr interleaved
};

class Cli {
 public:
  // Logs go to files in `dir`, which must outlive this object.
  explicit Cli(const TempDir& dir) : dir_(dir) {}

  // Runs `litesync args...` to completion (bounded by `timeout`).
  CliResult Run(const std::vector<std::string>& args, absl::Duration timeout = absl::Seconds(60));
  // Runs `prefix... litesync args...` (e.g. setpriv to drop root).
  CliResult RunWith(const std::vector<std::string>& prefix, const std::vector<std::string>& args,
                    absl::Duration timeout = absl::Seconds(60));
  // Starts `litesync args...` in the background; output goes to *log_path.
  std::unique_ptr<Process> Start(const std::vector<std::string>& args, std::string* log_path);

 private:
  std::string NextLog();
  const TempDir& dir_;
  int runs_ = 0;
};

// Polls the file until it contains `text`; false after `timeout`.
bool WaitForText(const std::string& path, std::string_view text, absl::Duration timeout);
std::string ReadFileOrEmpty(const std::string& path);

// GET over TCP with libcurl (bounded); the HTTP status, -1 on a transport error.
int HttpGet(const std::string& url, std::string* body);

// Runs tests/test_writer on `db`: `txns` transactions from `seed`, its output in
// `log`. "" on success, else what went wrong (with the writer's output).
std::string WriteTxns(const std::string& db, int txns, int seed, const std::string& log);

// A config: one database `db` with a file replica at `replica`, then `extra` lines.
std::string OneDbConfig(const std::string& db, const std::string& replica,
                        const std::string& extra = "");

// The fixture most command-line tests share: a temporary directory with the
// paths of one database, its directory replica and its config, the binary run in
// it, and no LITESYNC_CONFIG / LITESYNC_SOCKET inherited from the caller.
class CliDbTest : public ::testing::Test {
 protected:
  void SetUp() override;

  TempDir dir_;
  Cli cli_{dir_};
  std::string db_, replica_, config_;
};

}  // namespace litesync::testing
