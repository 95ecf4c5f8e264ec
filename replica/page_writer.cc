#include "replica/page_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "fmt/format.h"

#include "replica/log.h"
#include "replica/status.h"

namespace litesync {
namespace {

constexpr size_t kRunBytes = 4 << 20;
constexpr int kBuffers = 3;  // one being filled, up to two queued or being written
// Direct I/O needs the buffer, offset and length aligned to the device's logical
// block size; 4096 covers every common device.
constexpr size_t kDirectAlign = 4096;

absl::Status WriteAll(int fd, const char* data, size_t n, off_t off, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::pwrite(fd, data + done, n - done, off + static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return ErrnoStatus(errno, fmt::format("write {}", path));
    done += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

char* AllocateRun() {
  void* p = std::aligned_alloc(kDirectAlign, kRunBytes);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<char*>(p);
}

}  // namespace

PageWriter::PageWriter(int fd, std::string path)
    : fd_(fd),
      path_(std::move(path)),
      run_(AllocateRun()),
      direct_fd_(::open(path_.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC)) {
  for (int i = 1; i < kBuffers; ++i) free_.emplace_back(AllocateRun());
  thread_ = std::thread([this] { Loop(); });
}

PageWriter::~PageWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

absl::Status PageWriter::Add(uint32_t pgno, std::string_view page) {
  if (page.empty() || page.size() > kRunBytes) {
    return absl::InvalidArgumentError(fmt::format("{}: page of {} bytes", path_, page.size()));
  }
  if (used_ > 0 && (page.size() != page_size_ || pgno != run_first_ + used_ / page_size_ ||
                    used_ + page.size() > kRunBytes)) {
    LS_RETURN_IF_ERROR(Submit());
  }
  if (used_ == 0) {
    run_first_ = pgno;
    page_size_ = page.size();
  }
  std::memcpy(run_.get() + used_, page.data(), page.size());
  used_ += page.size();
  return absl::OkStatus();
}

absl::Status PageWriter::Submit() {
  std::unique_lock<std::mutex> lock(mu_);
  if (used_ > 0) {
    Run r;
    r.buf = std::move(run_);
    r.size = used_;
    r.offset = static_cast<off_t>(run_first_ - 1) * static_cast<off_t>(page_size_);
    pending_.push_back(std::move(r));
    used_ = 0;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !free_.empty(); });
    run_ = std::move(free_.back());
    free_.pop_back();
  }
  return error_;
}

absl::Status PageWriter::Reserve(uint64_t bytes) {
  if (::fallocate(fd_, 0, 0, static_cast<off_t>(bytes)) == 0) return absl::OkStatus();
  int err = errno;
  if (err == EOPNOTSUPP || err == ENOSYS) return absl::OkStatus();
  return ErrnoStatus(err, fmt::format("reserve {} bytes for {}", bytes, path_));
}

absl::Status PageWriter::Wait() {
  LS_RETURN_IF_ERROR(Submit());
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return pending_.empty() && !busy_; });
  return error_;
}

absl::Status PageWriter::Sync() {
  LS_RETURN_IF_ERROR(Wait());
  if (::fsync(fd_) != 0) return ErrnoStatus(errno, fmt::format("fsync {}", path_));
  return absl::OkStatus();
}

uint64_t PageWriter::direct_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return direct_bytes_;
}

uint64_t PageWriter::buffered_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buffered_bytes_;
}

void PageWriter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, nothing left
    Run run = std::move(pending_.front());
    pending_.pop_front();
    busy_ = true;
    bool skip = !error_.ok();  // after an error nothing more is written
    lock.unlock();
    absl::Status s = skip ? absl::OkStatus() : Write(run);
    lock.lock();
    if (!s.ok() && error_.ok()) error_ = s;
    free_.push_back(std::move(run.buf));
    busy_ = false;
    cv_.notify_all();
  }
}

absl::Status PageWriter::Write(const Run& run) {
  if (direct_fd_.valid() && run.offset % kDirectAlign == 0 && run.size % kDirectAlign == 0) {
    absl::Status s = WriteAll(direct_fd_.get(), run.buf.get(), run.size, run.offset, path_);
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      direct_bytes_ += run.size;
      return s;
    }
    // EINVAL: the file system took O_DIRECT at open but refuses these writes.
    if (!absl::IsInvalidArgument(s)) return s;
    LogDebug("direct writes refused; writing through the page cache",
             {{"path", path_}, {"err", s}});
    direct_fd_ = UniqueFd();
  }
  LS_RETURN_IF_ERROR(WriteAll(fd_, run.buf.get(), run.size, run.offset, path_));
  std::lock_guard<std::mutex> lock(mu_);
  buffered_bytes_ += run.size;
  return absl::OkStatus();
}

}  // namespace litesync
