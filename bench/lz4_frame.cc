#include "bench/lz4_frame.h"

#include <cstdint>

namespace litesync::bench {
namespace {

constexpr uint32_t kFrameMagic = 0x184D2204;
constexpr uint32_t kSkippableMask = 0xFFFFFFF0;
constexpr uint32_t kSkippableMagic = 0x184D2A50;

uint32_t Le32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}

// Appends one block's output to `out`; matches may reach into earlier blocks
// (linked blocks), which the contiguous `out` serves.
bool DecodeBlock(std::string_view in, std::string* out) {
  size_t i = 0;
  auto length = [&](size_t base, size_t* len) {
    *len = base;
    if (base != 15) return true;
    while (true) {
      if (i >= in.size()) return false;
      unsigned char b = static_cast<unsigned char>(in[i++]);
      *len += b;
      if (b != 255) return true;
    }
  };
  while (i < in.size()) {
    unsigned char token = static_cast<unsigned char>(in[i++]);
    size_t lit = 0;
    if (!length(token >> 4, &lit) || lit > in.size() - i) return false;
    out->append(in.substr(i, lit));
    i += lit;
    if (i == in.size()) return true;  // the last sequence has literals only
    if (in.size() - i < 2) return false;
    size_t offset = static_cast<unsigned char>(in[i]) | static_cast<unsigned char>(in[i + 1]) << 8;
    i += 2;
    size_t match = 0;
    if (!length(token & 15, &match)) return false;
    match += 4;
    if (offset == 0 || offset > out->size()) return false;
    size_t from = out->size() - offset;
    for (size_t k = 0; k < match; ++k) out->push_back((*out)[from + k]);  // may overlap
  }
  return true;
}

}  // namespace

std::optional<std::string> Lz4FrameDecode(std::string_view in) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    if (in.size() - i < 4) return std::nullopt;
    uint32_t magic = Le32(in.data() + i);
    i += 4;
    if ((magic & kSkippableMask) == kSkippableMagic) {
      if (in.size() - i < 4) return std::nullopt;
      size_t n = Le32(in.data() + i);
      i += 4;
      if (n > in.size() - i) return std::nullopt;
      i += n;
      continue;
    }
    if (magic != kFrameMagic || in.size() - i < 3) return std::nullopt;
    unsigned char flg = static_cast<unsigned char>(in[i]);
    if ((flg >> 6) != 1) return std::nullopt;  // version 01
    bool block_checksum = flg & 0x10;
    bool content_size = flg & 0x08;
    bool content_checksum = flg & 0x04;
    bool dict_id = flg & 0x01;
    i += 2 + (content_size ? 8 : 0) + (dict_id ? 4 : 0) + 1;  // FLG BD [size] [dict] HC
    if (i > in.size()) return std::nullopt;
    while (true) {
      if (in.size() - i < 4) return std::nullopt;
      uint32_t size = Le32(in.data() + i);
      i += 4;
      if (size == 0) break;  // end mark
      bool raw = size & 0x80000000u;
      size &= 0x7FFFFFFFu;
      if (size > in.size() - i) return std::nullopt;
      std::string_view block = in.substr(i, size);
      if (raw) {
        out.append(block);
      } else if (!DecodeBlock(block, &out)) {
        return std::nullopt;
      }
      i += size + (block_checksum ? 4 : 0);
    }
    i += content_checksum ? 4 : 0;
    if (i > in.size()) return std::nullopt;
  }
  return out;
}

}  // namespace litesync::bench
