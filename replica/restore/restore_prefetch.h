// Restore's read-ahead: worker threads download the files of a plan ahead of the
// applier, each with a client of its own (a client serves one thread at a time),
// while the applier still takes them strictly in order. At most `window` files
// past the one being applied are held in memory, and only files of known size
// below kMaxPrefetchBytes; the others the applier streams in turn.
// Thread-safety: Take() from one thread; the workers are internal.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

#include "replica/storage/replica_client.h"

namespace litesync {

class RestorePrefetcher {
 public:
  static constexpr uint64_t kMaxPrefetchBytes = 64 << 20;

  // Starts one worker per client. `files` must outlive this object.
  RestorePrefetcher(const std::vector<TxFileInfo>& files,
                    std::vector<std::unique_ptr<ReplicaClient>> clients, size_t window);
  ~RestorePrefetcher();  // stops the workers and joins them
  RestorePrefetcher(const RestorePrefetcher&) = delete;
  RestorePrefetcher& operator=(const RestorePrefetcher&) = delete;

  // Whether the workers fetch file `i` (known size below kMaxPrefetchBytes).
  bool Prefetched(size_t i) const;
  // Waits for file `i` (Prefetched(i)); its bytes, or the error of its download
  // (NotFound when absent). Calls go in increasing `i`.
  absl::StatusOr<std::string> Take(size_t i);

 private:
  void Work(ReplicaClient* client);

  const std::vector<TxFileInfo>& files_;
  const std::vector<std::unique_ptr<ReplicaClient>> clients_;
  const size_t window_;

  // std::mutex, as in heartbeat/heartbeat.h: TSan sees it, not Debian's absl::Mutex.
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                   // guarded by mu_
  size_t next_ = 0;                                     // next file to claim; guarded by mu_
  size_t applying_ = 0;                                 // file the applier waits for or applies
  std::map<size_t, absl::StatusOr<std::string>> done_;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace litesync
