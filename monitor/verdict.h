// The monitor's verdict on one replica, from storage alone: is the
// data in it current, and (when asked) does it restore? Read-only: a check
// sends LIST and GET requests only (docs/monitor.md lists them).
//
// Fresh means the replica holds data that was current at most `max_age` ago:
// the newest tx file's capture time (from its name), or the time of the
// liveness record (replica/format/liveness.h) when the lineage and TXID it
// claims are really in the listing. A claim beyond what storage holds is
// reported, never trusted. Litestream objects beside litesync's are ignored.
//
// Judge is not thread-safe per client (one thread at a time, like the client);
// verifications share the monitor host's disk, so callers run one at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "base/clock.h"
#include "base/request_counts.h"

#include "replica/format/tx_file_info.h"
#include "replica/storage/replica_client.h"

namespace litesync {

struct JudgeOptions {
  // Fresh when the newest current data is at most this old.
  absl::Duration max_age = absl::Minutes(10);
  // Also restore the latest state into a scratch file, check the checksum chain
  // and run PRAGMA integrity_check (one restore; the scratch file is removed).
  bool verify = false;
  // Where the verification's scratch file goes (base/scratch_dir.h: empty means
  // $TMPDIR, else /tmp). It needs room for one copy of the database.
  std::string scratch_dir;
  // Encrypted replicas are read through the client: NewReplicaClient with
  // ReplicaOptions::age.identities set. Without an identity the verdict still
  // judges freshness (names are plaintext) and reports verification impossible.
};

enum class VerdictState {
  kFresh,                // current data within max_age (and verified, when asked)
  kStale,                // the newest data (and any confirmed liveness) is older than max_age
  kNoLivenessRecord,     // stale by its files and no liveness record: an idle database
                         // whose sidecar has no liveness-interval, or a dead sidecar
  kLivenessUnconfirmed,  // stale by its files, and the liveness record claims a lineage,
                         // TXID or file the listing does not hold
  kEmpty,                // no litesync lineage in the replica
  kUnreachable,          // the replica could not be listed or read
  kVerifyFailed,         // fresh, but the restore or its checks failed
  kVerifyImpossible,     // fresh, but verification cannot run (encrypted, no identity)
};

// "fresh", "stale", "no-liveness-record", "liveness-unconfirmed", "empty",
// "unreachable", "verify-failed", "verify-impossible" (-json, logs, metrics).
std::string_view VerdictStateName(VerdictState state);

struct LivenessSeen {
  bool present = false;    // a record was read
  bool confirmed = false;  // its lineage and TXID are in the listing
  Lineage lineage = 0;
  uint64_t txid = 0;
  absl::Time time = absl::InfinitePast();  // when the sidecar confirmed the replica current
  std::string host;
};

struct VerificationResult {
  bool ran = false;  // a restore was attempted
  bool ok = false;
  Lineage lineage = 0;
  uint64_t txid = 0;       // the state restored
  size_t files = 0;        // tx files the restore read
  absl::Duration elapsed;  // wall time of the restore and its checks
  std::string error;       // why it failed or could not run; names the file where known
};

struct ReplicaVerdict {
  std::string replica;  // the replica's redacted address (ReplicaClient::Describe)
  bool fresh = false;   // state == kFresh
  VerdictState state = VerdictState::kUnreachable;
  // Empty when fresh; otherwise why, naming the replica and the object concerned
  // ("newest tx file 0000000000000001/0/...ltx captured 12m ago, max-age 10m").
  std::string reason;
  absl::Time checked = absl::InfinitePast();  // the clock's time at the check

  // The newest litesync lineage and its newest tx file (levels 0 and 9).
  std::optional<TxFileInfo> newest_file;
  absl::Time newest_capture = absl::InfinitePast();  // newest_file's capture time
  // The time the data is known current (the newer of newest_capture and a
  // confirmed liveness record); its age is what max_age bounds.
  absl::Time current_at = absl::InfinitePast();
  LivenessSeen liveness;

  VerificationResult verification;
  // Set when this check's verification passed (the daemon carries it between checks).
  absl::Time last_good_verification = absl::InfinitePast();

  // The requests this check sent to the replica's storage, by op.
  RequestCounts requests;
};

// Judges one replica now (clock.Now()). Never fails: a replica that cannot be
// listed or read is a verdict (kUnreachable) with the error as its reason.
ReplicaVerdict Judge(ReplicaClient& client, const JudgeOptions& options, Clock& clock);

}  // namespace litesync
