// ByteSource implementations declared in replica/storage/replica_client.h: bytes in memory
// and a file on disk (read from the start on every Open, for retries).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/handles.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/storage/replica_client.h"

namespace litesync {
namespace {

class StringReader : public ByteReader {
 public:
  explicit StringReader(std::string_view bytes) : bytes_(bytes) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min(n, bytes_.size() - pos_);
    std::memcpy(buf, bytes_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t Size() const override { return bytes_.size(); }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open() const override {
    return std::unique_ptr<ByteReader>(new StringReader(bytes_));
  }

 private:
  std::string bytes_;
};

class FileReader : public ByteReader {
 public:
  FileReader(UniqueFd fd, const std::string& path) : fd_(std::move(fd)), path_(path) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (true) {
      ssize_t r = ::read(fd_.get(), buf, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return ErrnoStatus(errno, fmt::format("read {}", path_));
    }
  }

 private:
  UniqueFd fd_;
  const std::string& path_;
};

class FileByteSource : public ByteSource {
 public:
  FileByteSource(std::string path, uint64_t size) : path_(std::move(path)), size_(size) {}
  uint64_t Size() const override { return size_; }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open() const override {
    UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus(errno, fmt::format("open {}", path_));
    return std::unique_ptr<ByteReader>(new FileReader(std::move(fd), path_));
  }

 private:
  std::string path_;
  uint64_t size_;
};

}  // namespace

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

}  // namespace litesync
