// The age v1 header (age.h describes the format): building one for X25519
// recipients, parsing one, and recovering the file key with an identity.
// Internal to replica/crypto/.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include "replica/crypto/age_keys.h"

namespace litesync::age_internal {

using FileKey = std::array<uint8_t, 16>;

struct Stanza {
  std::vector<std::string> args;  // args[0] is the type ("X25519")
  std::string body;               // decoded
};

struct ParsedHeader {
  std::vector<Stanza> stanzas;
  std::string_view mac_input;  // the header through "---", as the MAC covers it
  std::string mac;             // decoded, 32 bytes
  size_t length = 0;           // bytes through the MAC line's newline
};

// The header (through the MAC line) for a new file key.
absl::StatusOr<std::string> EncodeHeader(const FileKey& file_key,
                                         std::span<const AgeRecipient> recipients);

// Parses the header at the start of `buf`; nullopt when `buf` ends before the
// header does (read more). DataLoss naming `what` when it is not an age v1 header.
// The result points into `buf`.
absl::StatusOr<std::optional<ParsedHeader>> ParseHeader(std::string_view buf,
                                                        std::string_view what);

// The file key from the first identity that opens a stanza, with the header
// MAC verified. FailedPrecondition when no identity matches, DataLoss on a
// malformed X25519 stanza or a MAC mismatch.
absl::StatusOr<FileKey> UnwrapFileKey(const ParsedHeader& header,
                                      std::span<const AgeIdentity> identities,
                                      std::string_view what);

// HKDF-SHA256 of the file key, as the header MAC and the payload use it.
absl::StatusOr<Key32> DeriveKey(const FileKey& file_key, std::string_view salt,
                                std::string_view info);

}  // namespace litesync::age_internal
