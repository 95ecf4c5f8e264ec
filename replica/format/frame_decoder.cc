#include "replica/format/frame_decoder.h"

#include <zstd_errors.h>

#include <algorithm>

#include "fmt/format.h"
#include <zstd.h>

namespace litesync {
namespace {

constexpr size_t kReadChunk = 1 << 20;

}  // namespace

FrameDecoder::FrameDecoder(ByteReader& src, uint64_t body_bytes, size_t max_frame,
                           std::function<void(std::string_view)> on_compressed, std::string what)
    : max_frame_(max_frame), on_compressed_(std::move(on_compressed)), what_(std::move(what)) {
  threads_.emplace_back([this, &src, body_bytes] { Read(src, body_bytes); });
  for (int i = 0; i < kThreads; ++i) threads_.emplace_back([this] { Decode(); });
}

FrameDecoder::~FrameDecoder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

// Moves every whole frame at the front of `pending` to compressed_.
absl::Status FrameDecoder::Split(std::string* pending, bool at_end) {
  size_t at = 0;
  while (at < pending->size()) {
    size_t n = ZSTD_findFrameCompressedSize(pending->data() + at, pending->size() - at);
    if (ZSTD_isError(n)) {
      bool partial = ZSTD_getErrorCode(n) == ZSTD_error_srcSize_wrong;
      if (!partial) {
        return absl::DataLossError(
            fmt::format("{}: corrupt body: {}", what_, ZSTD_getErrorName(n)));
      }
      if (at_end) return absl::DataLossError(fmt::format("{}: body ends inside a frame", what_));
      if (pending->size() - at > ZSTD_compressBound(max_frame_) + kReadChunk) {
        return absl::DataLossError(fmt::format("{}: corrupt body: a frame too long", what_));
      }
      break;
    }
    std::string frame;
    if (!spare_compressed_.empty()) {
      frame = std::move(spare_compressed_.back());
      spare_compressed_.pop_back();
    }
    frame.assign(*pending, at, n);
    compressed_.emplace(frames_++, std::move(frame));
    at += n;
  }
  pending->erase(0, at);
  return absl::OkStatus();
}

void FrameDecoder::Read(ByteReader& src, uint64_t body_bytes) {
  std::string chunk(kReadChunk, '\0');
  std::string pending;
  absl::Status status;
  while (body_bytes > 0 && status.ok()) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || frames_ - consumed_ < kDepth; });
      if (stop_) return;
    }
    const size_t want = static_cast<size_t>(std::min<uint64_t>(body_bytes, kReadChunk));
    size_t got = 0;
    status = ReadFull(src, chunk.data(), want, &got);
    on_compressed_(std::string_view(chunk.data(), got));
    pending.append(chunk.data(), got);
    body_bytes -= got;
    if (status.ok() && got < want) {
      status = absl::DataLossError(
          fmt::format("{}: truncated body ({} bytes missing)", what_, body_bytes));
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (status.ok()) status = Split(&pending, body_bytes == 0);
    cv_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  error_ = status;
  read_done_ = true;
  cv_.notify_all();
}

void FrameDecoder::Decode() {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !compressed_.empty() || read_done_; });
    if (stop_ || compressed_.empty()) break;
    auto node = compressed_.extract(compressed_.begin());
    std::unique_ptr<char[]> bytes;
    if (!spare_frames_.empty()) {
      bytes = std::move(spare_frames_.back());
      spare_frames_.pop_back();
    }
    lock.unlock();
    if (bytes == nullptr) bytes = std::make_unique_for_overwrite<char[]>(max_frame_ + 1);
    absl::StatusOr<Frame> out = DecodeOne(dctx, node.mapped(), std::move(bytes));
    lock.lock();
    spare_compressed_.push_back(std::move(node.mapped()));
    decoded_.emplace(node.key(), std::move(out));
    cv_.notify_all();
  }
  ZSTD_freeDCtx(dctx);
}

absl::StatusOr<FrameDecoder::Frame> FrameDecoder::DecodeOne(ZSTD_DCtx_s* dctx,
                                                            std::string_view compressed,
                                                            std::unique_ptr<char[]> bytes) const {
  if (dctx == nullptr) {
    return absl::ResourceExhaustedError("zstd: cannot create a decompression context");
  }
  size_t n =
      ZSTD_decompressDCtx(dctx, bytes.get(), max_frame_ + 1, compressed.data(), compressed.size());
  if (ZSTD_isError(n)) {
    return absl::DataLossError(fmt::format("{}: corrupt body: {}", what_, ZSTD_getErrorName(n)));
  }
  if (n > max_frame_) {
    return absl::DataLossError(fmt::format("{}: corrupt body: a frame too long", what_));
  }
  return Frame{std::move(bytes), n};
}

absl::StatusOr<std::string_view> FrameDecoder::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] {
      return decoded_.count(consumed_) > 0 || (read_done_ && consumed_ == frames_);
    });
    auto it = decoded_.find(consumed_);
    if (it == decoded_.end()) {  // every frame found is consumed
      if (!error_.ok()) return error_;
      return std::string_view();
    }
    absl::StatusOr<Frame> frame = std::move(it->second);
    decoded_.erase(it);
    ++consumed_;
    if (current_.bytes != nullptr) spare_frames_.push_back(std::move(current_.bytes));
    cv_.notify_all();
    if (!frame.ok()) return frame.status();
    if (frame->size == 0) continue;  // a skippable frame
    current_ = std::move(*frame);
    return std::string_view(current_.bytes.get(), current_.size);
  }
}

}  // namespace litesync
