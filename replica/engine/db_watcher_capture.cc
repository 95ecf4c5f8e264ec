// DbWatcher, capture: committed WAL transactions and snapshots into tx files.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "base/fs.h"
#include "base/handles.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/engine/db_watcher.h"
#include "replica/engine/db_watcher_internal.h"
#include "replica/format/page_checksum.h"
#include "replica/sqlite/wal_reader.h"

namespace litesync {

using namespace watcher_internal;  // NOLINT: this module's own constants

namespace {

absl::Status PreadPage(int fd, uint64_t off, uint32_t size, std::string* out,
                       const std::string& path) {
  out->resize(size);
  LS_ASSIGN_OR_RETURN(size_t got, fs::PreadFull(fd, out->data(), size, off, path));
  if (got != size) return ErrnoStatus(EIO, fmt::format("read {}: the file ends early", path));
  return absl::OkStatus();
}

}  // namespace

// A snapshot (every page) of the next pin (a new lineage) or of the base pin (a
// replica that lost its chain, or the periodic snapshot), staged on disk.
absl::StatusOr<std::shared_ptr<DbWatcher::Pending>> DbWatcher::BuildSnapshot(
    bool from_next, Lineage lineage, uint64_t max_txid, const std::string& staging, uint64_t* sum) {
  const WalPin& pin = from_next ? reader_->next() : reader_->base();
  TxHeader h;
  h.snapshot = true;
  h.page_size = pin.page_size;
  h.commit = pin.page_count;
  h.lineage = lineage;
  h.min_txid = lineage;
  h.max_txid = max_txid;
  h.timestamp_ms = absl::ToUnixMillis(clock_->Now());
  h.resume = pin.token;
  auto p = std::make_shared<Pending>();
  p->snapshot = true;
  p->staging_path = staging;
  LS_ASSIGN_OR_RETURN(auto builder, TxFileBuilder::Create(h, p->staging_path));
  *sum = 0;
  auto add = [&](uint32_t pgno, std::string_view page) {
    *sum ^= PageHash(pgno, page);
    return builder->AddPage(pgno, page);
  };
  LS_RETURN_IF_ERROR(
      Annotate(from_next ? reader_->ScanNext(add) : reader_->ScanBase(add), "snapshot"));
  LS_ASSIGN_OR_RETURN(p->bytes, builder->Finish(*sum));
  p->info = h.Info(kSnapshotLevel);
  p->info.size = p->bytes->Size();
  return p;
}

absl::Status DbWatcher::StartLineage(const std::string& why) {
  LS_ASSIGN_OR_RETURN(WalPin pin, reader_->PinNext());
  Lineage lineage = txid_ + 1;
  uint64_t sum = 0;
  auto p = BuildSnapshot(/*from_next=*/true, lineage, lineage, StagingPath(lineage), &sum);
  if (!p.ok()) {
    reader_->ReleaseNext();
    return p.status();
  }
  reader_->PromoteNext();
  force_snapshot_ = false;  // every replica gets this snapshot: -force-snapshot is satisfied
  positioned_ = true;
  lineage_ = lineage;
  txid_ = lineage;
  checksum_ = sum;
  commit_ = pin.page_count;
  page_size_ = pin.page_size;
  for (auto& shipper : shippers_) {
    shipper->DropQueue();
    shipper->OweSnapshot(false);
  }
  (*p)->new_lineage = why;
  (*p)->pages = pin.page_count;
  Enqueue(*p);
  // "new lineage" is logged once a replica has the snapshot (Upload): an
  // instance that waits for another's lease writes nothing.
  LogDebug("snapshot staged for a new lineage",
           {{"db", options_.path}, {"lineage", LineageName(lineage_)}, {"reason", why}});
  return absl::OkStatus();
}

// A snapshot of the base position for one replica that lost its chain (it was
// unreachable for too long, or behind at start-up), or a periodic one. Same
// lineage, level 9; its checksum must equal the tracked one.
absl::StatusOr<std::shared_ptr<PendingTxFile>> DbWatcher::SnapshotBaseFor(
    const ReplicaShipper& shipper) {
  uint64_t sum = 0;
  LS_ASSIGN_OR_RETURN(
      std::shared_ptr<Pending> p,
      BuildSnapshot(/*from_next=*/false, lineage_, txid_,
                    fmt::format("{}-r{}", StagingPath(txid_), shipper.index()), &sum));
  if (sum != checksum_) {
    return absl::DataLossError(
        fmt::format("{}: snapshot checksum {:016x} differs from the tracked {:016x}", options_.path,
                    sum, checksum_));
  }
  return p;
}

void DbWatcher::Enqueue(const std::shared_ptr<Pending>& p) {
  for (auto& shipper : shippers_) shipper->Enqueue(p);
}

absl::Status DbWatcher::Capture(bool force) {
  if (!force) {
    LS_ASSIGN_OR_RETURN(bool changed, reader_->MayHaveChanged());
    if (!changed) return absl::OkStatus();  // idle: nothing committed since the last pin
  }
  wal_size_stale_ = true;  // a commit, a restart or a checkpoint may have resized the WAL
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
    return absl::DataLossError(
        fmt::format("page size changed from {} to {}", page_size_, pin.page_size));
  }
  bool same_gen = base.has_wal && pin.has_wal && base.salt1 == pin.salt1 && base.salt2 == pin.salt2;
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
      LS_RETURN_IF_ERROR(
          PreadPage(fd.get(), WalPageOffset(frame, page_size_), page_size_, &new_page, wal_path));
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
  frames_captured_ += pin.cursor.frames - from.frames;
  // SQLite's checkpoint fsyncs the WAL before it backfills: every frame
  // written since the last one, hundreds of MiB a second beside a writer at
  // full speed. Writing out what we just read, as we go, keeps that fsync short:
  // in our PASSIVE checkpoint (so the restart after it has little to catch up
  // on), and in the application's when it checkpoints (we do not hold the
  // checkpointer lock). Not while a RESTART holds the application's writer lock.
  if (!restarting_ && pin.cursor.frames >= static_cast<uint64_t>(options_.min_checkpoint_pages) &&
      frames_captured_ - captured_at_wal_sync_ >= kWalSyncFrames) {
    captured_at_wal_sync_ = frames_captured_;
    if (::fdatasync(fd.get()) != 0) {
      LogWarn("cannot write out the WAL (the next checkpoint will)",
              {{"db", options_.path},
               {"err", ErrnoStatus(errno, fmt::format("fdatasync {}", wal_path))}});
    }
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
  recorder_.Captured(lineage_, txid_, clock_->Now());
  return absl::OkStatus();
}

}  // namespace litesync
