#include "replica/storage/spill_buffer.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/fs.h"
#include "base/scratch_dir.h"
#include "base/status.h"
#include "fmt/format.h"

namespace litesync {

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
  LS_RETURN_IF_ERROR(fs::PwriteAll(fd_.get(), data.data(), data.size(), size_,
                                   fmt::format("downloaded object's temporary file in {}", dir_)));
  size_ += data.size();
  return absl::OkStatus();
}

void SpillBuffer::Clear() {
  memory_.clear();
  size_ = 0;
  if (fd_.valid() && ::ftruncate(fd_.get(), 0) != 0) fd_.reset();
}

absl::StatusOr<std::unique_ptr<ByteReader>> SpillBuffer::TakeReader() {
  size_ = 0;
  if (fd_.valid()) {
    if (::lseek(fd_.get(), 0, SEEK_SET) != 0) {
      return ErrnoStatus(errno, "rewind the downloaded object's temporary file");
    }
    return NewFdReader(std::move(fd_), "downloaded object in a temporary file");
  }
  return NewMemoryReader(std::move(memory_));
}

}  // namespace litesync
