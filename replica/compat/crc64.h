// CRC-64/ISO as Go's hash/crc64 computes it with crc64.ISO (reflected polynomial
// 0xD800000000000000, initial value and final XOR all ones): the checksum of LTX
// files (superfly/ltx), which Litestream v0.5 writes.
#pragma once

#include <cstdint>
#include <string_view>

namespace litesync {

// Continues a checksum: Crc64Iso(Crc64Iso(0, a), b) == Crc64Iso(0, a + b).
uint64_t Crc64Iso(uint64_t crc, std::string_view data);

}  // namespace litesync
