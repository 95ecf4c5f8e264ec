#include "replica/sqlite/db_reader.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include <sqlite3.h>

#include "replica/sqlite/checkpointer_vfs.h"
#include "replica/sqlite/sqlite_status.h"
#include "replica/sqlite/wal_index_layout.h"

namespace litesync {
namespace {

absl::Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, what);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> QueryInt(sqlite3* db, const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, what);
  rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, what);
  return sqlite3_column_int64(raw, 0);
}

absl::StatusOr<std::string> QueryText(sqlite3* db, const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, what);
  rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, what);
  const unsigned char* t = sqlite3_column_text(raw, 0);
  return std::string(t ? reinterpret_cast<const char*>(t) : "");
}

}  // namespace

absl::StatusOr<std::unique_ptr<DbReader>> DbReader::Open(const std::string& path,
                                                         absl::Duration busy_timeout) {
  LS_RETURN_IF_ERROR(CheckSqliteHeader(path));
  std::unique_ptr<DbReader> r(new DbReader());
  r->path_ = path;
  for (SqliteDb& c : r->conns_) {
    sqlite3* raw = nullptr;
    // The checkpoint connection (the last) can keep SQLite's checkpointer lock.
    const char* vfs = &c == &r->conns_[2] ? CheckpointerVfsName() : nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, vfs);
    c.reset(raw);
    if (rc != SQLITE_OK) return SqliteStatus(raw, rc, fmt::format("open database {}", path));
    r->busy_timeout_ms_ = static_cast<int>(absl::ToInt64Milliseconds(busy_timeout));
    sqlite3_busy_timeout(raw, r->busy_timeout_ms_);
    sqlite3_extended_result_codes(raw, 1);
    // No per-connection lookaside arena (~120 KB each): these connections run a
    // few small statements, and a process may hold thousands of them.
    sqlite3_db_config(raw, SQLITE_DBCONFIG_LOOKASIDE, nullptr, 0, 0);
    // Closing the last connection would checkpoint and delete the WAL, frames not
    // yet captured included, and the next start would need a snapshot: litesync
    // checkpoints only where it decides to (DbWatcher::MaybeCheckpoint).
    sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    // Pages are read through sqlite_dbpage; keep the page cache small.
    LS_RETURN_IF_ERROR(Exec(raw, "PRAGMA cache_size=-512", path));
  }
  sqlite3* admin = r->conns_[2].get();
  LS_ASSIGN_OR_RETURN(std::string mode,
                      QueryText(admin, "PRAGMA journal_mode", fmt::format("read {}", path)));
  if (mode != "wal") {
    LS_ASSIGN_OR_RETURN(mode, QueryText(admin, "PRAGMA journal_mode=WAL",
                                        fmt::format("switch {} to WAL mode", path)));
    if (mode != "wal") {
      return absl::FailedPreconditionError(
          fmt::format("{}: cannot switch to WAL mode (journal_mode is {})", path, mode));
    }
    LogInfo("database switched to WAL mode", {{"db", path}});
  }
  // A first read opens the WAL in each pager: sqlite3_snapshot_open needs it on
  // the pin connections, HoldCheckpointer on the checkpoint connection.
  for (SqliteDb& c : r->conns_) {
    LS_RETURN_IF_ERROR(Exec(c.get(), "SELECT 1 FROM sqlite_schema LIMIT 1", path));
  }
  for (int i = 0; i < 2; ++i) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(r->conns_[i].get(), "SELECT data FROM sqlite_dbpage WHERE pgno=?1",
                                -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    r->page_stmt_[i].reset(raw);
    if (rc != SQLITE_OK) return SqliteStatus(r->conns_[i].get(), rc, "prepare sqlite_dbpage");
  }
  // When every connection had closed, the first open rebuilt the wal-index and,
  // not knowing what an interrupted checkpoint wrote, marked every frame as
  // possibly backfilled: no older position could be reopened. This finds which
  // frames certainly were not (they differ from the database file), so a
  // restart can resume at its stored position or the WAL generation's start.
  if (int rc = sqlite3_snapshot_recover(r->conns_[0].get(), "main"); rc != SQLITE_OK) {
    LogDebug("snapshot recovery skipped", {{"db", path}, {"code", rc}});
  }
  r->MapWalIndex();
  LS_RETURN_IF_ERROR(r->MarkFiles());
  return r;
}

