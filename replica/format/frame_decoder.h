// Decompresses a framed tx-file body (independent zstd frames, see tx_file.h) on
// two threads while a third reads the compressed bytes ahead and hashes them:
// decompression is most of a large restore's time, and one stream keeps only
// one core busy. Frames come out in file order. One consumer thread; the object
// owns and joins its threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

#include "replica/storage/replica_client.h"

struct ZSTD_DCtx_s;

namespace litesync {

class FrameDecoder {
 public:
  // Reads the next `body_bytes` of `src`: zstd frames each decompressing to at
  // most `max_frame` bytes. `on_compressed` sees every compressed byte in order,
  // on the reading thread. `src` must outlive this object, and nobody else may
  // read it until the object is gone. `what` names the file in errors.
  FrameDecoder(ByteReader& src, uint64_t body_bytes, size_t max_frame,
               std::function<void(std::string_view)> on_compressed, std::string what);
  ~FrameDecoder();  // stops the threads and joins them
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // The next frame's decompressed bytes, valid until the next call; empty after
  // the last frame. DataLoss for a truncated or corrupt body, or the error of `src`.
  absl::StatusOr<std::string_view> Next();

 private:
  static constexpr int kThreads = 2;
  static constexpr size_t kDepth = 5;  // frames read and not yet consumed, at most
  struct Frame {
    std::unique_ptr<char[]> bytes;
    size_t size = 0;
  };

  void Read(ByteReader& src, uint64_t body_bytes);
  absl::Status Split(std::string* pending, bool at_end);  // under mu_
  void Decode();
  absl::StatusOr<Frame> DecodeOne(ZSTD_DCtx_s* dctx, std::string_view compressed,
                                  std::unique_ptr<char[]> bytes) const;

  const size_t max_frame_;
  const std::function<void(std::string_view)> on_compressed_;
  const std::string what_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::string> compressed_;         // guarded by mu_: to decode
  std::map<uint64_t, absl::StatusOr<Frame>> decoded_;  // guarded by mu_
  // Buffers to reuse (fresh ones cost a page fault per 4 KiB); guarded by mu_.
  std::vector<std::string> spare_compressed_;
  std::vector<std::unique_ptr<char[]>> spare_frames_;
  uint64_t frames_ = 0;     // guarded by mu_: frames found so far
  uint64_t consumed_ = 0;   // guarded by mu_: frames handed to the consumer
  bool read_done_ = false;  // guarded by mu_: every frame is found (or error_ is set)
  bool stop_ = false;       // guarded by mu_
  absl::Status error_;      // guarded by mu_: of reading or splitting
  Frame current_;           // the consumer's: the frame last returned
  std::vector<std::thread> threads_;
};

}  // namespace litesync
