// OpenSSL 3 wrappers for age (age_primitives.h).
#include "replica/crypto/age_primitives.h"

#include <cstring>

#include "fmt/format.h"
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

namespace litesync::age_internal {
namespace {

absl::Status OpensslError(std::string_view what) {
  return absl::InternalError(fmt::format("age: OpenSSL {} failed", what));
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Pkey X25519Key(const Key32& bytes, bool secret) {
  return Pkey(secret ? EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, bytes.data(), 32)
                     : EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, bytes.data(), 32));
}

}  // namespace

std::string_view AsView(const Key32& k) {
  return {reinterpret_cast<const char*>(k.data()), k.size()};
}

void RandomBytes(uint8_t* out, size_t n) {
  // RAND_bytes fails only when the system's entropy source does: nothing to do
  // but stop rather than encrypt under a predictable key.
  if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();
}

absl::StatusOr<Key32> X25519Public(const Key32& secret) {
  Pkey key = X25519Key(secret, true);
  Key32 out{};
  size_t len = out.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), out.data(), &len) != 1 || len != 32) {
    return OpensslError("X25519 public key");
  }
  return out;
}

absl::StatusOr<Key32> X25519Shared(const Key32& secret, const Key32& peer) {
  Pkey mine = X25519Key(secret, true);
  Pkey theirs = X25519Key(peer, false);
  if (!mine || !theirs) return OpensslError("X25519 key");
  PkeyCtx ctx(EVP_PKEY_CTX_new(mine.get(), nullptr));
  Key32 out{};
  size_t len = out.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1) {
    return OpensslError("X25519 derive");
  }
  // OpenSSL refuses an all-zero result (a low-order peer point); age rejects it too.
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != 32) return Key32{};
  return out;
}

absl::StatusOr<Key32> Hkdf(std::string_view ikm, std::string_view salt, std::string_view info) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = kdf != nullptr ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return OpensslError("HKDF");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_octet_string(
                             OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()), ikm.size()),
                         OSSL_PARAM_construct_octet_string(
                             OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size()),
                         OSSL_PARAM_construct_octet_string(
                             OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
                         OSSL_PARAM_construct_end()};
  Key32 out{};
  int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) return OpensslError("HKDF");
  return out;
}

absl::StatusOr<Key32> HmacSha256(const Key32& key, std::string_view data) {
  Key32 out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr ||
      len != 32) {
    return OpensslError("HMAC-SHA256");
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Aead>> Aead::Create(const Key32& key) {
  std::unique_ptr<Aead> a(new Aead());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return OpensslError("cipher context");
  a->ctx_ = ctx;
  a->key_ = key;
  return a;
}

Aead::~Aead() {
  EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(ctx_));
  OPENSSL_cleanse(key_.data(), key_.size());
}

absl::Status Aead::Seal(const uint8_t nonce[12], const char* in, size_t n, char* out) {
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(ctx_);
  auto* o = reinterpret_cast<unsigned char*>(out);
  int len = 0, fin = 0;
  if (EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key_.data(), nonce) != 1 ||
      (n > 0 && EVP_EncryptUpdate(ctx, o, &len, reinterpret_cast<const unsigned char*>(in),
                                  static_cast<int>(n)) != 1) ||
      EVP_EncryptFinal_ex(ctx, o + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, o + n) != 1) {
    return OpensslError("ChaCha20-Poly1305 seal");
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Aead::Open(const uint8_t nonce[12], const char* in, size_t n, char* out) {
  if (n < 16) return false;
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(ctx_);
  auto* o = reinterpret_cast<unsigned char*>(out);
  size_t body = n - 16;
  int len = 0, fin = 0;
  if (EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key_.data(), nonce) != 1 ||
      (body > 0 && EVP_DecryptUpdate(ctx, o, &len, reinterpret_cast<const unsigned char*>(in),
                                     static_cast<int>(body)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, const_cast<char*>(in + body)) != 1) {
    return OpensslError("ChaCha20-Poly1305 open");
  }
  return EVP_DecryptFinal_ex(ctx, o + len, &fin) == 1;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n);
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  for (char c : text) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
          c == '/')) {
      return std::nullopt;  // also rejects '=' padding, spaces and newlines
    }
  }
  std::string padded(text);
  padded.append((4 - text.size() % 4) % 4, '=');
  std::string out(padded.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(padded.data()),
                          static_cast<int>(padded.size()));
  if (n < 0) return std::nullopt;
  out.resize(out.size() - (padded.size() - text.size()));  // EVP_DecodeBlock keeps pad bytes
  // Canonical: unused low bits must be zero, so re-encoding gives the same text.
  if (Base64Encode(out) != text) return std::nullopt;
  return out;
}

}  // namespace litesync::age_internal
