#include "cmd/status_command.h"

#include <cstdlib>
#include <filesystem>

#include "base/status.h"  // LS_STATUS_CONCAT_, used by status_matchers.h
#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmd/control_server.h"
#include "cmd/json.h"
#include "replica/storage/file/file_replica_client.h"
#include "replica/storage/file/file_settings.h"
#include "replica/storage/replica_head.h"
#include "replica/storage/s3/s3_settings.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/sqlite_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using ::litesync::testing::FakeClock;
using ::litesync::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// Lays out a tx file by hand, the way the file replica stores it:
// <root>/<lineage>/<level>/<min>-<max>-<ts>.ltx (status reads names, not contents).
void PutTxFile(const std::string& root, Lineage lineage, int level, uint64_t min, uint64_t max,
               absl::Time ts) {
  TxFileInfo info;
  info.lineage = lineage;
  info.level = level;
  info.min_txid = min;
  info.max_txid = max;
  info.timestamp = ts;
  std::string dir = fmt::format("{}/{}/{}", root, LineageName(lineage), level);
  std::filesystem::create_directories(dir);
  testing::WriteFileOrDie(dir + "/" + info.Name(), "tx file bytes");
}

class StatusCommandTest : public ::testing::Test {
 protected:
  StatusCommandTest() {
    ::unsetenv("LITESYNC_SOCKET");  // the socket must be the one next to this test's config
    config_.path = dir_.Join("litesync.yml");
    env_.clock = &clock_;
    env_.new_client = [](const ReplicaOptions& o) { return NewFileReplicaClient(o); };
  }

  // A database file (real SQLite, WAL mode) with a file replica at replica/<name>.
  std::string AddDb(const std::string& name, bool create = true) {
    std::string path = dir_.Join(name);
    if (create) testing::CreateWalDb(path);
    DbOptions db;
    db.path = path;
    ReplicaOptions r;
    r.type = "file";
    r.settings<FileSettings>().path = Replica(name);
    db.replicas = {r};
    config_.dbs.push_back(db);
    return path;
  }
  std::string Replica(const std::string& name) { return dir_.Join("replica/" + name); }

  int Run(std::vector<std::string> args) {
    out_.clear();
    err_.clear();
    return RunStatusCommand(config_, args, env_, &out_, &err_);
  }

  const DbStatus* Row(const StatusReport& r, const std::string& path) {
    for (const DbStatus& d : r.databases) {
      if (d.path == path) return &d;
    }
    ADD_FAILURE() << "no row for " << path;
    return nullptr;
  }

  TempDir dir_;
  FakeClock clock_;
  Config config_;
  StatusCommandEnv env_;
  std::string out_, err_;
};

