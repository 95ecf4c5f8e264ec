// DbReader's check that the files it opened are still the ones at their paths
// (db_reader.h, CheckFiles), and the header check before any open.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/status.h"
#include "fmt/format.h"

#include "replica/sqlite/db_reader.h"

namespace litesync {

absl::Status CheckSqliteHeader(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(fmt::format("database {} does not exist", path));
    }
    return ErrnoStatus(errno, fmt::format("open database {}", path));
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(
        fmt::format("{} is a directory, not a database file", path));
  }
  char magic[16] = {};
  ssize_t n = ::pread(fd, magic, sizeof magic, 0);
  int err = errno;
  ::close(fd);
  if (n < 0) return ErrnoStatus(err, fmt::format("cannot read {}", path));
  if (n == 0) return absl::OkStatus();  // empty file: SQLite will initialize it
  if (n != 16 || std::memcmp(magic, "SQLite format 3\0", 16) != 0) {
    return absl::FailedPreconditionError(fmt::format(
        "{} is not a SQLite database (it does not start with \"SQLite format 3\"); check the path",
        path));
  }
  return absl::OkStatus();
}

// The files as SQLite opened them: the first reads in Open (db_reader.cc)
// created the -wal and -shm when they were missing. (A replacement between those reads and these
// stats is caught by Recover, which verifies the database against the replica.)
absl::Status DbReader::MarkFiles() {
  auto mark = [](const std::string& p, FileMark* m) -> absl::Status {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) return ErrnoStatus(errno, fmt::format("stat {}", p));
    *m = FileMark{st.st_dev, st.st_ino, st.st_size, st.st_mtim, 0};
    return absl::OkStatus();
  };
  LS_RETURN_IF_ERROR(mark(path_, &db_mark_));
  LS_RETURN_IF_ERROR(mark(wal_path(), &wal_mark_));
  LS_RETURN_IF_ERROR(mark(path_ + "-shm", &shm_mark_));
  db_mark_.epoch = lock_epoch_;
  return absl::OkStatus();
}

void DbReader::MarkDatabase() {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) return;
  db_mark_.size = st.st_size;
  db_mark_.mtime = st.st_mtim;
  db_mark_.epoch = lock_epoch_;
}

absl::Status DbReader::CheckFiles() {
  auto changed = [](const std::string& p, const FileMark& m, struct stat* st) {
    return ::stat(p.c_str(), st) != 0 || st->st_dev != m.dev || st->st_ino != m.ino;
  };
  struct stat db;
  if (::stat(path_.c_str(), &db) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(fmt::format("database {} does not exist", path_));
    }
    return ErrnoStatus(errno, fmt::format("stat {}", path_));
  }
  if (db.st_dev != db_mark_.dev || db.st_ino != db_mark_.ino) {
    return absl::FailedPreconditionError(fmt::format("{} was replaced by another file", path_));
  }
  struct stat st;
  for (const auto& [p, m] : {std::pair<std::string, const FileMark*>{wal_path(), &wal_mark_},
                             {path_ + "-shm", &shm_mark_}}) {
    if (changed(p, *m, &st)) {
      return absl::FailedPreconditionError(
          fmt::format("{} was deleted or replaced while litesync had it open", p));
    }
  }
  st = db;
  bool same = st.st_size == db_mark_.size && st.st_mtim.tv_sec == db_mark_.mtime.tv_sec &&
              st.st_mtim.tv_nsec == db_mark_.mtime.tv_nsec;
  if (!same && holds_checkpoint_lock() && db_mark_.epoch == lock_epoch_) {
    return absl::FailedPreconditionError(fmt::format(
        "{} was written outside SQLite's WAL (copied over in place?) while litesync was the "
        "only checkpointer",
        path_));
  }
  if (!same || db_mark_.epoch != lock_epoch_) MarkDatabase();  // someone else's checkpoint
  return absl::OkStatus();
}

}  // namespace litesync
