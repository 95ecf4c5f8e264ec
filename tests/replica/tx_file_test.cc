#include "replica/format/tx_file.h"

#include <random>

#include "base/status.h"
#include <gtest/gtest.h>

#include "replica/format/page_checksum.h"
#include "tests/testutil/status_matchers.h"

namespace litesync {
namespace {

std::string Page(uint32_t pgno, uint32_t size) {
  std::string p(size, '\0');
  std::mt19937 rng(pgno);
  for (size_t i = 0; i < p.size(); i += 7) p[i] = static_cast<char>(rng());
  return p;
}

std::string Build(uint32_t pages, uint64_t* post) {
  TxHeader h;
  h.page_size = 4096;
  h.commit = pages;
  h.lineage = 1;
  h.min_txid = 3;
  h.max_txid = 9;
  h.timestamp_ms = 1700000000000;
  h.pre_checksum = 42;
  auto b = TxFileBuilder::Create(h);
  EXPECT_TRUE(b.ok());
  uint64_t sum = 0;
  for (uint32_t p = 1; p <= pages; p += 2) {
    std::string page = Page(p, 4096);
    EXPECT_TRUE((*b)->AddPage(p, page).ok());
    sum ^= PageHash(p, page);
  }
  auto src = (*b)->Finish(sum);
  EXPECT_TRUE(src.ok());
  *post = sum;
  auto r = (*src)->Open();
  return *ReadAll(**r);
}

absl::Status ReadThrough(const std::string& bytes, uint64_t* sum) {
  std::unique_ptr<ByteSource> source = MemorySource(bytes);  // outlives its readers
  LS_ASSIGN_OR_RETURN(auto stream, source->Open());
  LS_ASSIGN_OR_RETURN(auto reader, TxFileReader::Open(std::move(stream), "f"));
  uint32_t pgno;
  std::string_view page;
  *sum = 0;
  while (true) {
    LS_ASSIGN_OR_RETURN(bool more, reader->Next(&pgno, &page));
    if (!more) break;
    *sum ^= PageHash(pgno, page);
  }
  if (*sum != reader->header().post_checksum) return absl::DataLossError("post checksum");
  return absl::OkStatus();
}

TEST(TxFileTest, RoundTripsPagesAndHeader) {
  uint64_t post = 0;
  std::string bytes = Build(20, &post);
  std::unique_ptr<ByteSource> source = MemorySource(bytes);
  auto reader = TxFileReader::Open(source->Open().value(), "f");
  LS_ASSERT_OK(reader);
  const TxHeader& h = (*reader)->header();
  EXPECT_EQ(h.min_txid, 3u);
  EXPECT_EQ(h.max_txid, 9u);
  EXPECT_EQ(h.commit, 20u);
  EXPECT_EQ(h.page_count, 10u);
  EXPECT_EQ(h.pre_checksum, 42u);
  EXPECT_EQ(h.post_checksum, post);
  uint64_t sum = 0;
  LS_EXPECT_OK(ReadThrough(bytes, &sum));
  EXPECT_EQ(sum, post);
}

TEST(TxFileTest, EveryTruncationIsDataLossNeverACrash) {
  uint64_t post = 0;
  std::string bytes = Build(6, &post);
  for (size_t len = 0; len < bytes.size(); ++len) {
    uint64_t sum;
    absl::Status s = ReadThrough(bytes.substr(0, len), &sum);
    EXPECT_TRUE(absl::IsDataLoss(s)) << "length " << len << ": " << s;
  }
}

TEST(TxFileTest, EveryBitFlipIsDetected) {
  uint64_t post = 0;
  std::string bytes = Build(4, &post);
  std::mt19937 rng(7);
  for (size_t i = 0; i < bytes.size(); i += 1 + rng() % 13) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (rng() % 8)));
    uint64_t sum;
    absl::Status s = ReadThrough(bad, &sum);
    EXPECT_TRUE(absl::IsDataLoss(s)) << "flip at byte " << i << ": " << s;
  }
}

TEST(TxFileTest, BuilderRejectsOutOfOrderPagesAndPagesBeyondCommit) {
  TxHeader h;
  h.page_size = 4096;
  h.commit = 5;
  h.lineage = h.min_txid = h.max_txid = 1;
  auto b = TxFileBuilder::Create(h);
  LS_ASSERT_OK(b);
  std::string page(4096, 'x');
  LS_EXPECT_OK((*b)->AddPage(3, page));
  EXPECT_FALSE((*b)->AddPage(2, page).ok());
  EXPECT_FALSE((*b)->AddPage(6, page).ok());
  EXPECT_FALSE((*b)->AddPage(4, page.substr(1)).ok());
}

}  // namespace
}  // namespace litesync
