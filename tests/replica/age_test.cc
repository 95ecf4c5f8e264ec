// age v1 files: round trips at the STREAM chunk boundaries, interop both ways
// with the real `age` and `age-keygen` binaries (Debian package `age`), wrong
// and missing identities, and tampering (every flipped byte class, truncation).
#include "replica/crypto/age.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/process.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::litesync::testing::FileExists;
using ::litesync::testing::ReadFileOrDie;
using ::litesync::testing::RunProcess;
using ::litesync::testing::TempDir;
using ::litesync::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAgeBin[] = "/usr/bin/age";
constexpr char kKeygenBin[] = "/usr/bin/age-keygen";
constexpr size_t kChunk = kAgeChunkSize;

std::string Pattern(size_t n, int seed = 1) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u * seed;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

const std::vector<size_t>& Sizes() {
  static const std::vector<size_t> sizes = {0,          1,          kChunk - 1, kChunk,
                                            kChunk + 1, 3 * kChunk, 200'000};
  return sizes;
}

// An identity made by age-keygen: the key file and the public key it prints.
struct KeygenKey {
  std::string file;
  std::string recipient;
};

KeygenKey Keygen(const TempDir& dir, const std::string& name) {
  KeygenKey k;
  k.file = dir.Join(name);
  EXPECT_EQ(RunProcess({kKeygenBin, "-o", k.file}, absl::Seconds(20)), 0);
  std::vector<std::string> lines = absl::StrSplit(ReadFileOrDie(k.file), '\n');
  for (const std::string& line : lines) {
    if (line.rfind("# public key: ", 0) == 0) k.recipient = line.substr(14);
  }
  return k;
}

TEST(AgeTest, RoundTripsAtEveryChunkBoundary) {
  AgeIdentity id = AgeIdentity::Generate();
  std::vector<AgeRecipient> to = {AgeIdentity::Generate().recipient(), id.recipient()};
  for (size_t n : Sizes()) {
    std::string plain = Pattern(n);
    std::unique_ptr<ByteSource> src = MemorySource(plain);
    LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteSource> sealed, AgeEncrypt(*src, to));
    LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r1, sealed->Open());
    LS_ASSERT_OK_AND_ASSIGN(std::string file, ReadAll(*r1));
    EXPECT_EQ(file.size(), sealed->Size()) << n;
    LS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteReader> r2, sealed->Open());
    LS_ASSERT_OK_AND_ASSIGN(std::string again, ReadAll(*r2));
    EXPECT_EQ(file, again) << "a retried upload must send the same bytes";
    std::vector<AgeIdentity> ids = {id};
    LS_ASSERT_OK_AND_ASSIGN(std::string back, AgeDecryptBytes(file, ids, "f.ltx"));
    EXPECT_EQ(back, plain) << n;
  }
}

TEST(AgeTest, KeysMatchAgeKeygen) {
  TempDir dir;
  KeygenKey k = Keygen(dir, "key.txt");
  LS_ASSERT_OK_AND_ASSIGN(std::vector<AgeIdentity> ids,
                          ParseAgeIdentityFile(ReadFileOrDie(k.file), k.file));
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].recipient().ToString(), k.recipient);
  LS_ASSERT_OK_AND_ASSIGN(AgeRecipient r, ParseAgeRecipient(k.recipient, "test"));
  EXPECT_EQ(r, ids[0].recipient());
  EXPECT_THAT(ReadFileOrDie(k.file), HasSubstr(ids[0].Reveal()));
}

TEST(AgeTest, AgeBinaryDecryptsWhatWeWrite) {
  TempDir dir;
  KeygenKey k = Keygen(dir, "key.txt");
  LS_ASSERT_OK_AND_ASSIGN(AgeRecipient r, ParseAgeRecipient(k.recipient, "test"));
  std::vector<AgeRecipient> to = {AgeIdentity::Generate().recipient(), r};
  for (size_t n : Sizes()) {
    std::string plain = Pattern(n, 7);
    LS_ASSERT_OK_AND_ASSIGN(std::string file, AgeEncryptBytes(plain, to));
    WriteFileOrDie(dir.Join("in.age"), file);
    ASSERT_EQ(RunProcess({kAgeBin, "-d", "-i", k.file, "-o", dir.Join("out"), dir.Join("in.age")},
                         absl::Seconds(20), dir.Join("age.log")),
              0)
        << n << ": " << ReadFileOrDie(dir.Join("age.log"));
    // age creates its output file on the first byte it writes.
    std::string out = FileExists(dir.Join("out")) ? ReadFileOrDie(dir.Join("out")) : "";
    EXPECT_EQ(out, plain) << n;
    std::remove(dir.Join("out").c_str());
  }
}

