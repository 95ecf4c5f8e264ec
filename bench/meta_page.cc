#include "bench/meta_page.h"

#include <algorithm>

namespace litesync::bench {
namespace {

constexpr unsigned char kTableLeaf = 0x0D;
constexpr size_t kWalFrameHeader = 24;

unsigned Byte(std::string_view s, size_t i) { return static_cast<unsigned char>(s[i]); }

// A SQLite varint at `*i`; false when it runs off the end.
bool Varint(std::string_view s, size_t* i, uint64_t* v) {
  *v = 0;
  for (int k = 0; k < 9; ++k) {
    if (*i >= s.size()) return false;
    unsigned b = Byte(s, (*i)++);
    if (k == 8) {
      *v = (*v << 8) | b;
      return true;
    }
    *v = (*v << 7) | (b & 0x7F);
    if ((b & 0x80) == 0) return true;
  }
  return true;
}

}  // namespace

std::optional<int64_t> MetaSeqInPage(std::string_view page) {
  if (page.size() < 512 || Byte(page, 0) != kTableLeaf) return std::nullopt;
  if ((Byte(page, 3) << 8 | Byte(page, 4)) != 1) return std::nullopt;  // one cell
  size_t i = Byte(page, 8) << 8 | Byte(page, 9);
  uint64_t payload = 0, rowid = 0, header = 0, t_key = 0, t_val = 0;
  if (i >= page.size() || !Varint(page, &i, &payload) || !Varint(page, &i, &rowid)) {
    return std::nullopt;
  }
  size_t record = i;
  if (!Varint(page, &i, &header) || !Varint(page, &i, &t_key) || !Varint(page, &i, &t_val)) {
    return std::nullopt;
  }
  if (i != record + header || t_key != 13 + 2 * 3) return std::nullopt;  // TEXT of 3 bytes
  if (i + 3 > page.size() || page.substr(i, 3) != "seq") return std::nullopt;
  i += 3;
  if (t_val == 8) return 0;
  if (t_val == 9) return 1;
  static constexpr int kIntSize[] = {0, 1, 2, 3, 4, 6, 8};
  if (t_val < 1 || t_val > 6) return std::nullopt;
  int n = kIntSize[t_val];
  if (i + static_cast<size_t>(n) > page.size()) return std::nullopt;
  uint64_t v = 0;
  for (int k = 0; k < n; ++k) v = (v << 8) | Byte(page, i + static_cast<size_t>(k));
  if (n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t{0} << (8 * n);  // sign-extend
  return static_cast<int64_t>(v);
}

int64_t MaxSeqInWalFrames(std::string_view wal, uint32_t page_size) {
  int64_t best = -1;
  size_t frame = kWalFrameHeader + page_size;
  for (size_t off = 0; off + frame <= wal.size(); off += frame) {
    if (auto v = MetaSeqInPage(wal.substr(off + kWalFrameHeader, page_size))) {
      best = std::max(best, *v);
    }
  }
  return best;
}

int64_t MaxSeqInDbImage(std::string_view db, uint32_t page_size) {
  int64_t best = -1;
  for (size_t off = 0; off + page_size <= db.size(); off += page_size) {
    if (auto v = MetaSeqInPage(db.substr(off, page_size))) best = std::max(best, *v);
  }
  return best;
}

}  // namespace litesync::bench
