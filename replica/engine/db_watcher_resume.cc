// DbWatcher, resuming: where the replicas are, and whether the database still
// continues from there (docs/FORMAT.md, "Resuming after a restart").
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <utility>

#include "base/handles.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/compat/litestream.h"
#include "replica/engine/db_watcher.h"
#include "replica/engine/db_watcher_internal.h"
#include "replica/format/page_checksum.h"
#include "replica/sqlite/wal_reader.h"
#include "replica/storage/replica_head.h"

namespace litesync {

using namespace watcher_internal;  // NOLINT: this module's own constants

namespace {

// A replica location that holds what Litestream wrote before the switch: say so
// when litesync starts its own lineage beside it. Litestream's objects are never
// listed as litesync's, so compaction and retention never touch them.
void NoteLitestreamReplica(ReplicaClient& client, const std::string& name, const std::string& db) {
  absl::StatusOr<LitestreamPresence> found = FindLitestream(client);
  if (!found.ok()) {
    LogWarn("could not check the replica for Litestream's files",
            {{"db", db}, {"replica", name}, {"err", found.status()}});
    return;
  }
  if (!found->any()) return;
  LogInfo("replica holds a Litestream replica; starting litesync's own lineage beside it",
          {{"db", db},
           {"replica", name},
           {"litestream", found->versions()},
           {"note",
            "Litestream's files are kept as they are; restore takes the newest state "
            "across both"}});
}

}  // namespace

// Finds where the replicas are and resumes there when the database still
// matches; otherwise starts a new lineage. Never guesses: a resume is verified by
// the full database checksum against the replica's last post-checksum.
absl::Status DbWatcher::Recover() {
  positioned_ = false;
  for (auto& shipper : shippers_) shipper->DropQueue();  // belongs to the abandoned position
  std::optional<ReplicaHead> leader;
  std::vector<std::optional<ReplicaHead>> heads(shippers_.size());
  bool unreadable = false;
  bool write_only = false;
  uint64_t named = 0;              // the highest TXID an unreadable replica names
  std::string encryption_changed;  // a replica whose newest file is not encrypted as configured
  for (size_t i = 0; i < shippers_.size(); ++i) {
    ReplicaClient& client = *shippers_[i]->client();
    const std::string& name = shippers_[i]->name();
    if (!client.can_read()) {  // write-only (age recipients): nothing to resume on
      LS_ASSIGN_OR_RETURN(uint64_t newest, NewestNamedTxid(client));
      named = std::max(named, newest);
      write_only = true;
      continue;
    }
    auto head = ReadReplicaHead(client);
    if (absl::IsDataLoss(head.status())) {
      // The replica's last state is unknown: never resume on it, and never stall
      // on it either. A new lineage starts above every TXID the replica names.
      LogError("replica's newest file is unreadable; starting a new lineage",
               {{"db", options_.path}, {"replica", name}, {"err", head.status()}});
      LS_ASSIGN_OR_RETURN(uint64_t newest, NewestNamedTxid(client));
      named = std::max(named, newest);
      unreadable = true;
      continue;
    }
    if (!head.ok()) {
      return Annotate(head.status(), fmt::format("read replica {}", name));
    }
    if (*head && client.encrypts()) {
      LS_ASSIGN_OR_RETURN(bool sealed, client.IsEncrypted((*head)->info));
      if (!sealed) encryption_changed = name;
    }
    heads[i] = *head;
    if (*head && (!leader || std::tie((*head)->info.lineage, (*head)->info.max_txid) >
                                 std::tie(leader->info.lineage, leader->info.max_txid))) {
      leader = *head;
    }
  }
  if (!new_lineage_reason_.empty()) {  // ChainBroken: never resume on that chain
    std::string why = std::exchange(new_lineage_reason_, "");
    for (auto& shipper : shippers_) {
      LS_ASSIGN_OR_RETURN(uint64_t newest, NewestNamedTxid(*shipper->client()));
      named = std::max(named, newest);
    }
    txid_ = std::max({txid_, named, leader ? leader->info.max_txid : uint64_t{0}});
    return StartLineage(why);
  }
  if (unreadable) {  // TXIDs never go back: above everything named anywhere
    txid_ = std::max({txid_, named, leader ? leader->info.max_txid : uint64_t{0}});
    return StartLineage("the replica's newest file is unreadable");
  }
  if (write_only || !encryption_changed.empty()) {  // TXIDs never go back
    txid_ = std::max({txid_, named, leader ? leader->info.max_txid : uint64_t{0}});
    return StartLineage(write_only
                            ? "the replica is write-only here (age recipients only)"
                            : "age encryption was turned on for replica " + encryption_changed);
  }
  if (!leader) {
    for (auto& shipper : shippers_) {
      NoteLitestreamReplica(*shipper->client(), shipper->name(), options_.path);
    }
    return StartLineage("replica is empty");
  }
  txid_ = leader->info.max_txid;

  const TxHeader& h = leader->header;
  // Where the replica's last state may still be found, in order: the stored
  // position; the current state (nothing written since); the start of the
  // current WAL generation (the WAL was restarted since, e.g. by litesync's own
  // TRUNCATE just before it died, and the application wrote on). Each candidate
  // counts only when its full checksum equals the replica's last post-checksum.
  // Last, the previous generation's tail (ResumeFromWalTail).
  enum class At { kToken, kNow, kGenerationStart };
  auto name = [](At at) {
    return at == At::kToken ? "stored position" : at == At::kNow ? "current state" : "wal start";
  };
  auto verify = [&](At at) -> absl::StatusOr<bool> {
    absl::StatusOr<WalPin> pin = at == At::kToken ? reader_->PinNextAt(PinToken(h.resume))
                                 : at == At::kNow ? reader_->PinNext()
                                                  : reader_->PinNextAtGenerationStart();
    if (!pin.ok()) {
      LogDebug("resume position unavailable",
               {{"db", options_.path}, {"at", name(at)}, {"err", pin.status()}});
      return false;
    }
    if (pin->page_count != h.commit || pin->page_size != h.page_size) {
      LogDebug("resume position differs", {{"db", options_.path},
                                           {"pages", pin->page_count},
                                           {"want_pages", h.commit},
                                           {"at", name(at)}});
      reader_->ReleaseNext();
      return false;
    }
    uint64_t sum = 0;
    LS_RETURN_IF_ERROR(reader_->ScanNext([&](uint32_t pgno, std::string_view page) {
      sum ^= PageHash(pgno, page);
      return absl::OkStatus();
    }));
    if (sum != h.post_checksum) reader_->ReleaseNext();
    return sum == h.post_checksum;
  };
  bool resumed = false;
  std::string from;
  for (At at : {At::kToken, At::kNow, At::kGenerationStart}) {
    LS_ASSIGN_OR_RETURN(resumed, verify(at));
    from = name(at);
    if (resumed) break;
  }
  lineage_ = leader->info.lineage;
  checksum_ = h.post_checksum;
  commit_ = h.commit;
  page_size_ = h.page_size;
  std::shared_ptr<Pending> tail;
  if (!resumed) {
    absl::StatusOr<std::shared_ptr<Pending>> t = ResumeFromWalTail(h);
    if (!t.ok()) {
      LogDebug("resume after a WAL restart impossible",
               {{"db", options_.path}, {"err", t.status()}});
      return StartLineage("database does not match the replica's last position");
    }
    tail = *t;
    from = "wal tail";
    resumed = true;
  }
  reader_->PromoteNext();
  positioned_ = true;
  for (size_t i = 0; i < shippers_.size(); ++i) {
    bool same = heads[i] && heads[i]->info.lineage == lineage_ &&
                heads[i]->info.max_txid == leader->info.max_txid;
    shippers_[i]->OweSnapshot(!same);
    if (same) shippers_[i]->NoteLivenessFile(heads[i]->info);
    recorder_.Positioned(shippers_[i]->name(), lineage_, txid_,
                         same ? std::optional<uint64_t>(leader->info.max_txid) : std::nullopt);
  }
  if (tail) Enqueue(tail);
  LogInfo("resumed replication", {{"db", options_.path},
                                  {"lineage", LineageName(lineage_)},
                                  {"txid", TxidString(txid_)},
                                  {"from", from}});
  LogDebug("resume position",
           {{"salt1", reader_->base().salt1}, {"frames", reader_->base().cursor.frames}});
  return absl::OkStatus();
}

// The replica's last position P can no longer be opened: while litesync was
// down the application checkpointed all of P's WAL generation (its
// autocheckpoint does, once litesync no longer holds the checkpointer lock) and,
// usually, its next write restarted the WAL. The frames after P are then gone
// from SQLite's view but still stand in the WAL file: all of them when the WAL
// was not restarted, those beyond what the new generation has overwritten when
// it was. They become one tx file from P to the state E at their end, when every
// check holds (any failure: a new lineage, as before):
//  - no restart since P (E: the current state, pinned, so no frame up to it can
//    be overwritten), or exactly one (SQLite adds one to salt-1 at each restart;
//    E: the new generation's start, the database file, pinned so that nothing
//    can be backfilled into it while we read);
//  - the frames after P verify with P's salts and SQLite's running checksum
//    continuing from P's (stored in its token; at frame 0, its generation
//    header's, rebuilt after a restart), read once, the checked bytes kept (a
//    new generation may overwrite them meanwhile), and without a restart they
//    end exactly at E's position;
//  - E has the tail's final size, and every page the tail wrote, as written;
//    pages that grew in unwritten are zeros.
// Pages the tail did not write are the same at P and at E: in WAL mode only a
// checkpoint writes the database file, and it writes only frames. The checksum
// chain of the replica goes on from P's post-checksum to the full checksum of E,
// computed here.
absl::StatusOr<std::shared_ptr<DbWatcher::Pending>> DbWatcher::ResumeFromWalTail(
    const TxHeader& h) {
  const WalPin at = PinFromToken(PinToken(h.resume));
  if (!at.has_wal || at.page_size != h.page_size) {
    return absl::FailedPreconditionError("the replicated position is not in a WAL");
  }
  std::string wal_path = reader_->wal_path();
  UniqueFd fd(::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, fmt::format("open {}", wal_path));
  LS_ASSIGN_OR_RETURN(WalHeader gen, ReadWalHeader(fd.get(), wal_path));
  const bool restarted = gen.salt1 != at.salt1 || gen.salt2 != at.salt2;
  if ((restarted && gen.salt1 != at.salt1 + 1) || gen.page_size != h.page_size) {
    return absl::FailedPreconditionError(fmt::format(
        "the WAL is neither the replicated generation nor the next one (salt-1 {} after {})",
        gen.salt1, at.salt1));
  }
  LS_ASSIGN_OR_RETURN(WalPin e,
                      restarted ? reader_->PinNextAtGenerationStart() : reader_->PinNext());
  auto fail = [&](std::string why) {
    reader_->ReleaseNext();
    return absl::FailedPreconditionError(std::move(why));
  };
  if (e.has_wal && (e.salt1 != gen.salt1 || e.salt2 != gen.salt2)) {
    return fail("the WAL restarted again while it was read");
  }
  WalHeader prev = gen;
  WalCursor from = at.cursor.frames == 0 ? StartCursor(gen) : at.cursor;
  if (restarted) {
    // The previous generation's header, as it was: the same but for its salts
    // and one checkpoint sequence number less (SQLite adds one at each restart).
    prev.salt1 = at.salt1;
    prev.salt2 = at.salt2;
    prev.checkpoint_seq -= 1;
    if (at.cursor.frames == 0) from = ComputeStartCursor(prev);
  }

  std::map<uint32_t, std::string> pending, written;  // pgno -> newest page of the tail
  uint32_t commit = h.commit, floor = h.commit;
  uint64_t ntx = 0, bytes = 0;
  auto on_frame = [&](uint32_t pgno, std::string_view page) -> absl::Status {
    bytes += page.size();
    if (bytes > kMaxQueuedBytes) return absl::ResourceExhaustedError("the WAL tail is too long");
    pending[pgno] = std::string(page);
    return absl::OkStatus();
  };
  auto on_commit = [&](const std::vector<WalFrame>&, uint32_t size, const WalCursor&) {
    for (auto& [pgno, page] : pending) written[pgno] = std::move(page);
    pending.clear();
    written.erase(written.upper_bound(size), written.end());
    commit = size;
    floor = std::min(floor, size);
    ++ntx;
    return absl::OkStatus();
  };
  absl::StatusOr<WalCursor> end =
      ScanWal(fd.get(), wal_path, prev, from, restarted ? 0 : e.cursor.frames, on_commit, on_frame);
  if (!end.ok()) return fail(std::string(end.status().message()));
  if (ntx == 0) return fail("no frame after the replicated position is left in the WAL");
  if (!restarted && (end->frames != e.cursor.frames || end->cksum1 != e.cursor.cksum1 ||
                     end->cksum2 != e.cursor.cksum2)) {
    return fail("the WAL frames after the replicated position do not verify");
  }
  if (commit != e.page_count) {
    return fail(
        fmt::format("the WAL tail ends at {} pages, the database has {}", commit, e.page_count));
  }
  const std::string zeros(h.page_size, '\0');
  uint64_t sum = 0;
  absl::Status s = reader_->ScanNext([&](uint32_t pgno, std::string_view page) {
    sum ^= PageHash(pgno, page);
    auto it = written.find(pgno);
    bool differs = it != written.end() ? page != it->second : pgno > floor && page != zeros;
    if (differs) {
      return absl::DataLossError(
          fmt::format("page {} of the database is not what the WAL tail wrote", pgno));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return fail(std::string(s.message()));

  TxHeader t;
  t.page_size = h.page_size;
  t.commit = commit;
  t.lineage = h.lineage;
  t.min_txid = h.max_txid + 1;
  t.max_txid = h.max_txid + ntx;
  t.timestamp_ms = absl::ToUnixMillis(clock_->Now());
  t.pre_checksum = h.post_checksum;
  t.resume = reader_->next().token;
  auto p = std::make_shared<Pending>();
  if (bytes > kStageToDiskBytes) p->staging_path = StagingPath(t.max_txid);
  absl::StatusOr<std::unique_ptr<TxFileBuilder>> builder =
      TxFileBuilder::Create(t, p->staging_path);
  if (!builder.ok()) return fail(std::string(builder.status().message()));
  for (uint32_t pgno = floor + 1; pgno <= commit; ++pgno) {
    written.try_emplace(pgno, zeros);  // grown in and never written: zeros, as captured
  }
  for (const auto& [pgno, page] : written) {
    if (absl::Status a = (*builder)->AddPage(pgno, page); !a.ok()) return fail(a.ToString());
  }
  absl::StatusOr<std::unique_ptr<ByteSource>> source = (*builder)->Finish(sum);
  if (!source.ok()) return fail(source.status().ToString());
  p->bytes = std::move(*source);
  p->info = t.Info(0);
  p->info.size = p->bytes->Size();
  txid_ = t.max_txid;
  checksum_ = sum;
  commit_ = commit;
  LogInfo(restarted ? "replicated position found in the previous WAL generation"
                    : "replicated position found in the checkpointed WAL",
          {{"db", options_.path}, {"transactions", ntx}, {"pages", written.size()}});
  return p;
}

}  // namespace litesync