DbReader::~DbReader() {
  HoldCheckpointer(conns_[2].get(), false);
  ReleaseAll();
}

bool DbReader::holds_checkpoint_lock() const { return HoldsCheckpointer(conns_[2].get()); }

void DbReader::HoldCheckpointLock(bool hold) {
  sqlite3* db = conns_[2].get();
  if (hold) {
    // A header that is not whole now may be a commit in progress; one that
    // stays so was torn by a crash, and every process's next read recovers
    // the wal-index, under the checkpointer lock.
    WalIndexHeader h;
    if (!ReadWalIndexHeader(&h)) {
      absl::SleepFor(absl::Microseconds(20));
      hold = ReadWalIndexHeader(&h);
    }
  }
  if (!hold || HoldsCheckpointer(db)) {
    HoldCheckpointer(db, hold);
    return;
  }
  // The application takes the lock for a few microseconds after each commit
  // (to find that it has nothing to backfill); a real checkpoint of its own
  // holds it longer: then retry at the next step.
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (HoldCheckpointer(db, true)) {
      ++lock_epoch_;  // others may have checkpointed while we did not hold it
      return;
    }
    absl::SleepFor(absl::Microseconds(10));
  }
  LogDebug("checkpointer lock busy; retrying at the next step", {{"db", path_}});
}

// A historical pin (sqlite3_snapshot_open) takes the checkpointer lock shared,
// on another connection: let it go meanwhile.
class DbReader::CheckpointerPause {
 public:
  explicit CheckpointerPause(DbReader* r) : r_(r), was_(r->holds_checkpoint_lock()) {
    HoldCheckpointer(r_->conns_[2].get(), false);
  }
  ~CheckpointerPause() {
    if (was_) r_->HoldCheckpointLock(true);
  }
  CheckpointerPause(const CheckpointerPause&) = delete;
  CheckpointerPause& operator=(const CheckpointerPause&) = delete;

 private:
  DbReader* r_;
  bool was_;
};

int DbReader::FreeConn() const {
  for (int i = 0; i < 2; ++i) {
    if (i != base_ && i != next_) return i;
  }
  return -1;
}

absl::StatusOr<bool> DbReader::MayHaveChanged() {
  if (base_ >= 0 && header_at_pin_[base_]) {
    WalIndexHeader now;
    if (ReadWalIndexHeader(&now)) return now != *header_at_pin_[base_];
  }
  int c = FreeConn();
  if (c < 0 || data_version_[c] < 0) return true;
  LS_ASSIGN_OR_RETURN(int64_t v, QueryInt(conns_[c].get(), "PRAGMA data_version", path_));
  return v != data_version_[c];
}

