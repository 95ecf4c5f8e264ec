// Writes a restored database image: runs of consecutive pages go out in large
// writes on two background threads, so decompressing the next run overlaps with
// writing (and observing, below) the last ones. Where the file system and the
// alignment allow, the writes bypass the page cache (O_DIRECT): copying a
// gigabyte into the page cache and then flushing it is most of a restore's time,
// and direct writes skip both. Anything unaligned (small page sizes, a short
// run), and every write on a file system without O_DIRECT, goes through the
// ordinary descriptor. Sync() makes all of it durable either way.
//
// Order: runs of distinct pages may be written in any order, by either thread.
// A page added again (a number not above the highest added since the last
// Wait()) first waits for every earlier write, so the later copy always wins.
// One caller thread at a time; the writer owns and joins its threads.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/handles.h"

namespace litesync {

class PageWriter {
 public:
  // Sees every page on a writer thread just before it is written (restore hashes
  // pages there, off the decompressing thread). Pages of distinct numbers may be
  // observed concurrently; Wait() orders every call before the caller goes on.
  using Observer = std::function<void(uint32_t pgno, std::string_view page)>;

  // `fd` (open for writing on `path`) must outlive the writer; `path` names the
  // file in errors and is opened a second time for direct writes.
  PageWriter(int fd, std::string path, Observer observe = nullptr);
  ~PageWriter();  // waits for pending writes (their errors are dropped: call Wait())
  PageWriter(const PageWriter&) = delete;
  PageWriter& operator=(const PageWriter&) = delete;

  // Allocates the file's first `bytes` up front (its size becomes at least that):
  // direct writes into allocated blocks are faster, and a full disk shows here,
  // before any page is written. A no-op where the file system cannot.
  absl::Status Reserve(uint64_t bytes);
  // Page `pgno` (1-based), whose size is the page size. The first write error of
  // any earlier page is returned here or by the next call.
  absl::Status Add(uint32_t pgno, std::string_view page);
  // Like Add, for a page the caller writes itself: the `size` bytes returned,
  // valid until the next call, hold page `pgno` (restore decompresses into them).
  absl::StatusOr<char*> Slot(uint32_t pgno, size_t size);
  // Slot for consecutive pages from `pgno` on: the bytes returned, one page or
  // more, up to `max_pages` and the rest of the current run, hold pages pgno,
  // pgno + 1, ... (a restore reads a run of them from its decoder in one call).
  absl::StatusOr<std::span<char>> Slots(uint32_t pgno, size_t page_size, size_t max_pages);
  // Writes every page added and waits until they are written.
  absl::Status Wait();
  // Wait(), then fsync.
  absl::Status Sync();

  // For tests: bytes written through each path (read after Wait()).
  uint64_t direct_bytes() const;
  uint64_t buffered_bytes() const;

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  using Buffer = std::unique_ptr<char, Free>;
  struct Run {
    Buffer buf;
    size_t size = 0;
    uint32_t first = 0;  // pgno of the first page
    size_t page_size = 0;
  };

  absl::Status Submit();  // hands the current run to the threads, takes a free buffer
  void Loop();
  absl::Status Write(const Run& run);  // on a writer thread

  const int fd_;
  const std::string path_;
  const Observer observe_;
  const UniqueFd direct_fd_;  // invalid: no direct writes
  Buffer run_;
  size_t used_ = 0;
  uint32_t run_first_ = 0;
  size_t page_size_ = 0;
  uint32_t highest_ = 0;  // highest pgno added since the last wait for all writes

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Run> pending_;      // guarded by mu_
  std::vector<Buffer> free_;     // guarded by mu_
  int busy_ = 0;                 // guarded by mu_: runs being written
  bool stop_ = false;            // guarded by mu_
  bool direct_refused_ = false;  // guarded by mu_: the file system refused a direct write
  absl::Status error_;           // guarded by mu_: the first write error
  uint64_t direct_bytes_ = 0;    // guarded by mu_
  uint64_t buffered_bytes_ = 0;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace litesync
