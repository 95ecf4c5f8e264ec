#include "replica/storage/file/file_replica_client.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/fs.h"
#include "base/handles.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/storage/file/file_settings.h"

namespace litesync {
namespace {

// Whether two files hold the same bytes (a retried write finding its own file).
bool SameFile(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa || !fb) return false;
  std::vector<char> ba(1 << 16), bb(1 << 16);
  while (fa && fb) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    if (fa.gcount() != fb.gcount() ||
        !std::equal(ba.begin(), ba.begin() + fa.gcount(), bb.begin())) {
      return false;
    }
  }
  return fa.eof() && fb.eof();
}

constexpr absl::Duration kStaleTempAge = absl::Hours(1);

absl::Status MkdirAll(const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(fmt::format("{}: exists and is not a directory", path));
  }
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    LS_RETURN_IF_ERROR(MkdirAll(path.substr(0, slash)));
  }
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, fmt::format("create directory {}", path));
  }
  return absl::OkStatus();
}

// Names in `dir`; an absent directory is empty.
absl::StatusOr<std::vector<std::string>> ReadDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return names;
    return ErrnoStatus(errno, fmt::format("list {}", dir));
  }
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

// Stops after `left` bytes.
class LimitedReader : public ByteReader {
 public:
  LimitedReader(std::unique_ptr<ByteReader> inner, uint64_t limit)
      : inner_(std::move(inner)), left_(limit) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (left_ == 0) return size_t{0};
    LS_ASSIGN_OR_RETURN(size_t got, inner_->Read(buf, std::min<uint64_t>(n, left_)));
    left_ -= got;
    return got;
  }

 private:
  std::unique_ptr<ByteReader> inner_;
  uint64_t left_;
};

// Files under `dir` (whose key is `key_dir`), recursively, as objects.
absl::Status WalkObjects(const std::string& dir, const std::string& key_dir,
                         std::vector<ObjectInfo>* out) {
  LS_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDir(dir));
  for (const std::string& n : names) {
    std::string path = dir + "/" + n;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;  // deleted meanwhile
    std::string key = key_dir.empty() ? n : key_dir + "/" + n;
    if (S_ISDIR(st.st_mode)) {
      LS_RETURN_IF_ERROR(WalkObjects(path, key, out));
    } else if (S_ISREG(st.st_mode)) {
      out->push_back(
          ObjectInfo{key, static_cast<uint64_t>(st.st_size), absl::TimeFromTimespec(st.st_mtim)});
    }
  }
  return absl::OkStatus();
}

class FileReplicaClient : public ReplicaClient {
 public:
  FileReplicaClient(std::string root, bool read_only)
      : root_(std::move(root)), read_only_(read_only) {}

  std::string_view Type() const override { return "file"; }
  std::string Describe() const override { return "file://" + root_; }

  absl::StatusOr<std::vector<Lineage>> ListLineages() override {
    LS_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDir(root_));
    std::vector<Lineage> out;
    for (const std::string& n : names) {
      if (auto l = ParseLineageName(n)) out.push_back(*l);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  absl::StatusOr<std::vector<TxFileInfo>> List(Lineage lineage, int level) override {
    std::string dir = LevelDir(lineage, level);
    LS_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDir(dir));
    std::vector<TxFileInfo> out;
    for (const std::string& n : names) {
      std::optional<TxFileInfo> info = ParseTxFileName(n, lineage, level);
      if (!info) {
        if (!read_only_) RemoveIfStaleTemp(dir + "/" + n);
        continue;
      }
      struct stat st;
      if (::stat((dir + "/" + n).c_str(), &st) != 0) continue;  // deleted meanwhile
      info->size = static_cast<uint64_t>(st.st_size);
      out.push_back(*info);
    }
    std::sort(out.begin(), out.end(), [](const TxFileInfo& a, const TxFileInfo& b) {
      return std::tie(a.min_txid, a.max_txid) < std::tie(b.min_txid, b.max_txid);
    });
    return out;
  }