TEST_F(StatusCommandTest, WithoutDaemonReadsFilesAndReplicasIntoEachState) {
  const absl::Time now = clock_.Now();
  std::string ok = AddDb("ok.db");
  PutTxFile(Replica("ok.db"), 1, 0, 1, 1, now - absl::Seconds(100));
  PutTxFile(Replica("ok.db"), 1, 0, 2, 5, now - absl::Seconds(10));
  PutTxFile(Replica("ok.db"), 1, kSnapshotLevel, 1, 3, now - absl::Seconds(50));
  testing::WriteFileOrDie(ok + "-wal", std::string(4120, 'w'));
  std::string old = AddDb("old.db");
  PutTxFile(Replica("old.db"), 1, 0, 1, 9, now - absl::Hours(1));
  std::string fresh = AddDb("fresh.db");  // nothing replicated yet
  std::string gone = AddDb("gone.db", /*create=*/false);
  PutTxFile(Replica("gone.db"), 1, 0, 1, 2, now - absl::Seconds(1));

  EXPECT_EQ(Run({}), 1);
  EXPECT_EQ(err_, "");
  const std::string socket = dir_.Join(".litesync.yml.sock");
  EXPECT_THAT(out_, HasSubstr("no daemon running (socket " + socket + ")"));
  EXPECT_THAT(out_, HasSubstr("3 of 4 not ok:"));
  EXPECT_THAT(out_, HasSubstr(old + " (file://" + Replica("old.db") +
                              "): stale: last sync 1h ago (interval 5m)"));
  EXPECT_THAT(out_, HasSubstr(fresh + " (file://" + Replica("fresh.db") + "): never synced\n"));
  EXPECT_THAT(out_, HasSubstr(gone + " (file://" + Replica("gone.db") +
                              "): no database: database file does not exist"));

  EXPECT_EQ(Run({"-json"}), 1);
  LS_ASSERT_OK_AND_ASSIGN(StatusReport r, ParseStatusJson(out_));
  EXPECT_EQ(r.source, "direct");
  EXPECT_FALSE(r.healthy);
  ASSERT_EQ(r.databases.size(), 4u);
  const DbStatus* d = Row(r, ok);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->state, DbState::kOk);
  EXPECT_EQ(d->replica, "file://" + Replica("ok.db"));
  EXPECT_EQ(d->replicated_txid, 5u);
  EXPECT_EQ(d->lineage, 1u);
  EXPECT_EQ(d->last_sync, now - absl::Seconds(10));
  EXPECT_EQ(d->wal_size, 4120);
  EXPECT_TRUE(d->database_exists);
  EXPECT_FALSE(d->local_txid.has_value()) << "only the daemon knows the local TXID";
  EXPECT_FALSE(d->sync_count.has_value());
  EXPECT_EQ(Row(r, old)->state, DbState::kStale);
  EXPECT_EQ(Row(r, old)->replicated_txid, 9u);
  EXPECT_EQ(Row(r, fresh)->state, DbState::kNeverSynced);
  EXPECT_EQ(Row(r, fresh)->wal_size, 0) << "no -wal file";
  EXPECT_FALSE(Row(r, fresh)->replicated_txid.has_value()) << "nothing in the replica";
  EXPECT_FALSE(Row(r, fresh)->lineage.has_value());
  EXPECT_EQ(Row(r, gone)->state, DbState::kNoDatabase);
  EXPECT_FALSE(Row(r, gone)->database_exists);
  // The raw document carries the same values (schema check, not just our own reader).
  LS_ASSERT_OK_AND_ASSIGN(Json j, ParseJson(out_));
  EXPECT_EQ(j.at("notes")[0], "no daemon running (socket " + socket +
                                  "): read the database files and replicas directly");
}

TEST_F(StatusCommandTest, AllOkExitsZeroAndDeletingTheDatabaseMakesItNoDatabase) {
  std::string db = AddDb("app.db");
  PutTxFile(Replica("app.db"), 1, 0, 1, 4, clock_.Now() - absl::Seconds(3));
  EXPECT_EQ(Run({}), 0) << out_ << err_;
  EXPECT_THAT(out_, Not(HasSubstr("not ok")));

  ASSERT_TRUE(std::filesystem::remove(db));
  EXPECT_EQ(Run({"-json"}), 1);
  LS_ASSERT_OK_AND_ASSIGN(StatusReport r, ParseStatusJson(out_));
  EXPECT_EQ(r.databases.at(0).state, DbState::kNoDatabase);

  // Time passes without the daemon: the replica's newest file goes stale.
  testing::CreateWalDb(db);
  clock_.Advance(absl::Minutes(6));
  EXPECT_EQ(Run({"-json"}), 1);
  LS_ASSERT_OK_AND_ASSIGN(r, ParseStatusJson(out_));
  EXPECT_EQ(r.databases.at(0).state, DbState::kStale);
}

