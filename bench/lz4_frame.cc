#include "bench/lz4_frame.h"

#include "replica/compat/lz4_reader.h"

namespace litesync::bench {

std::optional<std::string> Lz4FrameDecode(std::string_view in) {
  Lz4FrameDecoder decoder;
  std::string out;
  std::string chunk(4 << 20, '\0');  // one block of Litestream's 4 MiB at a time
  bool in_frame = false;
  while (!in.empty()) {
    size_t used = 0, made = 0;
    absl::StatusOr<bool> ended =
        decoder.Decode(in, &used, chunk.data(), chunk.size(), &made, "lz4 input");
    if (!ended.ok()) return std::nullopt;
    in.remove_prefix(used);
    out.append(chunk.data(), made);
    in_frame = !*ended;
  }
  if (in_frame) return std::nullopt;  // cut off inside a frame
  return out;
}

}  // namespace litesync::bench
