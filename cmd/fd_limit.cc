#include "cmd/fd_limit.h"

#include <cerrno>

#include "base/log.h"
#include "base/status.h"

namespace litesync {
namespace {

std::string LimitString(rlim_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
}

}  // namespace

rlim_t RaiseFdLimit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    LogWarn("cannot read the open-file limit", {{"err", ErrnoStatus(errno, "getrlimit")}});
    return RLIM_INFINITY;  // unknown: nothing to warn about
  }
  if (rl.rlim_cur == rl.rlim_max) {
    LogDebug("open-file limit", {{"soft", LimitString(rl.rlim_cur)}, {"hard", "same"}});
    return rl.rlim_cur;
  }
  rlim_t old = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    LogWarn("cannot raise the open-file limit",
            {{"soft", LimitString(old)},
             {"hard", LimitString(rl.rlim_max)},
             {"err", ErrnoStatus(errno, "setrlimit RLIMIT_NOFILE")}});
    return old;
  }
  LogInfo("open-file limit raised", {{"from", LimitString(old)}, {"to", LimitString(rl.rlim_cur)}});
  return rl.rlim_cur;
}

void FdBudget::Check(size_t dbs) {
  bool over = limit_ != RLIM_INFINITY && FdsNeeded(dbs) > limit_;
  if (over && !warned_) {
    LogWarn("too many databases for the open-file limit; some will fail to open",
            {{"dbs", dbs},
             {"fds_needed", FdsNeeded(dbs)},
             {"limit", LimitString(limit_)},
             {"fix",
              "raise the hard RLIMIT_NOFILE (ulimit -Hn, systemd LimitNOFILE=, docker --ulimit "
              "nofile=) or split the databases over several litesync processes"}});
  }
  warned_ = over;
}

}  // namespace litesync
