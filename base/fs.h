// The file-system seam under litesync's own writes and reads: tx-file staging,
// the file replica, compaction scratch files, download spill files and restore
// output all go through these calls, so each loop (EINTR, short reads and
// writes) and each directory fsync is written once, and tests can make any of
// them fail on purpose (ENOSPC, EIO, a short write, a failing fsync) with a
// FaultInjector. Errors name the file (`what`) and keep errno's code.
// Thread-safe; the injector is process-wide.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace litesync::fs {

// write(2) until all `n` bytes are written.
absl::Status WriteAll(int fd, const char* p, size_t n, std::string_view what);
// pwrite(2) until all `n` bytes are written at `off`.
absl::Status PwriteAll(int fd, const char* p, size_t n, uint64_t off, std::string_view what);
// pread(2) until `n` bytes or the end of the file; the number read.
absl::StatusOr<size_t> PreadFull(int fd, char* p, size_t n, uint64_t off, std::string_view what);
// read(2) once, retried on EINTR: 0 at the end of the file.
absl::StatusOr<size_t> ReadSome(int fd, char* p, size_t n, std::string_view what);
// fsync(2) of an open file.
absl::Status Fsync(int fd, std::string_view what);
// fsync(2) of a directory, so the names created or renamed in it are durable;
// "" means the current directory.
absl::Status FsyncDir(const std::string& dir);
// FsyncDir of the directory holding `path`.
absl::Status FsyncParentDir(const std::string& path);

// Fault injection for tests. The injector sees every operation before it runs
// and may fail it with an errno, or (for writes) cut it short; nullptr removes
// it. Production code never installs one.
enum class Op { kWrite, kRead, kFsync };
struct Fault {
  int err = 0;             // non-zero: the call fails with this errno
  size_t short_write = 0;  // non-zero (writes): write at most this many bytes this call
};
using FaultInjector = std::function<Fault(Op op, std::string_view what)>;
void SetFaultInjector(FaultInjector injector);

}  // namespace litesync::fs