  absl::Status Write(const TxFileInfo& info, const ByteSource& bytes) override {
    std::string dir = LevelDir(info.lineage, info.level);
    std::string final_path = dir + "/" + info.Name();
    LS_RETURN_IF_ERROR(MkdirAll(dir));
    std::string tmp = fmt::format("{}/.{}.tmp-{}-{:08x}", dir, info.Name(), ::getpid(),
                                  static_cast<uint32_t>(std::random_device{}()));
    absl::Status s = WriteTemp(tmp, bytes);
    if (s.ok() && info.level == 0) {
      // A level-0 name is written once, by the replica's one writer: link(2)
      // fails when it exists, so a file another writer put there is never
      // replaced unnoticed (the same bytes again are a retry of ours).
      if (::link(tmp.c_str(), final_path.c_str()) != 0) {
        s = errno != EEXIST ? ErrnoStatus(errno, fmt::format("link {} to {}", tmp, final_path))
            : SameFile(tmp, final_path)
                ? absl::OkStatus()
                : absl::AlreadyExistsError(
                      fmt::format("{} exists with other content: another writer uses this replica",
                                  final_path));
      }
      ::unlink(tmp.c_str());
    } else if (s.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0) {
      s = ErrnoStatus(errno, fmt::format("rename {} to {}", tmp, final_path));
    }
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
    return fs::FsyncDir(dir);
  }

