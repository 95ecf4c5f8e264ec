// The tx file: one immutable file holding the pages changed by a range of
// transactions (an increment) or every page of the database (a snapshot).
//
// Layout (integers big-endian):
//   Header, 136 bytes
//     0   4  magic "LSTX"
//     4   2  format version (1)
//     6   2  flags: bit 0 = snapshot (holds every page 1..commit)
//                   bit 1 = framed (the body's frames are independent, below)
//     8   4  page size in bytes
//    12   4  commit: database size in pages after max_txid
//    16   8  lineage
//    24   8  min_txid
//    32   8  max_txid
//    40   8  timestamp: unix milliseconds when max_txid was captured
//    48   8  pre_checksum: database checksum before min_txid (0 for a snapshot)
//    56   8  post_checksum: database checksum after max_txid
//    64   4  page count (records in the body)
//    68   4  reserved (0)
//    72   8  body size: bytes of the compressed body
//    80  48  WAL position after max_txid (resume token, see db_reader.h); zeros if none
//   128   8  header checksum: XXH3-64 of bytes 0..127
//   Body: zstd frames decompressing, one after the other, to `page count`
//         records of [4-byte pgno][page size bytes], pgno strictly ascending,
//         all <= commit. Framed files end a frame after the record that brings
//         it to kTxFrameBytes or more, so every frame holds whole records and
//         decompresses on its own: a large restore decompresses them in
//         parallel. Older files hold one frame (flag bit 1 clear).
//   Trailer, 8 bytes: XXH3-64 of the body followed by the header (end-to-end
//         file checksum; body first so a writer can hash while it streams).
//
// The database checksum is defined in page_checksum.h. An increment holds every
// page changed in its range; when the database grew, every page above the old
// size is among them (checked by the writer).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

#include "replica/format/frame_decoder.h"
#include "replica/format/tx_file_info.h"
#include "replica/storage/replica_client.h"

namespace litesync {

inline constexpr size_t kTxHeaderSize = 136;
inline constexpr size_t kTxTrailerSize = 8;
inline constexpr size_t kResumeTokenSize = 48;
inline constexpr size_t kTxFrameBytes = 2 << 20;

struct TxHeader {
  bool snapshot = false;
  bool framed = false;
  uint32_t page_size = 0;
  uint32_t commit = 0;
  Lineage lineage = 0;
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  int64_t timestamp_ms = 0;
  uint64_t pre_checksum = 0;
  uint64_t post_checksum = 0;
  uint32_t page_count = 0;
  uint64_t body_size = 0;
  std::array<uint8_t, kResumeTokenSize> resume{};

  // Identity in a replica at `level` (size unset).
  TxFileInfo Info(int level) const;
};

std::string EncodeTxHeader(const TxHeader& h);
// DataLoss when the magic, version or checksum is wrong; `what` names the file.
absl::StatusOr<TxHeader> DecodeTxHeader(std::string_view bytes, std::string_view what);

// Builds a tx file in memory or, for snapshots, in a staging file on disk.
class TxFileBuilder {
 public:
  // `staging_path` empty: in memory. Otherwise the file is created (replacing any).
  static absl::StatusOr<std::unique_ptr<TxFileBuilder>> Create(TxHeader header,
                                                               std::string staging_path = "");
  ~TxFileBuilder();
  TxFileBuilder(const TxFileBuilder&) = delete;
  TxFileBuilder& operator=(const TxFileBuilder&) = delete;

  // Pages must come in strictly ascending pgno order, each page_size bytes.
  absl::Status AddPage(uint32_t pgno, std::string_view page);
  // Completes the file with the final header fields; the source reads it.
  absl::StatusOr<std::unique_ptr<ByteSource>> Finish(uint64_t post_checksum);
  uint64_t pages() const { return pages_; }

 private:
  TxFileBuilder() = default;
  absl::Status Emit(const char* data, size_t n);
  absl::Status Compress(const char* data, size_t n, bool end);

  TxHeader header_;
  std::string staging_path_;
  int fd_ = -1;
  std::string memory_;  // the whole file when in memory
  std::string out_buf_;
  void* cctx_ = nullptr;
  uint64_t body_size_ = 0;
  uint64_t frame_bytes_ = 0;  // records' bytes in the current frame
  uint64_t pages_ = 0;
  uint32_t last_pgno_ = 0;
};

// How a reader decompresses a large framed body: on the calling thread, or on
// threads of its own (FrameDecoder: faster, and about 20 MiB more memory).
enum class TxDecode { kInline, kThreads };

// Reads a tx file sequentially, verifying the header checksum, page order, and
// the end-to-end checksum when the last page has been read.
class TxFileReader {
 public:
  // `what` names the file in errors ("s3://bkt/app/.../x.ltx"). kThreads applies
  // to framed bodies of 8 MiB or more (restore); smaller ones decode inline.
  static absl::StatusOr<std::unique_ptr<TxFileReader>> Open(std::unique_ptr<ByteReader> src,
                                                            std::string what,
                                                            TxDecode decode = TxDecode::kInline);
  ~TxFileReader();
  TxFileReader(const TxFileReader&) = delete;
  TxFileReader& operator=(const TxFileReader&) = delete;

  const TxHeader& header() const { return header_; }
  // Next page into *pgno/*page (valid until the next call); false after the last
  // page once the trailer verified. DataLoss on any corruption.
  absl::StatusOr<bool> Next(uint32_t* pgno, std::string_view* page);
  // Like Next, but decompresses the page straight into the `page size` bytes at
  // dest(pgno), saving a copy; an error of `dest` is returned as it is.
  using PageDest = std::function<absl::StatusOr<char*>(uint32_t pgno)>;
  absl::StatusOr<bool> NextInto(uint32_t* pgno, const PageDest& dest);

 private:
  TxFileReader() = default;
  absl::StatusOr<bool> NextPgno(uint32_t* pgno);  // false after the verified trailer
  absl::Status Decompress(char* dest, size_t n);
  absl::Status CopyFromFrames(char* dest, size_t n);
  absl::Status FrameError(const absl::Status& s) const;  // names the file
  absl::Status Fill();
  absl::Status VerifyTrailer();

  std::unique_ptr<ByteReader> src_;
  std::string what_;
  TxHeader header_;
  void* dctx_ = nullptr;
  void* hash_ = nullptr;
  std::string in_buf_;
  // A large framed body: decompressed on threads, then served from frame_.
  std::unique_ptr<FrameDecoder> frames_;
  std::string_view frame_;
  size_t frame_pos_ = 0;
  size_t in_pos_ = 0;
  size_t in_end_ = 0;
  uint64_t body_left_ = 0;
  std::string page_;  // Next()'s page
  uint32_t pages_read_ = 0;
  uint32_t last_pgno_ = 0;
  bool src_eof_ = false;
  std::string header_bytes_;
};

}  // namespace litesync
