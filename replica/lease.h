// One writer per replica (FIELD_NOTES 13): a deploy overlap, or two configs that
// name the same replica, must not run two sidecars writing one replica, whose
// lineages would interleave. The writer holds a lease: a record "lease" at the
// replica root naming its owner (host, pid, a random id) and an expiry. Before
// writing, the owner acquires it, then renews it while it writes; a clean stop
// releases it. Another instance refuses to write while the lease is live; a
// holder on the same host whose process is gone (kill -9, or a restarted
// container that reuses the pid) is taken over at once, others when they expire.
// Storage without conditional writes cannot make this airtight: two instances
// that acquire in the same moment both read their own record back only if one
// write lands between the other's write and read. It stops the common overlaps.
// Not thread-safe: one per replica slot, used by its watcher.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

#include "replica/replica_client.h"

namespace litesync {

inline constexpr char kLeaseRecord[] = "lease";
inline constexpr absl::Duration kLeaseTtl = absl::Seconds(30);

struct LeaseRecord {
  std::string owner;    // random per lease object
  std::string process;  // random per process: tells a restarted container from a live one
  std::string host;
  int64_t pid = 0;
  absl::Time expires;
};

std::string EncodeLease(const LeaseRecord& r);
// InvalidArgument for a record that is not a lease.
absl::StatusOr<LeaseRecord> DecodeLease(std::string_view bytes);

class ReplicaLease {
 public:
  ReplicaLease();

  // OK when this instance holds the lease on `client`, acquiring or renewing it
  // when due (no request otherwise). FailedPrecondition naming the holder while
  // another instance holds it; Aborted when this instance got the lease after
  // such a refusal (the other instance may have written: re-read the replica
  // before writing, then call again); the replica's own errors as they come.
  absl::Status Ensure(ReplicaClient& client, absl::Time now);
  // Gives the lease up (an expired record) when held; errors are for the log only.
  absl::Status Release(ReplicaClient& client, absl::Time now);
  bool held() const { return held_; }

 private:
  LeaseRecord Mine(absl::Time expires) const;
  bool Stale(const LeaseRecord& r, absl::Time now) const;

  std::string owner_;
  bool held_ = false;
  bool refused_ = false;  // another instance held it at the last attempt
  absl::Time renew_at_ = absl::InfinitePast();
};

}  // namespace litesync
