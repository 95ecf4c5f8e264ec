// Collects a download: bytes stay in memory up to a limit, then move to an
// unlinked temporary file, so memory stays bounded whatever the object size and
// nothing is left on disk whatever happens to the process. One thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/handles.h"

#include "replica/storage/replica_client.h"

namespace litesync {

class SpillBuffer {
 public:
  // `dir` holds the temporary file; empty: the scratch directory (base/scratch_dir.h).
  SpillBuffer(uint64_t memory_limit, std::string dir);

  absl::Status Append(std::string_view data);
  void Clear();  // start over from zero bytes
  uint64_t size() const { return size_; }
  bool spilled() const { return fd_.valid(); }
  // A reader over every byte appended; the buffer is spent afterwards.
  absl::StatusOr<std::unique_ptr<ByteReader>> TakeReader();

 private:
  absl::Status Spill();

  uint64_t memory_limit_;
  std::string dir_;
  std::string memory_;
  UniqueFd fd_;
  uint64_t size_ = 0;
};

}  // namespace litesync