TEST_F(StatusCommandTest, NewestTxFileTakesTheNewestLineageWithFilesAndTheHighestTxid) {
  const std::string root = dir_.Join("r");
  const absl::Time t = clock_.Now();
  PutTxFile(root, 1, 0, 1, 100, t - absl::Hours(2));
  PutTxFile(root, 101, 9, 101, 101, t - absl::Hours(1));
  PutTxFile(root, 101, 1, 101, 150, t - absl::Minutes(30));
  PutTxFile(root, 101, 0, 140, 150, t - absl::Minutes(20));  // same TXID, captured later
  PutTxFile(root, 101, 0, 120, 130, t - absl::Minutes(10));
  std::filesystem::create_directories(root + "/" + LineageName(300) + "/0");  // empty lineage
  ReplicaOptions o;
  o.type = "file";
  o.settings<FileSettings>().path = root;
  LS_ASSERT_OK_AND_ASSIGN(auto client, NewFileReplicaClient(o));
  LS_ASSERT_OK_AND_ASSIGN(std::optional<TxFileInfo> newest, NewestTxFile(*client));
  ASSERT_TRUE(newest.has_value());
  EXPECT_EQ(newest->lineage, 101u);
  EXPECT_EQ(newest->level, 0);
  EXPECT_EQ(newest->max_txid, 150u);
  EXPECT_EQ(newest->timestamp, t - absl::Minutes(20));

  o.settings<FileSettings>().path = dir_.Join("empty");
  LS_ASSERT_OK_AND_ASSIGN(auto empty, NewFileReplicaClient(o));
  LS_ASSERT_OK_AND_ASSIGN(std::optional<TxFileInfo> none, NewestTxFile(*empty));
  EXPECT_FALSE(none.has_value());
}

TEST_F(StatusCommandTest, AsksTheRunningDaemonOverItsSocket) {
  std::string db = AddDb("app.db");  // the replica is empty: only the daemon knows better
  SyncRegistry registry;
  registry.Update(db, "file:///backups/app", [&](SyncRecord& r) {
    r.last_success = clock_.Now();
    r.local_txid = 7;
    r.replicated_txid = 5;
    r.pending_bytes = 2048;
    r.sync_count = 3;
  });
  ControlServerOptions o = ControlServerOptionsFromConfig(config_);
  EXPECT_EQ(o.socket_path, dir_.Join(".litesync.yml.sock"));
  LS_ASSERT_OK_AND_ASSIGN(auto server, ControlServer::Start(o, &registry, nullptr, &clock_));

  EXPECT_EQ(Run({}), 0) << out_ << err_;
  EXPECT_THAT(out_, HasSubstr("daemon running (socket " + o.socket_path + ")"));
  EXPECT_THAT(out_, HasSubstr("2 tx, 2.0 KiB"));
  EXPECT_THAT(out_, HasSubstr("file:///backups/app"));

  EXPECT_EQ(Run({"-json"}), 0);
  LS_ASSERT_OK_AND_ASSIGN(StatusReport r, ParseStatusJson(out_));
  EXPECT_EQ(r.source, "daemon");
  ASSERT_EQ(r.databases.size(), 1u);
  EXPECT_EQ(r.databases[0].local_txid, 7u);
  EXPECT_EQ(r.databases[0].replicated_txid, 5u);
  EXPECT_EQ(r.databases[0].sync_count, 3u);

  // A failed attempt after a recent success: healthy for /healthz, but not `ok`.
  registry.Update(db, "file:///backups/app", [&](SyncRecord& rec) {
    rec.last_error = absl::UnavailableError("PUT: HTTP 503");
  });
  EXPECT_EQ(Run({}), 1);
  EXPECT_THAT(out_, HasSubstr("error: last attempt failed: PUT: HTTP 503"));
  registry.Update(db, "file:///backups/app",
                  [&](SyncRecord& rec) { rec.last_error = absl::OkStatus(); });
  EXPECT_EQ(Run({}), 0);

  clock_.Advance(absl::Minutes(10));  // the daemon's clock: its answer turns stale
  EXPECT_EQ(Run({}), 1);
  EXPECT_THAT(out_, HasSubstr("stale: last sync 10m ago (interval 5m)"));

  server.reset();  // daemon gone: back to reading directly
  EXPECT_EQ(Run({}), 1);
  EXPECT_THAT(out_, HasSubstr("no daemon running"));
  EXPECT_THAT(out_, HasSubstr("never synced"));
}

