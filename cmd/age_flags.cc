// -age-identity-file and key-file reading (age_flags.h).
#include "cmd/age_flags.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fmt/format.h"

#include "cmd/command.h"
#include "replica/crypto/age_keys.h"

namespace litesync {

void AddAgeIdentityFlag(FlagSet& flags, std::vector<std::string>* files) {
  flags.StringList("age-identity-file", files, "FILE",
                   "age identity file (as age-keygen writes it) to read an encrypted replica");
}

absl::StatusOr<std::string> ReadAgeKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        fmt::format("cannot read age key file {}: {}", path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status ApplyAgeIdentityFiles(const std::vector<std::string>& files, ReplicaOptions* replica) {
  for (const std::string& file : files) {
    std::string path = NormalizePath(file);
    absl::StatusOr<std::string> text = ReadAgeKeyFile(path);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::vector<AgeIdentity>> ids = ParseAgeIdentityFile(*text, path);
    if (!ids.ok()) return ids.status();
    for (const AgeIdentity& id : *ids) replica->age.identities.emplace_back(id.Reveal());
  }
  return absl::OkStatus();
}

}  // namespace litesync
