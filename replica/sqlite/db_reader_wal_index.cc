// DbReader's view of SQLite's wal-index: the header in SQLite's -shm mapping,
// read whole or not at all, the frames past the base pin it shows, and what a
// pin token (a copy of the header) says of its position.
#include <atomic>
#include <cstring>

#include "base/endian.h"
#include "base/log.h"
#include <sqlite3.h>

#include "replica/sqlite/db_reader.h"
#include "replica/sqlite/wal_index_layout.h"

namespace litesync {

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

}  // namespace litesync
