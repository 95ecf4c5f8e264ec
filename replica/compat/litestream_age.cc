#include "replica/compat/litestream_age.h"

#include <memory>
#include <string>
#include <vector>

#include "base/secret.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/crypto/age.h"
#include "replica/crypto/age_replica_client.h"

namespace litesync {

absl::StatusOr<StoredObjectDecoder> LitestreamAgeDecoder(const ReplicaOptions& replica) {
  std::vector<AgeIdentity> ids;
  if (!replica.age.identities.empty()) {
    LS_ASSIGN_OR_RETURN(ids, AgeIdentitiesOf(replica.age, replica.Describe()));
  }
  auto shared = std::make_shared<const std::vector<AgeIdentity>>(std::move(ids));
  std::string where = RedactUrl(replica.Describe());
  return StoredObjectDecoder(
      [shared, where](std::unique_ptr<ByteReader> stored,
                      const ObjectInfo& object) -> absl::StatusOr<std::unique_ptr<ByteReader>> {
        std::string head(kAgeMagic.size(), '\0');
        size_t got = 0;
        LS_RETURN_IF_ERROR(ReadFull(*stored, head.data(), head.size(), &got));
        head.resize(got);
        const bool age = LooksLikeAge(head);
        std::unique_ptr<ByteReader> whole = NewPrefixedReader(std::move(head), std::move(stored));
        if (!age) return whole;
        if (shared->empty()) {
          return absl::FailedPreconditionError(fmt::format(
              "{}/{}: an age-encrypted file (Litestream's age:): an age identity is needed; "
              "pass -age-identity-file FILE, or set age: identities in the config",
              where, object.key));
        }
        return AgeDecrypt(std::move(whole), *shared, where + "/" + object.key);
      });
}

}  // namespace litesync
