// The newest state a replica holds: its last lineage and the tx file with the
// highest max_txid there, with that file's header (checksum, size, resume token).
#pragma once

#include <optional>

#include "absl/status/statusor.h"

#include "replica/replica_client.h"
#include "replica/tx_file.h"

namespace litesync {

struct ReplicaHead {
  TxFileInfo info;
  TxHeader header;
};

// nullopt for an empty replica. Reads one file header.
absl::StatusOr<std::optional<ReplicaHead>> ReadReplicaHead(ReplicaClient& client);

// Every file of a lineage at the levels restore and status look at (0..3 and
// snapshots), in no particular order.
absl::StatusOr<std::vector<TxFileInfo>> ListLineageFiles(ReplicaClient& client, Lineage lineage);

// Opens a file and decodes just its header.
absl::StatusOr<TxHeader> ReadTxHeader(ReplicaClient& client, const TxFileInfo& info);

// "s3://bkt/app/<lineage>/<level>/<name>" for messages.
std::string DescribeFile(const ReplicaClient& client, const TxFileInfo& info);

}  // namespace litesync
