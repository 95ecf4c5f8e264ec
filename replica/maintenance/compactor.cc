#include "replica/maintenance/compactor.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "base/fs.h"
#include "base/handles.h"
#include "base/log.h"
#include "base/scratch_dir.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/format/tx_file.h"
#include "replica/storage/replica_head.h"

namespace litesync {
namespace {

// The newest version of each page of a merge, by pgno. Pages live in fixed-size
// slots, in memory up to a limit and then in an unlinked scratch file; a slot
// freed by a shrink is reused, so the store never exceeds the distinct pages.
class PageStore {
 public:
  PageStore(uint32_t page_size, uint64_t memory_limit, std::string dir)
      : page_size_(page_size), memory_limit_(memory_limit), dir_(std::move(dir)) {}

  bool spilled() const { return fd_.valid(); }
  uint64_t size() const { return slot_of_.size(); }

  absl::Status Put(uint32_t pgno, std::string_view page) {
    auto [it, inserted] = slot_of_.try_emplace(pgno, 0);
    if (inserted) {
      if (!free_.empty()) {
        it->second = free_.back();
        free_.pop_back();
      } else {
        it->second = slots_++;
        if (!spilled() && uint64_t{slots_} * page_size_ > memory_limit_) {
          LS_RETURN_IF_ERROR(Spill());
        }
        if (!spilled()) memory_.resize(uint64_t{slots_} * page_size_);
      }
    }
    uint64_t off = uint64_t{it->second} * page_size_;
    if (!spilled()) {
      std::memcpy(memory_.data() + off, page.data(), page_size_);
      return absl::OkStatus();
    }
    return PwriteAll(page.data(), page_size_, off);
  }

  // Forgets every page above `commit` (the database shrank).
  void DropAbove(uint32_t commit) {
    for (auto it = slot_of_.begin(); it != slot_of_.end();) {
      if (it->first > commit) {
        free_.push_back(it->second);
        slot_of_.erase(it++);
      } else {
        ++it;
      }
    }
  }

  std::vector<uint32_t> SortedPgnos() const {
    std::vector<uint32_t> out;
    out.reserve(slot_of_.size());
    for (const auto& [pgno, slot] : slot_of_) out.push_back(pgno);
    std::sort(out.begin(), out.end());
    return out;
  }

  // The page (valid until the next call).
  absl::StatusOr<std::string_view> Get(uint32_t pgno) {
    uint64_t off = uint64_t{slot_of_.at(pgno)} * page_size_;
    if (!spilled()) return std::string_view(memory_).substr(off, page_size_);
    buf_.resize(page_size_);
    LS_ASSIGN_OR_RETURN(size_t got,
                        fs::PreadFull(fd_.get(), buf_.data(), page_size_, off, ScratchName()));
    if (got != page_size_) {
      return absl::DataLossError(fmt::format("read {}: shorter than written", ScratchName()));
    }
    return std::string_view(buf_);
  }

 private:
  absl::Status Spill() {
    // O_TMPFILE: the file never has a name; else a named one unlinked at once.
    UniqueFd fd(::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!fd.valid()) {
      std::string tmpl = dir_ + "/.litesync-compact-XXXXXX";
      fd.reset(::mkostemp(tmpl.data(), O_CLOEXEC));
      if (!fd.valid()) {
        return ErrnoStatus(errno, fmt::format("create compaction scratch file in {}", dir_));
      }
      ::unlink(tmpl.c_str());
    }
    fd_ = std::move(fd);
    std::string pages = std::move(memory_);
    memory_ = std::string();
    return PwriteAll(pages.data(), pages.size(), 0);
  }

  absl::Status PwriteAll(const char* p, size_t n, uint64_t off) {
    return fs::PwriteAll(fd_.get(), p, n, off, ScratchName());
  }
  std::string ScratchName() const { return fmt::format("compaction scratch file in {}", dir_); }

