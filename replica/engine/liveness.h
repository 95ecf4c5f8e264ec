// The sidecar's side of the liveness record (replica/format/liveness.h): while
// a replica is caught up and healthy, its shipper calls MaybeWrite after each
// successful step, and the record is written at most every `liveness-interval`
// (one PUT; no request otherwise). Off (no request ever) with a zero interval.
// Not thread-safe: one per replica slot, used by its shipper.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

#include "replica/format/liveness.h"
#include "replica/format/tx_file_info.h"
#include "replica/storage/replica_client.h"

namespace litesync {

class LivenessWriter {
 public:
  // `host` names the writer in the record (for the monitor's messages).
  LivenessWriter(absl::Duration interval, std::string host);

  bool enabled() const { return interval_ > absl::ZeroDuration(); }
  // The newest tx file the replica acknowledged: after every upload, and the one
  // found in the replica when the watcher resumed. A file of another lineage
  // replaces the last one; an older one of the same lineage is ignored.
  void NoteFile(const TxFileInfo& info);
  // Forgets the noted file (a new lineage starts, the chain broke): nothing is
  // written until the next NoteFile.
  void Forget() { file_.reset(); }
  // Call only while the replica holds everything up to the noted file (caught
  // up, no error). Writes the record when enabled, a file was noted, and
  // `interval` passed since the last write (or none was written yet). Errors
  // are the replica's, annotated; the next call tries again.
  absl::Status MaybeWrite(ReplicaClient& client, absl::Time now);
  // When the next write is due; InfiniteFuture when off or no file is noted.
  absl::Time due() const;
  absl::Time last_written() const { return last_; }

 private:
  absl::Duration interval_;
  std::string host_;
  std::optional<TxFileInfo> file_;
  absl::Time last_ = absl::InfinitePast();
};

// This host's name, for LivenessWriter.
std::string LivenessHostName();

}  // namespace litesync
