#include "replica/storage/writer_cache.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "base/fs.h"
#include "base/handles.h"
#include "base/log.h"
#include "base/scratch_dir.h"
#include "base/status.h"
#include "fmt/format.h"

namespace litesync {
namespace {

constexpr size_t kChunk = 64 << 10;
// The levels a lineage's files live at (tx_file_info.h).
constexpr int kLevels[] = {0, 1, 2, 3, kSnapshotLevel};

bool ListingOrder(const TxFileInfo& a, const TxFileInfo& b) {
  return std::tie(a.min_txid, a.max_txid) < std::tie(b.min_txid, b.max_txid);
}

// Reads [offset, offset + size) of the scratch file, which it keeps open.
class ScratchReader : public ByteReader {
 public:
  ScratchReader(std::shared_ptr<UniqueFd> fd, uint64_t offset, uint64_t size, std::string what)
      : fd_(std::move(fd)), offset_(offset), left_(size), what_(std::move(what)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    n = static_cast<size_t>(std::min<uint64_t>(n, left_));
    if (n == 0) return size_t{0};
    LS_ASSIGN_OR_RETURN(size_t got, fs::PreadFull(fd_->get(), buf, n, offset_, what_));
    if (got != n) return absl::DataLossError(fmt::format("read {}: shorter than written", what_));
    offset_ += n;
    left_ -= n;
    return n;
  }

 private:
  std::shared_ptr<UniqueFd> fd_;
  uint64_t offset_, left_;
  std::string what_;
};

class WriterCacheClient : public ReplicaClient {
 public:
  WriterCacheClient(std::unique_ptr<ReplicaClient> inner, WriterCacheOptions options)
      : inner_(std::move(inner)), options_(std::move(options)) {}
  ~WriterCacheClient() override = default;

  ReplicaClient& Storage() override { return inner_->Storage(); }
  std::string_view Type() const override { return inner_->Type(); }
  std::string Describe() const override { return inner_->Describe(); }

  absl::StatusOr<std::vector<Lineage>> ListLineages() override {
    if (lineages_) return std::vector<Lineage>(lineages_->begin(), lineages_->end());
    LS_ASSIGN_OR_RETURN(std::vector<Lineage> got, inner_->ListLineages());
    lineages_.emplace(got.begin(), got.end());
    return got;
  }

  absl::StatusOr<std::vector<TxFileInfo>> List(Lineage lineage, int level) override {
    auto it = listed_.find({lineage, level});
    if (it != listed_.end()) return it->second;
    LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> got, inner_->List(lineage, level));
    listed_[{lineage, level}] = got;
    return got;
  }

