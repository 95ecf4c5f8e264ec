// Encrypted replicas end to end: a real writer process, the Replicator writing
// through the age client to a directory and to s3rver, restores with and
// without the identity, tampering, recipients-only replication, turning
// encryption on over a plain replica, and key rotation. Every stored file is
// checked with the real `age` binary.
#include <filesystem>
#include <map>
#include <set>

#include "base/log.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/crypto/age.h"
#include "replica/engine/replicator.h"
#include "replica/format/tx_file.h"
#include "replica/storage/replica_client.h"
#include "tests/testutil/process.h"
#include "tests/testutil/replication_util.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

class AgeReplicationTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (getenv("LITESYNC_DEBUG")) SetLogLevel(LogLevel::kDebug);
    if (GetParam() == "s3") {
      server_ = std::make_unique<testing::S3Server>();
      ASSERT_TRUE(server_->running());
    }
  }
  std::string db() const { return dir_.Join("app.db"); }

  // The replica with `age` set, compacting quickly so level-1 files appear.
  ReplicaOptions Replica(const AgeOptions& age) const {
    ReplicaOptions o =
        GetParam() == "s3" ? server_->Options("app") : testing::FileReplica(dir_.Join("replica"));
    o.sync_interval = absl::Milliseconds(50);
    o.compaction_intervals = {absl::Milliseconds(300), absl::ZeroDuration(), absl::ZeroDuration()};
    o.age = age;
    return o;
  }
  static AgeOptions To(std::vector<const AgeIdentity*> recipients,
                       std::vector<const AgeIdentity*> identities) {
    AgeOptions a;
    for (const AgeIdentity* r : recipients) a.recipients.push_back(r->recipient().ToString());
    for (const AgeIdentity* i : identities) a.identities.emplace_back(i->Reveal());
    return a;
  }
  std::unique_ptr<ReplicaClient> Client(const AgeOptions& age) {
    auto c = NewReplicaClient(Replica(age));
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  void Replicate(const AgeOptions& age, std::vector<std::string> writer) {
    auto replicator = std::make_unique<Replicator>(&registry_, Clock::Real());
    DbOptions opts = testing::DbWithReplica(db(), Replica(age));
    LS_ASSERT_OK(replicator->Add(opts));
    replicator->Start();
    std::string log = dir_.Join("writer-" + std::to_string(runs_++) + ".log");
    std::vector<std::string> argv = {testing::WriterBin(), db(), "-log", log};
    argv.insert(argv.end(), writer.begin(), writer.end());
    EXPECT_EQ(testing::RunProcess(argv, absl::Seconds(120)), 0);
    for (const auto& [seq, hash] : testing::ReadWriterLog(log)) logged_[seq] = hash;
    absl::SleepFor(absl::Milliseconds(700));  // one compaction round after the last write
    LS_ASSERT_OK(replicator->Stop());
  }
  // Every file of every lineage and level.
  std::vector<TxFileInfo> AllFiles() {
    auto client = Client({});
    std::vector<TxFileInfo> out;
    absl::StatusOr<std::vector<Lineage>> lineages = client->ListLineages();
    EXPECT_TRUE(lineages.ok()) << lineages.status();
    if (!lineages.ok()) return out;
    for (Lineage l : *lineages) {
      for (int level : {0, 1, 2, 3, kSnapshotLevel}) {
        auto files = client->List(l, level);
        out.insert(out.end(), files->begin(), files->end());
      }
    }
    return out;
  }
  std::string Stored(const TxFileInfo& f) {
    auto plain = Client({});  // no age: the bytes as stored
    auto r = plain->Open(f);
    EXPECT_TRUE(r.ok()) << r.status();
    return *ReadAll(**r);
  }
  // Restores the latest state and checks it is a state the writer logged, last.
  void ExpectRestores(const AgeOptions& age, const std::string& name,
                      const RestoreTarget& target = {}) {
    auto client = Client(age);
    std::string out = dir_.Join(name);
    LS_ASSERT_OK(testing::RestoreTo(*client, target, out));
    EXPECT_EQ(testing::IntegrityCheck(out), "ok");
    auto content = testing::ReadContent(out);
    LS_ASSERT_OK(content);
    ASSERT_TRUE(logged_.count(content->seq)) << name << ": seq " << content->seq;
    EXPECT_EQ(logged_[content->seq], content->hash);
    if (!target.txid && !target.timestamp) {
      EXPECT_EQ(content->seq, logged_.rbegin()->first);
    }
  }
  // `age -d -i` of a stored file gives a plain tx file.
  void ExpectAgeBinaryReads(const TxFileInfo& f, const AgeIdentity& id) {
    testing::WriteFileOrDie(dir_.Join("key.txt"), id.Reveal() + "\n");
    testing::WriteFileOrDie(dir_.Join("f.age"), Stored(f));
    ASSERT_EQ(testing::RunProcess({"/usr/bin/age", "-d", "-i", dir_.Join("key.txt"), "-o",
                                   dir_.Join("f.ltx"), dir_.Join("f.age")},
                                  absl::Seconds(20)),
              0)
        << f.RelativePath();
    std::string plain = testing::ReadFileOrDie(dir_.Join("f.ltx"));
    absl::StatusOr<TxHeader> h = DecodeTxHeader(plain, f.Name());
    LS_ASSERT_OK(h);
    EXPECT_EQ(h->max_txid, f.max_txid);
  }

  TempDir dir_;
  std::unique_ptr<testing::S3Server> server_;
  SyncRegistry registry_;
  int runs_ = 0;
  std::map<int64_t, uint64_t> logged_;  // every writer run: seq -> content hash
  AgeIdentity alice_ = AgeIdentity::Generate();
  AgeIdentity bob_ = AgeIdentity::Generate();
};

