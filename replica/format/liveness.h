// The liveness record: a small text record at the replica root ("liveness",
// beside the lease) that the replicating side writes, at most every
// `liveness-interval`, while the replica is caught up and healthy. It states
// when the sidecar last confirmed the replica current, in which lineage, up to
// which TXID, and the tx file that holds that TXID. An independent monitor
// (monitor/verdict.h) reads it to tell an idle database from a dead sidecar, and
// checks the claim against the listing. It holds no data, so it is plaintext
// even in encrypted replicas. Pure functions; thread-safe.
//
//   litesync-liveness 1
//   lineage 0000000000000001
//   txid 0000000000000005
//   file 0/0000000000000005-0000000000000005-0000018c3b5e2a10.ltx
//   confirmed_ms 1701000000000
//   host app-1
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "replica/format/tx_file_info.h"

namespace litesync {

inline constexpr char kLivenessRecord[] = "liveness";

struct LivenessRecord {
  Lineage lineage = 0;
  uint64_t txid = 0;  // the replica holds every transaction up to this one
  TxFileInfo file;    // the tx file holding `txid` (its lineage is `lineage`)
  absl::Time confirmed = absl::UnixEpoch();  // when the replica was confirmed current
  std::string host;                          // the writer's host name, for messages
};

std::string EncodeLiveness(const LivenessRecord& r);
// InvalidArgument naming the line for bytes that are not a liveness record.
absl::StatusOr<LivenessRecord> DecodeLiveness(std::string_view bytes);

}  // namespace litesync
