// Large tx files: the builder cuts the body into independent zstd frames of whole
// records, and the reader decompresses them on threads (FrameDecoder). Exactness,
// corruption, source errors and abandoned readers, plus files written before
// frames existed (one frame, flag bit 1 clear), which must still read.
#include <map>
#include <random>

#include "base/endian.h"
#include "base/status.h"
#include <gtest/gtest.h>
#include <xxhash.h>
#include <zstd.h>

#include "replica/format/page_checksum.h"
#include "replica/format/tx_file.h"
#include "tests/testutil/status_matchers.h"

namespace litesync {
namespace {

constexpr uint32_t kPageSize = 4096;
constexpr uint32_t kPages = 3000;  // random pages: ~12 MiB of body, threaded reading

std::string RandomPage(uint32_t pgno) {
  std::string p(kPageSize, '\0');
  std::mt19937_64 rng(pgno);
  for (size_t i = 0; i < p.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(p.data() + i, &v, 8);
  }
  return p;
}

TxHeader Header() {
  TxHeader h;
  h.snapshot = true;
  h.page_size = kPageSize;
  h.commit = kPages;
  h.lineage = 1;
  h.min_txid = 1;
  h.max_txid = 5;
  h.timestamp_ms = 1700000000000;
  return h;
}

uint64_t Sum() {
  uint64_t sum = 0;
  for (uint32_t p = 1; p <= kPages; ++p) sum ^= PageHash(p, RandomPage(p));
  return sum;
}

std::string BuildFramed() {
  auto b = TxFileBuilder::Create(Header());
  EXPECT_TRUE(b.ok());
  for (uint32_t p = 1; p <= kPages; ++p) EXPECT_TRUE((*b)->AddPage(p, RandomPage(p)).ok());
  auto src = (*b)->Finish(Sum());
  EXPECT_TRUE(src.ok());
  return *ReadAll(*(*src)->Open().value());
}

// A file as litesync wrote them before frames: the whole body one zstd frame.
std::string BuildUnframed() {
  std::string records;
  for (uint32_t p = 1; p <= kPages; ++p) {
    char be[4];
    PutBig32(be, p);
    records.append(be, 4);
    records += RandomPage(p);
  }
  std::string body(ZSTD_compressBound(records.size()), '\0');
  body.resize(ZSTD_compress(body.data(), body.size(), records.data(), records.size(), 1));
  TxHeader h = Header();
  h.framed = false;
  h.post_checksum = Sum();
  h.page_count = kPages;
  h.body_size = body.size();
  std::string header = EncodeTxHeader(h);
  std::string hashed = body + header;
  char trailer[8];
  PutBig64(trailer, XXH3_64bits(hashed.data(), hashed.size()));
  return header + body + std::string(trailer, 8);
}

// Reads every page, checking each against the page written; half the pages go
// through NextInto. A corrupt page may be served before the end-to-end checksum
// fails at the end, so reading goes on to the end before a difference counts.
absl::Status ReadBack(const std::string& bytes, TxDecode decode = TxDecode::kThreads) {
  std::unique_ptr<ByteSource> source = MemorySource(bytes);
  LS_ASSIGN_OR_RETURN(auto stream, source->Open());
  LS_ASSIGN_OR_RETURN(auto reader, TxFileReader::Open(std::move(stream), "big.ltx", decode));
  std::string into(kPageSize, '\0');
  uint32_t pgno = 0;
  absl::Status differs;
  for (uint32_t want = 1;; ++want) {
    std::string_view page;
    bool more;
    if (want % 2 == 0) {
      LS_ASSIGN_OR_RETURN(more, reader->Next(&pgno, &page));
    } else {
      LS_ASSIGN_OR_RETURN(more, reader->NextInto(&pgno, [&](uint32_t) -> absl::StatusOr<char*> {
        return into.data();
      }));
      page = into;
    }
    if (!more) return want == kPages + 1 ? differs : absl::InternalError("short");
    if (differs.ok() && (pgno != want || page != RandomPage(pgno))) {
      differs = absl::InternalError("page " + std::to_string(want) + " differs");
    }
  }
}

TEST(TxFramesTest, ALargeBodyIsManyFramesOfWholeRecordsAndReadsBackExactly) {
  std::string bytes = BuildFramed();
  auto h = DecodeTxHeader(bytes, "big.ltx");
  LS_ASSERT_OK(h);
  EXPECT_TRUE(h->framed);
  ASSERT_GT(h->body_size, 8u << 20) << "small enough to skip the threaded reader";
  std::string_view body = std::string_view(bytes).substr(kTxHeaderSize, h->body_size);
  int frames = 0;
  while (!body.empty()) {
    size_t n = ZSTD_findFrameCompressedSize(body.data(), body.size());
    ASSERT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
    std::string out(kTxFrameBytes + 4 + kPageSize, '\0');
    size_t got = ZSTD_decompress(out.data(), out.size(), body.data(), n);
    ASSERT_FALSE(ZSTD_isError(got)) << ZSTD_getErrorName(got);
    EXPECT_EQ(got % (4 + kPageSize), 0u) << "frame " << frames << " splits a record";
    body.remove_prefix(n);
    ++frames;
  }
  EXPECT_EQ(frames, static_cast<int>((uint64_t{kPages} * (4 + kPageSize) + kTxFrameBytes - 1) /
                                     kTxFrameBytes));
  LS_EXPECT_OK(ReadBack(bytes));
  LS_EXPECT_OK(ReadBack(bytes, TxDecode::kInline));  // the compactor's way, and older readers'
}

TEST(TxFramesTest, AnUnframedFileFromAnOlderVersionStillReads) {
  std::string bytes = BuildUnframed();
  LS_EXPECT_OK(ReadBack(bytes));
  std::string bad = bytes;
  bad[bad.size() / 2] ^= 0x10;
  EXPECT_TRUE(absl::IsDataLoss(ReadBack(bad)));
}

TEST(TxFramesTest, TruncationsOfALargeBodyAreDataLoss) {
  std::string bytes = BuildFramed();
  std::mt19937 rng(3);
  std::vector<size_t> cuts = {kTxHeaderSize, kTxHeaderSize + 1, bytes.size() - 9, bytes.size() - 1};
  for (int i = 0; i < 30; ++i) cuts.push_back(kTxHeaderSize + rng() % (bytes.size() - 150));
  for (size_t len : cuts) {
    absl::Status s = ReadBack(bytes.substr(0, len));
    EXPECT_TRUE(absl::IsDataLoss(s)) << "length " << len << ": " << s;
    EXPECT_NE(s.message().find("big.ltx"), std::string::npos) << s;
  }
}

TEST(TxFramesTest, BitFlipsInALargeBodyAreDataLoss) {
  std::string bytes = BuildFramed();
  std::mt19937 rng(5);
  for (int i = 0; i < 40; ++i) {
    std::string bad = bytes;
    size_t at = kTxHeaderSize + rng() % (bytes.size() - kTxHeaderSize);
    bad[at] = static_cast<char>(bad[at] ^ (1 << (rng() % 8)));
    absl::Status s = ReadBack(bad);
    EXPECT_TRUE(absl::IsDataLoss(s)) << "flip at byte " << at << ": " << s;
  }
}

// Fails every read after the first `good` bytes.
class FailingReader : public ByteReader {
 public:
  FailingReader(std::string bytes, size_t good) : bytes_(std::move(bytes)), good_(good) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ >= good_) return absl::UnavailableError("connection reset");
    n = std::min(n, good_ - pos_);
    std::memcpy(buf, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t good_;
  size_t pos_ = 0;
};

TEST(TxFramesTest, AReadErrorIsReturnedNamingTheFile) {
  std::string bytes = BuildFramed();
  auto reader = TxFileReader::Open(std::make_unique<FailingReader>(bytes, bytes.size() / 2),
                                   "s3://bkt/big.ltx", TxDecode::kThreads);
  LS_ASSERT_OK(reader);
  uint32_t pgno;
  std::string_view page;
  absl::StatusOr<bool> more = true;
  uint32_t pages = 0;
  while (more.ok() && *more) {
    more = (*reader)->Next(&pgno, &page);
    if (more.ok() && *more) ++pages;
  }
  ASSERT_FALSE(more.ok());
  EXPECT_TRUE(absl::IsUnavailable(more.status())) << more.status();
  EXPECT_NE(more.status().message().find("s3://bkt/big.ltx"), std::string::npos) << more.status();
  EXPECT_GT(pages, 0u) << "the frames before the error are served first";
  EXPECT_LT(pages, kPages);
}

TEST(TxFramesTest, AReaderLeftHalfwayStopsItsThreads) {
  std::string bytes = BuildFramed();
  for (uint32_t stop_after : {0u, 1u, 700u}) {
    std::unique_ptr<ByteSource> source = MemorySource(bytes);
    auto reader = TxFileReader::Open(source->Open().value(), "big.ltx", TxDecode::kThreads);
    LS_ASSERT_OK(reader);
    uint32_t pgno;
    std::string_view page;
    for (uint32_t i = 0; i < stop_after; ++i) LS_ASSERT_OK((*reader)->Next(&pgno, &page));
    reader->reset();  // joins; a hang here fails the test by its timeout
  }
}

}  // namespace
}  // namespace litesync
