// CRC-64/ISO as Go's hash/crc64 with crc64.ISO computes it (the LTX checksum).
#include "replica/compat/crc64.h"

#include <string>

#include <gtest/gtest.h>

#include "replica/compat/ltx_reader.h"

namespace litesync {
namespace {

// The catalogue check value of CRC-64/GO-ISO ("123456789").
TEST(Crc64IsoTest, MatchesTheCheckValue) {
  EXPECT_EQ(Crc64Iso(0, "123456789"), 0xb90956c775a41001ULL);
  EXPECT_EQ(Crc64Iso(0, ""), 0u);
}

TEST(Crc64IsoTest, ContinuesAcrossPieces) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  for (size_t cut : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{500}}) {
    EXPECT_EQ(Crc64Iso(Crc64Iso(0, std::string_view(data).substr(0, cut)),
                       std::string_view(data).substr(cut)),
              Crc64Iso(0, data))
        << "cut at " << cut;
  }
}

TEST(Crc64IsoTest, PageChecksumHasTheFlagBitAndCoversThePageNumber) {
  std::string page(4096, 'x');
  uint64_t a = LtxPageChecksum(1, page);
  EXPECT_NE(a & kLtxChecksumFlag, 0u);
  EXPECT_NE(a, LtxPageChecksum(2, page));
}

}  // namespace
}  // namespace litesync
