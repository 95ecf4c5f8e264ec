// The LZ4 frame format (docs/litestream.md, "v0.3") parsed here rather than by liblz4's
// LZ4F_decompress, for restore speed (docs/litestream.md, bench/README.md
// "Restoring Litestream's replicas"). perf of a 1 GiB restore through LZ4F showed
// ~38% of the samples in liblz4's own XXH32 of the content checksum (Debian builds
// liblz4 for baseline x86-64 and its XXH32 loop comes out slow) and 17% copying
// 4 KiB pages out of LZ4F's block buffer. Here the checksums are libxxhash's
// XXH32 (the same function, several times faster), a stored block is read from
// the source straight into the caller's buffer, and an independent compressed
// block is decoded straight into it when it fits: one copy fewer per byte.
// Every checksum the frame carries is still verified.
#include <endian.h>
#include <lz4.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "base/status.h"
#include "fmt/format.h"
#include <xxhash.h>

#include "replica/compat/lz4_reader.h"

namespace litesync {
namespace {

constexpr uint32_t kFrameMagic = 0x184D2204;
constexpr uint32_t kSkippableMagic = 0x184D2A50;  // to 0x184D2A5F
constexpr size_t kHistory = 64 << 10;             // what a linked block may refer back to
constexpr size_t kReadAhead = 64 << 10;

struct XxhFree {
  void operator()(XXH32_state_t* s) const { XXH32_freeState(s); }
};
using Xxh32 = std::unique_ptr<XXH32_state_t, XxhFree>;

// The frame format's integers are little-endian (as is every host litesync builds on).
uint32_t GetLittle32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return le32toh(v);
}
uint64_t GetLittle64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return le64toh(v);
}