  absl::Status Write(const TxFileInfo& info, const ByteSource& bytes) override {
    absl::Status s = inner_->Write(info, bytes);
    if (!s.ok()) {  // it may have landed, or another writer's file is there
      Forget();
      return s;
    }
    TxFileInfo stored = info;
    stored.size = inner_->encrypts() ? 0 : bytes.Size();  // unknown: sealed bigger
    Added(stored);
    if (info.level == kSnapshotLevel) DropOtherLineages(info.lineage);
    if (info.level >= 1 && info.level <= kMaxCompactionLevel) DropCovered(info);
    if (info.level < kMaxCompactionLevel && inner_->can_read()) Keep(stored, bytes);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<ByteReader>> Open(const TxFileInfo& info) override {
    auto it = copies_.find(info.RelativePath());
    if (it == copies_.end() || !(it->second.info == info)) return inner_->Open(info);
    const Copy& c = it->second;
    if (!c.on_disk) return NewMemoryReader(c.memory);
    return std::unique_ptr<ByteReader>(std::make_unique<ScratchReader>(
        fd_, c.offset, c.size, fmt::format("local copy of {} in {}", info.Name(), Dir())));
  }

  absl::Status Delete(std::span<const TxFileInfo> files) override {
    absl::Status s = inner_->Delete(files);
    if (!s.ok()) {  // some may be gone
      Forget();
      return s;
    }
    std::set<Lineage> touched;
    for (const TxFileInfo& f : files) {
      Drop(f.RelativePath());
      touched.insert(f.lineage);
      auto it = listed_.find({f.lineage, f.level});
      if (it != listed_.end()) std::erase(it->second, f);
    }
    // A lineage whose every level is known to be empty is gone from a listing.
    for (Lineage l : touched) {
      bool empty = std::all_of(std::begin(kLevels), std::end(kLevels), [&](int level) {
        auto it = listed_.find({l, level});
        return it != listed_.end() && it->second.empty();
      });
      if (empty && lineages_) lineages_->erase(l);
    }
    return absl::OkStatus();
  }

  absl::Status Ping() override { return inner_->Ping(); }

  absl::StatusOr<Record> ReadRecord(std::string_view name) override {
    absl::StatusOr<Record> r = inner_->ReadRecord(name);
    auto mine = records_.find(std::string(name));
    bool same = r.ok() && mine != records_.end() && mine->second == r->bytes;
    // Still absent, and this client never wrote it: no writer has held the lease
    // since the replica was first listed (a writer writes the record before any
    // file, and a release leaves an expired record, never none), so the listings
    // stand. This keeps the start-up's listing of an empty replica.
    bool never_written = absl::IsNotFound(r.status()) && mine == records_.end();
    if (!same && !never_written && !absl::IsUnimplemented(r.status())) Forget();
    return r;
  }
  absl::Status WriteRecord(std::string_view name, std::string_view bytes,
                           const RecordCondition& when, std::string* version) override {
    absl::Status s = inner_->WriteRecord(name, bytes, when, version);
    if (s.ok()) {
      records_[std::string(name)] = std::string(bytes);
    } else {
      records_.erase(std::string(name));
    }
    return s;
  }
  RecordConditions record_conditions() const override { return inner_->record_conditions(); }
  bool encrypts() const override { return inner_->encrypts(); }
  bool can_read() const override { return inner_->can_read(); }
  absl::StatusOr<bool> IsEncrypted(const TxFileInfo& info) override {
    return inner_->IsEncrypted(info);
  }
  RequestCounts requests() const override { return inner_->requests(); }
  absl::StatusOr<std::vector<std::string>> ListRootNames() override {
    return inner_->ListRootNames();
  }
  absl::StatusOr<std::vector<ObjectInfo>> ListObjects(std::string_view prefix) override {
    return inner_->ListObjects(prefix);
  }
  absl::StatusOr<std::unique_ptr<ByteReader>> OpenObject(std::string_view key, uint64_t offset,
                                                         uint64_t limit) override {
    return inner_->OpenObject(key, offset, limit);
  }
  absl::Status ReadObjectRange(std::string_view key, uint64_t offset,
                               std::span<char> out) override {
    return inner_->ReadObjectRange(key, offset, out);
  }

 private:
  struct Copy {
    TxFileInfo info;
    bool on_disk = false;
    std::string memory;
    uint64_t offset = 0;  // on disk: where in the scratch file
    uint64_t size = 0;
  };

  std::string Dir() const { return ScratchDir(options_.scratch_dir); }

  // A file this client wrote: in the listing of its level when that is known,
  // and the only file of a lineage the replica did not have.
  void Added(const TxFileInfo& f) {
    if (lineages_ && lineages_->insert(f.lineage).second) {
      for (int level : kLevels) listed_[{f.lineage, level}];  // known: empty
    }
    auto it = listed_.find({f.lineage, f.level});
    if (it == listed_.end()) return;
    std::vector<TxFileInfo>& files = it->second;
    std::erase(files, f);
    files.insert(std::upper_bound(files.begin(), files.end(), f, ListingOrder), f);
  }

  void Forget() {
    if (lineages_ || !listed_.empty())
      LogDebug("replica listing forgotten", {{"replica", Describe()}});
    lineages_.reset();
    listed_.clear();
    records_.clear();
  }

  void Keep(const TxFileInfo& info, const ByteSource& bytes) {
    Drop(info.RelativePath());  // a retried write
    uint64_t size = bytes.Size();
    Copy c{info, false, {}, 0, size};
    if (memory_used_ + size > options_.memory_limit) {
      if (DiskUsed() + size > options_.disk_limit) return;  // read back from storage
      c.on_disk = true;
    }
    absl::Status s = c.on_disk ? CopyToDisk(bytes, &c) : CopyToMemory(bytes, &c);
    if (!s.ok()) {
      LogWarn("local copy of a tx file not kept; compaction reads it from the replica",
              {{"replica", Describe()}, {"file", info.Name()}, {"err", s}});
      return;
    }
    (c.on_disk ? disk_used_ : memory_used_) += size;
    copies_[info.RelativePath()] = std::move(c);
  }

  absl::Status CopyToMemory(const ByteSource& bytes, Copy* c) {
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> r, bytes.Open());
    LS_ASSIGN_OR_RETURN(c->memory, ReadAll(*r));
    if (c->memory.size() != c->size) return absl::DataLossError("source changed size");
    return absl::OkStatus();
  }

