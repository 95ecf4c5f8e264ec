// One writer per replica: a deploy overlap, or two configs that name the same
// replica, must not run two sidecars writing one replica, whose lineages would
// interleave (docs/FORMAT.md, "The lease"). The writer holds a lease: a record
// "lease" at the replica root naming its owner (host, pid, the process's start
// time, a random id) and an expiry. Before writing, the owner acquires it, then
// renews it while it writes; a clean stop releases it. Another instance waits
// while the lease is live; a holder on the same host whose process is gone
// (kill -9, a zombie, a restarted container that reuses the pid) is taken over
// at once, others when they expire.
//
// Acquisition is atomic where the storage enforces conditional writes (a
// directory: link(2) and flock(2); S3 servers that honour If-None-Match and
// If-Match): of two instances that read the same record, one write fails. Where
// the storage ignores them (s3rver), a first acquisition is confirmed by reading
// the record back kLeaseSettle after writing it: of instances that wrote within
// that window, only the last still finds its own record. That fallback holds
// when a lease write lands within kLeaseSettle of the read before it.
//
// Renewal costs one PUT and no read: while the lease is live no other instance
// writes the record, so the holder renews it with If-Match on the version its
// own last write returned (enforced or not); only a renewal that comes late (the
// holder stalled near its expiry) or fails its condition reads the record first.
// The lifetime, kLeaseTtl, weighs requests against takeover: renewed at half of
// it, a writer pays kLeaseTtl / 2 apart one PUT (30 an hour at 4 min), and an
// instance on another host waits up to kLeaseTtl after the holder crashed (on
// the same host a dead holder is taken over at once, a clean stop releases).
// Not thread-safe: one per replica slot, used by its watcher.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

#include "replica/storage/replica_client.h"

namespace litesync {

inline constexpr char kLeaseRecord[] = "lease";
inline constexpr absl::Duration kLeaseTtl = absl::Minutes(4);
inline constexpr absl::Duration kLeaseSettle = absl::Seconds(2);

struct LeaseRecord {
  std::string owner;    // random per lease object
  std::string process;  // random per process: tells a restarted container from a live one
  std::string host;
  int64_t pid = 0;
  uint64_t start = 0;  // the process's start time (clock ticks after boot); 0: unknown
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
  // another instance holds it (this one waits). Unavailable while a first
  // acquisition on storage that ignores conditional writes is being confirmed:
  // nothing may be written yet; call again at confirm_at(). Aborted when this
  // instance got the lease after waiting for it, or after it had lost it (the
  // other instance may have written: re-read the replica before writing; lost()
  // says which, then call again); the replica's own errors as they come.
  absl::Status Ensure(ReplicaClient& client, absl::Time now);
  // Gives the lease up (an expired record) when held; errors are for the log only.
  absl::Status Release(ReplicaClient& client, absl::Time now);
  bool held() const { return held_; }
  bool confirming() const { return confirm_at_ != absl::InfinitePast(); }
  absl::Time confirm_at() const { return confirm_at_; }
  // True after Ensure returned Aborted for a lease this instance had held and
  // lost to another writer (until the next Ensure).
  bool lost() const { return lost_; }

 private:
  LeaseRecord Mine(absl::Time expires) const;
  bool Stale(const LeaseRecord& r, absl::Time now) const;
  absl::Status Wait(ReplicaClient& client, const LeaseRecord& theirs);
  absl::Status Acquired(ReplicaClient& client, absl::Time now, std::string version);
  // Renews a live lease with one conditional PUT; false when that did not work
  // out and the caller must read the record (*status: a storage error to return).
  bool RenewBlind(ReplicaClient& client, absl::Time now, absl::Status* status);

  std::string owner_;
  bool held_ = false;
  bool refused_ = false;  // another instance held it at the last attempt
  bool lost_ = false;     // ...and this one had held it before
  absl::Time renew_at_ = absl::InfinitePast();
  absl::Time expires_ = absl::InfinitePast();  // of the record this instance last wrote
  std::string version_;                        // ...and its version, as the storage told it
  absl::Time confirm_at_ = absl::InfinitePast();
};

}  // namespace litesync
