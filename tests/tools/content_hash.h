// The content hash shared by test_writer and the tests: a hash of every row of
// `items` and the `seq` counter, so a restored database can be matched to the
// writer's log line for the same seq.
#pragma once

#include <cstdint>
#include <string>

#include <sqlite3.h>

namespace litesync::testing {

inline uint64_t Fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

// Returns false when the query fails. *seq is meta.seq (0 when absent).
inline bool ContentHash(sqlite3* db, uint64_t* hash, int64_t* seq) {
  uint64_t h = 1469598103934665603ULL;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT * FROM items ORDER BY id", -1, &s, nullptr) != SQLITE_OK) {
    return false;
  }
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    int n = sqlite3_column_count(s);
    for (int i = 0; i < n; ++i) {
      int type = sqlite3_column_type(s, i);
      h = Fnv1a(h, &type, sizeof type);
      if (type == SQLITE_NULL) continue;
      const void* p = type == SQLITE_BLOB ? sqlite3_column_blob(s, i)
                                          : static_cast<const void*>(sqlite3_column_text(s, i));
      int len = sqlite3_column_bytes(s, i);
      h = Fnv1a(h, &len, sizeof len);
      if (len > 0) h = Fnv1a(h, p, static_cast<size_t>(len));
    }
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return false;
  *seq = 0;
  if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k='seq'", -1, &s, nullptr) != SQLITE_OK) {
    return false;
  }
  if (sqlite3_step(s) == SQLITE_ROW) *seq = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  h = Fnv1a(h, seq, sizeof *seq);
  *hash = h;
  return true;
}

}  // namespace litesync::testing