TEST(AgeTest, ReadsWhatTheAgeBinaryWrites) {
  TempDir dir;
  KeygenKey k = Keygen(dir, "key.txt");
  KeygenKey other = Keygen(dir, "other.txt");
  LS_ASSERT_OK_AND_ASSIGN(std::vector<AgeIdentity> ids,
                          ParseAgeIdentityFile(ReadFileOrDie(k.file), k.file));
  for (size_t n : Sizes()) {
    std::string plain = Pattern(n, 9);
    WriteFileOrDie(dir.Join("in"), plain);
    ASSERT_EQ(RunProcess({kAgeBin, "-r", other.recipient, "-r", k.recipient, "-o",
                          dir.Join("out.age"), dir.Join("in")},
                         absl::Seconds(20)),
              0);
    LS_ASSERT_OK_AND_ASSIGN(std::string back,
                            AgeDecryptBytes(ReadFileOrDie(dir.Join("out.age")), ids, "out.age"));
    EXPECT_EQ(back, plain) << n;
  }
}

TEST(AgeTest, WrongOrMissingIdentityNamesTheFile) {
  std::vector<AgeRecipient> to = {AgeIdentity::Generate().recipient()};
  LS_ASSERT_OK_AND_ASSIGN(std::string file, AgeEncryptBytes("pages", to));
  AgeIdentity wrong = AgeIdentity::Generate();
  std::vector<AgeIdentity> ids = {wrong};
  absl::StatusOr<std::string> r = AgeDecryptBytes(file, ids, "s3://bkt/app/1/0/x.ltx");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("s3://bkt/app/1/0/x.ltx"));
  EXPECT_THAT(r.status().message(), HasSubstr("identit"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr(wrong.Reveal())));
  r = AgeDecryptBytes(file, {}, "s3://bkt/app/1/0/x.ltx");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("no age identity was given"));
}

// Every single flipped byte and every truncation fails; none returns data.
TEST(AgeTest, AnyFlippedByteOrTruncationFails) {
  AgeIdentity id = AgeIdentity::Generate();
  std::vector<AgeIdentity> ids = {id};
  std::vector<AgeRecipient> to = {id.recipient()};
  std::string plain = Pattern(kChunk + 100, 3);
  LS_ASSERT_OK_AND_ASSIGN(std::string file, AgeEncryptBytes(plain, to));
  size_t payload = file.find("\n---");
  ASSERT_NE(payload, std::string::npos);
  std::vector<size_t> positions;
  for (size_t i = 0; i < payload + 80; ++i) positions.push_back(i);  // the whole header
  for (size_t i = payload + 80; i < file.size(); i += 997) positions.push_back(i);
  positions.push_back(file.size() - 1);
  for (size_t i : positions) {
    std::string bad = file;
    bad[i] ^= 0x01;
    absl::StatusOr<std::string> r = AgeDecryptBytes(bad, ids, "x.ltx");
    EXPECT_FALSE(r.ok()) << "flipped byte " << i;
    EXPECT_THAT(r.status().message(), HasSubstr("x.ltx"));
  }
  std::string mid = file;
  mid[payload + 1000] ^= 0x40;
  EXPECT_THAT(AgeDecryptBytes(mid, ids, "x.ltx").status().message(),
              HasSubstr("failed authentication"));
  for (size_t n :
       {size_t{0}, size_t{10}, payload, payload + 60, file.size() - kChunk, file.size() - 1}) {
    absl::StatusOr<std::string> r = AgeDecryptBytes(file.substr(0, n), ids, "x.ltx");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "truncated to " << n;
  }
  EXPECT_EQ(AgeDecryptBytes(file + "x", ids, "x.ltx").status().code(), absl::StatusCode::kDataLoss);
}

TEST(AgeTest, KeyFileErrorsNameTheLineNeverTheKey) {
  AgeIdentity id = AgeIdentity::Generate();
  std::string text = "# created: today\n\n" + id.Reveal() + "\n";
  LS_ASSERT_OK_AND_ASSIGN(std::vector<AgeIdentity> ids, ParseAgeIdentityFile(text, "k.txt"));
  EXPECT_EQ(ids.size(), 1u);
  std::string broken = id.Reveal();
  broken[20] = broken[20] == 'Q' ? 'P' : 'Q';  // a bad checksum
  absl::StatusOr<std::vector<AgeIdentity>> r = ParseAgeIdentityFile(text + broken, "k.txt");
  EXPECT_THAT(r.status().message(), HasSubstr("k.txt:4"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr(broken.substr(16, 20))));
  EXPECT_FALSE(ParseAgeIdentityFile("# nothing\n", "k.txt").ok());
  absl::StatusOr<AgeRecipient> rec = ParseAgeRecipient(id.Reveal(), "recipients[0]");
  EXPECT_THAT(rec.status().message(), HasSubstr("is an identity"));
  EXPECT_THAT(rec.status().message(), Not(HasSubstr(id.Reveal().substr(16, 20))));
}

}  // namespace
}  // namespace litesync
