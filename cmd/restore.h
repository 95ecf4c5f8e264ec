// `litesync restore`: rebuild a database from its replica at the newest state, a
// point in time or a TXID, into a new file (never over an existing one).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace litesync {

// `args` are the words after `restore`. Blocks SIGINT/SIGTERM/SIGHUP first (an
// interrupted restore removes its partial files), so call it before any thread.
int RunRestoreCommand(const std::vector<std::string>& args);

// -txid: exactly 16 hex digits as in tx file names ("0000000000000042"), as in
// Litestream. InvalidArgument, showing the expected form, otherwise or for 0.
absl::StatusOr<uint64_t> ParseTxid(std::string_view s);
// -timestamp: RFC 3339 ("2025-03-04T10:20:00Z", fractions and offsets allowed).
absl::StatusOr<absl::Time> ParseRestoreTime(std::string_view s);

}  // namespace litesync