TEST_F(StatusCommandTest, DbPathSelectsOneDatabase) {
  std::string good = AddDb("good.db");
  PutTxFile(Replica("good.db"), 1, 0, 1, 1, clock_.Now());
  std::string bad = AddDb("bad.db");
  EXPECT_EQ(Run({}), 1);
  EXPECT_EQ(Run({good}), 0) << out_;
  EXPECT_THAT(out_, Not(HasSubstr(bad)));
  EXPECT_EQ(Run({dir_.path() + "/./bad.db"}), 1);  // same file, different spelling
  EXPECT_THAT(out_, HasSubstr(bad));
  EXPECT_THAT(out_, Not(HasSubstr(good)));
  EXPECT_EQ(Run({dir_.Join("other.db")}), 2);
  EXPECT_THAT(err_, HasSubstr("not a database of"));
}

TEST_F(StatusCommandTest, UsageErrorsExitTwo) {
  AddDb("a.db");
  EXPECT_EQ(Run({"-bogus"}), 2);
  EXPECT_THAT(err_, HasSubstr("unknown flag -bogus"));
  EXPECT_THAT(err_, HasSubstr("usage: litesync status"));
  EXPECT_EQ(Run({"a.db", "b.db"}), 2);
  EXPECT_EQ(Run({"-config"}), 2);
  EXPECT_EQ(Run({"-h"}), 0);
  EXPECT_THAT(out_, HasSubstr("usage: litesync status"));
  EXPECT_EQ(Run({"-config", config_.path, "-json"}), 1) << "never synced, but parsed";
  EXPECT_EQ(err_, "");
}

TEST_F(StatusCommandTest, ReplicaErrorsShowAsErrorAndSecretsNeverPrint) {
  AddDb("a.db");
  ReplicaOptions s3;
  s3.type = "s3";
  s3.settings<S3Settings>().bucket = "bkt";
  s3.settings<S3Settings>().prefix = "app";
  s3.settings<S3Settings>().access_key_id = Secret("AKIAIOSFODNN7EXAMPLE");
  s3.settings<S3Settings>().secret_access_key = Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  config_.dbs[0].replicas.push_back(s3);
  HeartbeatTarget hb;
  hb.url = Secret("https://hc-ping.com/f0e1d2c3-b4a5-9687");
  config_.heartbeat.targets = {hb};
  // A backend error that formats the credentials gets "****" from the Secrets
  // themselves; nothing searches the output afterwards.
  env_.new_client = [](const ReplicaOptions& o) -> absl::StatusOr<std::unique_ptr<ReplicaClient>> {
    if (o.type == "s3") {
      return absl::UnavailableError(fmt::format("connect s3 with {}:{}: refused",
                                                o.settings<S3Settings>().access_key_id,
                                                o.settings<S3Settings>().secret_access_key));
    }
    return NewFileReplicaClient(o);
  };
  for (bool json : {false, true}) {
    EXPECT_EQ(Run(json ? std::vector<std::string>{"-json"} : std::vector<std::string>{}), 1);
    EXPECT_THAT(out_, Not(HasSubstr("AKIAIOSFODNN7EXAMPLE")));
    EXPECT_THAT(out_, Not(HasSubstr("wJalrXUtnFEMI")));
    EXPECT_THAT(out_, Not(HasSubstr("f0e1d2c3")));
    EXPECT_THAT(out_, HasSubstr("https://hc-ping.com/****"));
    EXPECT_THAT(out_, HasSubstr("s3://bkt/app"));
  }
  LS_ASSERT_OK_AND_ASSIGN(StatusReport r, ParseStatusJson(out_));
  ASSERT_EQ(r.databases.size(), 2u);
  EXPECT_EQ(r.databases[1].state, DbState::kError);
  EXPECT_EQ(r.databases[1].last_error,
            "read replica s3://bkt/app: connect s3 with ****:****: refused");
  ASSERT_EQ(r.heartbeat.size(), 1u);
  EXPECT_TRUE(r.heartbeat[0].withholding);
  EXPECT_FALSE(r.heartbeat[0].last_ping.has_value());
  Run({});
  EXPECT_THAT(out_, HasSubstr("no daemon: would withhold: " + config_.dbs[0].path));
}

}  // namespace
}  // namespace litesync
