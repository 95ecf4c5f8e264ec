#include "replica/sqlite/wal_reader.h"

#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/endian.h"
#include "base/fs.h"
#include "base/status.h"
#include "fmt/format.h"

namespace litesync {
namespace {

// SQLite's WAL checksum over `n` bytes (a multiple of 8), continuing (s1, s2).
void Checksum(bool big_endian, const uint8_t* p, size_t n, uint32_t* s1, uint32_t* s2) {
  uint32_t a = *s1, b = *s2;
  for (size_t i = 0; i < n; i += 8) {
    uint32_t x0, x1;
    if (big_endian) {
      x0 = GetBig32(p + i);
      x1 = GetBig32(p + i + 4);
    } else {
      x0 = uint32_t{p[i]} | (uint32_t{p[i + 1]} << 8) | (uint32_t{p[i + 2]} << 16) |
           (uint32_t{p[i + 3]} << 24);
      x1 = uint32_t{p[i + 4]} | (uint32_t{p[i + 5]} << 8) | (uint32_t{p[i + 6]} << 16) |
           (uint32_t{p[i + 7]} << 24);
    }
    a += x0 + b;
    b += x1 + a;
  }
  *s1 = a;
  *s2 = b;
}

absl::StatusOr<size_t> PreadFull(int fd, uint8_t* buf, size_t n, uint64_t off,
                                 std::string_view path) {
  return fs::PreadFull(fd, reinterpret_cast<char*>(buf), n, off, path);
}

// Checks one frame (header + page at `f`) against the chain; advances the chain.
bool FrameValid(const WalHeader& hdr, const uint8_t* f, uint32_t* c1, uint32_t* c2) {
  if (GetBig32(f + 8) != hdr.salt1 || GetBig32(f + 12) != hdr.salt2) return false;
  if (GetBig32(f) == 0) return false;
  uint32_t a = *c1, b = *c2;
  Checksum(hdr.big_endian_checksums(), f, 8, &a, &b);
  Checksum(hdr.big_endian_checksums(), f + kWalFrameHeaderSize, hdr.page_size, &a, &b);
  if (a != GetBig32(f + 16) || b != GetBig32(f + 20)) return false;
  *c1 = a;
  *c2 = b;
  return true;
}

}  // namespace

absl::StatusOr<WalHeader> ReadWalHeader(int fd, std::string_view path) {
  uint8_t b[kWalHeaderSize];
  LS_ASSIGN_OR_RETURN(size_t got, PreadFull(fd, b, sizeof b, 0, path));
  if (got < sizeof b) return absl::NotFoundError(fmt::format("{}: no WAL header", path));
  WalHeader h;
  h.magic = GetBig32(b);
  if (h.magic != 0x377f0682 && h.magic != 0x377f0683) {
    return absl::DataLossError(fmt::format("{}: bad WAL magic {:#x}", path, h.magic));
  }
  if (GetBig32(b + 4) != 3007000) {
    return absl::DataLossError(
        fmt::format("{}: unsupported WAL version {}", path, GetBig32(b + 4)));
  }
  h.page_size = GetBig32(b + 8);
  h.checkpoint_seq = GetBig32(b + 12);
  h.salt1 = GetBig32(b + 16);
  h.salt2 = GetBig32(b + 20);
  h.cksum1 = GetBig32(b + 24);
  h.cksum2 = GetBig32(b + 28);
  uint32_t a = 0, c = 0;
  Checksum(h.big_endian_checksums(), b, 24, &a, &c);
  if (a != h.cksum1 || c != h.cksum2) {
    return absl::DataLossError(fmt::format("{}: WAL header checksum mismatch", path));
  }
  if (h.page_size < 512 || h.page_size > 65536 || (h.page_size & (h.page_size - 1)) != 0) {
    return absl::DataLossError(fmt::format("{}: bad WAL page size {}", path, h.page_size));
  }
  return h;
}

WalCursor StartCursor(const WalHeader& hdr) { return WalCursor{0, hdr.cksum1, hdr.cksum2}; }

WalCursor ComputeStartCursor(const WalHeader& hdr) {
  uint8_t b[24];
  PutBig32(b, hdr.magic);
  PutBig32(b + 4, 3007000);
  PutBig32(b + 8, hdr.page_size);
  PutBig32(b + 12, hdr.checkpoint_seq);
  PutBig32(b + 16, hdr.salt1);
  PutBig32(b + 20, hdr.salt2);
  WalCursor c;
  Checksum(hdr.big_endian_checksums(), b, sizeof b, &c.cksum1, &c.cksum2);
  return c;
}

absl::StatusOr<bool> VerifyCursor(int fd, std::string_view path, const WalHeader& hdr,
                                  const WalCursor& cursor) {
  if (cursor.frames == 0) {
    return cursor.cksum1 == hdr.cksum1 && cursor.cksum2 == hdr.cksum2;
  }
  uint8_t fh[kWalFrameHeaderSize];
  uint64_t off = WalPageOffset(cursor.frames, hdr.page_size) - kWalFrameHeaderSize;
  LS_ASSIGN_OR_RETURN(size_t got, PreadFull(fd, fh, sizeof fh, off, path));
  if (got < sizeof fh) return false;
  return GetBig32(fh + 8) == hdr.salt1 && GetBig32(fh + 12) == hdr.salt2 &&
         GetBig32(fh + 16) == cursor.cksum1 && GetBig32(fh + 20) == cursor.cksum2;
}

absl::StatusOr<WalCursor> ScanWal(int fd, std::string_view path, const WalHeader& hdr,
                                  const WalCursor& from, uint64_t limit, const CommitFn& on_commit,
                                  const FrameFn& on_frame) {
  const size_t frame_size = kWalFrameHeaderSize + hdr.page_size;
  // 256 KiB a read: a 4 MiB buffer cost 8 MiB of peak RSS (glibc's heap kept it
  // once the mmap threshold rose), and larger reads were not measurably faster.
  const size_t batch = std::max<size_t>(1, (256u << 10) / frame_size);
  std::vector<uint8_t> buf(batch * frame_size);
  WalCursor committed = from;
  uint32_t c1 = from.cksum1, c2 = from.cksum2;
  uint64_t next = from.frames + 1;
  std::vector<WalFrame> pending;
  while (limit == 0 || next <= limit) {
    size_t want = batch;
    if (limit != 0) want = static_cast<size_t>(std::min<uint64_t>(want, limit - next + 1));
    uint64_t off = WalPageOffset(next, hdr.page_size) - kWalFrameHeaderSize;
    LS_ASSIGN_OR_RETURN(size_t got, PreadFull(fd, buf.data(), want * frame_size, off, path));
    size_t frames = got / frame_size;
    if (frames == 0) break;
    for (size_t i = 0; i < frames; ++i, ++next) {
      const uint8_t* f = buf.data() + i * frame_size;
      if (!FrameValid(hdr, f, &c1, &c2)) return committed;
      pending.push_back(WalFrame{GetBig32(f), next});
      if (on_frame) {
        std::string_view page(reinterpret_cast<const char*>(f + kWalFrameHeaderSize),
                              hdr.page_size);
        LS_RETURN_IF_ERROR(on_frame(GetBig32(f), page));
      }
      uint32_t commit = GetBig32(f + 4);
      if (commit != 0) {
        WalCursor end{next, c1, c2};
        LS_RETURN_IF_ERROR(on_commit(pending, commit, end));
        committed = end;
        pending.clear();
      }
    }
    if (frames < want) break;
  }
  return committed;
}

}  // namespace litesync
