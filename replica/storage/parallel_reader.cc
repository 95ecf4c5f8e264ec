#include "replica/storage/parallel_reader.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "fmt/format.h"

namespace litesync {
namespace {

class ParallelObjectReader : public ByteReader {
 public:
  ParallelObjectReader(ObjectInfo object, ParallelReadOptions options)
      : object_(std::move(object)),
        options_(options),
        parts_((object_.size + options_.part_size - 1) / options_.part_size) {}

  ~ParallelObjectReader() override {
    {
      MutexLock l(&mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  void Start(std::vector<std::unique_ptr<ReplicaClient>> clients) {
    for (auto& c : clients) {
      threads_.emplace_back([this, client = std::move(c)]() mutable { Fetch(*client); });
    }
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (pos_ == current_.size()) {
      if (next_ == parts_) return size_t{0};
      MutexLock l(&mu_);
      cv_.wait(l.native(), [&] { return !error_.ok() || ready_.count(next_) > 0; });
      if (!error_.ok()) return error_;
      current_ = std::move(ready_[next_]);
      ready_.erase(next_);
      pos_ = 0;
      ++next_;
      consumed_ = next_;
      cv_.notify_all();  // a window slot is free
    }
    n = std::min(n, current_.size() - pos_);
    std::copy_n(current_.data() + pos_, n, buf);
    pos_ += n;
    return n;
  }

 private:
  void Fetch(ReplicaClient& client) {
    while (true) {
      uint64_t part;
      {
        MutexLock l(&mu_);
        cv_.wait(l.native(), [&] {
          return stop_ || !error_.ok() || claimed_ >= parts_ ||
                 claimed_ < consumed_ + static_cast<uint64_t>(options_.window);
        });
        if (stop_ || !error_.ok() || claimed_ >= parts_) return;
        part = claimed_++;
      }
      const uint64_t offset = part * options_.part_size;
      const uint64_t length = std::min(options_.part_size, object_.size - offset);
      absl::StatusOr<std::string> bytes = FetchPart(client, offset, length);
      MutexLock l(&mu_);
      if (!bytes.ok()) {
        if (error_.ok()) error_ = bytes.status();
      } else {
        ready_[part] = *std::move(bytes);
      }
      cv_.notify_all();
    }
  }

  absl::StatusOr<std::string> FetchPart(ReplicaClient& client, uint64_t offset, uint64_t length) {
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> r,
                        client.OpenObject(object_.key, offset, length));
    std::string bytes(length, '\0');
    size_t got = 0;
    LS_RETURN_IF_ERROR(ReadFull(*r, bytes.data(), length, &got));
    if (got != length) {
      return absl::DataLossError(fmt::format(
          "{}: {} bytes at offset {}, expected {}: the object changed or is shorter than listed",
          object_.key, got, offset, length));
    }
    return bytes;
  }

  const ObjectInfo object_;
  const ParallelReadOptions options_;
  const uint64_t parts_;
  std::vector<std::thread> threads_;
  // The reader's own (one thread).
  std::string current_;
  size_t pos_ = 0;
  uint64_t next_ = 0;

  Mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::string> ready_ ABSL_GUARDED_BY(mu_);
  uint64_t claimed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t consumed_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ByteReader>> NewParallelObjectReader(
    const ObjectClientFactory& factory, const ObjectInfo& object,
    const ParallelReadOptions& options) {
  const uint64_t parts = (object.size + options.part_size - 1) / options.part_size;
  std::vector<std::unique_ptr<ReplicaClient>> clients;
  for (uint64_t i = 0; i < std::min<uint64_t>(parts, options.threads); ++i) {
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ReplicaClient> c, factory());
    clients.push_back(std::move(c));
  }
  auto reader = std::make_unique<ParallelObjectReader>(object, options);
  reader->Start(std::move(clients));
  return std::unique_ptr<ByteReader>(std::move(reader));
}

}  // namespace litesync