  uint32_t page_size_;
  uint64_t memory_limit_;
  std::string dir_;
  absl::flat_hash_map<uint32_t, uint32_t> slot_of_;  // pgno -> slot
  std::vector<uint32_t> free_;
  uint32_t slots_ = 0;
  std::string memory_;
  UniqueFd fd_;
  std::string buf_;
};

// The uncovered files of level-1, split into contiguous TXID runs.
absl::StatusOr<std::vector<std::vector<TxFileInfo>>> SelectRuns(ReplicaClient& client,
                                                                Lineage lineage, int level) {
  uint64_t covered = 0;
  for (int l = level; l <= kMaxCompactionLevel; ++l) {
    LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files, client.List(lineage, l));
    for (const TxFileInfo& f : files) covered = std::max(covered, f.max_txid);
  }
  LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files, client.List(lineage, level - 1));
  std::vector<std::vector<TxFileInfo>> runs;
  for (const TxFileInfo& f : files) {
    if (f.min_txid <= covered) {
      if (f.max_txid > covered) {
        LogDebug("tx file straddles the compacted range; left to lower levels",
                 {{"file", DescribeFile(client, f)}, {"covered_txid", TxidString(covered)}});
      }
      continue;
    }
    if (!runs.empty()) {
      const TxFileInfo& prev = runs.back().back();
      if (f.min_txid <= prev.max_txid) {
        return absl::DataLossError(fmt::format(
            "{} overlaps {}; not merging", DescribeFile(client, f), DescribeFile(client, prev)));
      }
      if (f.min_txid == prev.max_txid + 1) {
        runs.back().push_back(f);
        continue;
      }
      LogDebug("compaction run ends at a txid gap", {{"lineage", LineageName(lineage)},
                                                     {"level", level - 1},
                                                     {"after", TxidString(prev.max_txid)},
                                                     {"next", TxidString(f.min_txid)}});
    }
    runs.push_back({f});
  }
  return runs;
}

// Merges one contiguous run into one file at `level` and writes it.
absl::Status MergeRun(ReplicaClient& client, const std::vector<TxFileInfo>& run, int level,
                      const CompactionOptions& options, CompactionResult* out) {
  const std::string dir = ScratchDir(options.scratch_dir);
  std::optional<PageStore> store;
  TxHeader first, last;
  std::string last_what;
  for (size_t i = 0; i < run.size(); ++i) {
    const TxFileInfo& info = run[i];
    std::string what = DescribeFile(client, info);
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> src, client.Open(info));
    LS_ASSIGN_OR_RETURN(std::unique_ptr<TxFileReader> reader,
                        TxFileReader::Open(std::move(src), what));
    const TxHeader& h = reader->header();
    if (h.lineage != info.lineage || h.min_txid != info.min_txid || h.max_txid != info.max_txid) {
      return absl::DataLossError(fmt::format("{}: header does not match its name", what));
    }
    if (h.snapshot) {
      return absl::DataLossError(fmt::format("{}: a snapshot among increments", what));
    }
    if (i == 0) {
      first = h;
      store.emplace(h.page_size, options.memory_limit, dir);
    } else {
      if (h.page_size != first.page_size) {
        return absl::DataLossError(fmt::format("{}: page size {} differs from {} in {}", what,
                                               h.page_size, last.page_size, last_what));
      }
      if (h.pre_checksum != last.post_checksum) {
        return absl::DataLossError(fmt::format(
            "{} does not continue {} (pre-checksum {:016x}, previous post-checksum {:016x}); "
            "not merging",
            what, last_what, h.pre_checksum, last.post_checksum));
      }
      // Pages the database dropped must not survive into the merged file.
      if (h.commit < last.commit) store->DropAbove(h.commit);
    }
    uint32_t pgno;
    std::string_view page;
    while (true) {
      LS_ASSIGN_OR_RETURN(bool more, reader->Next(&pgno, &page));
      if (!more) break;
      LS_RETURN_IF_ERROR(store->Put(pgno, page));
    }
    last = h;
    last_what = std::move(what);
  }

  TxHeader merged = last;  // commit, timestamp, resume token: the last input's
  merged.snapshot = false;
  merged.min_txid = first.min_txid;
  merged.pre_checksum = first.pre_checksum;
  std::string staging;
  if (store->spilled()) {
    std::string tmpl = dir + "/.litesync-compact-out-XXXXXX";
    UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus(errno, fmt::format("create staging file in {}", dir));
    staging = tmpl;
  }
  absl::Cleanup remove_staging = [&staging] {
    if (!staging.empty()) ::unlink(staging.c_str());
  };
  LS_ASSIGN_OR_RETURN(std::unique_ptr<TxFileBuilder> builder,
                      TxFileBuilder::Create(merged, staging));
  for (uint32_t p : store->SortedPgnos()) {
    LS_ASSIGN_OR_RETURN(std::string_view page, store->Get(p));
    LS_RETURN_IF_ERROR(builder->AddPage(p, page));
  }
  LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> bytes, builder->Finish(last.post_checksum));
  TxFileInfo info = merged.Info(level);
  info.size = bytes->Size();
  LS_RETURN_IF_ERROR(
      Annotate(client.Write(info, *bytes), fmt::format("write {}", DescribeFile(client, info))));
  LogDebug("compacted", {{"lineage", LineageName(info.lineage)},
                         {"level", level},
                         {"file", info.Name()},
                         {"inputs", run.size()},
                         {"pages", builder->pages()},
                         {"spilled", store->spilled()}});
  if (out != nullptr) {
    out->inputs.insert(out->inputs.end(), run.begin(), run.end());
    out->written.push_back(info);
    out->pages += builder->pages();
    out->spilled = out->spilled || store->spilled();
  }
  return absl::OkStatus();
}