  absl::Status CopyToDisk(const ByteSource& bytes, Copy* c) {
    if (fd_ == nullptr) LS_RETURN_IF_ERROR(OpenScratch());
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> r, bytes.Open());
    c->offset = end_;
    std::string buf(kChunk, '\0');
    uint64_t at = end_;
    while (true) {
      LS_ASSIGN_OR_RETURN(size_t n, r->Read(buf.data(), buf.size()));
      if (n == 0) break;
      LS_RETURN_IF_ERROR(fs::PwriteAll(fd_->get(), buf.data(), n, at, "writer cache scratch file"));
      at += n;
    }
    if (at - c->offset != c->size) return absl::DataLossError("source changed size");
    end_ = at;
    return absl::OkStatus();
  }

  absl::Status OpenScratch() {
    std::string dir = Dir();
    UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!fd.valid()) {
      std::string tmpl = dir + "/.litesync-copies-XXXXXX";
      fd.reset(::mkostemp(tmpl.data(), O_CLOEXEC));
      if (!fd.valid()) {
        return ErrnoStatus(errno, fmt::format("create a scratch file for local copies in {}", dir));
      }
      ::unlink(tmpl.c_str());
    }
    fd_ = std::make_shared<UniqueFd>(std::move(fd));
    end_ = 0;
    return absl::OkStatus();
  }

  // Bytes the scratch file holds: the live copies where freed ranges are
  // punched out, else everything up to its end.
  uint64_t DiskUsed() const { return punch_ ? disk_used_ : end_; }

  void Drop(const std::string& path) {
    auto it = copies_.find(path);
    if (it == copies_.end()) return;
    Copy& c = it->second;
    if (!c.on_disk) {
      memory_used_ -= c.size;
    } else {
      disk_used_ -= c.size;
      if (punch_ && ::fallocate(fd_->get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                static_cast<off_t>(c.offset), static_cast<off_t>(c.size)) != 0) {
        punch_ = false;  // the file system cannot: the file is emptied when no copy is left
      }
    }
    copies_.erase(it);
    if (disk_used_ == 0 && fd_ != nullptr && end_ > 0 && ::ftruncate(fd_->get(), 0) == 0) end_ = 0;
  }

  // Files below `written`'s level that it covers: compaction never reads them again.
  void DropCovered(const TxFileInfo& written) {
    std::vector<std::string> gone;
    for (const auto& [path, c] : copies_) {
      if (c.info.lineage == written.lineage && c.info.level < written.level &&
          c.info.max_txid <= written.max_txid) {
        gone.push_back(path);
      }
    }
    for (const std::string& p : gone) Drop(p);
  }

  void DropOtherLineages(Lineage current) {
    std::vector<std::string> gone;
    for (const auto& [path, c] : copies_) {
      if (c.info.lineage != current) gone.push_back(path);
    }
    for (const std::string& p : gone) Drop(p);
  }

  std::unique_ptr<ReplicaClient> inner_;
  WriterCacheOptions options_;
  std::optional<std::set<Lineage>> lineages_;
  std::map<std::pair<Lineage, int>, std::vector<TxFileInfo>> listed_;
  std::map<std::string, std::string> records_;  // name -> bytes this client last wrote
  std::map<std::string, Copy> copies_;          // by RelativePath
  uint64_t memory_used_ = 0;
  uint64_t disk_used_ = 0;
  std::shared_ptr<UniqueFd> fd_;  // shared with open readers
  uint64_t end_ = 0;
  bool punch_ = true;
};

}  // namespace

std::unique_ptr<ReplicaClient> NewWriterCache(std::unique_ptr<ReplicaClient> inner,
                                              WriterCacheOptions options) {
  return std::make_unique<WriterCacheClient>(std::move(inner), std::move(options));
}

}  // namespace litesync
