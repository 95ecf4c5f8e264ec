// The newest state a replica holds: its last lineage and the tx file with the
// highest max_txid there, with that file's header (checksum, size, resume token).
#pragma once

#include <optional>

#include "absl/status/statusor.h"

#include "replica/format/tx_file.h"
#include "replica/storage/replica_client.h"

namespace litesync {

struct ReplicaHead {
  TxFileInfo info;
  TxHeader header;
};

// nullopt for an empty replica. Reads one file header; DataLoss when that file
// cannot be read as a tx file (corrupt, or a partial object that some
// S3-compatible servers leave visible after an interrupted upload).
absl::StatusOr<std::optional<ReplicaHead>> ReadReplicaHead(ReplicaClient& client);

// The files of the newest lineage that holds any (an interrupted lineage start
// may be empty), at the levels ListLineageFiles reads; empty for an empty replica.
absl::StatusOr<std::vector<TxFileInfo>> NewestLineageFiles(ReplicaClient& client);

// The newest tx file by name in NewestLineageFiles (highest max_txid, then the
// newest capture time: how fresh the replica is); nullopt for an empty replica.
absl::StatusOr<std::optional<TxFileInfo>> NewestTxFile(ReplicaClient& client);

// The highest TXID any file name in the replica's newest non-empty lineage
// claims (names only, nothing is read); 0 for an empty replica.
absl::StatusOr<uint64_t> NewestNamedTxid(ReplicaClient& client);

// Every file of a lineage at the levels restore and status look at (0..3 and
// snapshots), in no particular order.
absl::StatusOr<std::vector<TxFileInfo>> ListLineageFiles(ReplicaClient& client, Lineage lineage);

// Opens a file and decodes just its header.
absl::StatusOr<TxHeader> ReadTxHeader(ReplicaClient& client, const TxFileInfo& info);

// "s3://bkt/app/<lineage>/<level>/<name>" for messages.
std::string DescribeFile(const ReplicaClient& client, const TxFileInfo& info);

}  // namespace litesync
