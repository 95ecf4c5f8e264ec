// Reads a SQLite WAL file (https://sqlite.org/fileformat2.html#walformat):
//   header 32 bytes: magic 0x377f0682/3 (low bit: checksums big-endian), version
//   3007000, page size, checkpoint sequence, salt-1, salt-2, checksum-1, checksum-2;
//   frames: 24-byte header (pgno, commit size or 0, salt-1, salt-2, checksum-1,
//   checksum-2) followed by one page.
// A frame is valid when its salts equal the header's and its checksum continues
// the cumulative chain; a transaction ends at a frame with a non-zero commit size.
// Not thread-safe; one reader per watcher.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace litesync {

inline constexpr size_t kWalHeaderSize = 32;
inline constexpr size_t kWalFrameHeaderSize = 24;

struct WalHeader {
  uint32_t magic = 0;
  uint32_t page_size = 0;
  uint32_t checkpoint_seq = 0;
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  uint32_t cksum1 = 0;
  uint32_t cksum2 = 0;
  bool big_endian_checksums() const { return (magic & 1) != 0; }
};

// A point in the checksum chain: after `frames` frames, the running checksum.
struct WalCursor {
  uint64_t frames = 0;
  uint32_t cksum1 = 0;
  uint32_t cksum2 = 0;
};

// One committed transaction's frames as found in the WAL.
struct WalFrame {
  uint32_t pgno;
  uint64_t index;  // 1-based frame number
};

// Parses and validates a WAL header. NotFound when the file holds less than a
// header (absent or empty WAL); DataLoss when the header is invalid.
absl::StatusOr<WalHeader> ReadWalHeader(int fd, std::string_view path);

// Scans frames after `from` (a cursor of the generation `hdr`) up to and
// including frame `limit` (0: no limit). Calls `on_commit(frames, commit_size,
// end_cursor)` for each complete transaction, in order; `frames` lists the frames
// of that transaction. Stops quietly at the first invalid frame, EOF, or a
// transaction that is not complete within the limit. Returns the cursor after the
// last complete transaction. DataLoss when `from` itself does not verify.
// `on_frame` (optional) sees each valid frame's page as it was verified, before
// its transaction's `on_commit`: the same bytes the checksum covered, for WAL
// regions that a writer may overwrite meanwhile (no pin protects them).
using CommitFn = std::function<absl::Status(const std::vector<WalFrame>& frames,
                                            uint32_t commit_size, const WalCursor& end)>;
using FrameFn = std::function<absl::Status(uint32_t pgno, std::string_view page)>;
absl::StatusOr<WalCursor> ScanWal(int fd, std::string_view path, const WalHeader& hdr,
                                  const WalCursor& from, uint64_t limit, const CommitFn& on_commit,
                                  const FrameFn& on_frame = nullptr);

// The cursor at the start of a generation (its header's checksum).
WalCursor StartCursor(const WalHeader& hdr);
// The same for a header that is no longer in the file (another generation's,
// rebuilt from its fields): the checksum computed over them.
WalCursor ComputeStartCursor(const WalHeader& hdr);

// Offset of frame `index`'s page data in the WAL file.
inline uint64_t WalPageOffset(uint64_t index, uint32_t page_size) {
  return kWalHeaderSize + (index - 1) * (kWalFrameHeaderSize + page_size) + kWalFrameHeaderSize;
}

// Verifies that frame `cursor.frames` exists with that running checksum (the
// cursor still describes this WAL). True when cursor.frames == 0.
absl::StatusOr<bool> VerifyCursor(int fd, std::string_view path, const WalHeader& hdr,
                                  const WalCursor& cursor);

}  // namespace litesync
