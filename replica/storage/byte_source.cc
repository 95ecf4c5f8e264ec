// ByteSource implementations declared in replica/storage/replica_client.h (bytes in memory
// and a file on disk, read from the start on every Open, for retries), the readers,
// ReadFull, and ReplicaClient's default ranged read.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/fs.h"
#include "base/handles.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/storage/replica_client.h"

namespace litesync {
namespace {

// Owns its bytes, or views bytes that outlive it (owned_ empty).
class MemoryReader : public ByteReader {
 public:
  explicit MemoryReader(std::string owned) : owned_(std::move(owned)), bytes_(owned_) {}
  explicit MemoryReader(std::string_view view) : bytes_(view) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min(n, bytes_.size() - pos_);
    std::memcpy(buf, bytes_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string owned_;
  std::string_view bytes_;
  size_t pos_ = 0;
};

class FdReader : public ByteReader {
 public:
  FdReader(UniqueFd fd, std::string what) : fd_(std::move(fd)), what_(std::move(what)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    return fs::ReadSome(fd_.get(), buf, n, what_);
  }

 private:
  UniqueFd fd_;
  std::string what_;
};

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t Size() const override { return bytes_.size(); }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open() const override {
    return NewMemoryViewReader(bytes_);
  }

 private:
  std::string bytes_;
};

class FileByteSource : public ByteSource {
 public:
  FileByteSource(std::string path, uint64_t size) : path_(std::move(path)), size_(size) {}
  uint64_t Size() const override { return size_; }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open() const override {
    UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus(errno, fmt::format("open {}", path_));
    return NewFdReader(std::move(fd), path_);
  }

 private:
  std::string path_;
  uint64_t size_;
};

}  // namespace

std::unique_ptr<ByteReader> NewMemoryReader(std::string bytes) {
  return std::make_unique<MemoryReader>(std::move(bytes));
}

std::unique_ptr<ByteReader> NewMemoryViewReader(std::string_view bytes) {
  return std::make_unique<MemoryReader>(bytes);
}

std::unique_ptr<ByteReader> NewFdReader(UniqueFd fd, std::string what) {
  return std::make_unique<FdReader>(std::move(fd), std::move(what));
}

namespace {

class PrefixedReader : public ByteReader {
 public:
  PrefixedReader(std::string prefix, std::unique_ptr<ByteReader> rest)
      : prefix_(std::move(prefix)), rest_(std::move(rest)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ < prefix_.size()) {
      size_t k = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    return rest_->Read(buf, n);
  }

 private:
  std::string prefix_;
  size_t pos_ = 0;
  std::unique_ptr<ByteReader> rest_;
};

}  // namespace

std::unique_ptr<ByteReader> NewPrefixedReader(std::string prefix,
                                              std::unique_ptr<ByteReader> rest) {
  return std::make_unique<PrefixedReader>(std::move(prefix), std::move(rest));
}

std::unique_ptr<ByteSource> MemorySource(std::string bytes) {
  return std::make_unique<StringSource>(std::move(bytes));
}

absl::StatusOr<std::unique_ptr<ByteSource>> FileSource(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, fmt::format("stat {}", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(fmt::format("{}: not a regular file", path));
  }
  return std::unique_ptr<ByteSource>(new FileByteSource(path, static_cast<uint64_t>(st.st_size)));
}

absl::StatusOr<std::string> ReadAll(ByteReader& reader) {
  std::string out;
  char buf[64 * 1024];
  while (true) {
    LS_ASSIGN_OR_RETURN(size_t n, reader.Read(buf, sizeof buf));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

absl::Status ReadFull(ByteReader& reader, char* buf, size_t n, size_t* got) {
  *got = 0;
  while (*got < n) {
    LS_ASSIGN_OR_RETURN(size_t k, reader.Read(buf + *got, n - *got));
    if (k == 0) break;
    *got += k;
  }
  return absl::OkStatus();
}

absl::Status ReplicaClient::ReadObjectRange(std::string_view key, uint64_t offset,
                                            std::span<char> out) {
  LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> r, OpenObject(key, offset, out.size()));
  size_t got = 0;
  LS_RETURN_IF_ERROR(ReadFull(*r, out.data(), out.size(), &got));
  if (got != out.size()) return ShortRangeError(key, offset, out.size(), got);
  return absl::OkStatus();
}

absl::Status ShortRangeError(std::string_view key, uint64_t offset, uint64_t want, uint64_t got) {
  return absl::DataLossError(fmt::format(
      "{}: {} bytes at offset {}, expected {}: the object changed or is shorter than listed", key,
      got, offset, want));
}

}  // namespace litesync
