// age v1 payload streams (age.h): the encrypting source and the decrypting reader.
#include "replica/crypto/age.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/status.h"
#include "fmt/format.h"
#include <openssl/crypto.h>

#include "replica/crypto/age_header.h"

namespace litesync {
namespace {

using age_internal::Aead;
using age_internal::FileKey;
using age_internal::Key32;

constexpr size_t kNonceSize = 16;
constexpr size_t kTagSize = 16;
constexpr size_t kSealedChunk = kAgeChunkSize + kTagSize;

// STREAM nonce: 11-byte big-endian counter, then the last-chunk flag.
void ChunkNonce(uint64_t counter, bool last, uint8_t out[12]) {
  std::memset(out, 0, 12);
  for (int i = 0; i < 8; ++i) out[10 - i] = static_cast<uint8_t>(counter >> (8 * i));
  out[11] = last ? 1 : 0;
}

uint64_t ChunkCount(uint64_t plain_size) {
  return plain_size == 0 ? 1 : (plain_size + kAgeChunkSize - 1) / kAgeChunkSize;
}

class EncryptingReader : public ByteReader {
 public:
  EncryptingReader(std::unique_ptr<ByteReader> plain, uint64_t plain_size, std::string_view prefix,
                   std::unique_ptr<Aead> aead)
      : plain_(std::move(plain)),
        plain_size_(plain_size),
        aead_(std::move(aead)),
        out_(prefix),
        in_(kAgeChunkSize, '\0') {}

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (out_pos_ == out_.size()) {
      if (done_) return 0;
      LS_RETURN_IF_ERROR(NextChunk());
    }
    size_t k = std::min(n, out_.size() - out_pos_);
    std::memcpy(buf, out_.data() + out_pos_, k);
    out_pos_ += k;
    return k;
  }

 private:
  absl::Status NextChunk() {
    size_t got = 0;
    LS_RETURN_IF_ERROR(ReadFull(*plain_, in_.data(), in_.size(), &got));
    read_ += got;
    bool last = read_ >= plain_size_;
    if (read_ > plain_size_ || (!last && got < kAgeChunkSize)) {
      return absl::InternalError("age: the file being encrypted changed size while read");
    }
    uint8_t nonce[12];
    ChunkNonce(counter_++, last, nonce);
    out_.resize(got + kTagSize);
    out_pos_ = 0;
    done_ = last;
    return aead_->Seal(nonce, in_.data(), got, out_.data());
  }

  std::unique_ptr<ByteReader> plain_;
  uint64_t plain_size_;
  std::unique_ptr<Aead> aead_;
  std::string out_;  // the header first, then one sealed chunk at a time
  size_t out_pos_ = 0;
  std::string in_;
  uint64_t read_ = 0;
  uint64_t counter_ = 0;
  bool done_ = false;
};

class EncryptedSource : public ByteSource {
 public:
  EncryptedSource(const ByteSource& plain, std::string prefix, const Key32& payload_key)
      : plain_(plain), prefix_(std::move(prefix)), payload_key_(payload_key) {}
  ~EncryptedSource() override { OPENSSL_cleanse(payload_key_.data(), payload_key_.size()); }

  uint64_t Size() const override {
    return prefix_.size() + plain_.Size() + kTagSize * ChunkCount(plain_.Size());
  }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open() const override {
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> plain, plain_.Open());
    LS_ASSIGN_OR_RETURN(std::unique_ptr<Aead> aead, Aead::Create(payload_key_));
    return std::unique_ptr<ByteReader>(
        new EncryptingReader(std::move(plain), plain_.Size(), prefix_, std::move(aead)));
  }

 private:
  const ByteSource& plain_;
  std::string prefix_;  // header and nonce
  Key32 payload_key_;
};

class DecryptingReader : public ByteReader {
 public:
  // `buffered` holds bytes already read from `src` past the header.
  DecryptingReader(std::unique_ptr<ByteReader> src, std::string buffered,
                   std::unique_ptr<Aead> aead, std::string what)
      : src_(std::move(src)), aead_(std::move(aead)), what_(std::move(what)) {
    in_.resize(std::max(2 * kSealedChunk, buffered.size()));
    std::memcpy(in_.data(), buffered.data(), buffered.size());
    in_end_ = buffered.size();
    out_.resize(kAgeChunkSize);
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (out_pos_ == out_end_) {
      if (done_) return 0;
      // A caller with room for a whole chunk gets it decrypted in place (restore
      // reads large blocks): one copy less.
      if (n >= kAgeChunkSize) return NextChunk(buf);
      LS_ASSIGN_OR_RETURN(out_end_, NextChunk(out_.data()));
      out_pos_ = 0;
    }
    size_t k = std::min(n, out_end_ - out_pos_);
    std::memcpy(buf, out_.data() + out_pos_, k);
    out_pos_ += k;
    return k;
  }

