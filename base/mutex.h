// A std::mutex with Clang thread-safety annotations (ABSL_GUARDED_BY and friends
// keep working under -Wthread-safety), and its scoped lock. litesync's shared
// state uses it rather than absl::Mutex: Debian's Abseil is not built with
// ThreadSanitizer, so TSan cannot see absl::Mutex order memory and reports races
// between accesses that hold it, while it sees std::mutex (pthreads). Waiting is
// done with a std::condition_variable on MutexLock::native().
#pragma once

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace litesync {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : lock_(mu->native()) {}
  ~MutexLock() ABSL_UNLOCK_FUNCTION() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  // For std::condition_variable::wait, which releases and retakes the lock.
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace litesync
