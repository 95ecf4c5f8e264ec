// Requests a replica client sent to its storage, by the operation the storage
// bills: S3's request classes (PUT, GET, HEAD, LIST, DELETE). Counted once, where
// requests leave the process (replica/storage/), copied into the sync records,
// and exported by /metrics as litesync_replica_requests_total{db,replica,op}.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace litesync {

enum class RequestOp { kPut, kGet, kHead, kList, kDelete };
inline constexpr size_t kRequestOps = 5;

inline std::string_view RequestOpName(RequestOp op) {
  constexpr std::array<std::string_view, kRequestOps> kNames = {"PUT", "GET", "HEAD", "LIST",
                                                                "DELETE"};
  return kNames[static_cast<size_t>(op)];
}

struct RequestCounts {
  // Every request sent (each attempt of a retried one), by op.
  std::array<uint64_t, kRequestOps> sent{};
  // Of those, the ones that failed: no answer (connection error, timeout) or an
  // error answer the caller did not expect (5xx, throttling, 403, ...). A 404 for
  // an absent object or a 412 for a condition that did not hold is an answer.
  std::array<uint64_t, kRequestOps> failed{};

  void Count(RequestOp op, bool ok) {
    sent[static_cast<size_t>(op)]++;
    if (!ok) failed[static_cast<size_t>(op)]++;
  }
  uint64_t Total() const {
    uint64_t n = 0;
    for (uint64_t v : sent) n += v;
    return n;
  }
};

}  // namespace litesync
