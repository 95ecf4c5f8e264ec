// age v1 files (the format at age-encryption.org/v1, C2SP), X25519 recipients
// only. What litesync stores when a replica has `age:` set, and what the
// standard `age` tool reads and writes:
//
//   age-encryption.org/v1\n
//   -> X25519 <base64 ephemeral public key>\n     one stanza per recipient
//   <base64 wrapped file key>\n                   (body lines of 64 columns, the
//   ...                                            last one shorter, maybe empty)
//   --- <base64 HMAC-SHA256 of the header up to and including "---">\n
//   16-byte nonce
//   payload: ChaCha20-Poly1305 STREAM, 64 KiB plaintext chunks (+16-byte tag),
//            nonce = 11-byte big-endian chunk counter || 0x01 on the last chunk
//
// A random 16-byte file key per file; for each recipient R a random ephemeral
// key e gives the stanza: wrap key = HKDF-SHA256(ikm = X25519(e, R), salt =
// X25519(e, basepoint) || R, info "age-encryption.org/v1/X25519"), body =
// ChaCha20-Poly1305(wrap key, zero nonce, file key). Header MAC key =
// HKDF(file key, no salt, "header"); payload key = HKDF(file key, nonce,
// "payload"). Base64 is standard, unpadded. Base64 decoding is canonical and
// unknown stanza types are skipped, as the spec requires.
//
// Sources and readers are used by one thread at a time.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

#include "replica/crypto/age_keys.h"
#include "replica/storage/replica_client.h"

namespace litesync {

inline constexpr std::string_view kAgeMagic = "age-encryption.org/v1\n";
inline constexpr size_t kAgeChunkSize = 64 * 1024;

// Whether `prefix` (the first bytes of a file, at least kAgeMagic.size() of
// them when the file is that long) starts an age v1 file.
bool LooksLikeAge(std::string_view prefix);

// The age encryption of `plain` to `recipients` (at least one): Size() is
// exact, and every Open() yields the same bytes (one header, nonce and file key
// per source), so an upload may retry. `plain` must outlive the source.
absl::StatusOr<std::unique_ptr<ByteSource>> AgeEncrypt(const ByteSource& plain,
                                                       std::span<const AgeRecipient> recipients);

// Decrypts the age file `src` streams with the first of `identities` that
// matches a stanza. Errors name `what` (the file):
//   FailedPrecondition  no identity given, or none matches the file's recipients
//   DataLoss            not an age v1 file, a header MAC or payload chunk that does
//                       not authenticate (altered or truncated), trailing data
// Payload errors surface from Read(), before any unauthenticated byte is returned.
absl::StatusOr<std::unique_ptr<ByteReader>> AgeDecrypt(std::unique_ptr<ByteReader> src,
                                                       std::span<const AgeIdentity> identities,
                                                       std::string what);

// Whole-buffer forms (tests; readers of small files such as Litestream v0.3's
// age-encrypted replicas): same errors as above.
absl::StatusOr<std::string> AgeEncryptBytes(std::string_view plain,
                                            std::span<const AgeRecipient> recipients);
absl::StatusOr<std::string> AgeDecryptBytes(std::string_view file,
                                            std::span<const AgeIdentity> identities,
                                            std::string_view what);

}  // namespace litesync
