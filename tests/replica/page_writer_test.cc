// PageWriter: pages land at their offsets in the order added, through direct or
// buffered writes, and a write error is reported, never swallowed.
#include "replica/restore/page_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "base/handles.h"
#include <gtest/gtest.h>

#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::TempDir;

std::string Page(uint32_t pgno, size_t size) {
  std::string p(size, static_cast<char>('a' + pgno % 26));
  std::memcpy(p.data(), &pgno, sizeof pgno);
  return p;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

UniqueFd Create(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
}

// Each test writes a fresh, empty out.db in its own directory.
class PageWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fd_.valid()); }

  TempDir dir_;
  std::string path_ = dir_.Join("out.db");
  UniqueFd fd_ = Create(path_);
};

TEST_F(PageWriterTest, WritesEveryPageAtItsOffsetAcrossManyRuns) {
  constexpr size_t kPage = 4096;
  constexpr uint32_t kPages = 3000;  // ~12 MiB: several 4 MiB runs, queued and written
  std::string want(kPage * kPages, '\0');
  {
    PageWriter w(fd_.get(), path_);
    LS_ASSERT_OK(w.Reserve(uint64_t{kPages} * kPage));
    for (uint32_t p = 1; p <= kPages; ++p) {
      if (p % 7 == 0) continue;  // gaps break runs
      std::string page = Page(p, kPage);
      want.replace((p - 1) * kPage, kPage, page);
      LS_ASSERT_OK(w.Add(p, page));
    }
    std::string again = Page(5000, kPage);  // a later write of page 10 wins
    want.replace(9 * kPage, kPage, again);
    LS_ASSERT_OK(w.Add(10, again));
    LS_ASSERT_OK(w.Sync());
    EXPECT_EQ(w.direct_bytes() + w.buffered_bytes(), uint64_t{kPages - kPages / 7 + 1} * kPage);
  }
  EXPECT_EQ(ReadAll(path_), want);
}

// Restore hashes pages in the observer, on the writer's threads: every page added
// must be seen once, with its bytes, and a page added twice in the order added.
TEST_F(PageWriterTest, TheObserverSeesEveryPageOnceAndARepeatAfterItsFirstCopy) {
  constexpr size_t kPage = 4096;
  constexpr uint32_t kPages = 4000;  // several runs, spread over both threads
  std::mutex mu;
  std::map<uint32_t, std::vector<std::string>> seen;
  std::string want(kPage * kPages, '\0');
  {
    PageWriter w(fd_.get(), path_, [&](uint32_t pgno, std::string_view page) {
      std::lock_guard<std::mutex> lock(mu);
      seen[pgno].emplace_back(page);
    });
    for (uint32_t p = 1; p <= kPages; ++p) {
      absl::StatusOr<char*> slot = w.Slot(p, kPage);  // the caller writes the page itself
      LS_ASSERT_OK(slot);
      std::string page = Page(p, kPage);
      std::memcpy(*slot, page.data(), kPage);
      want.replace((p - 1) * kPage, kPage, page);
    }
    // Its first copy is still in the run being filled: without the wait, the two
    // runs could be written at once by the two threads.
    std::string again = Page(7000, kPage);
    want.replace((kPages - 2) * kPage, kPage, again);
    LS_ASSERT_OK(w.Add(kPages - 1, again));
    LS_ASSERT_OK(w.Sync());
  }
  ASSERT_EQ(seen.size(), kPages);
  for (uint32_t p = 1; p <= kPages; ++p) {
    ASSERT_EQ(seen[p].size(), p == kPages - 1 ? 2u : 1u) << "page " << p;
    EXPECT_EQ(seen[p][0], Page(p, kPage)) << "page " << p;
  }
  EXPECT_EQ(seen[kPages - 1][1], Page(7000, kPage));
  EXPECT_EQ(ReadAll(path_), want);
}

TEST_F(PageWriterTest, UnalignedRunsGoThroughThePageCache) {
  constexpr size_t kPage = 1024;
  std::string want;
  PageWriter w(fd_.get(), path_);
  for (uint32_t p = 1; p <= 5; ++p) {  // 5 KiB: not a multiple of the direct alignment
    want += Page(p, kPage);
    LS_ASSERT_OK(w.Add(p, Page(p, kPage)));
  }
  LS_ASSERT_OK(w.Wait());
  EXPECT_EQ(w.buffered_bytes(), 5 * kPage);
  EXPECT_EQ(w.direct_bytes(), 0u);
  EXPECT_EQ(ReadAll(path_), want);
}

TEST_F(PageWriterTest, AWriteErrorIsReportedWithThePath) {
  UniqueFd ro(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));  // writes fail with EBADF
  ASSERT_TRUE(ro.valid());
  PageWriter w(ro.get(), path_);
  LS_ASSERT_OK(w.Add(1, Page(1, 1024)));
  absl::Status s = w.Wait();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path_), std::string::npos) << s;
  EXPECT_FALSE(w.Add(2, Page(2, 1024)).ok() && w.Wait().ok()) << "the error must stick";
}

TEST_F(PageWriterTest, APageOfTheWrongSizeIsRefused) {
  PageWriter w(fd_.get(), path_);
  EXPECT_FALSE(w.Add(1, "").ok());
  EXPECT_FALSE(w.Add(1, std::string(8 << 20, 'x')).ok());
}

}  // namespace
}  // namespace litesync
