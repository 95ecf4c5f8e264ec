// age X25519 keys (age-encryption.org/v1): recipients "age1..." (a public key)
// and identities "AGE-SECRET-KEY-1..." (a secret key), both Bech32, and the
// key files that list them. An identity never appears in an error message or a
// log line: errors name the file and line, never the text. Thread-safe values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include "replica/crypto/age_primitives.h"

namespace litesync {

struct AgeRecipient {
  age_internal::Key32 public_key{};
  std::string ToString() const;  // "age1..."
  bool operator==(const AgeRecipient& o) const { return public_key == o.public_key; }
};

class AgeIdentity {
 public:
  // A new random identity (tests and key generation).
  static AgeIdentity Generate();
  // "AGE-SECRET-KEY-1..." (case-insensitive). InvalidArgument naming `what`.
  static absl::StatusOr<AgeIdentity> Parse(std::string_view text, std::string_view what);
  ~AgeIdentity();
  AgeIdentity(const AgeIdentity&) = default;
  AgeIdentity& operator=(const AgeIdentity&) = default;

  const AgeRecipient& recipient() const { return recipient_; }
  const age_internal::Key32& secret() const { return secret_; }
  // The identity's text, "AGE-SECRET-KEY-1...": only for writing a key file.
  std::string Reveal() const;

 private:
  AgeIdentity() = default;
  age_internal::Key32 secret_{};
  AgeRecipient recipient_;
};

// "age1..." (case-insensitive). InvalidArgument naming `what`.
absl::StatusOr<AgeRecipient> ParseAgeRecipient(std::string_view text, std::string_view what);

// Key files as age-keygen writes them and `age -i`/`-R` read them: one key a
// line; blank lines and lines starting with '#' are ignored. Errors name
// `what` (the file) and the line. An identity file with no identity is an error.
absl::StatusOr<std::vector<AgeIdentity>> ParseAgeIdentityFile(std::string_view text,
                                                              std::string_view what);
absl::StatusOr<std::vector<AgeRecipient>> ParseAgeRecipientFile(std::string_view text,
                                                                std::string_view what);

}  // namespace litesync
