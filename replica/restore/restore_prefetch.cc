#include "replica/restore/restore_prefetch.h"

#include <algorithm>

namespace litesync {

RestorePrefetcher::RestorePrefetcher(const std::vector<TxFileInfo>& files,
                                     std::vector<std::unique_ptr<ReplicaClient>> clients,
                                     size_t window)
    : files_(files), clients_(std::move(clients)), window_(std::max<size_t>(window, 1)) {
  for (const std::unique_ptr<ReplicaClient>& c : clients_) {
    threads_.emplace_back([this, client = c.get()] { Work(client); });
  }
}

RestorePrefetcher::~RestorePrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

bool RestorePrefetcher::Prefetched(size_t i) const {
  return files_[i].size > 0 && files_[i].size < kMaxPrefetchBytes;
}

absl::StatusOr<std::string> RestorePrefetcher::Take(size_t i) {
  std::unique_lock<std::mutex> lock(mu_);
  // Moving the window up to `i` first: files streamed in between must not keep
  // the workers from claiming it.
  applying_ = std::max(applying_, i);
  cv_.notify_all();
  cv_.wait(lock, [&] { return done_.count(i) > 0; });
  absl::StatusOr<std::string> bytes = std::move(done_.at(i));
  done_.erase(i);
  return bytes;
}

void RestorePrefetcher::Work(ReplicaClient* client) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    while (next_ < files_.size() && !Prefetched(next_)) ++next_;
    if (stop_ || next_ >= files_.size()) return;
    if (next_ > applying_ + window_) {
      cv_.wait(lock);
      continue;
    }
    const size_t i = next_++;
    lock.unlock();
    absl::StatusOr<std::string> bytes = [&]() -> absl::StatusOr<std::string> {
      absl::StatusOr<std::unique_ptr<ByteReader>> src = client->Open(files_[i]);
      if (!src.ok()) return src.status();
      return ReadAll(**src);
    }();
    lock.lock();
    done_.emplace(i, std::move(bytes));
    cv_.notify_all();
  }
}

}  // namespace litesync
