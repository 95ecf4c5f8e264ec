#include "replica/restore/page_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "base/fs.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

namespace litesync {
namespace {

constexpr size_t kRunBytes = 4 << 20;
constexpr int kThreads = 2;
constexpr int kBuffers = 4;  // one being filled, up to three queued or being written
// Direct I/O needs the buffer, offset and length aligned to the device's logical
// block size; 4096 covers every common device.
constexpr size_t kDirectAlign = 4096;

char* AllocateRun() {
  void* p = std::aligned_alloc(kDirectAlign, kRunBytes);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<char*>(p);
}

}  // namespace

PageWriter::PageWriter(int fd, std::string path, Observer observe)
    : fd_(fd),
      path_(std::move(path)),
      observe_(std::move(observe)),
      direct_fd_(::open(path_.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC)),
      run_(AllocateRun()) {
  for (int i = 1; i < kBuffers; ++i) free_.emplace_back(AllocateRun());
  for (int i = 0; i < kThreads; ++i) threads_.emplace_back([this] { Loop(); });
}

PageWriter::~PageWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

absl::Status PageWriter::Add(uint32_t pgno, std::string_view page) {
  LS_ASSIGN_OR_RETURN(char* at, Slot(pgno, page.size()));
  std::memcpy(at, page.data(), page.size());
  return absl::OkStatus();
}

absl::StatusOr<char*> PageWriter::Slot(uint32_t pgno, size_t size) {
  if (size == 0 || size > kRunBytes) {
    return absl::InvalidArgumentError(fmt::format("{}: page of {} bytes", path_, size));
  }
  // A page added again must land after its earlier copy, which either thread may
  // still hold: let every earlier write finish first.
  if (pgno <= highest_) LS_RETURN_IF_ERROR(Wait());
  if (used_ > 0 &&
      (size != page_size_ || pgno != run_first_ + used_ / page_size_ || used_ + size > kRunBytes)) {
    LS_RETURN_IF_ERROR(Submit());
  }
  if (used_ == 0) {
    run_first_ = pgno;
    page_size_ = size;
  }
  char* at = run_.get() + used_;
  used_ += size;
  highest_ = pgno;
  return at;
}

absl::StatusOr<std::span<char>> PageWriter::Slots(uint32_t pgno, size_t page_size,
                                                  size_t max_pages) {
  LS_ASSIGN_OR_RETURN(char* at, Slot(pgno, page_size));
  const size_t more = std::min(max_pages - 1, (kRunBytes - used_) / page_size);
  used_ += more * page_size;
  highest_ = pgno + static_cast<uint32_t>(more);
  return std::span<char>(at, (more + 1) * page_size);
}

absl::Status PageWriter::Submit() {
  std::unique_lock<std::mutex> lock(mu_);
  if (used_ > 0) {
    Run r;
    r.buf = std::move(run_);
    r.size = used_;
    r.first = run_first_;
    r.page_size = page_size_;
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
  cv_.wait(lock, [this] { return pending_.empty() && busy_ == 0; });
  highest_ = 0;
  return error_;
}

absl::Status PageWriter::Sync() {
  LS_RETURN_IF_ERROR(Wait());
  return fs::Fsync(fd_, path_);
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
    ++busy_;
    bool skip = !error_.ok();  // after an error nothing more is written
    lock.unlock();
    absl::Status s = skip ? absl::OkStatus() : Write(run);
    lock.lock();
    if (!s.ok() && error_.ok()) error_ = s;
    free_.push_back(std::move(run.buf));
    --busy_;
    cv_.notify_all();
  }
}

absl::Status PageWriter::Write(const Run& run) {
  if (observe_) {
    for (size_t at = 0; at < run.size; at += run.page_size) {
      observe_(run.first + static_cast<uint32_t>(at / run.page_size),
               std::string_view(run.buf.get() + at, run.page_size));
    }
  }
  const off_t offset = static_cast<off_t>(run.first - 1) * static_cast<off_t>(run.page_size);
  bool direct;
  {
    std::lock_guard<std::mutex> lock(mu_);
    direct = direct_fd_.valid() && !direct_refused_;
  }
  if (direct && offset % kDirectAlign == 0 && run.size % kDirectAlign == 0) {
    absl::Status s = fs::PwriteAll(direct_fd_.get(), run.buf.get(), run.size,
                                   static_cast<uint64_t>(offset), path_);
    std::lock_guard<std::mutex> lock(mu_);
    if (s.ok()) {
      direct_bytes_ += run.size;
      return s;
    }
    // EINVAL: the file system took O_DIRECT at open but refuses these writes.
    if (!absl::IsInvalidArgument(s)) return s;
    if (!direct_refused_) {
      LogDebug("direct writes refused; writing through the page cache",
               {{"path", path_}, {"err", s}});
    }
    direct_refused_ = true;
  }
  LS_RETURN_IF_ERROR(
      fs::PwriteAll(fd_, run.buf.get(), run.size, static_cast<uint64_t>(offset), path_));
  std::lock_guard<std::mutex> lock(mu_);
  buffered_bytes_ += run.size;
  return absl::OkStatus();
}

}  // namespace litesync
