// LZ4 as Litestream writes it (Debian's liblz4): v0.3 stores every snapshot and
// WAL segment as one LZ4 frame (the frame layout: docs/litestream.md, "v0.3"); LTX files
// (v0.5) compress each page as an LZ4 block, older LTX files as one frame per page.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "replica/storage/replica_client.h"

namespace litesync {

// Decodes LZ4 frames (one or more, back to back) from `source` as a stream.
// Errors are DataLoss and name `what` (the object): not LZ4, corrupt, or cut off
// inside a frame.
std::unique_ptr<ByteReader> NewLz4FrameReader(std::unique_ptr<ByteReader> source, std::string what);

// Decodes one LZ4 block into exactly `out.size()` bytes; DataLoss naming `what`
// otherwise.
absl::Status Lz4DecodeBlock(std::string_view block, std::span<char> out, std::string_view what);

// Incremental decoding of a single LZ4 frame fed in pieces (an old-style LTX
// page, whose end is known only to the frame itself).
class Lz4FrameDecoder {
 public:
  Lz4FrameDecoder();
  ~Lz4FrameDecoder();
  Lz4FrameDecoder(const Lz4FrameDecoder&) = delete;
  Lz4FrameDecoder& operator=(const Lz4FrameDecoder&) = delete;

  // Starts a new frame.
  void Reset();
  // Decodes from `in` into `out`: *consumed and *produced say how much of each
  // was used; returns true once the frame ended. DataLoss naming `what` on bad input.
  absl::StatusOr<bool> Decode(std::string_view in, size_t* consumed, char* out, size_t out_size,
                              size_t* produced, std::string_view what);

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

}  // namespace litesync
