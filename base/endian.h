// Big-endian integer encoding for the byte formats litesync reads and writes
// (tx files, SQLite's WAL and wal-index salts).
#pragma once

#include <cstdint>

namespace litesync {

inline uint16_t GetBig16(const void* p) {
  const auto* b = static_cast<const uint8_t*>(p);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}
inline uint32_t GetBig32(const void* p) {
  const auto* b = static_cast<const uint8_t*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}
inline uint64_t GetBig64(const void* p) {
  const auto* b = static_cast<const uint8_t*>(p);
  return (uint64_t{GetBig32(b)} << 32) | GetBig32(b + 4);
}
inline void PutBig16(void* p, uint16_t v) {
  auto* b = static_cast<uint8_t*>(p);
  b[0] = static_cast<uint8_t>(v >> 8);
  b[1] = static_cast<uint8_t>(v);
}
inline void PutBig32(void* p, uint32_t v) {
  auto* b = static_cast<uint8_t*>(p);
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
inline void PutBig64(void* p, uint64_t v) {
  auto* b = static_cast<uint8_t*>(p);
  PutBig32(b, static_cast<uint32_t>(v >> 32));
  PutBig32(b + 4, static_cast<uint32_t>(v));
}

}  // namespace litesync
