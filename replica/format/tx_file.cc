#include "replica/format/tx_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/endian.h"
#include "base/fs.h"
#include "base/status.h"
#include "fmt/format.h"
#include <xxhash.h>
#include <zstd.h>

namespace litesync {
namespace {

constexpr char kMagic[4] = {'L', 'S', 'T', 'X'};
constexpr uint16_t kVersion = 1;
constexpr int kZstdLevel = 1;
constexpr size_t kReadChunk = 1 << 20;
// A framed body this large is decompressed on threads (FrameDecoder).
constexpr uint64_t kParallelBytes = 8 << 20;

}  // namespace

TxFileInfo TxHeader::Info(int level) const {
  TxFileInfo info;
  info.lineage = lineage;
  info.level = level;
  info.min_txid = min_txid;
  info.max_txid = max_txid;
  info.timestamp = absl::FromUnixMillis(timestamp_ms);
  return info;
}

std::string EncodeTxHeader(const TxHeader& h) {
  std::string b(kTxHeaderSize, '\0');
  char* p = b.data();
  std::memcpy(p, kMagic, 4);
  PutBig16(p + 4, kVersion);
  PutBig16(p + 6, static_cast<uint16_t>((h.snapshot ? 1 : 0) | (h.framed ? 2 : 0)));
  PutBig32(p + 8, h.page_size);
  PutBig32(p + 12, h.commit);
  PutBig64(p + 16, h.lineage);
  PutBig64(p + 24, h.min_txid);
  PutBig64(p + 32, h.max_txid);
  PutBig64(p + 40, static_cast<uint64_t>(h.timestamp_ms));
  PutBig64(p + 48, h.pre_checksum);
  PutBig64(p + 56, h.post_checksum);
  PutBig32(p + 64, h.page_count);
  PutBig64(p + 72, h.body_size);
  std::memcpy(p + 80, h.resume.data(), kResumeTokenSize);
  PutBig64(p + 128, XXH3_64bits(p, 128));
  return b;
}

absl::StatusOr<TxHeader> DecodeTxHeader(std::string_view b, std::string_view what) {
  if (b.size() < kTxHeaderSize) {
    return absl::DataLossError(fmt::format("{}: truncated header ({} bytes)", what, b.size()));
  }
  const char* p = b.data();
  if (std::memcmp(p, kMagic, 4) != 0) {
    return absl::DataLossError(fmt::format("{}: not a litesync tx file (bad magic)", what));
  }
  if (GetBig64(p + 128) != XXH3_64bits(p, 128)) {
    return absl::DataLossError(fmt::format("{}: header checksum mismatch", what));
  }
  if (GetBig16(p + 4) != kVersion) {
    return absl::DataLossError(
        fmt::format("{}: unsupported tx file version {}", what, GetBig16(p + 4)));
  }
  TxHeader h;
  h.snapshot = (GetBig16(p + 6) & 1) != 0;
  h.framed = (GetBig16(p + 6) & 2) != 0;
  h.page_size = GetBig32(p + 8);
  h.commit = GetBig32(p + 12);
  h.lineage = GetBig64(p + 16);
  h.min_txid = GetBig64(p + 24);
  h.max_txid = GetBig64(p + 32);
  h.timestamp_ms = static_cast<int64_t>(GetBig64(p + 40));
  h.pre_checksum = GetBig64(p + 48);
  h.post_checksum = GetBig64(p + 56);
  h.page_count = GetBig32(p + 64);
  h.body_size = GetBig64(p + 72);
  std::memcpy(h.resume.data(), p + 80, kResumeTokenSize);
  bool page_size_ok =
      h.page_size >= 512 && h.page_size <= 65536 && (h.page_size & (h.page_size - 1)) == 0;
  if (!page_size_ok || h.min_txid == 0 || h.max_txid < h.min_txid || h.page_count > h.commit) {
    return absl::DataLossError(fmt::format("{}: inconsistent header", what));
  }
  return h;
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<TxFileBuilder>> TxFileBuilder::Create(TxHeader header,
                                                                     std::string staging_path) {
  std::unique_ptr<TxFileBuilder> b(new TxFileBuilder());
  b->header_ = header;
  b->header_.framed = true;
  b->staging_path_ = std::move(staging_path);
  b->cctx_ = ZSTD_createCCtx();
  if (b->cctx_ == nullptr) return absl::ResourceExhaustedError("zstd: cannot create context");
  ZSTD_CCtx_setParameter(static_cast<ZSTD_CCtx*>(b->cctx_), ZSTD_c_compressionLevel, kZstdLevel);
  std::string placeholder(kTxHeaderSize, '\0');
  if (b->staging_path_.empty()) {
    b->memory_ = placeholder;
  } else {
    b->fd_ = ::open(b->staging_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (b->fd_ < 0) return ErrnoStatus(errno, fmt::format("create {}", b->staging_path_));
    LS_RETURN_IF_ERROR(
        fs::WriteAll(b->fd_, placeholder.data(), placeholder.size(), b->staging_path_));
  }
  b->out_buf_.resize(ZSTD_CStreamOutSize());
  return b;
}

TxFileBuilder::~TxFileBuilder() {
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
  if (fd_ >= 0) ::close(fd_);
}

absl::Status TxFileBuilder::Emit(const char* data, size_t n) {
  body_size_ += n;
  if (fd_ < 0) {
    memory_.append(data, n);
    return absl::OkStatus();
  }
  return fs::WriteAll(fd_, data, n, staging_path_);
}

absl::Status TxFileBuilder::Compress(const char* data, size_t n, bool end) {
  ZSTD_inBuffer in{data, n, 0};
  auto* cctx = static_cast<ZSTD_CCtx*>(cctx_);
  while (true) {
    ZSTD_outBuffer out{out_buf_.data(), out_buf_.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(rc)) {
      return absl::InternalError(fmt::format("zstd compress: {}", ZSTD_getErrorName(rc)));
    }
    LS_RETURN_IF_ERROR(Emit(out_buf_.data(), out.pos));
    if (end ? rc == 0 : in.pos == in.size) return absl::OkStatus();
  }
}

absl::Status TxFileBuilder::AddPage(uint32_t pgno, std::string_view page) {
  if (page.size() != header_.page_size) {
    return absl::InvalidArgumentError(
        fmt::format("page {}: {} bytes, want {}", pgno, page.size(), header_.page_size));
  }
  if (pgno == 0 || pgno <= last_pgno_ || pgno > header_.commit) {
    return absl::InvalidArgumentError(
        fmt::format("page {} out of order or beyond commit {} (previous {})", pgno, header_.commit,
                    last_pgno_));
  }
  char be[4];
  PutBig32(be, pgno);
  LS_RETURN_IF_ERROR(Compress(be, 4, false));
  LS_RETURN_IF_ERROR(Compress(page.data(), page.size(), false));
  last_pgno_ = pgno;
  ++pages_;
  frame_bytes_ += 4 + page.size();
  if (frame_bytes_ >= kTxFrameBytes) {  // the next record starts a new frame
    LS_RETURN_IF_ERROR(Compress(nullptr, 0, true));
    frame_bytes_ = 0;
  }
  return absl::OkStatus();
}

namespace {
uint64_t HashBodyThenHeader(std::string_view body, std::string_view header) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, body.data(), body.size());
  XXH3_64bits_update(st, header.data(), header.size());
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}
}  // namespace

absl::StatusOr<std::unique_ptr<ByteSource>> TxFileBuilder::Finish(uint64_t post_checksum) {
  if (frame_bytes_ > 0 || pages_ == 0) LS_RETURN_IF_ERROR(Compress(nullptr, 0, true));
  header_.post_checksum = post_checksum;
  header_.page_count = static_cast<uint32_t>(pages_);
  header_.body_size = body_size_;
  std::string hdr = EncodeTxHeader(header_);
  char trailer[8];
  if (fd_ < 0) {
    std::memcpy(memory_.data(), hdr.data(), hdr.size());
    uint64_t sum = HashBodyThenHeader(std::string_view(memory_).substr(kTxHeaderSize), hdr);
    PutBig64(trailer, sum);
    memory_.append(trailer, 8);
    return MemorySource(std::move(memory_));
  }
  // Staged on disk: hash the body by reading it back (it is in the page cache).
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  std::string buf(kReadChunk, '\0');
  uint64_t off = kTxHeaderSize;
  while (off < kTxHeaderSize + body_size_) {
    size_t want =
        static_cast<size_t>(std::min<uint64_t>(buf.size(), kTxHeaderSize + body_size_ - off));
    absl::StatusOr<size_t> n = fs::PreadFull(fd_, buf.data(), want, off, staging_path_);
    if (!n.ok() || *n != want) {
      XXH3_freeState(st);
      if (!n.ok()) return n.status();
      return absl::DataLossError(
          fmt::format("read back {}: the file is shorter than written", staging_path_));
    }
    XXH3_64bits_update(st, buf.data(), want);
    off += want;
  }
  XXH3_64bits_update(st, hdr.data(), hdr.size());
  PutBig64(trailer, XXH3_64bits_digest(st));
  XXH3_freeState(st);
  LS_RETURN_IF_ERROR(fs::WriteAll(fd_, trailer, 8, staging_path_));
  LS_RETURN_IF_ERROR(fs::PwriteAll(fd_, hdr.data(), hdr.size(), 0, staging_path_));
  ::close(fd_);
  fd_ = -1;
  return FileSource(staging_path_);
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<TxFileReader>> TxFileReader::Open(std::unique_ptr<ByteReader> src,
                                                                 std::string what,
                                                                 TxDecode decode) {
  std::unique_ptr<TxFileReader> r(new TxFileReader());
  r->src_ = std::move(src);
  r->what_ = std::move(what);
  char hdr[kTxHeaderSize];
  size_t got = 0;
  LS_RETURN_IF_ERROR(Annotate(ReadFull(*r->src_, hdr, sizeof hdr, &got), r->what_));
  LS_ASSIGN_OR_RETURN(r->header_, DecodeTxHeader(std::string_view(hdr, got), r->what_));
  r->dctx_ = ZSTD_createDCtx();
  auto* st = XXH3_createState();
  XXH3_64bits_reset(st);
  r->hash_ = st;
  r->body_left_ = r->header_.body_size;
  r->page_.resize(r->header_.page_size);
  // Keep the header for the trailer hash (hashed after the body).
  r->header_bytes_.assign(hdr, sizeof hdr);
  if (decode == TxDecode::kThreads && r->header_.framed && r->body_left_ >= kParallelBytes) {
    r->frames_ = std::make_unique<FrameDecoder>(
        *r->src_, r->body_left_, kTxFrameBytes + 4 + r->header_.page_size,
        [st](std::string_view chunk) { XXH3_64bits_update(st, chunk.data(), chunk.size()); },
        r->what_);
    r->body_left_ = 0;  // the decoder reads it
  } else {
    r->in_buf_.resize(kReadChunk);
  }
  return r;
}

TxFileReader::~TxFileReader() {
  frames_.reset();  // its thread hashes into hash_
  ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(dctx_));
  XXH3_freeState(static_cast<XXH3_state_t*>(hash_));
}

absl::Status TxFileReader::Fill() {
  if (body_left_ == 0) {
    return absl::DataLossError(fmt::format("{}: body ends inside a page record", what_));
  }
  size_t want = static_cast<size_t>(std::min<uint64_t>(body_left_, in_buf_.size()));
  size_t got = 0;
  LS_RETURN_IF_ERROR(Annotate(ReadFull(*src_, in_buf_.data(), want, &got), what_));
  if (got < want) {
    return absl::DataLossError(
        fmt::format("{}: truncated body ({} bytes missing)", what_, body_left_ - got));
  }
  XXH3_64bits_update(static_cast<XXH3_state_t*>(hash_), in_buf_.data(), got);
  body_left_ -= got;
  in_pos_ = 0;
  in_end_ = got;
  return absl::OkStatus();
}

absl::Status TxFileReader::VerifyTrailer() {
  // Drain whatever compressed bytes remain (a well-formed body has none left).
  if (frames_ != nullptr) {
    absl::StatusOr<std::string_view> more = frames_->Next();
    if (!more.ok()) return FrameError(more.status());
    if (frame_pos_ < frame_.size() || !more->empty()) {
      return absl::DataLossError(fmt::format("{}: data after the last page", what_));
    }
    frames_.reset();  // joined: the whole body is read and hashed
  }
  auto* d = static_cast<ZSTD_DCtx*>(dctx_);
  char scratch[64];
  while (in_pos_ < in_end_ || body_left_ > 0) {
    if (in_pos_ == in_end_) LS_RETURN_IF_ERROR(Fill());
    ZSTD_inBuffer in{in_buf_.data(), in_end_, in_pos_};
    ZSTD_outBuffer out{scratch, sizeof scratch, 0};
    size_t rc = ZSTD_decompressStream(d, &out, &in);
    in_pos_ = in.pos;
    if (ZSTD_isError(rc) || out.pos != 0) {
      return absl::DataLossError(fmt::format("{}: data after the last page", what_));
    }
  }
  XXH3_64bits_update(static_cast<XXH3_state_t*>(hash_), header_bytes_.data(), header_bytes_.size());
  uint64_t want = XXH3_64bits_digest(static_cast<XXH3_state_t*>(hash_));
  char trailer[kTxTrailerSize];
  size_t got = 0;
  LS_RETURN_IF_ERROR(Annotate(ReadFull(*src_, trailer, sizeof trailer, &got), what_));
  if (got != sizeof trailer) {
    return absl::DataLossError(fmt::format("{}: truncated (no trailer)", what_));
  }
  if (GetBig64(trailer) != want) {
    return absl::DataLossError(fmt::format("{}: file checksum mismatch", what_));
  }
  char extra;
  LS_ASSIGN_OR_RETURN(size_t more, src_->Read(&extra, 1));
  if (more != 0) return absl::DataLossError(fmt::format("{}: bytes after the trailer", what_));
  return absl::OkStatus();
}

absl::Status TxFileReader::FrameError(const absl::Status& s) const {
  return absl::IsDataLoss(s) ? s : Annotate(s, what_);
}

absl::Status TxFileReader::Decompress(char* dest, size_t n) {
  if (frames_ != nullptr) return CopyFromFrames(dest, n);
  auto* d = static_cast<ZSTD_DCtx*>(dctx_);
  ZSTD_outBuffer out{dest, n, 0};
  while (out.pos < out.size) {
    if (in_pos_ == in_end_) LS_RETURN_IF_ERROR(Fill());
    ZSTD_inBuffer in{in_buf_.data(), in_end_, in_pos_};
    size_t rc = ZSTD_decompressStream(d, &out, &in);
    in_pos_ = in.pos;
    if (ZSTD_isError(rc)) {
      return absl::DataLossError(fmt::format("{}: corrupt body: {}", what_, ZSTD_getErrorName(rc)));
    }
    if (rc == 0 && out.pos < out.size) {
      return absl::DataLossError(fmt::format("{}: body ends after {} of {} pages", what_,
                                             pages_read_, header_.page_count));
    }
  }
  return absl::OkStatus();
}

absl::Status TxFileReader::CopyFromFrames(char* dest, size_t n) {
  while (n > 0) {
    if (frame_pos_ == frame_.size()) {
      absl::StatusOr<std::string_view> next = frames_->Next();
      if (!next.ok()) return FrameError(next.status());
      if (next->empty()) {
        return absl::DataLossError(fmt::format("{}: body ends after {} of {} pages", what_,
                                               pages_read_, header_.page_count));
      }
      frame_ = *next;
      frame_pos_ = 0;
    }
    size_t k = std::min(n, frame_.size() - frame_pos_);
    std::memcpy(dest, frame_.data() + frame_pos_, k);
    frame_pos_ += k;
    dest += k;
    n -= k;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> TxFileReader::NextPgno(uint32_t* pgno) {
  if (pages_read_ == header_.page_count) {
    if (!src_eof_) {
      LS_RETURN_IF_ERROR(VerifyTrailer());
      src_eof_ = true;
    }
    return false;
  }
  char be[4];
  LS_RETURN_IF_ERROR(Decompress(be, sizeof be));
  uint32_t p = GetBig32(be);
  if (p == 0 || p <= last_pgno_ || p > header_.commit) {
    return absl::DataLossError(fmt::format("{}: page number {} out of order or beyond commit {}",
                                           what_, p, header_.commit));
  }
  last_pgno_ = p;
  *pgno = p;
  return true;
}

absl::StatusOr<bool> TxFileReader::Next(uint32_t* pgno, std::string_view* page) {
  LS_ASSIGN_OR_RETURN(bool more, NextPgno(pgno));
  if (!more) return false;
  LS_RETURN_IF_ERROR(Decompress(page_.data(), page_.size()));
  ++pages_read_;
  *page = page_;
  return true;
}

absl::StatusOr<bool> TxFileReader::NextInto(uint32_t* pgno, const PageDest& dest) {
  LS_ASSIGN_OR_RETURN(bool more, NextPgno(pgno));
  if (!more) return false;
  LS_ASSIGN_OR_RETURN(char* at, dest(*pgno));
  LS_RETURN_IF_ERROR(Decompress(at, header_.page_size));
  ++pages_read_;
  return true;
}

}  // namespace litesync
