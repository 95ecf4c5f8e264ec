#include "base/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <mutex>

#include "base/handles.h"
#include "base/status.h"
#include "fmt/format.h"

namespace litesync::fs {
namespace {

std::atomic<bool> has_injector{false};  // the fast path: no lock without one
std::mutex injector_mu;
std::shared_ptr<const FaultInjector> injector;  // guarded by injector_mu

Fault Inject(Op op, std::string_view what) {
  if (!has_injector.load(std::memory_order_acquire)) return Fault{};
  std::shared_ptr<const FaultInjector> f;
  {
    std::lock_guard<std::mutex> lock(injector_mu);
    f = injector;
  }
  return f == nullptr ? Fault{} : (*f)(op, what);
}

// One write(2)/pwrite(2) call through the injector; -1 with errno on failure.
ssize_t WriteOnce(int fd, const char* p, size_t n, const uint64_t* off, std::string_view what) {
  Fault fault = Inject(Op::kWrite, what);
  if (fault.err != 0) {
    errno = fault.err;
    return -1;
  }
  if (fault.short_write != 0) n = std::min(n, fault.short_write);
  return off != nullptr ? ::pwrite(fd, p, n, static_cast<off_t>(*off)) : ::write(fd, p, n);
}

absl::Status WriteLoop(int fd, const char* p, size_t n, const uint64_t* start,
                       std::string_view what) {
  uint64_t off = start != nullptr ? *start : 0;
  while (n > 0) {
    ssize_t w = WriteOnce(fd, p, n, start != nullptr ? &off : nullptr, what);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return ErrnoStatus(errno, fmt::format("write {}", what));
    if (w == 0) return ErrnoStatus(EIO, fmt::format("write {}: no progress", what));
    p += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteAll(int fd, const char* p, size_t n, std::string_view what) {
  return WriteLoop(fd, p, n, nullptr, what);
}

absl::Status PwriteAll(int fd, const char* p, size_t n, uint64_t off, std::string_view what) {
  return WriteLoop(fd, p, n, &off, what);
}

absl::StatusOr<size_t> PreadFull(int fd, char* p, size_t n, uint64_t off, std::string_view what) {
  size_t got = 0;
  while (got < n) {
    Fault fault = Inject(Op::kRead, what);
    ssize_t r = fault.err != 0
                    ? (errno = fault.err, -1)
                    : ::pread(fd, p + got, n - got, static_cast<off_t>(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus(errno, fmt::format("read {}", what));
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

absl::StatusOr<size_t> ReadSome(int fd, char* p, size_t n, std::string_view what) {
  while (true) {
    Fault fault = Inject(Op::kRead, what);
    ssize_t r = fault.err != 0 ? (errno = fault.err, -1) : ::read(fd, p, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR) return ErrnoStatus(errno, fmt::format("read {}", what));
  }
}

absl::Status Fsync(int fd, std::string_view what) {
  Fault fault = Inject(Op::kFsync, what);
  if (fault.err != 0) return ErrnoStatus(fault.err, fmt::format("fsync {}", what));
  if (::fsync(fd) != 0) return ErrnoStatus(errno, fmt::format("fsync {}", what));
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& dir) {
  const std::string d = dir.empty() ? "." : dir;
  UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, fmt::format("open directory {}", d));
  return Fsync(fd.get(), "directory " + d);
}

absl::Status FsyncParentDir(const std::string& path) {
  return FsyncDir(std::filesystem::path(path).parent_path().string());
}

void SetFaultInjector(FaultInjector f) {
  std::lock_guard<std::mutex> lock(injector_mu);
  injector = f ? std::make_shared<const FaultInjector>(std::move(f)) : nullptr;
  has_injector.store(injector != nullptr, std::memory_order_release);
}

}  // namespace litesync::fs
