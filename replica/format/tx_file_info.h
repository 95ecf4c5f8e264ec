// Identity of one tx file in a replica: lineage, level and TXID range, plus the
// capture time carried in its name (restore by time reads names, never mtimes).
//
// Names: <min_txid 16 hex>-<max_txid 16 hex>-<unix ms 16 hex>.ltx, e.g.
//   0000000000000001-0000000000000001-0000018c3b5e2a10.ltx
// under <replica root>/<lineage 16 hex>/<level>/ (docs/FORMAT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace litesync {

using Lineage = uint64_t;  // a lineage is named by the first TXID it holds

inline constexpr int kSnapshotLevel = 9;  // full-database snapshots
inline constexpr int kMaxCompactionLevel = 3;

struct TxFileInfo {
  Lineage lineage = 0;
  int level = 0;
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  absl::Time timestamp = absl::UnixEpoch();  // capture time of max_txid
  uint64_t size = 0;                         // bytes in the replica (0 when unknown)

  std::string Name() const;  // file name, no directory
  // "<lineage>/<level>/<name>": the path below the replica root.
  std::string RelativePath() const;
  bool operator==(const TxFileInfo& o) const {
    return lineage == o.lineage && level == o.level && min_txid == o.min_txid &&
           max_txid == o.max_txid && timestamp == o.timestamp;
  }
};

// Parses a file name made by Name(); nullopt for anything else (temp files, junk).
std::optional<TxFileInfo> ParseTxFileName(std::string_view name, Lineage lineage, int level);
std::string LineageName(Lineage lineage);
std::optional<Lineage> ParseLineageName(std::string_view name);
std::string TxidString(uint64_t txid);  // 16 hex digits

}  // namespace litesync
