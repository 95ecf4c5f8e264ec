#include "replica/compat/ltx_reader.h"

#include <algorithm>
#include <cstring>

#include "base/endian.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/compat/crc64.h"

namespace litesync {

absl::StatusOr<LtxHeader> ParseLtxHeader(std::string_view b, std::string_view what) {
  if (b.substr(0, 4) != "LTX1") {
    return absl::DataLossError(
        fmt::format("{}: not an LTX file (no LTX1 header): the file is corrupt", what));
  }
  if (b.size() < kLtxHeaderSize) {
    return absl::DataLossError(fmt::format(
        "{}: ends inside the header: the file is truncated (an interrupted upload or copy?)",
        what));
  }
  LtxHeader h;
  h.flags = GetBig32(b.data() + 4);
  h.page_size = GetBig32(b.data() + 8);
  h.commit = GetBig32(b.data() + 12);
  h.min_txid = GetBig64(b.data() + 16);
  h.max_txid = GetBig64(b.data() + 24);
  h.timestamp_ms = static_cast<int64_t>(GetBig64(b.data() + 32));
  h.pre_checksum = GetBig64(b.data() + 40);
  std::string problem;
  if ((h.flags & ~uint32_t{2}) != 0) {
    problem = fmt::format("unknown flags {:#x}", h.flags);
  } else if (h.page_size < 512 || h.page_size > 65536 || (h.page_size & (h.page_size - 1)) != 0) {
    problem = fmt::format("invalid page size {}", h.page_size);
  } else if (h.min_txid == 0 || h.min_txid > h.max_txid) {
    problem = fmt::format("invalid TXID range {}-{}", h.min_txid, h.max_txid);
  } else if (!h.snapshot() && !h.no_checksum() && (h.pre_checksum & kLtxChecksumFlag) == 0) {
    problem = "invalid pre-apply checksum";
  }
  if (!problem.empty()) {
    return absl::DataLossError(
        fmt::format("{}: LTX header: {}: the file is corrupt", what, problem));
  }
  return h;
}

uint64_t LtxPageChecksum(uint32_t pgno, std::string_view page) {
  char be[4];
  PutBig32(be, pgno);
  return kLtxChecksumFlag | Crc64Iso(Crc64Iso(0, std::string_view(be, 4)), page);
}

LtxReader::LtxReader(std::unique_ptr<ByteReader> source, std::string what)
    : source_(std::move(source)), what_(std::move(what)), buf_(256 << 10) {}

absl::Status LtxReader::Truncated(std::string_view where) const {
  return absl::DataLossError(
      fmt::format("{}: ends inside the {}: the file is truncated (an interrupted upload or copy?)",
                  what_, where));
}

absl::Status LtxReader::Fill(size_t n) {
  if (len_ - pos_ >= n || eof_) return absl::OkStatus();
  std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
  len_ -= pos_;
  pos_ = 0;
  if (buf_.size() < n) buf_.resize(n);
  while (len_ < n && !eof_) {
    LS_ASSIGN_OR_RETURN(size_t got, source_->Read(buf_.data() + len_, buf_.size() - len_));
    len_ += got;
    eof_ = got == 0;
  }
  return absl::OkStatus();
}

void LtxReader::Consume(size_t n) {
  crc_ = Crc64Iso(crc_, std::string_view(buf_.data() + pos_, n));
  pos_ += n;
}

absl::StatusOr<LtxHeader> LtxReader::ReadHeader() {
  LS_RETURN_IF_ERROR(Fill(kLtxHeaderSize));
  LS_ASSIGN_OR_RETURN(LtxHeader h, ParseLtxHeader(Available(), what_));
  page_size_ = h.page_size;
  Consume(kLtxHeaderSize);
  return h;
}

absl::StatusOr<uint32_t> LtxReader::NextPageHeader(uint16_t* flags) {
  LS_RETURN_IF_ERROR(Fill(6));
  if (Available().size() < 6) return Truncated("page list");
  uint32_t pgno = GetBig32(Available().data());
  *flags = GetBig16(Available().data() + 4);
  Consume(6);
  if (pgno == 0 && *flags == 0) return 0u;
  if (pgno == 0 || (*flags & ~uint16_t{1}) != 0 || pgno <= last_pgno_) {
    return absl::DataLossError(fmt::format(
        "{}: invalid page header (page {} flags {:#x} after page {}): the file is corrupt", what_,
        pgno, *flags, last_pgno_));
  }
  last_pgno_ = pgno;
  return pgno;
}

absl::Status LtxReader::DecodePage(uint16_t flags, uint32_t pgno, std::span<char> out) {
  const std::string where = fmt::format("{} page {}", what_, pgno);
  if ((flags & 1) != 0) {  // a 4-byte size and an LZ4 block
    LS_RETURN_IF_ERROR(Fill(4));
    if (Available().size() < 4) return Truncated(fmt::format("page {}", pgno));
    uint32_t size = GetBig32(Available().data());
    Consume(4);
    if (size > 2 * out.size() + 64) {  // LZ4 never grows a page by more than 0.4%
      return absl::DataLossError(
          fmt::format("{}: compressed size {} is impossible: the file is corrupt", where, size));
    }
    LS_RETURN_IF_ERROR(Fill(size));
    if (Available().size() < size) return Truncated(fmt::format("page {}", pgno));
    LS_RETURN_IF_ERROR(Lz4DecodeBlock(Available().substr(0, size), out, where));
    pos_ += size;  // the file checksum covers the page as decoded, not as compressed
    crc_ = Crc64Iso(crc_, std::string_view(out.data(), out.size()));
    return absl::OkStatus();
  }
  // One LZ4 frame, whose end only the frame knows.
  frame_.Reset();
  size_t produced_total = 0;
  while (true) {
    LS_RETURN_IF_ERROR(Fill(1));
    if (Available().empty()) return Truncated(fmt::format("page {}", pgno));
    size_t used = 0, made = 0;
    LS_ASSIGN_OR_RETURN(bool ended, frame_.Decode(Available(), &used, out.data() + produced_total,
                                                  out.size() - produced_total, &made, where));
    pos_ += used;
    produced_total += made;
    if (ended) break;
    if (used == 0 && made == 0) {
      return absl::DataLossError(fmt::format("{}: page data larger than the page", where));
    }
  }
  if (produced_total != out.size()) {
    return absl::DataLossError(
        fmt::format("{}: decodes to {} bytes, expected {}", where, produced_total, out.size()));
  }
  crc_ = Crc64Iso(crc_, std::string_view(out.data(), out.size()));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> LtxReader::Finish() {
  // The page index and the trailer: everything that is left.
  std::string rest(Available());
  pos_ = len_;
  std::vector<char> chunk(256 << 10);
  while (!eof_) {
    LS_ASSIGN_OR_RETURN(size_t got, source_->Read(chunk.data(), chunk.size()));
    rest.append(chunk.data(), got);
    eof_ = got == 0;
  }
  if (rest.size() < 16) return Truncated("trailer");
  uint64_t crc = Crc64Iso(crc_, std::string_view(rest).substr(0, rest.size() - 8));
  uint64_t post = GetBig64(rest.data() + rest.size() - 16);
  uint64_t file_checksum = GetBig64(rest.data() + rest.size() - 8);
  if ((kLtxChecksumFlag | crc) != file_checksum) {
    return absl::DataLossError(fmt::format(
        "{}: file checksum {:016x} differs from the recorded {:016x}: the file is corrupt or "
        "truncated",
        what_, kLtxChecksumFlag | crc, file_checksum));
  }
  return post;
}

}  // namespace litesync
