// `litesync snapshots` and `litesync ltx`: list the tx files a replica holds
// (lineage, level, TXID range, size, capture time), as a table or as JSON.
// Main thread only.
#pragma once

#include <string>
#include <vector>

namespace litesync {

// `litesync snapshots [-config PATH] [-replica NAME] [-json] DBPATH | REPLICA-URL`:
// the snapshots (level 9) only.
int RunSnapshotsCommand(const std::vector<std::string>& args);

// `litesync ltx [-config PATH] [-level N|all] [-replica NAME] [-json] DBPATH | REPLICA-URL`:
// the files of one level, or of every level (the default).
int RunLtxCommand(const std::vector<std::string>& args);

}  // namespace litesync