absl::Status DbReader::BeginPin(int conn, const PinToken* token, WalPin* pin) {
  sqlite3* db = conns_[conn].get();
  std::optional<CheckpointerPause> pause;  // sqlite3_snapshot_open takes it shared
  if (token != nullptr) pause.emplace(this);
  // Read before the pin: a commit after it changes the value (a commit in
  // between only causes one needless capture).
  header_at_pin_[conn].reset();
  WalIndexHeader header;
  if (token == nullptr && ReadWalIndexHeader(&header)) header_at_pin_[conn] = header;
  LS_ASSIGN_OR_RETURN(data_version_[conn], QueryInt(db, "PRAGMA data_version", path_));
  LS_RETURN_IF_ERROR(Exec(db, "BEGIN", path_));
  auto fail = [&](absl::Status s) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  };
  if (token != nullptr) {
    sqlite3_snapshot snap;
    std::memcpy(&snap, token->data(), kPinTokenSize);
    int rc = sqlite3_snapshot_open(db, "main", &snap);
    if (rc != SQLITE_OK) {
      return fail(absl::FailedPreconditionError(
          fmt::format("{}: replicated position is no longer in the WAL ({}, code {})", path_,
                      sqlite3_errmsg(db), rc)));
    }
  } else {
    absl::Status s = Exec(db, "SELECT 1 FROM sqlite_schema LIMIT 1", path_);
    if (!s.ok()) return fail(Annotate(s, "begin read transaction"));
  }
  *pin = WalPin{};
  sqlite3_snapshot* snap = nullptr;
  if (sqlite3_snapshot_get(db, "main", &snap) == SQLITE_OK) {
    PinToken now;
    std::memcpy(now.data(), snap, kPinTokenSize);
    sqlite3_snapshot_free(snap);
    const WalPin at = PinFromToken(now);
    pin->has_wal = true;
    pin->salt1 = at.salt1;
    pin->salt2 = at.salt2;
    pin->cursor = at.cursor;
    pin->token = now;
  }
  auto pages = QueryInt(db, "PRAGMA page_count", path_);
  if (!pages.ok()) return fail(pages.status());
  auto page_size = QueryInt(db, "PRAGMA page_size", path_);
  if (!page_size.ok()) return fail(page_size.status());
  pin->page_count = static_cast<uint32_t>(*pages);
  pin->page_size = static_cast<uint32_t>(*page_size);
  return absl::OkStatus();
}

absl::StatusOr<WalPin> DbReader::PinNext() {
  // Recovery of a torn wal-index header, by our read too, needs the lock.
  if (holds_checkpoint_lock()) HoldCheckpointLock(true);
  ReleaseNext();
  int c = FreeConn();
  WalPin pin;
  LS_RETURN_IF_ERROR(BeginPin(c, nullptr, &pin));
  next_ = c;
  pins_[c] = pin;
  return pin;
}

absl::StatusOr<WalPin> DbReader::PinNextAt(const PinToken& token) {
  ReleaseNext();
  int c = FreeConn();
  WalPin pin;
  LS_RETURN_IF_ERROR(BeginPin(c, &token, &pin));
  next_ = c;
  pins_[c] = pin;
  return pin;
}

absl::StatusOr<WalPin> DbReader::PinNextAtGenerationStart() {
  LS_ASSIGN_OR_RETURN(WalPin now, PinNext());
  if (!now.has_wal || now.cursor.frames == 0) return now;  // already the database file alone
  // The generation's position 0: its salts, no frames, the chain starting at the
  // WAL header's checksum, and the database size taken from the file (nPage 0).
  // sqlite3_snapshot_open accepts it only while the salts still match and no
  // checkpoint has attempted any frame of the generation (nBackfillAttempted 0).
  std::string wal = wal_path();
  UniqueFd fd(::open(wal.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    ReleaseNext();
    return ErrnoStatus(err, fmt::format("open {}", wal));
  }
  absl::StatusOr<WalHeader> hdr = ReadWalHeader(fd.get(), wal);
  ReleaseNext();
  if (!hdr.ok()) return hdr.status();
  if (hdr->salt1 != now.salt1 || hdr->salt2 != now.salt2) {
    return absl::FailedPreconditionError(
        fmt::format("{}: the WAL restarted while its generation start was pinned", wal));
  }
  WalCursor start = StartCursor(*hdr);
  WalIndexHdrCopy h;
  std::memcpy(&h, now.token.data(), sizeof h);
  h.mx_frame = 0;
  h.n_page = 0;
  h.frame_cksum[0] = start.cksum1;
  h.frame_cksum[1] = start.cksum2;
  PinToken token;
  std::memcpy(token.data(), &h, sizeof h);
  return PinNextAt(token);
}

void DbReader::PromoteNext() {
  if (next_ < 0) return;
  if (base_ >= 0) sqlite3_exec(conns_[base_].get(), "ROLLBACK", nullptr, nullptr, nullptr);
  base_ = next_;
  next_ = -1;
}

void DbReader::ReleaseNext() {
  if (next_ < 0) return;
  sqlite3_exec(conns_[next_].get(), "ROLLBACK", nullptr, nullptr, nullptr);
  next_ = -1;
}

void DbReader::ReleaseAll() {
  ReleaseNext();
  if (base_ >= 0) sqlite3_exec(conns_[base_].get(), "ROLLBACK", nullptr, nullptr, nullptr);
  base_ = -1;
}

absl::StatusOr<bool> DbReader::BasePage(uint32_t pgno, std::string* out) {
  if (base_ < 0) return absl::InternalError("no base pin");
  if (pgno > pins_[base_].page_count) return false;
  sqlite3_stmt* s = page_stmt_[base_].get();
  sqlite3_reset(s);
  sqlite3_bind_int64(s, 1, pgno);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(s);
    return SqliteStatus(conns_[base_].get(), rc, fmt::format("read page {} of {}", pgno, path_));
  }
  out->assign(static_cast<const char*>(sqlite3_column_blob(s, 0)),
              static_cast<size_t>(sqlite3_column_bytes(s, 0)));
  sqlite3_reset(s);
  return true;
}