TEST_P(AgeReplicationTest, RoundTripEveryFileIsAgeAndRestoresOnlyWithTheIdentity) {
  testing::CreateWalDb(db());
  AgeOptions age = To({&alice_}, {&alice_});
  Replicate(age, {"-txns", "300", "-rate", "300", "-seed", "3"});
  std::vector<TxFileInfo> files = AllFiles();
  ASSERT_GT(files.size(), 3u);
  std::set<int> levels;
  for (const TxFileInfo& f : files) {
    levels.insert(f.level);
    EXPECT_TRUE(LooksLikeAge(Stored(f))) << f.RelativePath();
  }
  EXPECT_TRUE(levels.count(kSnapshotLevel) && levels.count(0) && levels.count(1))
      << "snapshots, increments and compacted files are all encrypted";
  ExpectAgeBinaryReads(files.front(), alice_);
  ExpectAgeBinaryReads(files.back(), alice_);
  ExpectRestores(age, "latest.db");
  RestoreTarget at;
  at.txid = files[files.size() / 2].max_txid;
  ExpectRestores(age, "mid.db", at);
  RestoreTarget when;
  when.timestamp = files[files.size() / 2].timestamp;
  ExpectRestores(age, "when.db", when);

  for (const AgeOptions& wrong : {To({&alice_}, {}), To({&bob_}, {&bob_})}) {
    auto client = Client(wrong);
    std::string out = dir_.Join("wrong.db");
    absl::StatusOr<RestorePlan> plan = testing::RestoreTo(*client, {}, out);
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition) << plan.status();
    EXPECT_THAT(plan.status().message(), HasSubstr(client->Describe()));
    EXPECT_THAT(plan.status().message(), HasSubstr(".ltx"));
    EXPECT_THAT(plan.status().message(), HasSubstr("identit"));
    EXPECT_THAT(std::string(plan.status().message()),
                ::testing::Not(HasSubstr(alice_.Reveal().substr(16))));
    EXPECT_FALSE(std::filesystem::exists(out));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, AgeReplicationTest, ::testing::Values("file", "s3"),
                         [](const auto& p) { return p.param; });

class AgeFileReplicationTest : public AgeReplicationTest {};

