#include "replica/compat/crc64.h"

#include <array>
#include <bit>
#include <cstring>

namespace litesync {
namespace {

static_assert(std::endian::native == std::endian::little, "the 8-byte loads assume it");
constexpr uint64_t kIsoPolynomial = 0xD800000000000000ULL;

// Slicing-by-8 tables: kTables[0] is the byte-at-a-time table, kTables[k] the
// contribution of a byte k positions further back.
struct Tables {
  std::array<std::array<uint64_t, 256>, 8> t{};
  constexpr Tables() {
    for (uint64_t i = 0; i < 256; ++i) {
      uint64_t crc = i;
      for (int b = 0; b < 8; ++b) crc = (crc & 1) ? (crc >> 1) ^ kIsoPolynomial : crc >> 1;
      t[0][i] = crc;
    }
    for (size_t k = 1; k < 8; ++k) {
      for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
  }
};
constexpr Tables kTables;

}  // namespace

uint64_t Crc64Iso(uint64_t crc, std::string_view data) {
  const auto& t = kTables.t;
  crc = ~crc;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    crc ^= word;
    crc = t[7][crc & 0xff] ^ t[6][(crc >> 8) & 0xff] ^ t[5][(crc >> 16) & 0xff] ^
          t[4][(crc >> 24) & 0xff] ^ t[3][(crc >> 32) & 0xff] ^ t[2][(crc >> 40) & 0xff] ^
          t[1][(crc >> 48) & 0xff] ^ t[0][crc >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

}  // namespace litesync