absl::Status DbReader::Scan(int conn, const PageFn& fn) {
  sqlite3* db = conns_[conn].get();
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, "SELECT pgno, data FROM sqlite_dbpage", -1, &raw, nullptr);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "scan sqlite_dbpage");
  uint32_t expect = 1;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    auto pgno = static_cast<uint32_t>(sqlite3_column_int64(raw, 0));
    if (pgno != expect) {
      return absl::InternalError(fmt::format("{}: page scan out of order at {}", path_, pgno));
    }
    ++expect;
    std::string_view page(static_cast<const char*>(sqlite3_column_blob(raw, 1)),
                          static_cast<size_t>(sqlite3_column_bytes(raw, 1)));
    LS_RETURN_IF_ERROR(fn(pgno, page));
  }
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, fmt::format("read {}", path_));
  if (expect - 1 != pins_[conn].page_count) {
    return absl::InternalError(fmt::format("{}: scanned {} pages, expected {}", path_, expect - 1,
                                           pins_[conn].page_count));
  }
  return absl::OkStatus();
}

absl::Status DbReader::ScanNext(const PageFn& fn) {
  if (next_ < 0) return absl::InternalError("no next pin");
  return Scan(next_, fn);
}

absl::Status DbReader::ScanBase(const PageFn& fn) {
  if (base_ < 0) return absl::InternalError("no base pin");
  return Scan(base_, fn);
}

absl::Status DbReader::Checkpoint(int mode, int* log, int* done, BusyFn on_busy) {
  LS_RETURN_IF_ERROR(CheckFiles());
  sqlite3* db = conns_[2].get();
  if (on_busy) {
    sqlite3_busy_handler(
        db, [](void* arg, int n) { return (*static_cast<BusyFn*>(arg))(n) ? 1 : 0; }, &on_busy);
  }
  // SQLite does not wait for the checkpointer lock: an application whose WAL is
  // past its autocheckpoint size (ours pins it there) takes that lock briefly at
  // every commit. Unless PASSIVE (where the other checkpointer does the same
  // work), retry soon while another one holds it (no frame counts), for up to
  // the busy timeout.
  absl::Time deadline = absl::Now() + absl::Milliseconds(busy_timeout_ms_);
  int rc = SQLITE_OK;
  while (true) {
    *log = *done = -1;
    rc = sqlite3_wal_checkpoint_v2(db, "main", mode, log, done);
    if (rc != SQLITE_BUSY || *log != -1 || mode == SQLITE_CHECKPOINT_PASSIVE ||
        absl::Now() > deadline) {
      break;
    }
    absl::SleepFor(absl::Microseconds(50));
  }
  if (on_busy) sqlite3_busy_timeout(db, busy_timeout_ms_);
  MarkDatabase();  // our own writes to the database file
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return absl::UnavailableError("checkpoint busy");
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, fmt::format("checkpoint {}", path_));
  return absl::OkStatus();
}

}  // namespace litesync