TEST_P(AgeFileReplicationTest, ATamperedFileFailsAuthenticationNamingItAndIsNeverApplied) {
  testing::CreateWalDb(db());
  AgeOptions age = To({&alice_}, {&alice_});
  Replicate(age, {"-txns", "50", "-rate", "200"});
  std::vector<TxFileInfo> files = AllFiles();
  auto snapshot = std::find_if(files.begin(), files.end(),
                               [](const TxFileInfo& f) { return f.level == kSnapshotLevel; });
  ASSERT_NE(snapshot, files.end());
  std::string path = dir_.Join("replica") + "/" + snapshot->RelativePath();
  std::string bytes = testing::ReadFileOrDie(path);
  bytes[bytes.size() - 40] ^= 0x01;  // in the payload, past the header
  testing::WriteFileOrDie(path, bytes);
  auto client = Client(age);
  std::string out = dir_.Join("out.db");
  absl::StatusOr<RestorePlan> plan = testing::RestoreTo(*client, {}, out);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kDataLoss) << plan.status();
  EXPECT_THAT(plan.status().message(), HasSubstr(snapshot->Name()));
  EXPECT_THAT(plan.status().message(), HasSubstr("failed authentication"));
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_P(AgeFileReplicationTest, RecipientsOnlyReplicatesWithoutCompactionAndRestoresElsewhere) {
  testing::CreateWalDb(db());
  AgeOptions write_only = To({&alice_}, {});
  Replicate(write_only, {"-txns", "100", "-rate", "300", "-seed", "5"});
  Replicate(write_only, {"-txns", "100", "-rate", "300", "-seed", "6"});
  std::set<Lineage> lineages;
  for (const TxFileInfo& f : AllFiles()) {
    EXPECT_NE(f.level, 1) << "compaction needs an identity";
    lineages.insert(f.lineage);
  }
  EXPECT_EQ(lineages.size(), 2u) << "each start begins a new lineage";
  ExpectRestores(To({}, {&alice_}), "latest.db");
}

TEST_P(AgeFileReplicationTest, TurningEncryptionOnStartsANewLineageAndRestoreReadsBoth) {
  testing::CreateWalDb(db());
  Replicate({}, {"-txns", "80", "-rate", "300", "-seed", "7"});
  std::vector<TxFileInfo> plain = AllFiles();
  ASSERT_FALSE(plain.empty());
  AgeOptions age = To({&alice_}, {&alice_});
  Replicate(age, {"-txns", "80", "-rate", "300", "-seed", "8"});
  std::set<Lineage> lineages;
  for (const TxFileInfo& f : AllFiles()) {
    lineages.insert(f.lineage);
    bool old = std::find(plain.begin(), plain.end(), f) != plain.end();
    EXPECT_EQ(LooksLikeAge(Stored(f)), !old) << f.RelativePath();
  }
  EXPECT_EQ(lineages.size(), 2u);
  ExpectRestores(age, "latest.db");
  RestoreTarget before;
  before.txid = 0;
  for (const TxFileInfo& f : plain) before.txid = std::max(*before.txid, f.max_txid);
  ExpectRestores(age, "before.db", before);  // the plain lineage, through the age client
}

// Rotation: add Bob as a recipient beside Alice, restart; files written after
// the change open with Bob's identity alone (with the real age binary too).
TEST_P(AgeFileReplicationTest, AddingARecipientLetsItsIdentityReadNewFiles) {
  testing::CreateWalDb(db());
  Replicate(To({&alice_}, {&alice_}), {"-txns", "60", "-rate", "300", "-seed", "9"});
  std::vector<TxFileInfo> before = AllFiles();
  AgeOptions both = To({&alice_, &bob_}, {&alice_});
  Replicate(both, {"-txns", "60", "-rate", "300", "-seed", "10"});
  std::vector<TxFileInfo> after;
  for (const TxFileInfo& f : AllFiles()) {
    if (std::find(before.begin(), before.end(), f) == before.end()) after.push_back(f);
  }
  ASSERT_FALSE(after.empty());
  std::vector<AgeIdentity> bob = {bob_};
  for (const TxFileInfo& f : after) {
    LS_EXPECT_OK(AgeDecryptBytes(Stored(f), bob, f.Name()));
  }
  ExpectAgeBinaryReads(after.back(), bob_);
  ExpectRestores(To({}, {&alice_, &bob_}), "latest.db");
  // Bob alone cannot read what predates him: named in the error.
  absl::StatusOr<std::string> old = AgeDecryptBytes(Stored(before.front()), bob, "old");
  EXPECT_EQ(old.status().code(), absl::StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(File, AgeFileReplicationTest, ::testing::Values("file"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace litesync
