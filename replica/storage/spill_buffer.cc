#include "replica/storage/spill_buffer.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/scratch_dir.h"
#include "base/status.h"
#include "fmt/format.h"

namespace litesync {
namespace {

class MemoryReader : public ByteReader {
 public:
  explicit MemoryReader(std::string bytes) : bytes_(std::move(bytes)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min(n, bytes_.size() - pos_);
    std::memcpy(buf, bytes_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string bytes_;
  size_t pos_ = 0;
};

class TempFileReader : public ByteReader {
 public:
  explicit TempFileReader(UniqueFd fd) : fd_(std::move(fd)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (true) {
      ssize_t r = ::pread(fd_.get(), buf, n, static_cast<off_t>(pos_));
      if (r >= 0) {
        pos_ += static_cast<uint64_t>(r);
        return static_cast<size_t>(r);
      }
      if (errno != EINTR) return ErrnoStatus(errno, "read downloaded object from temporary file");
    }
  }

 private:
  UniqueFd fd_;
  uint64_t pos_ = 0;
};

}  // namespace

SpillBuffer::SpillBuffer(uint64_t memory_limit, std::string dir)
    : memory_limit_(memory_limit), dir_(ScratchDir(dir)) {}

absl::Status SpillBuffer::Spill() {
  // O_TMPFILE: the file never has a name; else a named one unlinked at once.
  UniqueFd fd(::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    std::string tmpl = dir_ + "/.litesync-download-XXXXXX";
    fd.reset(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus(errno, fmt::format("create temporary file in {}", dir_));
    ::unlink(tmpl.c_str());
  }
  fd_ = std::move(fd);
  std::string pending = std::move(memory_);
  memory_.clear();
  size_ = 0;
  return Append(pending);
}

absl::Status SpillBuffer::Append(std::string_view data) {
  if (!fd_.valid()) {
    if (size_ + data.size() <= memory_limit_) {
      memory_.append(data);
      size_ += data.size();
      return absl::OkStatus();
    }
    LS_RETURN_IF_ERROR(Spill());
  }
  while (!data.empty()) {
    ssize_t w = ::pwrite(fd_.get(), data.data(), data.size(), static_cast<off_t>(size_));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno,
                         fmt::format("write downloaded object to a temporary file in {}", dir_));
    }
    size_ += static_cast<uint64_t>(w);
    data.remove_prefix(static_cast<size_t>(w));
  }
  return absl::OkStatus();
}

void SpillBuffer::Clear() {
  memory_.clear();
  size_ = 0;
  if (fd_.valid() && ::ftruncate(fd_.get(), 0) != 0) fd_.reset();
}

absl::StatusOr<std::unique_ptr<ByteReader>> SpillBuffer::TakeReader() {
  size_ = 0;
  if (fd_.valid()) return std::unique_ptr<ByteReader>(new TempFileReader(std::move(fd_)));
  return std::unique_ptr<ByteReader>(new MemoryReader(std::move(memory_)));
}

}  // namespace litesync
