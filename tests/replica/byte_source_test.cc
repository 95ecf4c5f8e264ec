#include "base/status.h"
#include <gtest/gtest.h>

#include "replica/storage/replica_client.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

TEST(ByteSourceTest, MemorySourceRestartsOnEveryOpen) {
  std::unique_ptr<ByteSource> src = MemorySource("abcdef");
  EXPECT_EQ(src->Size(), 6u);
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r1, src->Open());
  char buf[4];
  LS_ASSERT_OK_AND_ASSIGN(size_t n, r1->Read(buf, 4));
  EXPECT_EQ(std::string(buf, n), "abcd");
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r2, src->Open());
  LS_ASSERT_OK_AND_ASSIGN(std::string all, ReadAll(*r2));
  EXPECT_EQ(all, "abcdef");
  LS_ASSERT_OK_AND_ASSIGN(std::string rest, ReadAll(*r1));
  EXPECT_EQ(rest, "ef");
}

TEST(ByteSourceTest, FileSourceReadsTheWholeFile) {
  testing::TempDir dir;
  std::string bytes(200'000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 253);
  testing::WriteFileOrDie(dir.Join("f"), bytes);
  LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteSource> src, FileSource(dir.Join("f")));
  EXPECT_EQ(src->Size(), bytes.size());
  for (int i = 0; i < 2; ++i) {
    LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r, src->Open());
    LS_ASSERT_OK_AND_ASSIGN(std::string got, ReadAll(*r));
    EXPECT_TRUE(got == bytes);
  }
}

TEST(ByteSourceTest, FileSourceErrorsNameThePath) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<ByteSource>> missing = FileSource(dir.Join("absent"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(missing.status().message()).find("absent"), std::string::npos);
  EXPECT_EQ(FileSource(dir.path()).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace litesync
