#include "replica/compat/lz4_reader.h"

#include <lz4.h>
#include <lz4frame.h>

#include <algorithm>
#include <vector>

#include "base/status.h"
#include "fmt/format.h"

namespace litesync {

struct Lz4FrameDecoder::Context {
  LZ4F_dctx* dctx = nullptr;
  Context() { (void)LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION); }
  ~Context() { LZ4F_freeDecompressionContext(dctx); }
};

Lz4FrameDecoder::Lz4FrameDecoder() : ctx_(std::make_unique<Context>()) {}
Lz4FrameDecoder::~Lz4FrameDecoder() = default;

void Lz4FrameDecoder::Reset() { LZ4F_resetDecompressionContext(ctx_->dctx); }

absl::StatusOr<bool> Lz4FrameDecoder::Decode(std::string_view in, size_t* consumed, char* out,
                                             size_t out_size, size_t* produced,
                                             std::string_view what) {
  if (ctx_->dctx == nullptr) return absl::ResourceExhaustedError("lz4: no decompression context");
  size_t src_size = in.size();
  size_t dst_size = out_size;
  size_t hint = LZ4F_decompress(ctx_->dctx, out, &dst_size, in.data(), &src_size, nullptr);
  if (LZ4F_isError(hint)) {
    Reset();
    return absl::DataLossError(fmt::format("{}: not valid LZ4 data ({}): the object is corrupt",
                                           what, LZ4F_getErrorName(hint)));
  }
  *consumed = src_size;
  *produced = dst_size;
  return hint == 0;
}

absl::Status Lz4DecodeBlock(std::string_view block, std::span<char> out, std::string_view what) {
  int n = LZ4_decompress_safe(block.data(), out.data(), static_cast<int>(block.size()),
                              static_cast<int>(out.size()));
  if (n != static_cast<int>(out.size())) {
    return absl::DataLossError(
        fmt::format("{}: an LZ4 block decodes to {} bytes, expected {}: the object is corrupt",
                    what, n < 0 ? 0 : n, out.size()));
  }
  return absl::OkStatus();
}

namespace {

class Lz4FrameReader : public ByteReader {
 public:
  Lz4FrameReader(std::unique_ptr<ByteReader> source, std::string what)
      : source_(std::move(source)), what_(std::move(what)), in_(256 << 10) {}

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (n > 0) {
      if (pos_ == len_ && !eof_) {
        LS_ASSIGN_OR_RETURN(len_, source_->Read(in_.data(), in_.size()));
        pos_ = 0;
        eof_ = len_ == 0;
        total_in_ += len_;
      }
      if (pos_ == len_) {  // the source ended
        if (total_in_ == 0) {
          return absl::DataLossError(fmt::format("{}: empty, expected LZ4 data", what_));
        }
        if (in_frame_) {
          return absl::DataLossError(fmt::format(
              "{}: ends inside an LZ4 frame: the object is truncated (an interrupted upload "
              "or copy?)",
              what_));
        }
        return size_t{0};
      }
      size_t used = 0, made = 0;
      LS_ASSIGN_OR_RETURN(
          bool ended, decoder_.Decode(std::string_view(in_.data() + pos_, len_ - pos_), &used, buf,
                                      n, &made, what_));
      pos_ += used;
      in_frame_ = !ended;
      if (made > 0) return made;
    }
    return size_t{0};
  }

 private:
  std::unique_ptr<ByteReader> source_;
  std::string what_;
  Lz4FrameDecoder decoder_;
  std::vector<char> in_;
  size_t pos_ = 0, len_ = 0;
  uint64_t total_in_ = 0;
  bool eof_ = false;
  bool in_frame_ = false;
};

}  // namespace

std::unique_ptr<ByteReader> NewLz4FrameReader(std::unique_ptr<ByteReader> source,
                                              std::string what) {
  return std::make_unique<Lz4FrameReader>(std::move(source), std::move(what));
}

}  // namespace litesync
