// Helpers for the monitor's tests: a replica written by the real litesync binary,
// and the files in a directory replica.
#pragma once

#include <string>
#include <vector>

#include "replica/format/tx_file_info.h"
#include "tests/testutil/temp_dir.h"

namespace litesync::testing {

// Writes `txns` transactions to `db` with tests/test_writer, then syncs it once
// to `replica` (a directory or URL) with `litesync replicate -once`; `extra`
// lines go into the replica's config block (e.g. "      liveness-interval: 1s").
// "" on success, else what went wrong (with the programs' output).
std::string WriteAndSyncOnce(const TempDir& dir, const std::string& db, const std::string& replica,
                             int txns, int seed, const std::string& extra = "");

// Every tx file of a directory replica (levels 0 to 9 of every lineage), by path.
std::vector<std::string> TxFilePaths(const std::string& replica_dir);

// Flips one bit in the middle of `path` (a tx file's body).
void FlipBit(const std::string& path);

}  // namespace litesync::testing
