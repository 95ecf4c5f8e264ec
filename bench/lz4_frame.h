// LZ4 frames (Litestream v0.3.13's *.wal.lz4 and *.snapshot.lz4) decoded for the
// benchmarks through litesync's reader over Debian's liblz4, which verifies the
// frame's checksums. (A home-made decoder lived here; liblz4 decoded a 256 MiB
// frame file about 5x faster, see bench/README.md.)
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace litesync::bench {

// The concatenated content of every frame in `in`; nullopt when it is malformed.
std::optional<std::string> Lz4FrameDecode(std::string_view in);

}  // namespace litesync::bench