class Lz4FrameReader : public ByteReader {
 public:
  Lz4FrameReader(std::unique_ptr<ByteReader> source, std::string what)
      : source_(std::move(source)),
        what_(std::move(what)),
        in_(kReadAhead),
        content_hash_(XXH32_createState()),
        block_hash_(XXH32_createState()) {}

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (n == 0) return size_t{0};
    while (true) {
      if (raw_left_ > 0) return ReadStored(buf, n);
      if (out_pos_ < out_len_) {
        size_t k = std::min(n, out_len_ - out_pos_);
        std::memcpy(buf, out_.data() + out_pos_, k);
        out_pos_ += k;
        return k;
      }
      if (!in_frame_) {
        LS_ASSIGN_OR_RETURN(bool more, StartFrame());
        if (!more) return size_t{0};
        continue;
      }
      LS_ASSIGN_OR_RETURN(size_t direct, NextBlock(buf, n));
      if (direct > 0) return direct;
    }
  }

 private:
  absl::Status Corrupt(std::string_view why) const {
    return absl::DataLossError(
        fmt::format("{}: not valid LZ4 data ({}): the object is corrupt", what_, why));
  }
  absl::Status Truncated() const {
    return absl::DataLossError(fmt::format(
        "{}: ends inside an LZ4 frame: the object is truncated (an interrupted upload or copy?)",
        what_));
  }

  // At least `k` bytes buffered from in_[pos_]; false if the source ends first.
  absl::StatusOr<bool> Need(size_t k) {
    if (len_ - pos_ >= k) return true;
    if (pos_ > 0) {
      std::memmove(in_.data(), in_.data() + pos_, len_ - pos_);
      len_ -= pos_;
      pos_ = 0;
    }
    if (in_.size() < k) in_.resize(k);
    while (len_ < k) {
      // Little beyond what is needed: the bytes of a stored block after it are
      // better read straight into the caller's buffer (ReadStored).
      const size_t want = std::min(in_.size() - len_, std::max(k - len_, kReadAhead));
      LS_ASSIGN_OR_RETURN(size_t got, source_->Read(in_.data() + len_, want));
      if (got == 0) return false;
      len_ += got;
      any_input_ = true;
    }
    return true;
  }

  // Reads the next frame's header; false at the end of the source.
  absl::StatusOr<bool> StartFrame() {
    while (true) {
      LS_ASSIGN_OR_RETURN(bool have, Need(4));
      if (!have) {
        if (len_ > pos_) return Truncated();
        if (!any_input_) {
          return absl::DataLossError(fmt::format("{}: empty, expected LZ4 data", what_));
        }
        return false;
      }
      const uint32_t magic = GetLittle32(in_.data() + pos_);
      if ((magic & 0xFFFFFFF0u) == kSkippableMagic) {
        LS_ASSIGN_OR_RETURN(have, Need(8));
        if (!have) return Truncated();
        size_t skip = GetLittle32(in_.data() + pos_ + 4);
        pos_ += 8;
        while (skip > 0) {  // in pieces: it may be large
          LS_ASSIGN_OR_RETURN(have, Need(1));
          if (!have) return Truncated();
          const size_t k = std::min(skip, len_ - pos_);
          pos_ += k;
          skip -= k;
        }
        continue;
      }
      if (magic != kFrameMagic) return Corrupt(fmt::format("frame magic {:#010x}", magic));
      LS_ASSIGN_OR_RETURN(have, Need(7));
      if (!have) return Truncated();
      const auto* p = reinterpret_cast<const uint8_t*>(in_.data() + pos_);
      const uint8_t flg = p[4], bd = p[5];
      if ((flg >> 6) != 1 || (flg & 0x02) || (bd & 0x8F)) return Corrupt("frame header flags");
      if (flg & 0x01) return Corrupt("a dictionary ID: preset dictionaries are not supported");
      const size_t desc = 2 + ((flg & 0x08) ? 8 : 0);
      LS_ASSIGN_OR_RETURN(have, Need(4 + desc + 1));
      if (!have) return Truncated();
      p = reinterpret_cast<const uint8_t*>(in_.data() + pos_);
      if (((XXH32(p + 4, desc, 0) >> 8) & 0xFF) != p[4 + desc]) {
        return Corrupt("frame header checksum mismatch");
      }
      const int size_id = (bd >> 4) & 0x7;
      if (size_id < 4) return Corrupt("block maximum size");
      block_max_ = size_t{1} << (8 + 2 * size_id);  // 4: 64 KiB ... 7: 4 MiB
      independent_ = (flg & 0x20) != 0;
      block_checksum_ = (flg & 0x10) != 0;
      content_checksum_ = (flg & 0x04) != 0;
      content_size_ =
          (flg & 0x08) ? std::optional<uint64_t>(GetLittle64(in_.data() + pos_ + 6)) : std::nullopt;
      pos_ += 4 + desc + 1;
      produced_ = 0;
      hist_len_ = 0;
      out_pos_ = out_len_ = 0;
      XXH32_reset(content_hash_.get(), 0);
      in_frame_ = true;
      return true;
    }
  }

  // Decoded bytes of the frame, in order, whichever buffer they are in.
  void Produced(const char* p, size_t k) {
    if (content_checksum_) XXH32_update(content_hash_.get(), p, k);
    produced_ += k;
  }

  // The next block: a stored one is left for ReadStored; a compressed one is
  // decoded into `buf` (returns its size) when independent and it fits, else into
  // out_. The end mark ends the frame after checking its size and checksum.
  absl::StatusOr<size_t> NextBlock(char* buf, size_t n) {
    LS_ASSIGN_OR_RETURN(bool have, Need(4));
    if (!have) return Truncated();
    const uint32_t word = GetLittle32(in_.data() + pos_);
    pos_ += 4;
    if (word == 0) return EndFrame();
    const bool stored = (word & 0x80000000u) != 0;
    const size_t size = word & 0x7FFFFFFFu;
    if (size > block_max_) return Corrupt(fmt::format("a block of {} bytes", size));
    if (stored && independent_) {
      raw_left_ = size;
      if (block_checksum_) XXH32_reset(block_hash_.get(), 0);
      return size_t{0};
    }
    const size_t with_sum = size + (block_checksum_ ? 4 : 0);
    LS_ASSIGN_OR_RETURN(have, Need(with_sum));
    if (!have) return Truncated();
    const char* src = in_.data() + pos_;
    if (block_checksum_ && XXH32(src, size, 0) != GetLittle32(src + size)) {
      return Corrupt("block checksum mismatch");
    }
    pos_ += with_sum;
    if (independent_ && !stored && n >= block_max_) {
      int got = LZ4_decompress_safe(src, buf, static_cast<int>(size), static_cast<int>(block_max_));
      if (got < 0) return Corrupt("a compressed block does not decode");
      Produced(buf, static_cast<size_t>(got));
      return static_cast<size_t>(got);
    }
    // Into out_, after up to 64 KiB of the previous block (a linked block's dictionary).
    if (out_.size() < kHistory + block_max_) out_.resize(kHistory + block_max_);
    size_t keep = independent_ ? 0 : std::min(hist_len_, kHistory);
    if (keep > 0) std::memmove(out_.data(), out_.data() + out_len_ - keep, keep);
    int got = static_cast<int>(size);
    if (stored) {
      std::memcpy(out_.data() + keep, src, size);
    } else {
      got = LZ4_decompress_safe_usingDict(src, out_.data() + keep, static_cast<int>(size),
                                          static_cast<int>(block_max_), out_.data(),
                                          static_cast<int>(keep));
      if (got < 0) return Corrupt("a compressed block does not decode");
    }
    out_pos_ = keep;
    out_len_ = keep + static_cast<size_t>(got);
    hist_len_ = out_len_;
    Produced(out_.data() + out_pos_, static_cast<size_t>(got));
    return size_t{0};
  }

  // A stored block's bytes, straight from the source into `buf` once the
  // buffered ones are used.
  absl::StatusOr<size_t> ReadStored(char* buf, size_t n) {
    size_t k = std::min(n, raw_left_);
    if (pos_ < len_) {
      k = std::min(k, len_ - pos_);
      std::memcpy(buf, in_.data() + pos_, k);
      pos_ += k;
    } else {
      LS_ASSIGN_OR_RETURN(k, source_->Read(buf, k));
      if (k == 0) return Truncated();
    }
    raw_left_ -= k;
    Produced(buf, k);
    if (block_checksum_) {
      XXH32_update(block_hash_.get(), buf, k);
      if (raw_left_ == 0) {
        LS_ASSIGN_OR_RETURN(bool have, Need(4));
        if (!have) return Truncated();
        if (XXH32_digest(block_hash_.get()) != GetLittle32(in_.data() + pos_)) {
          return Corrupt("block checksum mismatch");
        }
        pos_ += 4;
      }
    }
    return k;
  }

  absl::StatusOr<size_t> EndFrame() {
    if (content_checksum_) {
      LS_ASSIGN_OR_RETURN(bool have, Need(4));
      if (!have) return Truncated();
      if (XXH32_digest(content_hash_.get()) != GetLittle32(in_.data() + pos_)) {
        return Corrupt("content checksum mismatch");
      }
      pos_ += 4;
    }
    if (content_size_ && *content_size_ != produced_) {
      return Corrupt(
          fmt::format("{} bytes decoded, the frame header says {}", produced_, *content_size_));
    }
    in_frame_ = false;
    return size_t{0};
  }

  std::unique_ptr<ByteReader> source_;
  const std::string what_;
  std::vector<char> in_;  // source bytes [pos_, len_) not yet parsed
  size_t pos_ = 0, len_ = 0;
  bool any_input_ = false;
  // The current frame.
  bool in_frame_ = false;
  size_t block_max_ = 0;
  bool independent_ = true, block_checksum_ = false, content_checksum_ = false;
  std::optional<uint64_t> content_size_;
  uint64_t produced_ = 0;
  Xxh32 content_hash_, block_hash_;
  size_t raw_left_ = 0;    // bytes of a stored block still to read
  std::vector<char> out_;  // decoded bytes [out_pos_, out_len_) not yet read
  size_t out_pos_ = 0, out_len_ = 0, hist_len_ = 0;
};

}  // namespace

std::unique_ptr<ByteReader> NewLz4FrameReader(std::unique_ptr<ByteReader> source,
                                              std::string what) {
  return std::make_unique<Lz4FrameReader>(std::move(source), std::move(what));
}

}  // namespace litesync
