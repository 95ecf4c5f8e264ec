#include "replica/storage/spill_buffer.h"

#include <dirent.h>

#include "base/status.h"
#include <gtest/gtest.h>

#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

int Entries(const std::string& dir) {
  int n = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

TEST(SpillBufferTest, SmallDownloadsStayInMemory) {
  testing::TempDir dir;
  SpillBuffer b(100, dir.path());
  LS_ASSERT_OK(b.Append("hello "));
  LS_ASSERT_OK(b.Append("world"));
  EXPECT_FALSE(b.spilled());
  EXPECT_EQ(b.size(), 11u);
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r, b.TakeReader());
  LS_ASSERT_OK_AND_ASSIGN(std::string got, ReadAll(*r));
  EXPECT_EQ(got, "hello world");
}

TEST(SpillBufferTest, LargeDownloadsMoveToAnUnnamedFile) {
  testing::TempDir dir;
  SpillBuffer b(1000, dir.path());
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    std::string chunk(97, static_cast<char>('a' + i % 26));
    LS_ASSERT_OK(b.Append(chunk));
    expected += chunk;
  }
  EXPECT_TRUE(b.spilled());
  EXPECT_EQ(b.size(), expected.size());
  EXPECT_EQ(Entries(dir.path()), 0);
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r, b.TakeReader());
  LS_ASSERT_OK_AND_ASSIGN(std::string got, ReadAll(*r));
  EXPECT_EQ(got, expected);
}

TEST(SpillBufferTest, ClearStartsOverInMemoryAndOnDisk) {
  testing::TempDir dir;
  SpillBuffer b(10, dir.path());
  LS_ASSERT_OK(b.Append("0123456789abcdef"));
  ASSERT_TRUE(b.spilled());
  b.Clear();
  EXPECT_EQ(b.size(), 0u);
  LS_ASSERT_OK(b.Append("xyz"));
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r, b.TakeReader());
  LS_ASSERT_OK_AND_ASSIGN(std::string got, ReadAll(*r));
  EXPECT_EQ(got, "xyz");
}

TEST(SpillBufferTest, AnUnusableDirectoryIsAnErrorNamingIt) {
  SpillBuffer b(1, "/nonexistent-litesync-dir");
  absl::Status s = b.Append("more than one byte");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("/nonexistent-litesync-dir"), std::string::npos) << s;
}

}  // namespace
}  // namespace litesync
