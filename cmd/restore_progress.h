// The restore's progress line on a terminal: when stderr is a TTY and a restore
// has run for a second, one line, redrawn in place at most five times a second:
//   restore: 12/40 files, 3.1 MiB of 10.0 MiB, 1.2 MiB/s, 6s left, fetching s3://bkt/app/...
// Nothing at all when stderr is not a TTY (logs and pipes stay clean). One thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

#include "absl/time/time.h"

#include "replica/restore/restore.h"

namespace litesync {

// The line for `p` after `elapsed`, at most `width` columns (0: no limit): files
// and bytes done of the total, the rate, the time left and the file being fetched.
std::string FormatRestoreProgress(const RestoreProgress& p, absl::Duration elapsed, size_t width);

class RestoreProgressLine {
 public:
  // Draws on `fd` only when it is a terminal.
  explicit RestoreProgressLine(int fd);
  ~RestoreProgressLine();  // Clear()
  RestoreProgressLine(const RestoreProgressLine&) = delete;
  RestoreProgressLine& operator=(const RestoreProgressLine&) = delete;

  // Draws `p` (erases the line once every file is done).
  void Update(const RestoreProgress& p);
  // Erases the line (before the result is logged). Idempotent.
  void Clear();

 private:
  int fd_;
  bool tty_;
  std::atomic<bool> drawn_{false};  // Clear() may run on the signal-handling thread
  absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
};

}  // namespace litesync