 private:
  // Reads until a sealed chunk and one byte beyond are buffered (the byte tells
  // a full last chunk from a full middle one), or the end.
  absl::Status Fill() {
    if (in_end_ - in_begin_ > kSealedChunk || eof_) return absl::OkStatus();
    if (in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    while (in_end_ <= kSealedChunk && !eof_) {
      // Only up to one byte past the chunk, so that little is left to move next time.
      absl::StatusOr<size_t> got = src_->Read(in_.data() + in_end_, kSealedChunk + 1 - in_end_);
      if (!got.ok()) return got.status();
      eof_ = *got == 0;
      in_end_ += *got;
    }
    return absl::OkStatus();
  }

  // Decrypts the next chunk into `dest` (room for kAgeChunkSize bytes); its size.
  absl::StatusOr<size_t> NextChunk(char* dest) {
    LS_RETURN_IF_ERROR(Fill());
    size_t avail = in_end_ - in_begin_;
    bool last = avail <= kSealedChunk;  // Fill stopped at the end
    size_t n = last ? avail : kSealedChunk;
    if (n < kTagSize) return Truncated();
    if (last && n == kTagSize && counter_ > 0) {
      return absl::DataLossError(
          fmt::format("{}: age payload ends in an empty chunk (the file was altered)", what_));
    }
    uint8_t nonce[12];
    ChunkNonce(counter_, last, nonce);
    LS_ASSIGN_OR_RETURN(bool ok, aead_->Open(nonce, in_.data() + in_begin_, n, dest));
    if (!ok) {
      return absl::DataLossError(fmt::format(
          "{}: age payload chunk {} failed authentication (the file was altered or truncated)",
          what_, counter_));
    }
    ++counter_;
    in_begin_ += n;
    done_ = last;
    return n - kTagSize;
  }

  absl::Status Truncated() const {
    return absl::DataLossError(
        fmt::format("{}: age payload is truncated (the file was altered or cut short)", what_));
  }

  std::unique_ptr<ByteReader> src_;
  std::unique_ptr<Aead> aead_;
  std::string what_;
  std::vector<char> in_;
  size_t in_begin_ = 0, in_end_ = 0;
  bool eof_ = false;
  std::vector<char> out_;
  size_t out_pos_ = 0, out_end_ = 0;
  uint64_t counter_ = 0;
  bool done_ = false;
};

}  // namespace

bool LooksLikeAge(std::string_view prefix) {
  return prefix.substr(0, kAgeMagic.size()) == kAgeMagic;
}

absl::StatusOr<std::unique_ptr<ByteSource>> AgeEncrypt(const ByteSource& plain,
                                                       std::span<const AgeRecipient> recipients) {
  FileKey file_key{};
  age_internal::RandomBytes(file_key.data(), file_key.size());
  absl::StatusOr<std::string> header = age_internal::EncodeHeader(file_key, recipients);
  std::string nonce(kNonceSize, '\0');
  age_internal::RandomBytes(reinterpret_cast<uint8_t*>(nonce.data()), nonce.size());
  absl::StatusOr<Key32> key = age_internal::DeriveKey(file_key, nonce, "payload");
  OPENSSL_cleanse(file_key.data(), file_key.size());
  if (!header.ok()) return header.status();
  if (!key.ok()) return key.status();
  return std::unique_ptr<ByteSource>(new EncryptedSource(plain, *header + nonce, *key));
}

absl::StatusOr<std::unique_ptr<ByteReader>> AgeDecrypt(std::unique_ptr<ByteReader> src,
                                                       std::span<const AgeIdentity> identities,
                                                       std::string what) {
  std::string buf;
  std::optional<age_internal::ParsedHeader> header;
  bool eof = false;
  while (true) {
    LS_ASSIGN_OR_RETURN(header, age_internal::ParseHeader(buf, what));
    if (header && buf.size() >= header->length + kNonceSize) break;
    if (eof) {
      return absl::DataLossError(fmt::format("{}: age file is truncated before its payload", what));
    }
    size_t at = buf.size();
    buf.resize(at + 4096);
    absl::StatusOr<size_t> got = src->Read(buf.data() + at, 4096);
    if (!got.ok()) return got.status();
    buf.resize(at + *got);
    eof = *got == 0;
  }
  LS_ASSIGN_OR_RETURN(FileKey file_key, age_internal::UnwrapFileKey(*header, identities, what));
  std::string_view nonce = std::string_view(buf).substr(header->length, kNonceSize);
  absl::StatusOr<Key32> key = age_internal::DeriveKey(file_key, nonce, "payload");
  OPENSSL_cleanse(file_key.data(), file_key.size());
  if (!key.ok()) return key.status();
  LS_ASSIGN_OR_RETURN(std::unique_ptr<Aead> aead, Aead::Create(*key));
  OPENSSL_cleanse(key->data(), key->size());
  return std::unique_ptr<ByteReader>(new DecryptingReader(
      std::move(src), buf.substr(header->length + kNonceSize), std::move(aead), std::move(what)));
}

absl::StatusOr<std::string> AgeEncryptBytes(std::string_view plain,
                                            std::span<const AgeRecipient> recipients) {
  std::unique_ptr<ByteSource> source = MemorySource(std::string(plain));
  LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> encrypted, AgeEncrypt(*source, recipients));
  LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> reader, encrypted->Open());
  return ReadAll(*reader);
}

absl::StatusOr<std::string> AgeDecryptBytes(std::string_view file,
                                            std::span<const AgeIdentity> identities,
                                            std::string_view what) {
  std::unique_ptr<ByteSource> source = MemorySource(std::string(file));
  LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> raw, source->Open());
  LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> reader,
                      AgeDecrypt(std::move(raw), identities, std::string(what)));
  return ReadAll(*reader);
}

}  // namespace litesync
