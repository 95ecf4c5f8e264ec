// A SQLite VFS ("litesync-checkpointer") for the one connection per database
// that runs litesync's checkpoints: the "unix" VFS, except that the connection
// can keep SQLite's checkpointer lock between its checkpoints.
//
// SQLite takes that lock (a byte of the -shm file) for every checkpoint, the
// application's autocheckpoint after each commit included; a checkpointer that
// finds it taken returns SQLITE_BUSY at once. Held here, the application's
// checkpoints do nothing, and litesync's own run without ever letting go of it:
// while held, this connection's requests for it are granted by the VFS and its
// releases kept, so no other process can take it in between (docs/FORMAT.md,
// "Checkpoints").
#pragma once

#include <sqlite3.h>

namespace litesync {

// Registers the VFS (once, thread-safe) and returns its name for sqlite3_open_v2.
const char* CheckpointerVfsName();

// `db` must have been opened with that VFS and have read the database in WAL
// mode (so SQLite's WAL code attached it to the -shm). Takes the lock (false
// when another connection or process holds it, or `db` is not on this VFS) or
// lets it go (once SQLite itself, on `db`, no longer uses it). A request by
// SQLite that takes more than the checkpointer lock (recovery of a torn
// wal-index) first lets it go.
bool HoldCheckpointer(sqlite3* db, bool hold);
bool HoldsCheckpointer(sqlite3* db);

}  // namespace litesync
