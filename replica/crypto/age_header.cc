// age v1 header: X25519 stanzas and the header MAC (age_header.h).
#include "replica/crypto/age_header.h"

#include "absl/strings/str_split.h"
#include "base/status.h"
#include "fmt/format.h"
#include <openssl/crypto.h>

#include "replica/crypto/age.h"

namespace litesync::age_internal {
namespace {

constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr size_t kColumns = 64;
constexpr size_t kMaxHeader = 1 << 20;  // far above any real header; bounds a hostile one
constexpr uint8_t kZeroNonce[12] = {};

absl::Status Malformed(std::string_view what, std::string_view why) {
  return absl::DataLossError(fmt::format("{}: not a valid age file: {}", what, why));
}

bool ValidArg(std::string_view a) {
  if (a.empty()) return false;
  for (char c : a) {
    if (c < 33 || c > 126) return false;
  }
  return true;
}

absl::StatusOr<std::string> WrapKey(const FileKey& file_key, const AgeRecipient& r) {
  AgeIdentity ephemeral = AgeIdentity::Generate();
  const Key32& share = ephemeral.recipient().public_key;
  LS_ASSIGN_OR_RETURN(Key32 shared, X25519Shared(ephemeral.secret(), r.public_key));
  std::string salt = std::string(AsView(share)) + std::string(AsView(r.public_key));
  LS_ASSIGN_OR_RETURN(Key32 wrap, Hkdf(AsView(shared), salt, kX25519Label));
  LS_ASSIGN_OR_RETURN(std::unique_ptr<Aead> aead, Aead::Create(wrap));
  std::string body(file_key.size() + 16, '\0');
  absl::Status s = aead->Seal(kZeroNonce, reinterpret_cast<const char*>(file_key.data()),
                              file_key.size(), body.data());
  if (!s.ok()) return s;
  // One body line: 32 bytes are 43 base64 characters, under the 64 columns.
  return fmt::format("-> X25519 {}\n{}\n", Base64Encode(AsView(share)), Base64Encode(body));
}

// The file key from an X25519 stanza, or nullopt when it is for someone else.
absl::StatusOr<std::optional<FileKey>> UnwrapX25519(const Stanza& st, const AgeIdentity& id,
                                                    std::string_view what) {
  std::optional<std::string> share = st.args.size() == 2 ? Base64Decode(st.args[1]) : std::nullopt;
  if (!share || share->size() != 32 || st.body.size() != 32) {
    return Malformed(what, "bad X25519 stanza");
  }
  Key32 peer{};
  std::copy(share->begin(), share->end(), peer.begin());
  LS_ASSIGN_OR_RETURN(Key32 shared, X25519Shared(id.secret(), peer));
  if (shared == Key32{}) return Malformed(what, "X25519 stanza with a low-order point");
  std::string salt = *share + std::string(AsView(id.recipient().public_key));
  LS_ASSIGN_OR_RETURN(Key32 wrap, Hkdf(AsView(shared), salt, kX25519Label));
  LS_ASSIGN_OR_RETURN(std::unique_ptr<Aead> aead, Aead::Create(wrap));
  FileKey key{};
  LS_ASSIGN_OR_RETURN(bool ok, aead->Open(kZeroNonce, st.body.data(), st.body.size(),
                                          reinterpret_cast<char*>(key.data())));
  if (!ok) return std::optional<FileKey>();
  return std::optional<FileKey>(key);
}

}  // namespace

absl::StatusOr<Key32> DeriveKey(const FileKey& file_key, std::string_view salt,
                                std::string_view info) {
  return Hkdf(std::string_view(reinterpret_cast<const char*>(file_key.data()), file_key.size()),
              salt, info);
}

absl::StatusOr<std::string> EncodeHeader(const FileKey& file_key,
                                         std::span<const AgeRecipient> recipients) {
  if (recipients.empty()) return absl::InvalidArgumentError("age: no recipients");
  std::string header(kAgeMagic);
  for (const AgeRecipient& r : recipients) {
    LS_ASSIGN_OR_RETURN(std::string stanza, WrapKey(file_key, r));
    header += stanza;
  }
  header += "---";
  LS_ASSIGN_OR_RETURN(Key32 mac_key, DeriveKey(file_key, "", "header"));
  LS_ASSIGN_OR_RETURN(Key32 mac, HmacSha256(mac_key, header));
  header += fmt::format(" {}\n", Base64Encode(AsView(mac)));
  return header;
}

absl::StatusOr<std::optional<ParsedHeader>> ParseHeader(std::string_view buf,
                                                        std::string_view what) {
  size_t pos = 0;
  // The next line without its newline; nullopt when `buf` ends first.
  auto next_line = [&]() -> std::optional<std::string_view> {
    size_t nl = buf.find('\n', pos);
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view line = buf.substr(pos, nl - pos);
    pos = nl + 1;
    return line;
  };
  auto more = [&]() -> absl::StatusOr<std::optional<ParsedHeader>> {
    if (buf.size() > kMaxHeader) return Malformed(what, "header longer than 1 MiB");
    return std::optional<ParsedHeader>();
  };
  if (buf.size() < kAgeMagic.size()) {
    if (kAgeMagic.substr(0, buf.size()) != buf) return Malformed(what, "no age v1 header");
    return more();
  }
  if (!LooksLikeAge(buf)) return Malformed(what, "no age v1 header");
  pos = kAgeMagic.size();
  ParsedHeader h;
  while (true) {
    size_t start = pos;
    std::optional<std::string_view> line = next_line();
    if (!line) return more();
    if (line->substr(0, 4) == "--- ") {
      std::optional<std::string> mac = Base64Decode(line->substr(4));
      if (!mac || mac->size() != 32) return Malformed(what, "bad header MAC line");
      h.mac_input = buf.substr(0, start + 3);
      h.mac = *mac;
      h.length = pos;
      return std::optional<ParsedHeader>(std::move(h));
    }
    if (line->substr(0, 3) != "-> ") return Malformed(what, "bad header line");
    Stanza st;
    std::vector<std::string> args = absl::StrSplit(std::string(line->substr(3)), ' ');
    for (std::string& a : args) {
      if (!ValidArg(a)) return Malformed(what, "bad stanza argument");
      st.args.push_back(std::move(a));
    }
    std::string text;
    while (true) {
      std::optional<std::string_view> body = next_line();
      if (!body) return more();
      if (body->size() > kColumns) return Malformed(what, "stanza body line too long");
      text += *body;
      if (body->size() < kColumns) break;
    }
    std::optional<std::string> decoded = Base64Decode(text);
    if (!decoded) return Malformed(what, "bad stanza body");
    st.body = *std::move(decoded);
    h.stanzas.push_back(std::move(st));
  }
}

absl::StatusOr<FileKey> UnwrapFileKey(const ParsedHeader& header,
                                      std::span<const AgeIdentity> identities,
                                      std::string_view what) {
  if (identities.empty()) {
    return absl::FailedPreconditionError(
        fmt::format("{}: is age-encrypted and no age identity was given: set the replica's "
                    "age.identities or age.identity-files (or -age-identity-file FILE)",
                    what));
  }
  std::optional<FileKey> key;
  for (const Stanza& st : header.stanzas) {
    if (st.args[0] != "X25519") continue;  // other recipient types: not ours to open
    for (const AgeIdentity& id : identities) {
      LS_ASSIGN_OR_RETURN(key, UnwrapX25519(st, id, what));
      if (key) break;
    }
    if (key) break;
  }
  if (!key) {
    return absl::FailedPreconditionError(fmt::format(
        "{}: none of the {} age identities given matches the file's recipients (a wrong "
        "identity, or an altered header): give an identity of a recipient the file was "
        "encrypted to",
        what, identities.size()));
  }
  LS_ASSIGN_OR_RETURN(Key32 mac_key, DeriveKey(*key, "", "header"));
  LS_ASSIGN_OR_RETURN(Key32 mac, HmacSha256(mac_key, header.mac_input));
  if (header.mac.size() != mac.size() ||
      CRYPTO_memcmp(header.mac.data(), mac.data(), mac.size()) != 0) {
    return absl::DataLossError(
        fmt::format("{}: age header failed authentication (the file was altered)", what));
  }
  return *key;
}

}  // namespace litesync::age_internal
