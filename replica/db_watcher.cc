#include "replica/db_watcher.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <random>

#include "fmt/format.h"
#include "replica/compactor.h"
#include "replica/handles.h"
#include "replica/log.h"
#include "replica/page_checksum.h"
#include "replica/replica_head.h"
#include "replica/retention.h"
#include "replica/status.h"
#include "replica/wal_reader.h"

namespace litesync {

// A tx file waiting for replicas; shared by every replica's queue.
struct DbWatcher::Pending {
  TxFileInfo info;
  std::unique_ptr<ByteSource> bytes;
  std::string staging_path;  // removed when the last queue lets go
  bool snapshot = false;
  ~Pending() {
    if (!staging_path.empty()) ::unlink(staging_path.c_str());
  }
};

struct DbWatcher::Slot {
  ReplicaOptions options;
  std::unique_ptr<ReplicaClient> client;
  std::string name;
  std::deque<std::shared_ptr<Pending>> queue;
  uint64_t queued_bytes = 0;
  bool needs_snapshot = false;
  int failures = 0;
  absl::Time retry_at = absl::InfinitePast();
  absl::Time last_reached = absl::InfinitePast();
  absl::Status last_status;
  std::unique_ptr<CompactionScheduler> compaction;
  absl::Time next_retention = absl::InfinitePast();
};

namespace {

constexpr uint64_t kMaxQueuedBytes = 256ull << 20;   // per replica, then a snapshot later
constexpr uint64_t kStageToDiskBytes = 16ull << 20;  // larger increments are staged on disk
constexpr absl::Duration kMaxBackoff = absl::Seconds(30);
constexpr absl::Duration kPingEvery = absl::Seconds(10);
constexpr absl::Duration kRetentionEvery = absl::Minutes(5);

absl::Status PreadPage(int fd, uint64_t off, uint32_t size, std::string* out,
                       const std::string& path) {
  out->resize(size);
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(fd, out->data() + got, size - got, static_cast<off_t>(off + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus(n < 0 ? errno : EIO, fmt::format("read {}", path));
    got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Duration Backoff(int failures, absl::Duration base) {
  absl::Duration d = base * (1 << std::min(failures, 6));
  d = std::min(d, kMaxBackoff);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  double jitter = 0.5 + std::uniform_real_distribution<double>(0, 0.5)(rng);
  return d * jitter;
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

}  // namespace

DbWatcher::DbWatcher(DbOptions options, SyncRegistry* registry, Clock* clock)
    : options_(std::move(options)), registry_(registry), clock_(clock) {
  for (const ReplicaOptions& ro : options_.replicas) {
    auto slot = std::make_unique<Slot>();
    slot->options = ro;
    CompactionOptions co;
    co.scratch_dir = std::filesystem::path(options_.path).parent_path().string();
    slot->compaction = std::make_unique<CompactionScheduler>(co);
    slot->name = ro.Describe();
    auto client = NewReplicaClient(ro);
    if (client.ok()) {
      slot->client = std::move(*client);
      slot->name = slot->client->Describe();
    } else {
      slot->last_status = client.status();
    }
    registry_->Register(options_.path, slot->name);
    slots_.push_back(std::move(slot));
  }
}

DbWatcher::~DbWatcher() { CloseReader(); }

void DbWatcher::CloseReader() {
  reader_.reset();
  positioned_ = false;
}

std::string DbWatcher::StagingPath(uint64_t txid) const {
  return fmt::format("{}-litesync-{:016x}.staging", options_.path, txid);
}

void DbWatcher::RecordError(const absl::Status& s) {
  absl::Time now = clock_->Now();
  bool missing = absl::IsNotFound(s);
  for (auto& slot : slots_) {
    registry_->Update(options_.path, slot->name, [&](SyncRecord& r) {
      r.last_error = s;
      r.last_error_time = now;
      r.sync_error_count++;
      r.database_missing = missing;
    });
  }
}

absl::Status DbWatcher::EnsureOpen() {
  for (auto& slot : slots_) {
    if (!slot->client) return Annotate(slot->last_status, "replica");
  }
  if (reader_) {
    struct stat st;
    if (::stat(options_.path.c_str(), &st) != 0) {
      int err = errno;
      CloseReader();
      if (err == ENOENT) {
        return absl::NotFoundError(fmt::format("database {} does not exist", options_.path));
      }
      return ErrnoStatus(err, fmt::format("stat {}", options_.path));
    }
    uint64_t inode = static_cast<uint64_t>(st.st_ino) ^ (static_cast<uint64_t>(st.st_dev) << 40);
    if (inode == reader_->inode()) return absl::OkStatus();
    LogWarn("database file replaced; reopening", {{"db", options_.path}});
    CloseReader();
  }
  LS_ASSIGN_OR_RETURN(reader_, DbReader::Open(options_.path, options_.busy_timeout));
  last_checkpoint_ = clock_->Now();
  absl::Status s = Recover();
  if (!s.ok()) CloseReader();
  return s;
}

// Finds where the replicas are and resumes there when the database still
// matches; otherwise starts a new lineage. Never guesses: a resume is verified by
// the full database checksum against the replica's last post-checksum.
absl::Status DbWatcher::Recover() {
  positioned_ = false;
  for (auto& slot : slots_) {  // queued files belong to the position being abandoned
    slot->queue.clear();
    slot->queued_bytes = 0;
  }
  std::optional<ReplicaHead> leader;
  std::vector<std::optional<ReplicaHead>> heads(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto head = ReadReplicaHead(*slots_[i]->client);
    if (!head.ok()) {
      return Annotate(head.status(), fmt::format("read replica {}", slots_[i]->name));
    }
    heads[i] = *head;
    if (*head && (!leader || std::tie((*head)->info.lineage, (*head)->info.max_txid) >
                                 std::tie(leader->info.lineage, leader->info.max_txid))) {
      leader = *head;
    }
  }
  if (!leader) return StartLineage("replica is empty");
  txid_ = leader->info.max_txid;

  const TxHeader& h = leader->header;
  auto verify = [&](bool at_token) -> absl::StatusOr<bool> {
    auto pin = at_token ? reader_->PinNextAt(PinToken(h.resume)) : reader_->PinNext();
    if (!pin.ok()) {
      LogDebug("resume position unavailable", {{"db", options_.path}, {"err", pin.status()}});
      return false;
    }
    if (pin->page_count != h.commit || pin->page_size != h.page_size) {
      LogDebug("resume position differs", {{"db", options_.path}, {"pages", pin->page_count},
                                          {"want_pages", h.commit}, {"at_token", at_token}});
      return false;
    }
    uint64_t sum = 0;
    LS_RETURN_IF_ERROR(reader_->ScanNext([&](uint32_t pgno, std::string_view page) {
      sum ^= PageHash(pgno, page);
      return absl::OkStatus();
    }));
    return sum == h.post_checksum;
  };
  LS_ASSIGN_OR_RETURN(bool resumed, verify(/*at_token=*/true));
  if (!resumed) {
    LS_ASSIGN_OR_RETURN(resumed, verify(/*at_token=*/false));
  }
  if (!resumed) {
    reader_->ReleaseNext();
    return StartLineage("database does not match the replica's last position");
  }
  reader_->PromoteNext();
  positioned_ = true;
  lineage_ = leader->info.lineage;
  checksum_ = h.post_checksum;
  commit_ = h.commit;
  page_size_ = h.page_size;
  for (size_t i = 0; i < slots_.size(); ++i) {
    bool same = heads[i] && heads[i]->info.lineage == lineage_ && heads[i]->info.max_txid == txid_;
    slots_[i]->needs_snapshot = !same;
    registry_->Update(options_.path, slots_[i]->name, [&](SyncRecord& r) {
      r.lineage = lineage_;
      r.local_txid = txid_;
      if (same) r.replicated_txid = txid_;
    });
  }
  LogInfo("resumed replication", {{"db", options_.path}, {"lineage", LineageName(lineage_)},
                                  {"txid", TxidString(txid_)}});
  LogDebug("resume position", {{"salt1", reader_->base().salt1},
                               {"frames", reader_->base().cursor.frames}});
  return absl::OkStatus();
}

absl::Status DbWatcher::StartLineage(const std::string& why) {
  LS_ASSIGN_OR_RETURN(WalPin pin, reader_->PinNext());
  Lineage lineage = txid_ + 1;
  TxHeader h;
  h.snapshot = true;
  h.page_size = pin.page_size;
  h.commit = pin.page_count;
  h.lineage = lineage;
  h.min_txid = lineage;
  h.max_txid = lineage;
  h.timestamp_ms = absl::ToUnixMillis(clock_->Now());
  h.resume = pin.token;
  auto p = std::make_shared<Pending>();
  p->snapshot = true;
  p->staging_path = StagingPath(lineage);
  LS_ASSIGN_OR_RETURN(auto builder, TxFileBuilder::Create(h, p->staging_path));
  uint64_t sum = 0;
  absl::Status s = reader_->ScanNext([&](uint32_t pgno, std::string_view page) {
    sum ^= PageHash(pgno, page);
    return builder->AddPage(pgno, page);
  });
  if (!s.ok()) {
    reader_->ReleaseNext();
    return Annotate(s, "snapshot");
  }
  LS_ASSIGN_OR_RETURN(p->bytes, builder->Finish(sum));
  p->info = h.Info(kSnapshotLevel);
  p->info.size = p->bytes->Size();
  reader_->PromoteNext();
  positioned_ = true;
  lineage_ = lineage;
  txid_ = lineage;
  checksum_ = sum;
  commit_ = pin.page_count;
  page_size_ = pin.page_size;
  for (auto& slot : slots_) {
    slot->queue.clear();
    slot->queued_bytes = 0;
    slot->needs_snapshot = false;
  }
  Enqueue(p);
  LogInfo("new lineage", {{"db", options_.path}, {"lineage", LineageName(lineage_)},
                          {"reason", why}, {"pages", pin.page_count}});
  return absl::OkStatus();
}

// A snapshot of the base position for one replica that lost its chain (it was
// unreachable for too long, or behind at start-up). Same lineage, level 9.
absl::Status DbWatcher::SnapshotBaseFor(Slot* slot) {
  const WalPin& base = reader_->base();
  TxHeader h;
  h.snapshot = true;
  h.page_size = base.page_size;
  h.commit = base.page_count;
  h.lineage = lineage_;
  h.min_txid = lineage_;
  h.max_txid = txid_;
  h.timestamp_ms = absl::ToUnixMillis(clock_->Now());
  h.resume = base.token;
  auto p = std::make_shared<Pending>();
  p->snapshot = true;
  p->staging_path = StagingPath(txid_) + "-" + std::to_string(reinterpret_cast<uintptr_t>(slot));
  LS_ASSIGN_OR_RETURN(auto builder, TxFileBuilder::Create(h, p->staging_path));
  uint64_t sum = 0;
  LS_RETURN_IF_ERROR(reader_->ScanBase([&](uint32_t pgno, std::string_view page) {
    sum ^= PageHash(pgno, page);
    return builder->AddPage(pgno, page);
  }));
  if (sum != checksum_) {
    return absl::DataLossError(fmt::format(
        "{}: snapshot checksum {:016x} differs from the tracked {:016x}", options_.path, sum,
        checksum_));
  }
  LS_ASSIGN_OR_RETURN(p->bytes, builder->Finish(sum));
  p->info = h.Info(kSnapshotLevel);
  p->info.size = p->bytes->Size();
  slot->queue.clear();
  slot->queue.push_back(p);
  slot->queued_bytes = p->info.size;
  slot->needs_snapshot = false;
  return absl::OkStatus();
}

void DbWatcher::Enqueue(const std::shared_ptr<Pending>& p) {
  for (auto& slot : slots_) {
    if (slot->needs_snapshot) continue;
    if (slot->queued_bytes + p->info.size > kMaxQueuedBytes && !p->snapshot) {
      LogWarn("replica too far behind; it will get a snapshot",
              {{"db", options_.path}, {"replica", slot->name}, {"queued_bytes", slot->queued_bytes}});
      slot->queue.clear();
      slot->queued_bytes = 0;
      slot->needs_snapshot = true;
      continue;
    }
    slot->queue.push_back(p);
    slot->queued_bytes += p->info.size;
  }
}

absl::Status DbWatcher::Capture() {
  LS_ASSIGN_OR_RETURN(WalPin pin, reader_->PinNext());
  absl::Status s = CaptureIncrement(pin);
  if (absl::IsDataLoss(s)) {
    reader_->ReleaseNext();
    LogWarn("continuity broken; starting a new lineage", {{"db", options_.path}, {"err", s}});
    return StartLineage(std::string(s.message()));
  }
  if (!s.ok()) reader_->ReleaseNext();
  return s;
}

absl::Status DbWatcher::CaptureIncrement(const WalPin& pin) {
  const WalPin& base = reader_->base();
  if (pin.page_size != page_size_) {
    return absl::DataLossError(fmt::format("page size changed from {} to {}", page_size_,
                                           pin.page_size));
  }
  bool same_gen = base.has_wal && pin.has_wal && base.salt1 == pin.salt1 &&
                  base.salt2 == pin.salt2;
  if (!pin.has_wal || pin.cursor.frames == 0 ||
      (same_gen && pin.cursor.frames == base.cursor.frames)) {
    // Nothing committed since the base (a restart under our pin is clean).
    if (pin.page_count != commit_ || (same_gen && (pin.cursor.cksum1 != base.cursor.cksum1 ||
                                                   pin.cursor.cksum2 != base.cursor.cksum2))) {
      return absl::DataLossError("database changed without new WAL frames");
    }
    reader_->PromoteNext();
    return absl::OkStatus();
  }
  if (same_gen && pin.cursor.frames < base.cursor.frames) {
    return absl::DataLossError("WAL shorter than the replicated position");
  }
  // A new generation behind our pin is clean: with the pin on a WAL frame SQLite
  // cannot restart the WAL at all; with the pin on the database file (frame 0) it
  // cannot backfill, so a restart happens only when the old generation ended
  // exactly at the pinned position. (Salts alone prove nothing: a process whose
  // first write follows another process's TRUNCATE picks fresh random salts.)
  std::string wal_path = reader_->wal_path();
  UniqueFd fd(::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return absl::DataLossError(fmt::format("open {}: {}", wal_path, errno));
  LS_ASSIGN_OR_RETURN(WalHeader hdr, ReadWalHeader(fd.get(), wal_path));
  if (hdr.salt1 != pin.salt1 || hdr.salt2 != pin.salt2 || hdr.page_size != page_size_) {
    return absl::DataLossError("WAL header does not match the pinned generation");
  }
  WalCursor from = StartCursor(hdr);
  if (same_gen && base.cursor.frames > 0) {
    from = base.cursor;
    LS_ASSIGN_OR_RETURN(bool ok, VerifyCursor(fd.get(), wal_path, hdr, from));
    if (!ok) return absl::DataLossError("replicated WAL position no longer verifies");
  }

  // Replay the transactions, keeping the rolling checksum exact.
  std::map<uint32_t, uint64_t> dirty;  // pgno -> WAL frame of its newest version (0: zeros)
  uint64_t sum = checksum_;
  uint32_t cur_commit = commit_;
  uint64_t ntx = 0;
  std::string old_page, new_page;
  const std::string zeros(page_size_, '\0');
  auto old_hash = [&](uint32_t pgno) -> absl::StatusOr<uint64_t> {
    if (pgno > cur_commit) return uint64_t{0};
    auto it = dirty.find(pgno);
    if (it != dirty.end()) {
      if (it->second == 0) return PageHash(pgno, zeros);
      LS_RETURN_IF_ERROR(PreadPage(fd.get(), WalPageOffset(it->second, page_size_), page_size_,
                                   &old_page, wal_path));
      return PageHash(pgno, old_page);
    }
    LS_ASSIGN_OR_RETURN(bool present, reader_->BasePage(pgno, &old_page));
    if (!present) return PageHash(pgno, zeros);
    return PageHash(pgno, old_page);
  };
  auto on_commit = [&](const std::vector<WalFrame>& frames, uint32_t commit,
                       const WalCursor&) -> absl::Status {
    std::map<uint32_t, uint64_t> latest;
    for (const WalFrame& f : frames) latest[f.pgno] = f.index;
    for (const auto& [pgno, frame] : latest) {
      if (pgno > commit) continue;
      LS_ASSIGN_OR_RETURN(uint64_t oh, old_hash(pgno));
      LS_RETURN_IF_ERROR(PreadPage(fd.get(), WalPageOffset(frame, page_size_), page_size_,
                                   &new_page, wal_path));
      sum ^= oh ^ PageHash(pgno, new_page);
    }
    for (uint32_t p = commit + 1; p <= cur_commit; ++p) {  // the database shrank
      LS_ASSIGN_OR_RETURN(uint64_t oh, old_hash(p));
      sum ^= oh;
      dirty.erase(p);
    }
    for (const auto& [pgno, frame] : latest) {
      if (pgno <= commit) dirty[pgno] = frame;
    }
    for (uint32_t p = cur_commit + 1; p <= commit; ++p) {  // grew: every new page is present
      if (latest.count(p) == 0) {
        sum ^= PageHash(p, zeros);
        dirty[p] = 0;
      }
    }
    cur_commit = commit;
    ++ntx;
    return absl::OkStatus();
  };
  LS_ASSIGN_OR_RETURN(WalCursor end,
                      ScanWal(fd.get(), wal_path, hdr, from, pin.cursor.frames, on_commit));
  if (end.frames != pin.cursor.frames || end.cksum1 != pin.cursor.cksum1 ||
      end.cksum2 != pin.cursor.cksum2) {
    return absl::DataLossError(fmt::format("WAL frames {}..{} do not verify against the pin",
                                           from.frames + 1, pin.cursor.frames));
  }
  if (cur_commit != pin.page_count) {
    return absl::DataLossError(fmt::format("commit size {} differs from the pinned page count {}",
                                           cur_commit, pin.page_count));
  }
  if (ntx == 0) {
    reader_->PromoteNext();
    return absl::OkStatus();
  }

  TxHeader h;
  h.page_size = page_size_;
  h.commit = cur_commit;
  h.lineage = lineage_;
  h.min_txid = txid_ + 1;
  h.max_txid = txid_ + ntx;
  h.timestamp_ms = absl::ToUnixMillis(clock_->Now());
  h.pre_checksum = checksum_;
  h.resume = pin.token;
  auto p = std::make_shared<Pending>();
  bool stage = dirty.size() * page_size_ > kStageToDiskBytes;
  if (stage) p->staging_path = StagingPath(h.max_txid);
  LS_ASSIGN_OR_RETURN(auto builder, TxFileBuilder::Create(h, p->staging_path));
  for (const auto& [pgno, frame] : dirty) {
    if (frame == 0) {
      LS_RETURN_IF_ERROR(builder->AddPage(pgno, zeros));
      continue;
    }
    LS_RETURN_IF_ERROR(
        PreadPage(fd.get(), WalPageOffset(frame, page_size_), page_size_, &new_page, wal_path));
    LS_RETURN_IF_ERROR(builder->AddPage(pgno, new_page));
  }
  LS_ASSIGN_OR_RETURN(p->bytes, builder->Finish(sum));
  p->info = h.Info(0);
  p->info.size = p->bytes->Size();
  reader_->PromoteNext();
  txid_ = h.max_txid;
  checksum_ = sum;
  commit_ = cur_commit;
  Enqueue(p);
  absl::Time now = clock_->Now();
  for (auto& slot : slots_) {
    registry_->Update(options_.path, slot->name, [&](SyncRecord& r) {
      r.local_txid = txid_;
      r.lineage = lineage_;
      r.last_commit_seen = now;
    });
  }
  return absl::OkStatus();
}

void DbWatcher::Upload(absl::Time now, bool force) {
  for (auto& slot : slots_) {
    if (!force && now < slot->retry_at) continue;
    if (slot->needs_snapshot && positioned_) {
      absl::Status s = SnapshotBaseFor(slot.get());
      if (!s.ok()) {
        slot->last_status = s;
        LogError("snapshot failed", {{"db", options_.path}, {"replica", slot->name}, {"err", s}});
        continue;
      }
    }
    bool wrote = false;
    uint64_t bytes = 0, snapshots = 0, acked = 0;
    absl::Status s = absl::OkStatus();
    while (!slot->queue.empty()) {
      const std::shared_ptr<Pending>& p = slot->queue.front();
      s = slot->client->Write(p->info, *p->bytes);
      if (!s.ok()) {
        s = Annotate(s, fmt::format("replicate {}: upload tx file {}", options_.path,
                                    p->info.Name()));
        break;
      }
      wrote = true;
      bytes += p->info.size;
      snapshots += p->snapshot ? 1 : 0;
      acked = p->info.max_txid;
      slot->queued_bytes -= p->info.size;
      slot->queue.pop_front();
    }
    if (s.ok() && !wrote && now - slot->last_reached >= std::max(kPingEvery,
                                                                 slot->options.sync_interval)) {
      s = Annotate(slot->client->Ping(), fmt::format("replicate {}: reach replica {}",
                                                     options_.path, slot->name));
      wrote = s.ok();
    }
    if (wrote || s.ok()) {
      if (wrote) slot->last_reached = now;
    }
    slot->last_status = s;
    if (!s.ok()) {
      slot->failures++;
      slot->retry_at = now + Backoff(slot->failures, slot->options.sync_interval);
      LogError("sync failed", {{"db", options_.path}, {"replica", slot->name}, {"err", s}});
    } else {
      slot->failures = 0;
      slot->retry_at = absl::InfinitePast();
    }
    registry_->Update(options_.path, slot->name, [&](SyncRecord& r) {
      r.database_missing = false;
      r.wal_size = wal_size_;
      r.pending_bytes = slot->queued_bytes;
      r.bytes_written += bytes;
      r.snapshot_count += snapshots;
      if (acked) r.replicated_txid = acked;
      r.lineage = lineage_;
      r.local_txid = txid_;
      if (!s.ok()) {
        r.last_error = s;
        r.last_error_time = now;
        r.sync_error_count++;
        return;
      }
      r.last_error = absl::OkStatus();
      if (wrote && slot->queue.empty() && !slot->needs_snapshot) {
        r.last_success = now;
        r.sync_count++;
      }
    });
    if (s.ok() && slot->queue.empty() && !slot->needs_snapshot && slot->options.maintenance) {
      Maintain(slot.get(), now);
    }
  }
}

// Compaction and retention for a replica that is caught up. Their failures are
// logged and retried on schedule; they never fail a sync (the files they write
// come first and they delete last, so an interruption restores exactly).
void DbWatcher::Maintain(Slot* slot, absl::Time now) {
  CompactionResult compacted;
  absl::Status s = slot->compaction->RunDue(*slot->client, lineage_, now, &compacted);
  if (!s.ok()) {
    LogWarn("compaction failed", {{"db", options_.path}, {"replica", slot->name}, {"err", s}});
  } else if (!compacted.written.empty()) {
    LogDebug("compacted", {{"db", options_.path}, {"replica", slot->name},
                           {"inputs", compacted.inputs.size()},
                           {"written", compacted.written.size()}});
  }
  if (now < slot->next_retention) return;
  slot->next_retention = now + kRetentionEvery;
  RetentionResult retained;
  s = EnforceRetention(*slot->client, now, slot->options.retention, &retained);
  if (!s.ok()) {
    LogWarn("retention failed", {{"db", options_.path}, {"replica", slot->name}, {"err", s}});
  } else if (!retained.deleted.empty()) {
    LogInfo("retention removed files", {{"db", options_.path}, {"replica", slot->name},
                                        {"files", retained.deleted.size()}});
  }
}

absl::Status DbWatcher::MaybeCheckpoint(absl::Time now) {
  for (auto& slot : slots_) {
    if (!slot->queue.empty() || slot->needs_snapshot) return absl::OkStatus();
  }
  const WalPin& base = reader_->base();
  if (!base.has_wal || base.cursor.frames == 0) return absl::OkStatus();
  bool big = static_cast<int64_t>(base.cursor.frames) >= options_.min_checkpoint_pages;
  bool due = now - last_checkpoint_ >= options_.checkpoint_interval;
  if (!big && !due) return absl::OkStatus();
  last_checkpoint_ = now;
  // TRUNCATE takes the writer lock first, so the WAL cannot grow while it runs.
  // Each time it waits for our pin, capture up to the frozen end and re-pin:
  // once everything is backfilled the new pin reads the database file (frame 0)
  // and the WAL restarts exactly at a position we hold. The application waits for
  // its writer lock meanwhile (its busy_timeout), as with any checkpoint.
  absl::Status captured;
  absl::Time deadline = absl::Now() + options_.busy_timeout;
  auto on_busy = [&](int attempt) {
    if (!captured.ok() || absl::Now() > deadline) return false;
    auto pin = reader_->PinNext();
    if (!pin.ok()) {
      captured = pin.status();
      return false;
    }
    captured = CaptureIncrement(*pin);
    if (!captured.ok()) return false;
    if (attempt > 2) absl::SleepFor(absl::Milliseconds(1));  // an application reader
    return true;
  };
  int log = 0, done = 0;
  absl::Status s = reader_->Checkpoint(SQLITE_CHECKPOINT_TRUNCATE, &log, &done, on_busy);
  LS_RETURN_IF_ERROR(captured);
  LogDebug("checkpoint", {{"db", options_.path}, {"wal_frames", log}, {"backfilled", done},
                          {"result", s.ok() ? "ok" : "busy"}});
  if (!s.ok() && !absl::IsUnavailable(s)) return s;
  return absl::OkStatus();
}

// A fresh snapshot every snapshot-interval (default: the retention period), so
// retention can drop old history and a restore of the latest state stays short.
bool DbWatcher::MaybeScheduleSnapshot(absl::Time now) {
  if (!positioned_) return false;
  if (last_snapshot_ == absl::InfinitePast()) last_snapshot_ = now;
  absl::Duration every = absl::InfiniteDuration();
  for (auto& slot : slots_) {
    if (!slot->options.maintenance) continue;
    absl::Duration d = slot->options.snapshot_interval > absl::ZeroDuration()
                           ? slot->options.snapshot_interval
                           : slot->options.retention;
    every = std::min(every, d);
  }
  if (now - last_snapshot_ < every) return false;
  bool any = false;
  for (auto& slot : slots_) {
    // Only a caught-up replica: its snapshot is built from the base pin.
    if (slot->queue.empty() && slot->options.maintenance && slot->last_status.ok()) {
      slot->needs_snapshot = true;
      any = true;
    }
  }
  if (any) last_snapshot_ = now;
  return any;
}

absl::Time DbWatcher::Step() {
  absl::Time now = clock_->Now();
  absl::Duration interval = absl::Seconds(1);
  if (!slots_.empty()) {
    interval = slots_[0]->options.sync_interval;
    for (auto& s : slots_) interval = std::min(interval, s->options.sync_interval);
  }
  if (!reader_ && now < retry_open_at_) return retry_open_at_;
  absl::Status s = EnsureOpen();
  if (s.ok()) s = Capture();
  if (!s.ok()) {
    RecordError(s);
    LogError("sync failed", {{"db", options_.path}, {"err", s}});
    CloseReader();
    retry_open_at_ = now + std::max(interval, absl::Seconds(1));
    return retry_open_at_;
  }
  wal_size_ = FileSize(reader_->wal_path());
  Upload(now, /*force=*/false);
  if (MaybeScheduleSnapshot(now)) Upload(now, /*force=*/true);
  s = MaybeCheckpoint(now);
  if (absl::IsDataLoss(s)) {
    LogWarn("continuity broken; starting a new lineage", {{"db", options_.path}, {"err", s}});
    reader_->ReleaseNext();
    s = StartLineage(std::string(s.message()));
    if (s.ok()) Upload(now, /*force=*/true);
  }
  if (!s.ok()) LogWarn("checkpoint failed", {{"db", options_.path}, {"err", s}});
  return now + interval;
}

absl::Status DbWatcher::FinalSync(absl::Time deadline) {
  absl::Status s = EnsureOpen();
  if (s.ok()) s = Capture();
  if (!s.ok()) {
    RecordError(s);
    return Annotate(s, fmt::format("final sync of {}", options_.path));
  }
  wal_size_ = FileSize(reader_->wal_path());
  while (true) {
    absl::Time now = clock_->Now();
    Upload(now, /*force=*/true);
    bool done = true;
    absl::Status last;
    for (auto& slot : slots_) {
      if (!slot->queue.empty() || slot->needs_snapshot || !slot->last_status.ok()) {
        done = false;
        last = slot->last_status.ok() ? absl::UnavailableError(fmt::format(
                                            "replica {} still has unsent tx files", slot->name))
                                      : slot->last_status;
      }
    }
    if (done) return absl::OkStatus();
    if (absl::Now() + absl::Milliseconds(500) > deadline) {
      return Annotate(last, fmt::format("final sync of {}", options_.path));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

}  // namespace litesync
