// The LZ4 frame reader against frames liblz4 itself writes: every block mode,
// block size and checksum option, read in pieces of every size; and damage
// (a flipped bit in a stored block, where only the content checksum can tell,
// a bad block checksum, a cut, bytes that are not LZ4) refused with the object
// named.
#include "replica/compat/lz4_reader.h"

#include <lz4frame.h>

#include <random>
#include <string>

#include "base/status.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace litesync {
namespace {

using ::testing::HasSubstr;

struct FrameOptions {
  LZ4F_blockSizeID_t block_size = LZ4F_max64KB;
  LZ4F_blockMode_t mode = LZ4F_blockIndependent;
  bool content_checksum = true;
  bool block_checksum = false;
  bool content_size = false;
};

std::string Frame(const std::string& data, const FrameOptions& o) {
  LZ4F_preferences_t prefs = LZ4F_INIT_PREFERENCES;
  prefs.frameInfo.blockSizeID = o.block_size;
  prefs.frameInfo.blockMode = o.mode;
  prefs.frameInfo.contentChecksumFlag =
      o.content_checksum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag =
      o.block_checksum ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum;
  prefs.frameInfo.contentSize = o.content_size ? data.size() : 0;
  std::string out(LZ4F_compressFrameBound(data.size(), &prefs), '\0');
  size_t n = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), &prefs);
  EXPECT_FALSE(LZ4F_isError(n)) << LZ4F_getErrorName(n);
  out.resize(LZ4F_isError(n) ? 0 : n);
  return out;
}

// Half text that compresses, half random bytes that LZ4 stores as they are.
std::string Content(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < size / 2) s += "row " + std::to_string(s.size() % 977) + " of some table; ";
  while (s.size() < size) s.push_back(static_cast<char>(rng()));
  s.resize(size);
  return s;
}

// Hands out at most `piece` bytes per Read, as a network stream may.
class PieceReader : public ByteReader {
 public:
  PieceReader(std::string bytes, size_t piece) : bytes_(std::move(bytes)), piece_(piece) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    n = std::min({n, piece_, bytes_.size() - pos_});
    std::copy_n(bytes_.data() + pos_, n, buf);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t piece_;
  size_t pos_ = 0;
};

absl::StatusOr<std::string> Decode(std::string stored, size_t piece, size_t read_size) {
  std::unique_ptr<ByteReader> r =
      NewLz4FrameReader(std::make_unique<PieceReader>(std::move(stored), piece), "obj/x.lz4");
  std::string out, buf(read_size, '\0');
  while (true) {
    LS_ASSIGN_OR_RETURN(size_t n, r->Read(buf.data(), buf.size()));
    if (n == 0) return out;
    out.append(buf.data(), n);
  }
}

TEST(Lz4FrameReaderTest, DecodesWhatLiblz4WritesInAnyPieces) {
  const std::string a = Content((600 << 10) + 123, 1), b = Content(5 << 20, 2);
  // A skippable frame (magic 0x184D2A5?, size, bytes) between the two.
  const std::string skippable("\x53\x2a\x4d\x18\x03\x00\x00\x00xyz", 11);
  int cases = 0;
  for (LZ4F_blockSizeID_t size : {LZ4F_max64KB, LZ4F_max4MB}) {
    for (LZ4F_blockMode_t mode : {LZ4F_blockIndependent, LZ4F_blockLinked}) {
      for (int flags = 0; flags < 8; ++flags) {
        FrameOptions o{size, mode, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0};
        const std::string stored = Frame(a, o) + skippable + Frame(b, o);
        for (auto [piece, read_size] : {std::pair<size_t, size_t>{7, 4096},
                                        {1 << 20, 1},
                                        {1 << 20, 4 << 20},
                                        {100000, (4 << 20) + 1}}) {
          if (read_size == 1 && (flags != 7 || size != LZ4F_max64KB)) continue;  // slow
          SCOPED_TRACE(testing::Message() << "block size " << size << " mode " << mode << " flags "
                                          << flags << " piece " << piece << " read " << read_size);
          absl::StatusOr<std::string> got = Decode(stored, piece, read_size);
          ASSERT_TRUE(got.ok()) << got.status();
          ASSERT_EQ(got->size(), a.size() + b.size());
          EXPECT_TRUE(*got == a + b);
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 2 * 2 * 8 * 3 + 2);  // every combination ran
}

TEST(Lz4FrameReaderTest, AFlippedBitInAStoredBlockFailsTheContentChecksum) {
  const std::string data = Content(64 << 10, 3).substr(32 << 10);  // random: stored raw
  std::string stored = Frame(data, {});
  // 7 bytes of frame header, 4 of block size, then the block as it is.
  ASSERT_EQ(stored.size(), 7 + 4 + data.size() + 4 + 4);
  ASSERT_EQ(stored.substr(11, 100), data.substr(0, 100)) << "not a stored block";
  ASSERT_TRUE(Decode(stored, 1 << 20, 1 << 20).ok());
  stored[11 + 1000] ^= 0x10;
  for (size_t read_size : {size_t{4096}, size_t{4} << 20}) {
    absl::StatusOr<std::string> got = Decode(stored, 1 << 20, read_size);
    ASSERT_FALSE(got.ok());
    EXPECT_TRUE(absl::IsDataLoss(got.status())) << got.status();
    EXPECT_THAT(got.status().message(), HasSubstr("obj/x.lz4")) << got.status();
    EXPECT_THAT(got.status().message(), HasSubstr("content checksum mismatch")) << got.status();
  }
}

TEST(Lz4FrameReaderTest, ABadBlockChecksumIsRefused) {
  FrameOptions o;
  o.block_checksum = true;
  o.content_checksum = false;
  for (uint64_t seed : {4, 5}) {
    // Seed 4: stored block; 5: compressed text (its first half).
    std::string data = Content(64 << 10, seed);
    data = seed == 4 ? data.substr(32 << 10) : data.substr(0, 32 << 10);
    std::string stored = Frame(data, o);
    stored[stored.size() - 6] ^= 0x01;  // the block checksum, before the end mark
    absl::StatusOr<std::string> got = Decode(stored, 1 << 20, 4096);
    ASSERT_FALSE(got.ok()) << seed;
    EXPECT_THAT(got.status().message(), HasSubstr("block checksum mismatch")) << got.status();
  }
}

TEST(Lz4FrameReaderTest, CutEmptyAndForeignBytesAreRefused) {
  const std::string stored = Frame(Content(200 << 10, 6), {});
  for (size_t cut : {size_t{2}, size_t{6}, size_t{9}, stored.size() / 2, stored.size() - 2}) {
    absl::StatusOr<std::string> got = Decode(stored.substr(0, cut), 1 << 20, 4096);
    ASSERT_FALSE(got.ok()) << cut;
    EXPECT_TRUE(absl::IsDataLoss(got.status())) << got.status();
    EXPECT_THAT(got.status().message(), HasSubstr("truncated")) << cut << ": " << got.status();
  }
  absl::StatusOr<std::string> got = Decode("", 1 << 20, 4096);
  EXPECT_THAT(got.status().message(), HasSubstr("empty")) << got.status();
  got = Decode("SQLite format 3", 1 << 20, 4096);
  EXPECT_THAT(got.status().message(), HasSubstr("not valid LZ4 data")) << got.status();
  std::string bad_header = stored;
  bad_header[6] ^= 0x01;  // the header checksum
  got = Decode(bad_header, 1 << 20, 4096);
  EXPECT_THAT(got.status().message(), HasSubstr("frame header checksum")) << got.status();
}

}  // namespace
}  // namespace litesync
