// Finds test_writer's sequence number (the meta table row ('seq', v)) in raw
// SQLite pages, so Litestream's WAL segments and snapshots can be mapped to the
// writer's commits exactly. See sqlite.org/fileformat2.html, "B-tree Pages".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace litesync::bench {

// v when `page` is a table leaf whose only cell is the record ('seq', v).
std::optional<int64_t> MetaSeqInPage(std::string_view page);

// The largest seq among the pages of `wal` (WAL frames: 24-byte header + page),
// -1 when none; `wal` starts at a frame boundary.
int64_t MaxSeqInWalFrames(std::string_view wal, uint32_t page_size);

// The same over a database image (pages back to back).
int64_t MaxSeqInDbImage(std::string_view db, uint32_t page_size);

}  // namespace litesync::bench
