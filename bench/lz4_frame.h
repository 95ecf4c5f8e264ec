// A small decoder for the LZ4 frame format (lz4.org, "LZ4 Frame Format"), enough to
// read Litestream v0.3.13's WAL segments (*.wal.lz4) without liblz4's headers.
// Checksums are skipped, not verified: the benchmark only needs the frames back.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace litesync::bench {

// The concatenated content of every frame in `in`; nullopt when it is malformed.
std::optional<std::string> Lz4FrameDecode(std::string_view in);

}  // namespace litesync::bench