// Which interval of the epoch `t` falls in.
int64_t IntervalNumber(absl::Time t, absl::Duration interval) {
  absl::Duration rem;
  return absl::IDivDuration(t - absl::UnixEpoch(), interval, &rem) - (rem < absl::ZeroDuration());
}

}  // namespace

absl::Status Compact(ReplicaClient& client, Lineage lineage, int level,
                     const CompactionOptions& options, CompactionResult* out) {
  if (level < 1 || level > kMaxCompactionLevel) {
    return absl::InvalidArgumentError(fmt::format("compact: no compaction level {}", level));
  }
  std::string context = fmt::format("compact lineage {} to level {}", LineageName(lineage), level);
  auto runs = SelectRuns(client, lineage, level);
  if (!runs.ok()) return Annotate(runs.status(), context);
  for (const std::vector<TxFileInfo>& run : *runs) {
    LS_RETURN_IF_ERROR(Annotate(MergeRun(client, run, level, options, out), context));
  }
  return absl::OkStatus();
}

CompactionScheduler::CompactionScheduler(CompactionOptions options) : options_(std::move(options)) {
  last_run_.fill(absl::InfinitePast());
  inputs_changed_.fill(true);
}

bool CompactionScheduler::Enabled(int level) const {
  for (int l = 1; l <= level; ++l) {
    if (options_.intervals[l] <= absl::ZeroDuration()) return false;
  }
  return true;
}

bool CompactionScheduler::Due(int level, absl::Time now) const {
  if (!Enabled(level)) return false;
  if (last_run_[level] == absl::InfinitePast()) return true;
  absl::Duration every = options_.intervals[level];
  return IntervalNumber(now, every) > IntervalNumber(last_run_[level], every);
}

absl::Time CompactionScheduler::NextDue(absl::Time now) const {
  absl::Time next = absl::InfiniteFuture();
  for (int level = 1; level <= kMaxCompactionLevel; ++level) {
    if (!Enabled(level)) continue;
    if (Due(level, now)) return now;
    absl::Duration every = options_.intervals[level];
    next =
        std::min(next, absl::UnixEpoch() + every * (IntervalNumber(last_run_[level], every) + 1));
  }
  return next;
}

absl::Status CompactionScheduler::RunDue(ReplicaClient& client, Lineage lineage, absl::Time now,
                                         CompactionResult* out) {
  absl::Status first_error;
  for (int level = 1; level <= kMaxCompactionLevel; ++level) {
    if (!Due(level, now)) continue;
    last_run_[level] = now;  // a failure waits for the next interval, not the next step
    if (options_.only_after_writes && !inputs_changed_[level]) continue;
    CompactionResult local;
    CompactionResult* result = out != nullptr ? out : &local;
    size_t written_before = result->written.size();
    absl::Status s = Compact(client, lineage, level, options_, result);
    if (s.ok()) inputs_changed_[level] = false;  // a failure retries at the next interval
    if (result->written.size() > written_before) inputs_changed_[level + 1] = true;
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  return first_error;
}

}  // namespace litesync
