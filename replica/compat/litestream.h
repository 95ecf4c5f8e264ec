// Read-only access to Litestream replicas found where litesync keeps its own, so
// that `litesync restore` restores what Litestream wrote before the switch:
//   v0.3.x  generations/<generation 16 hex>/snapshots/<index 8 hex>.snapshot.lz4
//           generations/<generation>/wal/<index 8 hex>_<offset 8 hex>.wal.lz4
//           (a snapshot is the database file, a WAL segment the bytes of the WAL
//           from that offset on; both LZ4 frames; times are the objects' storage
//           times, as Litestream v0.3 itself uses them)
//   v0.5.x  LTX files (superfly/ltx) <min TXID>-<max TXID>.ltx by level 0-9, under
//           ltx/<level>/ in a directory and <level as 4 hex>/ on S3 (Litestream's
//           file and S3 clients lay them out differently); times are the LTX headers'.
// Nothing here writes to a replica. Plans follow Litestream's own restore
// (replica.go in benbjohnson/litestream): see docs/litestream.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "replica/restore/restore.h"
#include "replica/storage/replica_client.h"

namespace litesync {

enum class LitestreamFormat { kV3, kV5 };

// What PlanLitestreamRestore chose: the objects to apply, in order.
struct LitestreamPlan {
  LitestreamFormat format = LitestreamFormat::kV3;
  std::string generation;        // v0.3: the generation restored
  std::optional<uint64_t> txid;  // v0.5: the TXID restored (v0.3 has none)
  absl::Time timestamp;          // when the restored state was written
  std::vector<ObjectInfo> objects;
  uint64_t bytes = 0;
};

// "Litestream v0.3 generation 1a2b..." or "Litestream v0.5 TXID 00000000000000a1".
std::string DescribeLitestreamPlan(const LitestreamPlan& plan);

// Which Litestream replicas the location holds (none, v0.3, v0.5 or both), from
// one listing each. For the log of `replicate` and for restore.
struct LitestreamPresence {
  bool v3 = false;
  bool v5 = false;
  bool any() const { return v3 || v5; }
  // For logs: "v0.3", "v0.5" or "v0.3 and v0.5".
  std::string_view versions() const { return v3 && v5 ? "v0.3 and v0.5" : v3 ? "v0.3" : "v0.5"; }
};
absl::StatusOr<LitestreamPresence> FindLitestream(ReplicaClient& client);

// Plans a restore of `target` from the Litestream replica at the client's
// location. nullopt: there is none. NotFound: there is one but the target is not
// in it (the message says what is). InvalidArgument: -txid on a v0.3 replica.
// When both versions are present, the newer state wins.
absl::StatusOr<std::optional<LitestreamPlan>> PlanLitestreamRestore(ReplicaClient& client,
                                                                    const RestoreTarget& target);

// Turns an object's bytes as stored into the bytes Litestream compressed: the
// seam for v0.3 replicas written with `age:` encryption (an age decrypter wraps
// `stored` here). The default passes them through.
using StoredObjectDecoder = std::function<absl::StatusOr<std::unique_ptr<ByteReader>>(
    std::unique_ptr<ByteReader> stored, const ObjectInfo& object)>;

struct LitestreamRestoreOptions {
  // Written via <output_path>.tmp-<pid>, renamed into place once complete; on any
  // error nothing is left at either path.
  std::string output_path;
  StoredObjectDecoder decode_stored;  // empty: the bytes as stored
  // Large objects on S3 are fetched in parts, several at once, each part by a
  // client of its own from this factory. Empty: one GET per object.
  std::function<absl::StatusOr<std::unique_ptr<ReplicaClient>>()> client_factory;
};

// Executes `plan`: every LZ4 frame, WAL checksum (v0.3) and LTX checksum (v0.5:
// file, pre- and post-apply) is verified; errors name the object and what to do.
absl::Status ExecuteLitestreamRestore(ReplicaClient& client, const LitestreamPlan& plan,
                                      const LitestreamRestoreOptions& options);

}  // namespace litesync
