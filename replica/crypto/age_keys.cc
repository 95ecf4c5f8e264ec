// age keys: Bech32 (BIP 173) encoding of X25519 keys, and key files.
#include "replica/crypto/age_keys.h"

#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "fmt/format.h"
#include <openssl/crypto.h>

namespace litesync {
namespace {

using age_internal::Key32;

constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr std::string_view kRecipientHrp = "age";
constexpr std::string_view kIdentityHrp = "age-secret-key-";

uint32_t Polymod(const std::vector<uint8_t>& values) {
  constexpr uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t v : values) {
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) chk ^= kGen[i];
    }
  }
  return chk;
}

std::vector<uint8_t> HrpExpand(std::string_view hrp) {
  std::vector<uint8_t> out;
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) >> 5);
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) & 31);
  return out;
}

// Regroups bits; `pad` for 8 -> 5, strict (no leftover bits) for 5 -> 8.
std::optional<std::vector<uint8_t>> ConvertBits(const std::vector<uint8_t>& in, int from, int to,
                                                bool pad) {
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t maxv = (1u << to) - 1;
  for (uint8_t v : in) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<uint8_t>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv) != 0) {
    return std::nullopt;
  }
  return out;
}

std::string Bech32Encode(std::string_view hrp, const Key32& data) {
  std::vector<uint8_t> values =
      *ConvertBits(std::vector<uint8_t>(data.begin(), data.end()), 8, 5, true);
  std::vector<uint8_t> check = HrpExpand(hrp);
  check.insert(check.end(), values.begin(), values.end());
  check.insert(check.end(), 6, 0);
  uint32_t mod = Polymod(check) ^ 1;
  std::string out = fmt::format("{}1", hrp);
  for (uint8_t v : values) out.push_back(kCharset[v]);
  for (int i = 0; i < 6; ++i) out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

// A 32-byte key under `hrp`, or nullopt for anything else (a wrong prefix,
// mixed case, a bad checksum or length). The text is never echoed back.
std::optional<Key32> Bech32Decode(std::string_view text, std::string_view hrp) {
  bool lower = false, upper = false;
  for (char c : text) {
    lower |= (c >= 'a' && c <= 'z');
    upper |= (c >= 'A' && c <= 'Z');
  }
  if (lower && upper) return std::nullopt;
  std::string s = absl::AsciiStrToLower(std::string(text));
  size_t sep = s.rfind('1');
  if (sep == std::string::npos || s.substr(0, sep) != hrp || s.size() < sep + 7) {
    return std::nullopt;
  }
  std::vector<uint8_t> values;
  for (char c : s.substr(sep + 1)) {
    size_t v = kCharset.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    values.push_back(static_cast<uint8_t>(v));
  }
  std::vector<uint8_t> check = HrpExpand(hrp);
  check.insert(check.end(), values.begin(), values.end());
  if (Polymod(check) != 1) return std::nullopt;
  values.resize(values.size() - 6);
  std::optional<std::vector<uint8_t>> bytes = ConvertBits(values, 5, 8, false);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  Key32 key{};
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

// Key-file lines that hold a key: trimmed, without blanks and comments, with
// their 1-based line numbers.
std::vector<std::pair<int, std::string>> KeyLines(std::string_view text) {
  std::vector<std::pair<int, std::string>> out;
  std::vector<std::string> lines = absl::StrSplit(std::string(text), '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string l(absl::StripAsciiWhitespace(lines[i]));
    if (l.empty() || l[0] == '#') continue;
    out.emplace_back(static_cast<int>(i + 1), std::move(l));
  }
  return out;
}

}  // namespace

std::string AgeRecipient::ToString() const { return Bech32Encode(kRecipientHrp, public_key); }

AgeIdentity AgeIdentity::Generate() {
  AgeIdentity id;
  age_internal::RandomBytes(id.secret_.data(), id.secret_.size());
  // X25519 accepts any 32 bytes as a secret key (it clamps), so this cannot fail.
  id.recipient_.public_key = *age_internal::X25519Public(id.secret_);
  return id;
}

absl::StatusOr<AgeIdentity> AgeIdentity::Parse(std::string_view text, std::string_view what) {
  std::optional<Key32> key = Bech32Decode(text, kIdentityHrp);
  if (!key) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: not an age identity (expected AGE-SECRET-KEY-1... as age-keygen writes it)", what));
  }
  AgeIdentity id;
  id.secret_ = *key;
  OPENSSL_cleanse(key->data(), key->size());
  absl::StatusOr<Key32> pub = age_internal::X25519Public(id.secret_);
  if (!pub.ok()) return pub.status();
  id.recipient_.public_key = *pub;
  return id;
}

AgeIdentity::~AgeIdentity() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

std::string AgeIdentity::Reveal() const {
  return absl::AsciiStrToUpper(Bech32Encode(kIdentityHrp, secret_));
}

absl::StatusOr<AgeRecipient> ParseAgeRecipient(std::string_view text, std::string_view what) {
  std::optional<Key32> key = Bech32Decode(text, kRecipientHrp);
  if (!key) {
    std::string hint = absl::AsciiStrToUpper(std::string(text.substr(0, 15))) == "AGE-SECRET-KEY-"
                           ? "this is an identity (a secret key), not a recipient: give its "
                             "public key (age-keygen -y)"
                           : "expected age1... as age-keygen -y prints it";
    return absl::InvalidArgumentError(fmt::format("{}: not an age recipient: {}", what, hint));
  }
  return AgeRecipient{*key};
}

absl::StatusOr<std::vector<AgeIdentity>> ParseAgeIdentityFile(std::string_view text,
                                                              std::string_view what) {
  std::vector<AgeIdentity> out;
  for (const auto& [line, key] : KeyLines(text)) {
    absl::StatusOr<AgeIdentity> id = AgeIdentity::Parse(key, fmt::format("{}:{}", what, line));
    if (!id.ok()) return id.status();
    out.push_back(*std::move(id));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(fmt::format("{}: holds no age identity", what));
  }
  return out;
}

absl::StatusOr<std::vector<AgeRecipient>> ParseAgeRecipientFile(std::string_view text,
                                                                std::string_view what) {
  std::vector<AgeRecipient> out;
  for (const auto& [line, key] : KeyLines(text)) {
    absl::StatusOr<AgeRecipient> r = ParseAgeRecipient(key, fmt::format("{}:{}", what, line));
    if (!r.ok()) return r.status();
    out.push_back(*r);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(fmt::format("{}: holds no age recipient", what));
  }
  return out;
}

}  // namespace litesync
