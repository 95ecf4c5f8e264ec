#include "replica/storage/replica_head.h"

#include <algorithm>

#include "base/status.h"
#include "fmt/format.h"

namespace litesync {

std::string DescribeFile(const ReplicaClient& client, const TxFileInfo& info) {
  return fmt::format("{}/{}", client.Describe(), info.RelativePath());
}

absl::StatusOr<std::vector<TxFileInfo>> ListLineageFiles(ReplicaClient& client, Lineage lineage) {
  std::vector<TxFileInfo> all;
  for (int level : {0, 1, 2, 3, kSnapshotLevel}) {
    LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files, client.List(lineage, level));
    all.insert(all.end(), files.begin(), files.end());
  }
  return all;
}

absl::StatusOr<TxHeader> ReadTxHeader(ReplicaClient& client, const TxFileInfo& info) {
  std::string what = DescribeFile(client, info);
  LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> reader, client.Open(info));
  std::string buf(kTxHeaderSize, '\0');
  size_t got = 0;
  while (got < buf.size()) {
    LS_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data() + got, buf.size() - got));
    if (n == 0) break;
    got += n;
  }
  buf.resize(got);
  LS_ASSIGN_OR_RETURN(TxHeader h, DecodeTxHeader(buf, what));
  if (h.lineage != info.lineage || h.min_txid != info.min_txid || h.max_txid != info.max_txid) {
    return absl::DataLossError(fmt::format("{}: header does not match its name", what));
  }
  return h;
}

absl::StatusOr<std::vector<TxFileInfo>> NewestLineageFiles(ReplicaClient& client) {
  LS_ASSIGN_OR_RETURN(std::vector<Lineage> lineages, client.ListLineages());
  for (auto it = lineages.rbegin(); it != lineages.rend(); ++it) {
    LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files, ListLineageFiles(client, *it));
    if (!files.empty()) return files;
  }
  return std::vector<TxFileInfo>();
}

absl::StatusOr<std::optional<ReplicaHead>> ReadReplicaHead(ReplicaClient& client) {
  LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files, NewestLineageFiles(client));
  if (files.empty()) return std::optional<ReplicaHead>();
  // At equal TXIDs a snapshot: one file restores the whole state.
  const TxFileInfo* best = &files[0];
  for (const TxFileInfo& f : files) {
    if (f.max_txid > best->max_txid ||
        (f.max_txid == best->max_txid && f.level == kSnapshotLevel)) {
      best = &f;
    }
  }
  LS_ASSIGN_OR_RETURN(TxHeader h, ReadTxHeader(client, *best));
  return std::optional<ReplicaHead>(ReplicaHead{*best, h});
}

absl::StatusOr<std::optional<TxFileInfo>> NewestTxFile(ReplicaClient& client) {
  LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files, NewestLineageFiles(client));
  std::optional<TxFileInfo> best;
  // At equal TXIDs the newest capture time: how fresh the replica is.
  for (const TxFileInfo& f : files) {
    if (!best || f.max_txid > best->max_txid ||
        (f.max_txid == best->max_txid && f.timestamp > best->timestamp)) {
      best = f;
    }
  }
  return best;
}

absl::StatusOr<uint64_t> NewestNamedTxid(ReplicaClient& client) {
  LS_ASSIGN_OR_RETURN(std::optional<TxFileInfo> newest, NewestTxFile(client));
  return newest ? newest->max_txid : 0;
}

}  // namespace litesync
