// The age test kit's X25519 vectors (tests/replica/testdata/age, from C2SP/CCTV):
// each file decrypts, or fails at the stage the kit names, and the plaintext
// released before a payload failure is exactly the kit's.
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "fmt/format.h"
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "replica/crypto/age.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

#ifndef LITESYNC_SOURCE_DIR
#error "LITESYNC_SOURCE_DIR must be defined"
#endif

namespace litesync {
namespace {

std::string Sha256Hex(std::string_view data) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

struct Vector {
  std::string expect, payload;
  std::vector<AgeIdentity> identities;
  std::string file;
};

Vector Load(const std::string& path) {
  std::string text = testing::ReadFileOrDie(path);
  size_t end = text.find("\n\n");
  EXPECT_NE(end, std::string::npos) << path;
  Vector v;
  v.file = text.substr(end + 2);
  std::vector<std::string> lines = absl::StrSplit(text.substr(0, end), '\n');
  for (const std::string& line : lines) {
    size_t colon = line.find(": ");
    std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    if (key == "expect") v.expect = value;
    if (key == "payload") v.payload = value;
    if (key == "identity") {
      absl::StatusOr<AgeIdentity> id = AgeIdentity::Parse(value, path);
      EXPECT_TRUE(id.ok()) << id.status();
      if (id.ok()) v.identities.push_back(*id);
    }
  }
  return v;
}

TEST(AgeTestkitTest, EveryX25519VectorMeetsItsExpectation) {
  std::string dir = std::string(LITESYNC_SOURCE_DIR) + "/tests/replica/testdata/age";
  int vectors = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name == "README.md") continue;
    ++vectors;
    Vector v = Load(entry.path().string());
    absl::StatusOr<std::unique_ptr<ByteReader>> reader =
        AgeDecrypt(MemorySource(v.file)->Open().value(), v.identities, name);
    if (v.expect == "no match") {
      EXPECT_EQ(reader.status().code(), absl::StatusCode::kFailedPrecondition)
          << name << ": " << reader.status();
      continue;
    }
    if (v.expect == "header failure" || v.expect == "HMAC failure") {
      EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss)
          << name << ": " << reader.status();
      if (v.expect == "HMAC failure") {
        EXPECT_NE(reader.status().message().find("header failed authentication"), std::string::npos)
            << name << ": " << reader.status();
      }
      continue;
    }
    ASSERT_TRUE(reader.ok()) << name << " (" << v.expect << "): " << reader.status();
    std::string released;
    char buf[4096];
    absl::Status end;
    while (true) {
      absl::StatusOr<size_t> n = (*reader)->Read(buf, sizeof(buf));
      if (!n.ok()) {
        end = n.status();
        break;
      }
      if (*n == 0) break;
      released.append(buf, *n);
    }
    if (v.expect == "success") {
      LS_EXPECT_OK(end) << name;
    } else {
      EXPECT_EQ(v.expect, "payload failure") << name;
      EXPECT_EQ(end.code(), absl::StatusCode::kDataLoss) << name << ": " << end;
    }
    EXPECT_EQ(Sha256Hex(released), v.payload) << name;
  }
  EXPECT_EQ(vectors, 48);
}

}  // namespace
}  // namespace litesync
