// Child processes for tests: start with argv, wait with a bound, kill by the PID
// we started (never by name).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace litesync::testing {

class Process {
 public:
  // Starts argv[0] with the arguments; stdout/stderr go to `log_path` when given.
  explicit Process(std::vector<std::string> argv, const std::string& log_path = "");
  ~Process();  // SIGKILL + reap if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Waits up to `timeout`; the exit code, 128+signal, or -1 on timeout.
  int Wait(absl::Duration timeout);
  void Signal(int sig);
  bool Running();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// Runs to completion (bounded); returns the exit code (or -1 on timeout).
int RunProcess(std::vector<std::string> argv, absl::Duration timeout,
               const std::string& log_path = "");

// tests/test_writer and the litesync binary of this build.
std::string WriterBin();
std::string LitesyncBin();

}  // namespace litesync::testing
