// Commit-to-durable lag: joins the writer's log ("seq 0 unix_ns" per commit) with
// a dir_watch event log of the replica, and prints one line of statistics:
//   n=… missing=… negative=… p50_ms=… p90_ms=… p99_ms=… max_ms=… files=… offset=…
// A seq is durable at the first event after which the replica holds it. `missing`
// counts seqs never seen durable, `negative` those "durable" before their commit
// (a wrong TXID offset shows up there).
#pragma once

#include <cstdint>
#include <string>

namespace litesync::bench {

// litesync: tx files are named by TXID range; TXID = seq + offset, where offset is
// the replica's highest TXID minus `final_seq` (the seq a restore of it holds).
int LagLitesync(const std::string& writer_log, const std::string& events,
                const std::string& replica, int64_t final_seq);

// Litestream v0.3.13: each WAL segment or snapshot is decoded and the writer's
// meta page found in it, so a seq's segment is known exactly. `db` gives the page size.
int LagLitestream(const std::string& writer_log, const std::string& events,
                  const std::string& replica, const std::string& db);

}  // namespace litesync::bench
