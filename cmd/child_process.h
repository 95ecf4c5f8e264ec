// `replicate -exec`: the application as a child process. Main thread only: the
// daemon starts it once replication runs, forwards SIGINT/SIGTERM to it, polls for
// its exit, then makes the final sync.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace litesync {

class ChildProcess {
 public:
  // Runs `command` with `/bin/sh -c`, so quoting, $VARS and `exec` work as in a
  // shell. The child starts with no signal blocked and default dispositions (not
  // litesync's blocked SIGINT/SIGTERM/SIGHUP or ignored SIGPIPE). Internal when
  // the spawn fails.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::string& command);
  ~ChildProcess();  // SIGKILL and reap a child still running (only on early return)
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Reaps the child without blocking: its exit code (128+signal when killed by a
  // signal) once it has exited, nullopt while it runs.
  std::optional<int> Poll();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::optional<int> code_;
};

}  // namespace litesync
