#include "cmd/child_process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

extern char** environ;

namespace litesync {

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::string& command) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // posix_spawn rather than fork: litesync already runs threads, and the mask and
  // dispositions must be reset between fork and exec, which it does atomically.
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, sh.c_str(), nullptr, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::InternalError(fmt::format("start /bin/sh -c: {}", std::strerror(rc)));
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid));
}

ChildProcess::~ChildProcess() {
  if (code_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

void ChildProcess::Signal(int sig) {
  if (!code_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::Poll() {
  if (code_) return code_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    if (WIFEXITED(status)) {
      code_ = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      code_ = 128 + WTERMSIG(status);
    }
  } else if (r < 0 && errno == ECHILD) {
    code_ = 1;  // reaped elsewhere: should not happen, but never wait forever
  }
  return code_;
}

}  // namespace litesync
