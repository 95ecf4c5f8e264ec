// The OpenSSL 3 calls age v1 is built from (age-encryption.org/v1): X25519,
// HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305 and unpadded base64. Nothing here
// is a hand-written primitive; these are thin, typed wrappers. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace litesync::age_internal {

using Key32 = std::array<uint8_t, 32>;

std::string_view AsView(const Key32& k);
void RandomBytes(uint8_t* out, size_t n);

// X25519: the public key of `secret`, and the shared secret with `peer`
// (all-zero when `peer` is a low-order point; callers reject that).
absl::StatusOr<Key32> X25519Public(const Key32& secret);
absl::StatusOr<Key32> X25519Shared(const Key32& secret, const Key32& peer);

// HKDF-SHA256 (RFC 5869) producing 32 bytes.
absl::StatusOr<Key32> Hkdf(std::string_view ikm, std::string_view salt, std::string_view info);
// HMAC-SHA256.
absl::StatusOr<Key32> HmacSha256(const Key32& key, std::string_view data);

// ChaCha20-Poly1305 (RFC 8439) with one key, reused for many 12-byte nonces.
class Aead {
 public:
  static absl::StatusOr<std::unique_ptr<Aead>> Create(const Key32& key);
  ~Aead();
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;
  // out receives n + 16 bytes (ciphertext then tag).
  absl::Status Seal(const uint8_t nonce[12], const char* in, size_t n, char* out);
  // in holds ciphertext then tag (n >= 16); out receives n - 16 bytes. False when
  // the tag does not authenticate.
  absl::StatusOr<bool> Open(const uint8_t nonce[12], const char* in, size_t n, char* out);

 private:
  Aead() = default;
  void* ctx_ = nullptr;  // EVP_CIPHER_CTX
  Key32 key_{};
};

// Standard base64 without padding, as age writes it; decoding rejects anything
// non-canonical (padding, stray bits, other characters).
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace litesync::age_internal
