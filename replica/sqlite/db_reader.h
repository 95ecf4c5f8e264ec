// The watcher's SQLite side. Two read-only connections take turns holding a read
// transaction, so one is always pinned: the "base" pin is the position already
// captured, the "next" pin the one being captured. While a pin is held SQLite can
// neither restart the WAL under it nor checkpoint past it (a reader on frame 0
// blocks backfilling altogether), so frames between the pins stay readable and
// page versions at the base position stay readable through sqlite_dbpage.
// Positions come from sqlite3_snapshot_get (the wal-index header): generation
// salts, last frame and its running checksum. Not thread-safe.
// Defined in db_reader.cc (opening, pins, pages, checkpoints), db_reader_files.cc
// (whether the files opened are still the ones at their paths) and
// db_reader_wal_index.cc (the wal-index header in the -shm mapping).
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/handles.h"

#include "replica/sqlite/wal_reader.h"

namespace litesync {

inline constexpr size_t kPinTokenSize = 48;  // sizeof(sqlite3_snapshot)
using PinToken = std::array<uint8_t, kPinTokenSize>;
// One copy of SQLite's wal-index header (WalIndexHdr, 48 bytes), as raw bytes.
using WalIndexHeader = std::array<uint8_t, 48>;

struct WalPin {
  bool has_wal = false;  // false: the WAL has never held a frame in this generation
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  WalCursor cursor;         // frames visible and the running checksum after them
  uint32_t page_count = 0;  // database size in pages at this position
  uint32_t page_size = 0;
  PinToken token{};  // opaque; reopens this position while it is still in the WAL
};

// What a token says of its position (salts, frames and running checksum, size)
// without opening it: for a position SQLite no longer has.
WalPin PinFromToken(const PinToken& token);

// Checks that `path` can be a SQLite database: NotFound when it does not exist,
// FailedPrecondition (naming the path) for a directory or a file that does not
// start with SQLite's 16-byte header; an empty file passes (SQLite initializes it).
absl::Status CheckSqliteHeader(const std::string& path);

class DbReader {
 public:
  // Opens `path` (must exist and be a SQLite database), switching it to WAL mode
  // when it is not (logged). FailedPrecondition for a non-database.
  static absl::StatusOr<std::unique_ptr<DbReader>> Open(const std::string& path,
                                                        absl::Duration busy_timeout);
  ~DbReader();

  // Pins the current state on the free connection as the "next" pin.
  absl::StatusOr<WalPin> PinNext();
  // Pins the historical position `token` as the next pin; FailedPrecondition
  // when SQLite no longer has it (WAL restarted or checkpointed past it).
  absl::StatusOr<WalPin> PinNextAt(const PinToken& token);
  // Pins the start of the current WAL generation as the next pin: the database
  // file alone, before any of the generation's frames. SQLite still has that
  // state while nothing of the generation was checkpointed into the database
  // file (its read mark 0 then blocks checkpoints while the pin is held); after
  // a restart of the WAL (a TRUNCATE checkpoint, the WAL deleted on the last
  // close) it is where the new generation continues from. FailedPrecondition
  // when it is gone. The caller verifies what it holds (by checksum).
  absl::StatusOr<WalPin> PinNextAtGenerationStart();
  // False when nothing was committed since the base pin was taken: the
  // wal-index header in the shared `-shm` mapping (SQLite's own, through the
  // VFS xShmMap) is byte for byte what it was just before that pin. Every
  // commit, WAL restart and checkpoint-restart rewrites that header (frame
  // count, running checksum, salts, change counter), so a quiet database costs
  // a 96-byte read and no syscall. Falls back to PRAGMA data_version on the free
  // connection when the header cannot be read or the base was pinned at a
  // historical position. True when unknown (a needless pin, never a missed commit).
  absl::StatusOr<bool> MayHaveChanged();
  // The next pin becomes the base; the old base is released.
  void PromoteNext();
  void ReleaseNext();
  void ReleaseAll();
  bool has_base() const { return base_ >= 0; }
  const WalPin& base() const { return pins_[base_]; }
  const WalPin& next() const { return pins_[next_]; }

