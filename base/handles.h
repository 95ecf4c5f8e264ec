// RAII owners for C resources: SQLite handles, curl handles, file descriptors.
#pragma once

#include <unistd.h>

#include <memory>
#include <utility>

#include <sqlite3.h>

namespace litesync {

struct SqliteClose {
  void operator()(sqlite3* p) const { sqlite3_close_v2(p); }
};
struct SqliteFinalize {
  void operator()(sqlite3_stmt* p) const { sqlite3_finalize(p); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteClose>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteFinalize>;

// Move-only owner of a file descriptor; closes it in the destructor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace litesync
