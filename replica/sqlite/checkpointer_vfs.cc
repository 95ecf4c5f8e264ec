// The "litesync-checkpointer" VFS: "unix" with a checkpointer lock that a
// connection can keep between its own checkpoints (checkpointer_vfs.h).
#include "replica/sqlite/checkpointer_vfs.h"

#include <mutex>

namespace litesync {
namespace {

constexpr char kName[] = "litesync-checkpointer";
// The -shm lock slot SQLite's WAL code gives the checkpointer (WAL_CKPT_LOCK in
// wal.c: 0 is the writer, 1 the checkpointer, 2 recovery, 3.. the readers).
constexpr int kCheckpointer = 1;

struct File {
  sqlite3_file base;   // pMethods: kMethods
  sqlite3_file* real;  // the unix VFS's file, in the bytes after this struct
  bool held;           // the real lock is taken for the connection's owner
  bool sqlite_has;     // SQLite, on this connection, believes it holds it
};
static_assert(sizeof(File) % 8 == 0, "the unix VFS's file follows, 8-byte aligned");

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }
const sqlite3_io_methods* M(sqlite3_file* f) { return Real(f)->pMethods; }
// The unix VFS's files on Linux are version 3 (shared memory, memory maps).
bool HasShm(sqlite3_file* f) { return M(f)->iVersion >= 2 && M(f)->xShmMap != nullptr; }

int RealLock(File* p, int flags) {
  return p->real->pMethods->xShmLock(p->real, kCheckpointer, 1, flags | SQLITE_SHM_EXCLUSIVE);
}

int ShmLock(sqlite3_file* f, int ofst, int n, int flags) {
  auto* p = reinterpret_cast<File*>(f);
  if (!HasShm(f)) return SQLITE_IOERR_SHMLOCK;
  if (p->held && ofst <= kCheckpointer && kCheckpointer < ofst + n) {
    if (ofst == kCheckpointer && n == 1) {  // this connection's checkpoint: already ours
      p->sqlite_has = (flags & SQLITE_SHM_LOCK) != 0;
      return SQLITE_OK;
    }
    // More than the checkpointer lock (wal-index recovery): let it go first.
    if (!p->sqlite_has) RealLock(p, SQLITE_SHM_UNLOCK);
    p->held = false;
    p->sqlite_has = false;
  }
  return M(f)->xShmLock(Real(f), ofst, n, flags);
}

int ShmUnmap(sqlite3_file* f, int delete_flag) {
  auto* p = reinterpret_cast<File*>(f);
  if (!HasShm(f)) return SQLITE_OK;
  if (p->held && !p->sqlite_has) RealLock(p, SQLITE_SHM_UNLOCK);
  p->held = false;
  return M(f)->xShmUnmap(Real(f), delete_flag);
}

// Everything else goes to the unix VFS's file unchanged.
int Close(sqlite3_file* f) { return M(f)->xClose(Real(f)); }
int Read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) { return M(f)->xRead(Real(f), b, n, o); }
int Write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  return M(f)->xWrite(Real(f), b, n, o);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) { return M(f)->xTruncate(Real(f), size); }
int Sync(sqlite3_file* f, int flags) { return M(f)->xSync(Real(f), flags); }
int FileSize(sqlite3_file* f, sqlite3_int64* size) { return M(f)->xFileSize(Real(f), size); }
int Lock(sqlite3_file* f, int level) { return M(f)->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return M(f)->xUnlock(Real(f), level); }
int CheckReserved(sqlite3_file* f, int* out) { return M(f)->xCheckReservedLock(Real(f), out); }
int FileControl(sqlite3_file* f, int op, void* arg) { return M(f)->xFileControl(Real(f), op, arg); }
int SectorSize(sqlite3_file* f) { return M(f)->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) { return M(f)->xDeviceCharacteristics(Real(f)); }
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  if (!HasShm(f)) return SQLITE_IOERR_SHMMAP;
  return M(f)->xShmMap(Real(f), region, size, extend, out);
}
void ShmBarrier(sqlite3_file* f) {
  if (HasShm(f)) M(f)->xShmBarrier(Real(f));
}
int Fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** out) {
  if (M(f)->iVersion < 3) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return M(f)->xFetch(Real(f), o, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 o, void* page) {
  if (M(f)->iVersion < 3) return SQLITE_OK;
  return M(f)->xUnfetch(Real(f), o, page);
}

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReserved,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* unix = static_cast<sqlite3_vfs*>(vfs->pAppData);
  auto* p = reinterpret_cast<File*>(f);
  p->real = reinterpret_cast<sqlite3_file*>(p + 1);
  p->held = false;
  p->sqlite_has = false;
  int rc = unix->xOpen(unix, name, p->real, flags, out_flags);
  p->base.pMethods = p->real->pMethods == nullptr ? nullptr : &kMethods;
  return rc;
}

sqlite3_vfs* Vfs() {
  static sqlite3_vfs vfs;
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_vfs* unix = sqlite3_vfs_find("unix");
    vfs = *unix;
    vfs.szOsFile = static_cast<int>(sizeof(File)) + unix->szOsFile;
    vfs.zName = kName;
    vfs.pAppData = unix;
    vfs.pNext = nullptr;
    vfs.xOpen = Open;
    sqlite3_vfs_register(&vfs, 0);
  });
  return &vfs;
}

File* FileOf(sqlite3* db) {
  sqlite3_file* f = nullptr;  // the pager's file: ours when opened with this VFS
  if (db == nullptr ||        // a DbReader whose Open failed before this connection
      sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK ||
      f == nullptr || f->pMethods != &kMethods) {
    return nullptr;
  }
  return reinterpret_cast<File*>(f);
}

}  // namespace

const char* CheckpointerVfsName() { return Vfs()->zName; }

bool HoldCheckpointer(sqlite3* db, bool hold) {
  File* p = FileOf(db);
  if (p == nullptr) return false;
  if (hold == p->held) return true;
  if (!hold) {
    // While SQLite uses it (never, between statements) its own unlock releases it.
    if (!p->sqlite_has && RealLock(p, SQLITE_SHM_UNLOCK) != SQLITE_OK) return false;
    p->held = false;
    return true;
  }
  // Not attached to the -shm (SQLite has not opened the WAL on `db`): an error.
  // Attaching here would leave the attachment, and an open file, behind when
  // `db` closes, as SQLite only detaches what its WAL code attached.
  if (RealLock(p, SQLITE_SHM_LOCK) != SQLITE_OK) return false;
  p->held = true;
  return true;
}

bool HoldsCheckpointer(sqlite3* db) {
  File* p = FileOf(db);
  return p != nullptr && p->held;
}

}  // namespace litesync
