// The age-encrypting ReplicaClient decorator (age_replica_client.h).
#include "replica/crypto/age_replica_client.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "base/status.h"
#include "fmt/format.h"

#include "replica/crypto/age.h"
#include "replica/storage/replica_head.h"

namespace litesync {
namespace {

class AgeReplicaClient : public ReplicaClient {
 public:
  AgeReplicaClient(std::unique_ptr<ReplicaClient> inner, std::vector<AgeRecipient> recipients,
                   std::vector<AgeIdentity> identities)
      : inner_(std::move(inner)),
        recipients_(std::move(recipients)),
        identities_(std::move(identities)) {}

  std::string_view Type() const override { return inner_->Type(); }
  std::string Describe() const override { return inner_->Describe(); }
  absl::StatusOr<std::vector<Lineage>> ListLineages() override { return inner_->ListLineages(); }
  absl::StatusOr<std::vector<TxFileInfo>> List(Lineage lineage, int level) override {
    return inner_->List(lineage, level);
  }
  absl::StatusOr<std::vector<TxFileInfo>> ListFrom(Lineage lineage, int level,
                                                   uint64_t min_txid) override {
    return inner_->ListFrom(lineage, level, min_txid);
  }
  absl::Status Delete(std::span<const TxFileInfo> files) override { return inner_->Delete(files); }
  absl::Status Ping() override { return inner_->Ping(); }
  absl::StatusOr<Record> ReadRecord(std::string_view name) override {
    return inner_->ReadRecord(name);
  }
  absl::Status WriteRecord(std::string_view name, std::string_view bytes,
                           const RecordCondition& when, std::string* version) override {
    return inner_->WriteRecord(name, bytes, when, version);
  }
  RecordConditions record_conditions() const override { return inner_->record_conditions(); }
  RequestCounts requests() const override { return inner_->requests(); }
  // Objects that are not litesync's (a Litestream replica beside this one) pass
  // through as stored; their own format decides how they are read.
  absl::StatusOr<std::vector<std::string>> ListRootNames() override {
    return inner_->ListRootNames();
  }
  absl::StatusOr<std::vector<ObjectInfo>> ListObjects(std::string_view prefix) override {
    return inner_->ListObjects(prefix);
  }
  absl::StatusOr<std::unique_ptr<ByteReader>> OpenObject(std::string_view key, uint64_t offset,
                                                         uint64_t limit) override {
    return inner_->OpenObject(key, offset, limit);
  }
  absl::Status ReadObjectRange(std::string_view key, uint64_t offset,
                               std::span<char> out) override {
    return inner_->ReadObjectRange(key, offset, out);
  }

  absl::Status Write(const TxFileInfo& info, const ByteSource& bytes) override {
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> sealed, AgeEncrypt(bytes, recipients_));
    TxFileInfo stored = info;
    stored.size = sealed->Size();
    return inner_->Write(stored, *sealed);
  }

  absl::StatusOr<std::unique_ptr<ByteReader>> Open(const TxFileInfo& info) override {
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> raw, inner_->Open(info));
    LS_ASSIGN_OR_RETURN(std::string prefix, Peek(*raw));
    std::unique_ptr<ByteReader> src = NewPrefixedReader(prefix, std::move(raw));
    if (!LooksLikeAge(prefix)) return std::unique_ptr<ByteReader>(std::move(src));
    return AgeDecrypt(std::move(src), identities_, DescribeFile(*inner_, info));
  }

  bool encrypts() const override { return true; }
  bool can_read() const override { return !identities_.empty(); }
  absl::StatusOr<bool> IsEncrypted(const TxFileInfo& info) override {
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> raw, inner_->Open(info));
    LS_ASSIGN_OR_RETURN(std::string prefix, Peek(*raw));
    return LooksLikeAge(prefix);
  }

 private:
  // The first bytes of a file, enough to tell age from a plain tx file.
  static absl::StatusOr<std::string> Peek(ByteReader& raw) {
    std::string prefix(kAgeMagic.size(), '\0');
    size_t got = 0;
    LS_RETURN_IF_ERROR(ReadFull(raw, prefix.data(), prefix.size(), &got));
    prefix.resize(got);
    return prefix;
  }

  std::unique_ptr<ReplicaClient> inner_;
  std::vector<AgeRecipient> recipients_;
  std::vector<AgeIdentity> identities_;
};

}  // namespace

absl::StatusOr<std::vector<AgeIdentity>> AgeIdentitiesOf(const AgeOptions& age,
                                                         std::string_view where) {
  std::vector<AgeIdentity> identities;
  for (size_t i = 0; i < age.identities.size(); ++i) {
    absl::StatusOr<AgeIdentity> id =
        AgeIdentity::Parse(age.identities[i].reveal(), fmt::format("{} identity {}", where, i + 1));
    if (!id.ok()) return id.status();
    identities.push_back(*std::move(id));
  }
  return identities;
}

absl::StatusOr<std::unique_ptr<ReplicaClient>> WrapAgeReplicaClient(
    std::unique_ptr<ReplicaClient> inner, const AgeOptions& age) {
  if (!age.enabled()) return inner;
  std::string where = fmt::format("replica {}: age", inner->Describe());
  LS_ASSIGN_OR_RETURN(std::vector<AgeIdentity> identities, AgeIdentitiesOf(age, where));
  std::vector<AgeRecipient> recipients;
  for (size_t i = 0; i < age.recipients.size(); ++i) {
    absl::StatusOr<AgeRecipient> r =
        ParseAgeRecipient(age.recipients[i], fmt::format("{} recipient {}", where, i + 1));
    if (!r.ok()) return r.status();
    recipients.push_back(*r);
  }
  if (recipients.empty()) {  // identities only: encrypt to them, as `age -e -i` does
    for (const AgeIdentity& id : identities) recipients.push_back(id.recipient());
  }
  return std::unique_ptr<ReplicaClient>(
      new AgeReplicaClient(std::move(inner), std::move(recipients), std::move(identities)));
}

}  // namespace litesync
