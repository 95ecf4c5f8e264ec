#include "replica/format/tx_file_info.h"

#include <gtest/gtest.h>

namespace litesync {
namespace {

TEST(TxFileInfoTest, NameRoundTripsIncludingTxidsPast32Bits) {
  TxFileInfo info{.lineage = 7,
                  .level = 2,
                  .min_txid = 0x1'0000'0001ULL,
                  .max_txid = 0x1'0000'00ffULL,
                  .timestamp = absl::FromUnixMillis(1700000000123)};
  std::string name = info.Name();
  EXPECT_EQ(name, "0000000100000001-00000001000000ff-0000018bcfe5687b.ltx");
  auto parsed = ParseTxFileName(name, 7, 2);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, info);
  EXPECT_EQ(info.RelativePath(), "0000000000000007/2/" + name);
}

TEST(TxFileInfoTest, RejectsTempFilesAndJunk) {
  EXPECT_FALSE(ParseTxFileName("0000000000000001-0000000000000002-0000018bcfe56b7b.ltx.tmp", 1, 0));
  EXPECT_FALSE(ParseTxFileName("0000000000000002-0000000000000001-0000018bcfe56b7b.ltx", 1, 0));
  EXPECT_FALSE(ParseTxFileName("000000000000000G-0000000000000001-0000018bcfe56b7b.ltx", 1, 0));
  EXPECT_FALSE(ParseTxFileName("notes.txt", 1, 0));
}

}  // namespace
}  // namespace litesync