  absl::StatusOr<std::unique_ptr<ByteReader>> Open(const TxFileInfo& info) override {
    std::string path = LevelDir(info.lineage, info.level) + "/" + info.Name();
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) return absl::NotFoundError(fmt::format("{}: no such file", path));
      return ErrnoStatus(errno, fmt::format("open {}", path));
    }
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    return NewFdReader(std::move(fd), path);
  }

  absl::Status Delete(std::span<const TxFileInfo> files) override {
    std::set<std::string> dirs;
    for (const TxFileInfo& f : files) {
      std::string dir = LevelDir(f.lineage, f.level);
      std::string path = dir + "/" + f.Name();
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return ErrnoStatus(errno, fmt::format("delete {}", path));
      }
      dirs.insert(dir);
    }
    for (const std::string& d : dirs) {
      absl::Status s = fs::FsyncDir(d);
      if (!s.ok() && !absl::IsNotFound(s)) return s;  // no directory: nothing was there
    }
    return absl::OkStatus();
  }

  absl::Status Ping() override {
    LS_RETURN_IF_ERROR(MkdirAll(root_));
    if (::access(root_.c_str(), W_OK | X_OK) != 0) {
      return ErrnoStatus(errno, fmt::format("replica directory {} is not writable", root_));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Record> ReadRecord(std::string_view name) override {
    std::string path = fmt::format("{}/{}", root_, name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) return absl::NotFoundError(fmt::format("{}: no such file", path));
      return ErrnoStatus(errno, fmt::format("open {}", path));
    }
    LS_ASSIGN_OR_RETURN(std::string bytes, ReadAll(*NewFdReader(std::move(fd), path)));
    return Record{bytes, bytes};  // records are small: the content is the version
  }
  // Conditional writes are atomic between processes: the read, compare and
  // rename happen under an exclusive flock(2) on "<root>/.records.lock" (the
  // kernel lets go when a holder dies; Linux's NFS client maps it to a lock on
  // the server), and a record that must not exist yet is created with link(2),
  // which fails when the name exists, on every POSIX file system and NFS.
  absl::Status WriteRecord(std::string_view name, std::string_view bytes,
                           const RecordCondition& when, std::string* version) override {
    std::string path = fmt::format("{}/{}", root_, name);
    LS_RETURN_IF_ERROR(MkdirAll(root_));
    std::string lock_path = root_ + "/.records.lock";
    UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!lock.valid()) return ErrnoStatus(errno, fmt::format("open {}", lock_path));
    while (::flock(lock.get(), LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoStatus(errno, fmt::format("lock {}", lock_path));
    }
    if (when.kind == RecordCondition::kVersion) {
      absl::StatusOr<Record> now = ReadRecord(name);
      if (!now.ok() && !absl::IsNotFound(now.status())) return now.status();
      if (!now.ok() || now->version != when.version) {
        return absl::AbortedError(fmt::format("{} changed since it was read", path));
      }
    }
    std::string tmp = fmt::format("{}/.{}.tmp-{}-{:08x}", root_, name, ::getpid(),
                                  static_cast<uint32_t>(std::random_device{}()));
    absl::Status s = WriteTemp(tmp, *MemorySource(std::string(bytes)));
    if (s.ok() && when.kind == RecordCondition::kAbsent) {
      if (::link(tmp.c_str(), path.c_str()) != 0) {
        s = errno == EEXIST ? absl::AbortedError(fmt::format("{} exists already", path))
                            : ErrnoStatus(errno, fmt::format("link {} to {}", tmp, path));
      }
      ::unlink(tmp.c_str());
    } else if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
      s = ErrnoStatus(errno, fmt::format("rename {} to {}", tmp, path));
    }
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
    LS_RETURN_IF_ERROR(fs::FsyncDir(root_));
    if (version != nullptr) *version = std::string(bytes);  // as ReadRecord's
    return absl::OkStatus();
  }
  RecordConditions record_conditions() const override { return RecordConditions::kEnforced; }

  absl::StatusOr<std::vector<std::string>> ListRootNames() override {
    LS_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDir(root_));
    std::erase_if(names, [&](const std::string& n) {
      struct stat st;
      return ::stat((root_ + "/" + n).c_str(), &st) != 0 || !S_ISDIR(st.st_mode);
    });
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::StatusOr<std::vector<ObjectInfo>> ListObjects(std::string_view prefix) override {
    // Walk the deepest directory the prefix names, keep what starts with it.
    size_t slash = prefix.rfind('/');
    std::string key_dir(slash == std::string_view::npos ? "" : prefix.substr(0, slash));
    std::vector<ObjectInfo> out;
    LS_RETURN_IF_ERROR(WalkObjects(key_dir.empty() ? root_ : root_ + "/" + key_dir, key_dir, &out));
    std::erase_if(out, [&](const ObjectInfo& o) { return !o.key.starts_with(prefix); });
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  absl::StatusOr<std::unique_ptr<ByteReader>> OpenObject(std::string_view key, uint64_t offset,
                                                         uint64_t limit) override {
    if (key.empty() || key.front() == '/' || key == ".." || key.starts_with("../") ||
        key.find("/../") != std::string_view::npos || key.ends_with("/..")) {
      return absl::InvalidArgumentError(fmt::format("{}: not a key inside {}", key, root_));
    }
    std::string path = fmt::format("{}/{}", root_, key);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) return absl::NotFoundError(fmt::format("{}: no such file", path));
      return ErrnoStatus(errno, fmt::format("open {}", path));
    }
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    if (offset > 0 && ::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) {
      return ErrnoStatus(errno, fmt::format("seek {}", path));
    }
    std::unique_ptr<ByteReader> reader = NewFdReader(std::move(fd), path);
    if (limit > 0) reader = std::make_unique<LimitedReader>(std::move(reader), limit);
    return reader;
  }

 private:
  std::string LevelDir(Lineage lineage, int level) const {
    return fmt::format("{}/{}/{}", root_, LineageName(lineage), level);
  }

  static absl::Status WriteTemp(const std::string& tmp, const ByteSource& bytes) {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd.valid()) return ErrnoStatus(errno, fmt::format("create {}", tmp));
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> reader, bytes.Open());
    std::vector<char> buf(1 << 20);
    while (true) {
      LS_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
      if (n == 0) break;
      LS_RETURN_IF_ERROR(fs::WriteAll(fd.get(), buf.data(), n, tmp));
    }
    LS_RETURN_IF_ERROR(fs::Fsync(fd.get(), tmp));
    if (::close(fd.release()) != 0) return ErrnoStatus(errno, fmt::format("close {}", tmp));
    return absl::OkStatus();
  }

  // Temp files left by a crash are removed once clearly abandoned.
  static void RemoveIfStaleTemp(const std::string& path) {
    if (path.find(".tmp-") == std::string::npos) return;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return;
    if (absl::Now() - absl::FromTimeT(st.st_mtime) < kStaleTempAge) return;
    if (::unlink(path.c_str()) == 0) LogInfo("removed abandoned temp file", {{"path", path}});
  }

  std::string root_;
  const bool read_only_;  // a monitor's: never remove anything (ReplicaOptions::read_only)
};

}  // namespace

absl::StatusOr<std::unique_ptr<ReplicaClient>> NewFileReplicaClient(const ReplicaOptions& options) {
  const std::string& path = options.settings<FileSettings>().path;
  if (path.empty()) {
    return absl::InvalidArgumentError("file replica: path is empty");
  }
  std::string root = path;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return ErrnoStatus(errno, "getcwd");
    root = std::string(cwd) + "/" + root;
  }
  return std::unique_ptr<ReplicaClient>(new FileReplicaClient(root, options.read_only));
}

}  // namespace litesync
