// SQLite's wal-index header as it lies in memory, for DbReader's files only
// (db_reader.cc, db_reader_wal_index.cc): a sqlite3_snapshot is a copy of it.
#pragma once

#include <cstdint>

#include <sqlite3.h>

#include "replica/sqlite/db_reader.h"

namespace litesync {

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

}  // namespace litesync
