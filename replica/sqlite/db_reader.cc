#include "replica/sqlite/db_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "base/endian.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include <sqlite3.h>

#include "replica/sqlite/checkpointer_vfs.h"
#include "replica/sqlite/sqlite_status.h"

namespace litesync {
namespace {

// The layout of sqlite3_snapshot: SQLite's WalIndexHdr (wal.c). Salts are the raw
// big-endian bytes of the WAL header; the other fields are native integers.
struct WalIndexHdrCopy {
  uint32_t version;
  uint32_t unused;
  uint32_t change;
  uint8_t is_init;
  uint8_t big_end_cksum;
  uint16_t page_size;
  uint32_t mx_frame;
  uint32_t n_page;
  uint32_t frame_cksum[2];
  uint8_t salt[8];
  uint32_t cksum[2];
};
static_assert(sizeof(WalIndexHdrCopy) == kPinTokenSize);
static_assert(sizeof(sqlite3_snapshot) == kPinTokenSize);

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

WalPin PinFromToken(const PinToken& token) {
  WalIndexHdrCopy h;
  std::memcpy(&h, token.data(), sizeof h);
  WalPin pin;
  pin.has_wal = h.is_init != 0;
  pin.salt1 = GetBig32(h.salt);
  pin.salt2 = GetBig32(h.salt + 4);
  pin.cursor = WalCursor{h.mx_frame, h.frame_cksum[0], h.frame_cksum[1]};
  pin.page_count = h.n_page;
  // WalIndexHdr stores 65536 as 1 (wal.c: szPage).
  pin.page_size = h.page_size == 1 ? 65536u : h.page_size;
  pin.token = token;
  return pin;
}

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

// The files as SQLite opened them: the first reads above created the -wal and
// -shm when they were missing. (A replacement between those reads and these
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

// SQLite's own mapping of the -shm file's first region, held by the VFS until
// the last connection closes (so for this reader's lifetime); a second mapping of
// our own would cost nothing more but could name a different file.
void DbReader::MapWalIndex() {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(conns_[0].get(), "main", SQLITE_FCNTL_FILE_POINTER, &file) !=
          SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr || file->pMethods->iVersion < 2 ||
      file->pMethods->xShmMap == nullptr) {
    return;
  }
  // Region 0 is mapped already (the connections have read through the WAL);
  // bExtend=0 never creates or grows the file.
  volatile void* region = nullptr;
  int rc = file->pMethods->xShmMap(file, 0, 32 * 1024, 0, &region);
  if ((rc == SQLITE_OK || rc == SQLITE_READONLY) && region != nullptr) {
    shm_ = static_cast<const volatile uint8_t*>(region);
  } else {
    LogDebug("wal-index not mapped; change checks use PRAGMA data_version",
             {{"db", path_}, {"code", rc}});
  }
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

std::optional<WalIndexHeader> DbReader::LiveWalIndexHeader() const {
  WalIndexHeader h;
  if (!ReadWalIndexHeader(&h)) return std::nullopt;
  return h;
}

std::optional<uint32_t> DbReader::FramesPastBase() const {
  std::optional<WalIndexHeader> raw = LiveWalIndexHeader();
  if (!has_base() || !raw) return std::nullopt;
  WalIndexHdrCopy h;
  std::memcpy(&h, raw->data(), sizeof h);
  const WalPin& b = base();
  bool same_gen = b.has_wal && GetBig32(h.salt) == b.salt1 && GetBig32(h.salt + 4) == b.salt2;
  if (!same_gen) return h.mx_frame;  // restarted since: every frame is new
  if (h.mx_frame < b.cursor.frames) return std::nullopt;
  return h.mx_frame - b.cursor.frames;
}

bool DbReader::ReadWalIndexHeader(WalIndexHeader* out) const {
#if defined(__SANITIZE_THREAD__)
  // Memory other processes write under SQLite's own barrier protocol: TSan can
  // neither model it nor build the fence. It checks the fallback (data_version).
  (void)out;
  return false;
#else
  if (shm_ == nullptr) return false;
  // SQLite writes the second copy, a barrier, then the first (walIndexWriteHdr);
  // reading the first, a barrier, then the second sees a torn update as a mismatch.
  const volatile uint8_t* hdr = shm_;
  WalIndexHeader first, second;
  for (size_t i = 0; i < first.size(); ++i) first[i] = hdr[i];
  std::atomic_thread_fence(std::memory_order_acquire);
  for (size_t i = 0; i < second.size(); ++i) second[i] = hdr[first.size() + i];
  constexpr size_t kIsInit = 12;  // WalIndexHdr.isInit
  if (first != second || first[kIsInit] == 0) return false;
  *out = first;
  return true;
#endif
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
