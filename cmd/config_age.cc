// Parsing of a replica's `age:` map, Litestream v0.3's keys: recipients,
// identities, recipient-files, identity-files. Every key is checked here, so a
// bad key fails at start-up citing its line; key files are read now (paths
// relative to the working directory). Errors never quote an identity.
#include <string>
#include <vector>

#include "fmt/format.h"

#include "cmd/age_flags.h"
#include "cmd/command.h"
#include "cmd/config_internal.h"
#include "replica/crypto/age_keys.h"

namespace litesync::config_internal {

absl::Status ParseAge(const MapView& replica, AgeOptions* out) {
  if (!replica.Has("age")) return absl::OkStatus();
  absl::StatusOr<MapView> view = MapView::Make(
      replica.file(), replica.Get("age"), replica.KeyPath("age"), replica.LineOf("age"),
      {"recipients", "identities", "recipient-files", "identity-files"});
  if (!view.ok()) return view.status();
  const MapView& m = *view;
  std::vector<std::string> recipients, identities, recipient_files, identity_files;
  for (auto [key, list] : {std::pair{"recipients", &recipients},
                           {"identities", &identities},
                           {"recipient-files", &recipient_files},
                           {"identity-files", &identity_files}}) {
    if (absl::Status s = m.ReadStringList(key, list); !s.ok()) return s;
  }
  for (size_t i = 0; i < recipients.size(); ++i) {
    absl::StatusOr<AgeRecipient> r = ParseAgeRecipient(recipients[i], fmt::format("[{}]", i));
    if (!r.ok()) return m.Error("recipients", StatusMessage(r.status()));
    out->recipients.push_back(recipients[i]);
  }
  for (size_t i = 0; i < identities.size(); ++i) {
    absl::StatusOr<AgeIdentity> id = AgeIdentity::Parse(identities[i], fmt::format("[{}]", i));
    if (!id.ok()) return m.Error("identities", StatusMessage(id.status()));
    out->identities.emplace_back(id->Reveal());
  }
  for (const std::string& file : recipient_files) {
    std::string path = AbsolutePath(file);
    absl::StatusOr<std::string> text = ReadAgeKeyFile(path);
    if (!text.ok()) return m.Error("recipient-files", StatusMessage(text.status()));
    absl::StatusOr<std::vector<AgeRecipient>> rs = ParseAgeRecipientFile(*text, path);
    if (!rs.ok()) return m.Error("recipient-files", StatusMessage(rs.status()));
    for (const AgeRecipient& r : *rs) out->recipients.push_back(r.ToString());
  }
  for (const std::string& file : identity_files) {
    std::string path = AbsolutePath(file);
    absl::StatusOr<std::string> text = ReadAgeKeyFile(path);
    if (!text.ok()) return m.Error("identity-files", StatusMessage(text.status()));
    absl::StatusOr<std::vector<AgeIdentity>> ids = ParseAgeIdentityFile(*text, path);
    if (!ids.ok()) return m.Error("identity-files", StatusMessage(ids.status()));
    for (const AgeIdentity& id : *ids) out->identities.emplace_back(id.Reveal());
  }
  if (!out->enabled()) {
    return m.Error("", "needs recipients (to write) or identities (to read), or their -files");
  }
  return absl::OkStatus();
}

}  // namespace litesync::config_internal
