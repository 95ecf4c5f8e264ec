#include "replica/compat/lz4_reader.h"

#include <lz4.h>
#include <lz4frame.h>

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

}  // namespace litesync
