// Reads an LTX file (superfly/ltx v0.5, format version 3, the files Litestream
// v0.5 writes) as a stream:
//   header 100 bytes, big-endian: "LTX1", flags (bit 1: no checksums), page size,
//     commit (database size in pages after the file), min TXID, max TXID,
//     timestamp (unix ms), pre-apply checksum, WAL offset, WAL size, WAL salts,
//     node ID, reserved;
//   pages in ascending order: a 6-byte header (pgno, flags), then with flag bit 0
//     a 4-byte size and one LZ4 block, without it one LZ4 frame (older files);
//     a zero page header ends them;
//   a page index (uvarints), then a 16-byte trailer: post-apply checksum and the
//     file checksum, CRC-64/ISO with bit 63 set over every byte before it, except
//     that pages count as decoded (ltx's Decoder hashes page data after LZ4).
// A database checksum is bit 63 | the XOR over its pages (the lock page
// excepted) of CRC-64/ISO(pgno big-endian || page).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "replica/compat/lz4_reader.h"
#include "replica/storage/replica_client.h"

namespace litesync {

inline constexpr size_t kLtxHeaderSize = 100;
inline constexpr uint64_t kLtxChecksumFlag = uint64_t{1} << 63;

struct LtxHeader {
  uint32_t flags = 0;
  uint32_t page_size = 0;
  uint32_t commit = 0;
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  int64_t timestamp_ms = 0;
  uint64_t pre_checksum = 0;
  bool no_checksum() const { return (flags & 2) != 0; }
  bool snapshot() const { return min_txid == 1; }
};

// Parses and validates a header; DataLoss naming `what` when it is not one.
absl::StatusOr<LtxHeader> ParseLtxHeader(std::string_view bytes, std::string_view what);

// The page SQLite never writes (it holds the byte-range locks at 1 GiB).
inline uint32_t LtxLockPage(uint32_t page_size) { return 0x40000000u / page_size + 1; }

// CRC-64/ISO(pgno || page) | bit 63.
uint64_t LtxPageChecksum(uint32_t pgno, std::string_view page);

class LtxReader {
 public:
  LtxReader(std::unique_ptr<ByteReader> source, std::string what);

  absl::StatusOr<LtxHeader> ReadHeader();
  // The next page into the buffer `slot(pgno)` returns (page-size bytes); false
  // after the last page.
  template <typename SlotFn>
  absl::StatusOr<bool> NextPage(uint32_t* pgno, SlotFn slot);
  // After the last page: reads the page index and trailer, verifies the file
  // checksum, returns the post-apply checksum.
  absl::StatusOr<uint64_t> Finish();

 private:
  absl::StatusOr<uint32_t> NextPageHeader(uint16_t* flags);  // 0 at the end
  absl::Status DecodePage(uint16_t flags, uint32_t pgno, std::span<char> out);
  // Makes `n` bytes available at data(); fewer only at the end of the source.
  absl::Status Fill(size_t n);
  std::string_view Available() const { return std::string_view(buf_.data() + pos_, len_ - pos_); }
  void Consume(size_t n);  // hashes the consumed bytes
  absl::Status Truncated(std::string_view where) const;

  std::unique_ptr<ByteReader> source_;
  std::string what_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
  uint64_t crc_ = 0;
  uint32_t page_size_ = 0;
  uint32_t last_pgno_ = 0;
  Lz4FrameDecoder frame_;
};

template <typename SlotFn>
absl::StatusOr<bool> LtxReader::NextPage(uint32_t* pgno, SlotFn slot) {
  uint16_t flags = 0;
  absl::StatusOr<uint32_t> p = NextPageHeader(&flags);
  if (!p.ok()) return p.status();
  if (*p == 0) return false;
  absl::StatusOr<char*> out = slot(*p);
  if (!out.ok()) return out.status();
  if (absl::Status s = DecodePage(flags, *p, std::span<char>(*out, page_size_)); !s.ok()) return s;
  *pgno = *p;
  return true;
}

}  // namespace litesync