  // Page `pgno` at the base position into *out. False when pgno is beyond it.
  absl::StatusOr<bool> BasePage(uint32_t pgno, std::string* out);
  // Every page 1..page_count of the next (or base) pin, in order.
  using PageFn = std::function<absl::Status(uint32_t pgno, std::string_view page)>;
  absl::Status ScanNext(const PageFn& fn);
  absl::Status ScanBase(const PageFn& fn);

  // The live wal-index header; nullopt when it cannot be read (no mapping, a
  // writer updating it, or a TSan build). Every commit changes it.
  std::optional<WalIndexHeader> LiveWalIndexHeader() const;
  // Frames committed after the base pin, from the live wal-index header: no
  // syscall; after a restart of the WAL, its frames. nullopt when unknown.
  std::optional<uint32_t> FramesPastBase() const;

  // A checkpoint on a connection holding no pin. *log/*done: WAL frames and frames
  // checkpointed (as sqlite3_wal_checkpoint_v2); Unavailable when it was busy.
  // `on_busy(n)` (optional) runs whenever SQLite would wait for a lock: for
  // RESTART/TRUNCATE, first for the application's writer lock, then (holding it,
  // so the WAL cannot grow) for readers; it returns false to give up.
  using BusyFn = std::function<bool(int attempt)>;
  absl::Status Checkpoint(int mode, int* log, int* done, BusyFn on_busy = nullptr);

  // litesync as the database's only checkpointer (docs/FORMAT.md, "The only checkpointer").
  // With `hold`, takes SQLite's checkpointer lock (through the VFS's own
  // xShmLock, on the checkpoint connection, which is on the checkpointer VFS)
  // and keeps it through litesync's own checkpoints: the application's
  // checkpoints, its autocheckpoint after each commit included, then return
  // SQLITE_BUSY at once instead of sorting and backfilling inside its commits.
  // Released around historical pins, when the reader closes, and whenever the live
  // wal-index header cannot be read whole (a torn header needs SQLite's
  // recovery, which takes that lock). Call at every step: it re-checks.
  void HoldCheckpointLock(bool hold);
  bool holds_checkpoint_lock() const;

  // OK while the files this reader opened are the ones at their paths: the
  // database (the same inode), its -wal and -shm (neither deleted nor
  // replaced), and, while litesync held the checkpointer lock since it last
  // looked, the database file unchanged but by litesync's own checkpoints (in
  // WAL mode nothing else writes it). FailedPrecondition naming what changed:
  // the reader must be closed, never checkpoint again (its WAL would be written
  // into another database); NotFound when the database is gone. Checkpoint
  // checks it first too.
  absl::Status CheckFiles();

  const std::string& path() const { return path_; }
  std::string wal_path() const { return path_ + "-wal"; }

 private:
  DbReader() = default;
  absl::Status BeginPin(int conn, const PinToken* token, WalPin* pin);
  absl::Status Scan(int conn, const PageFn& fn);
  int FreeConn() const;
  // The live wal-index header (first copy, when both copies agree); false when
  // unavailable (no shared-memory mapping, or a writer is updating it).
  bool ReadWalIndexHeader(WalIndexHeader* out) const;
  void MapWalIndex();
  class CheckpointerPause;

  // A file as opened: device and inode; for the database also its size and
  // modification time, and the checkpointer-lock epoch they were read in.
  struct FileMark {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    struct timespec mtime = {};
    uint64_t epoch = 0;
  };
  absl::Status MarkFiles();
  void MarkDatabase();

  std::string path_;
  FileMark db_mark_, wal_mark_, shm_mark_;
  uint64_t lock_epoch_ = 0;  // counts acquisitions of the checkpointer lock
  SqliteDb conns_[3];
  SqliteStmt page_stmt_[2];
  WalPin pins_[2];
  int base_ = -1;
  int next_ = -1;
  int busy_timeout_ms_ = 1000;
  int64_t data_version_[2] = {-1, -1};  // at each connection's last pin
  // The wal-index header read just before each connection's last PinNext;
  // nullopt after PinNextAt (its position is older than the header).
  std::optional<WalIndexHeader> header_at_pin_[2];
  const volatile uint8_t* shm_ = nullptr;  // the -shm's first region, SQLite's mapping
};

}  // namespace litesync
