#include "cmd/status_report.h"

#include <sstream>

#include "base/status.h"  // LS_STATUS_CONCAT_, used by status_matchers.h
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmd/daemon_records.h"
#include "cmd/json.h"
#include "heartbeat/health.h"
#include "tests/testutil/status_matchers.h"

namespace litesync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
const absl::Duration kInterval = absl::Minutes(5);

SyncRecord Synced(const std::string& db, absl::Duration ago) {
  SyncRecord r;
  r.db = db;
  r.replica = "file:///backups" + db;
  r.last_success = kNow - ago;
  r.lineage = 1;
  r.local_txid = 12;
  r.replicated_txid = 12;
  r.wal_size = 4120;
  r.sync_count = 7;
  r.bytes_written = 9000;
  r.snapshot_count = 1;
  return r;
}

DbStatus Only(const SyncRecord& r) {
  StatusReport report = BuildStatus({r}, {}, kNow, kInterval);
  EXPECT_EQ(report.databases.size(), 1u);
  return report.databases.at(0);
}

TEST(BuildStatusTest, RecentSyncIsOkAndHealthy) {
  DbStatus d = Only(Synced("/data/a.db", absl::Seconds(10)));
  EXPECT_EQ(d.state, DbState::kOk);
  EXPECT_TRUE(d.healthy);
  EXPECT_EQ(d.reason, "");
  EXPECT_EQ(d.last_sync, kNow - absl::Seconds(10));
  EXPECT_EQ(d.behind_txns, 0u);
  EXPECT_EQ(d.lag_seconds, 0.0);
  EXPECT_EQ(d.wal_size, 4120);
  EXPECT_EQ(d.replica, "file:///backups/data/a.db");
}

TEST(BuildStatusTest, SyncExactlyOneIntervalAgoIsHealthyOneSecondMoreIsStale) {
  EXPECT_EQ(Only(Synced("/a.db", kInterval)).state, DbState::kOk);
  DbStatus d = Only(Synced("/a.db", kInterval + absl::Seconds(1)));
  EXPECT_EQ(d.state, DbState::kStale);
  EXPECT_FALSE(d.healthy);
  EXPECT_EQ(d.reason, "last sync 5m1s ago (interval 5m)");
}

TEST(BuildStatusTest, NeverSyncedIsUnhealthy) {
  SyncRecord r;
  r.db = "/a.db";
  r.replica = "file:///b";
  DbStatus d = Only(r);
  EXPECT_EQ(d.state, DbState::kNeverSynced);
  EXPECT_FALSE(d.healthy);
  EXPECT_FALSE(d.last_sync.has_value());
  EXPECT_EQ(d.reason, "never synced");
}

TEST(BuildStatusTest, FailedAttemptAfterRecentSuccessIsErrorButStillHealthy) {
  SyncRecord r = Synced("/a.db", absl::Seconds(30));
  r.last_error = absl::UnavailableError("PUT s3://bkt/app: HTTP 503");
  r.last_error_time = kNow - absl::Seconds(5);
  r.sync_error_count = 3;
  DbStatus d = Only(r);
  EXPECT_EQ(d.state, DbState::kError);
  EXPECT_TRUE(d.healthy);  // the heartbeat rule only asks for a success within the interval
  EXPECT_EQ(d.reason, "last attempt failed: PUT s3://bkt/app: HTTP 503");
  EXPECT_EQ(d.last_error, "PUT s3://bkt/app: HTTP 503");
  EXPECT_EQ(d.last_error_time, kNow - absl::Seconds(5));
  EXPECT_EQ(d.sync_error_count, 3u);
}

TEST(BuildStatusTest, ErrorWithoutRecentSuccessIsErrorAndUnhealthyWithBothReasons) {
  SyncRecord r = Synced("/a.db", absl::Minutes(20));
  r.last_error = absl::UnavailableError("connection refused");
  DbStatus d = Only(r);
  EXPECT_EQ(d.state, DbState::kError);
  EXPECT_FALSE(d.healthy);
  EXPECT_EQ(d.reason, "last attempt failed: connection refused; last sync 20m ago (interval 5m)");
}

TEST(BuildStatusTest, MissingDatabaseWinsOverEverything) {
  SyncRecord r = Synced("/a.db", absl::Seconds(1));
  r.database_missing = true;
  r.last_error = absl::NotFoundError("open /a.db: no such file");
  DbStatus d = Only(r);
  EXPECT_EQ(d.state, DbState::kNoDatabase);
  EXPECT_FALSE(d.healthy);
  EXPECT_FALSE(d.database_exists);
  EXPECT_EQ(d.reason, "database file does not exist");
}

TEST(BuildStatusTest, ValidationFailureIsUnhealthyError) {
  SyncRecord r = Synced("/a.db", absl::Seconds(1));
  r.validation_failed = true;
  r.last_error = absl::DataLossError("checksum mismatch at txid 9");
  DbStatus d = Only(r);
  EXPECT_EQ(d.state, DbState::kError);
  EXPECT_FALSE(d.healthy);
  EXPECT_EQ(d.reason, "validation failed: checksum mismatch at txid 9");
}

// The database's own disk full made litesync log "checkpoint failed"
// while status said ok. It is a warning on the database; health (the heartbeat
// rule: is the replica current?) does not change.
TEST(BuildStatusTest, FailingCheckpointIsAWarningThatLeavesHealthAlone) {
  SyncRecord r = Synced("/data/a.db", absl::Seconds(10));
  r.checkpoint_error =
      absl::ResourceExhaustedError("checkpoint /data/a.db: database or disk is full");
  r.checkpoint_failing_since = kNow - absl::Seconds(130);
  r.checkpoint_error_count = 40;
  DbStatus d = Only(r);
  EXPECT_EQ(d.state, DbState::kWarning);
  EXPECT_TRUE(d.healthy);
  EXPECT_EQ(d.reason,
            "checkpoint failing for 2m10s: checkpoint /data/a.db: database or disk is full");
  EXPECT_THAT(d.warnings, ElementsAre(d.reason));
  EXPECT_EQ(d.checkpoint_error_count, 40u);
  EXPECT_TRUE(BuildStatus({r}, {}, kNow, kInterval).healthy);

  // A replica error comes first; the warning is still listed.
  r.last_error = absl::UnavailableError("PUT s3://bkt/a: HTTP 503");
  d = Only(r);
  EXPECT_EQ(d.state, DbState::kError);
  EXPECT_THAT(d.warnings, ElementsAre(HasSubstr("database or disk is full")));
  std::string table = RenderTable(BuildStatus({r}, {}, kNow, kInterval));
  EXPECT_THAT(table, HasSubstr("warnings:\n  /data/a.db (file:///backups/data/a.db): warning: "
                               "checkpoint failing for 2m10s"));

  // Cleared by the watcher once a checkpoint succeeds: ok again.
  r.last_error = absl::OkStatus();
  r.checkpoint_error = absl::OkStatus();
  EXPECT_EQ(Only(r).state, DbState::kOk);
  EXPECT_THAT(Only(r).warnings, ::testing::IsEmpty());
}

TEST(RenderJsonTest, WarningStateAndWarningsReadBack) {
  SyncRecord r = Synced("/data/a.db", absl::Seconds(10));
  r.checkpoint_error = absl::ResourceExhaustedError("database or disk is full");
  r.checkpoint_failing_since = kNow - absl::Seconds(5);
  r.checkpoint_error_count = 2;
  StatusReport in = BuildStatus({r}, {}, kNow, kInterval);
  std::string json = RenderJson(in);
  LS_ASSERT_OK_AND_ASSIGN(Json j, ParseJson(json));
  const Json& d = j.at("databases").at(0);
  EXPECT_EQ(d.at("state"), "warning");
  EXPECT_EQ(d.at("healthy"), true);
  ASSERT_EQ(d.at("warnings").size(), 1u);
  EXPECT_EQ(d.at("warnings")[0], "checkpoint failing for 5s: database or disk is full");
  EXPECT_EQ(d.at("checkpoint_error_count"), 2u);
  LS_ASSERT_OK_AND_ASSIGN(StatusReport out, ParseStatusJson(json));
  EXPECT_EQ(out.databases.at(0).state, DbState::kWarning);
  EXPECT_EQ(out.databases.at(0).warnings, in.databases.at(0).warnings);
  EXPECT_EQ(out.databases.at(0).checkpoint_error_count, 2u);
  std::string table = RenderTable(out);
  EXPECT_THAT(table, HasSubstr("1 of 1 not ok:\n  /data/a.db (file:///backups/data/a.db): "
                               "warning: checkpoint failing for 5s: database or disk is full"));
  EXPECT_THAT(table, Not(HasSubstr("warnings:")));  // not twice
}

TEST(BuildStatusTest, BehindCountsTransactionsBytesAndLagSinceLastSuccess) {
  SyncRecord r = Synced("/a.db", absl::Seconds(90));
  r.local_txid = 20;
  r.replicated_txid = 12;
  r.pending_bytes = 32768;
  DbStatus d = Only(r);
  EXPECT_EQ(d.behind_txns, 8u);
  EXPECT_EQ(d.behind_bytes, 32768u);
  EXPECT_EQ(d.lag_seconds, 90.0);

  SyncRecord never;
  never.db = "/b.db";
  never.local_txid = 3;
  EXPECT_FALSE(Only(never).lag_seconds.has_value());  // behind since an unknown time
  never.last_commit_seen = kNow - absl::Seconds(4);
  EXPECT_EQ(Only(never).lag_seconds, 4.0);
}

TEST(BuildStatusTest, ReportIsHealthyOnlyWithDatabasesAllHealthy) {
  EXPECT_FALSE(BuildStatus({}, {}, kNow, kInterval).healthy);
  EXPECT_THAT(BuildStatus({}, {}, kNow, kInterval).UnhealthyReasons(), ElementsAre("no databases"));
  StatusReport good = BuildStatus(
      {Synced("/a.db", absl::Seconds(1)), Synced("/b.db", absl::Seconds(2))}, {}, kNow, kInterval);
  EXPECT_TRUE(good.healthy);
  EXPECT_TRUE(good.UnhealthyReasons().empty());
  StatusReport bad = BuildStatus(
      {Synced("/a.db", absl::Seconds(1)), Synced("/b.db", absl::Minutes(6))}, {}, kNow, kInterval);
  EXPECT_FALSE(bad.healthy);
  EXPECT_THAT(bad.UnhealthyReasons(),
              ElementsAre("/b.db (file:///backups/b.db): last sync 6m ago (interval 5m)"));
}

TEST(BuildStatusTest, RedactsReplicaAndHeartbeatUrlsAgain) {
  SyncRecord r = Synced("/a.db", absl::Seconds(1));
  r.replica = "https://AKIAUSER:hunter2pass@s3.example.com/bkt?X-Amz-Signature=deadbeef";
  HeartbeatTargetStatus t;
  t.url = "https://hc-ping.com/8f3c1e2a-token";
  StatusReport report = BuildStatus({r}, {t}, kNow, kInterval);
  EXPECT_EQ(report.databases[0].replica, "https://****@s3.example.com/bkt?X-Amz-Signature=****");
  EXPECT_EQ(report.heartbeat[0].url, "https://hc-ping.com/****");
  for (const std::string& out : {RenderJson(report), RenderTable(report)}) {
    EXPECT_THAT(out, Not(HasSubstr("hunter2pass")));
    EXPECT_THAT(out, Not(HasSubstr("deadbeef")));
    EXPECT_THAT(out, Not(HasSubstr("8f3c1e2a")));
  }
}

StatusReport MixedReport() {
  SyncRecord ok = Synced("/data/ok.db", absl::Seconds(3));
  ok.local_txid = 15;
  ok.pending_bytes = 100;
  SyncRecord bad;
  bad.db = "/data/\"odd\"\\name\n.db";
  bad.replica = "s3://bkt/odd";
  bad.last_error = absl::UnavailableError("PUT s3://bkt/odd: HTTP 503");
  bad.last_error_time = kNow - absl::Seconds(2);
  bad.sync_error_count = 4;
  HeartbeatTargetStatus hb;
  hb.url = "https://hc-ping.com/****";
  hb.last_ping = kNow - absl::Minutes(2);
  hb.last_ok = true;
  hb.last_result = "HTTP 200";
  hb.next_due = kNow + absl::Minutes(1);
  hb.withholding = true;
  hb.reasons = {"/data/odd.db: never synced"};
  hb.pings_sent = 5;
  hb.pings_failed = 1;
  StatusReport report = BuildStatus({ok, bad}, {hb}, kNow, kInterval);
  report.started_at = kNow - absl::Hours(1);
  report.notes = {"a note"};
  return report;
}

TEST(RenderJsonTest, DocumentFollowsTheSchemaFieldByField) {
  LS_ASSERT_OK_AND_ASSIGN(Json j, ParseJson(RenderJson(MixedReport())));
  EXPECT_EQ(j.at("schema"), 1u);
  EXPECT_EQ(j.at("source"), "daemon");
  EXPECT_EQ(j.at("generated_at"), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(j.at("started_at"), "2023-11-14T21:13:20.000Z");
  EXPECT_EQ(j.at("interval_seconds"), 300.0);
  EXPECT_EQ(j.at("healthy"), false);
  ASSERT_EQ(j.at("notes").size(), 1u);
  EXPECT_EQ(j.at("notes")[0], "a note");

  const auto& dbs = j.at("databases");
  ASSERT_EQ(dbs.size(), 2u);
  const Json& ok = dbs[0];
  EXPECT_EQ(ok.at("path"), "/data/ok.db");
  EXPECT_EQ(ok.at("replica"), "file:///backups/data/ok.db");
  EXPECT_EQ(ok.at("state"), "ok");
  EXPECT_EQ(ok.at("healthy"), true);
  EXPECT_TRUE(ok.at("reason").is_null());
  EXPECT_EQ(ok.at("database_exists"), true);
  EXPECT_EQ(ok.at("last_sync"), "2023-11-14T22:13:17.000Z");
  EXPECT_EQ(ok.at("last_sync_age_seconds"), 3.0);
  EXPECT_EQ(ok.at("lineage"), "0000000000000001");
  EXPECT_EQ(ok.at("local_txid"), 15u);
  EXPECT_EQ(ok.at("replicated_txid"), 12u);
  EXPECT_EQ(ok.at("behind_txns"), 3u);
  EXPECT_EQ(ok.at("behind_bytes"), 100u);
  EXPECT_EQ(ok.at("lag_seconds"), 3.0);
  EXPECT_EQ(ok.at("wal_size_bytes"), 4120u);
  EXPECT_TRUE(ok.at("last_error").is_null());
  EXPECT_TRUE(ok.at("last_error_time").is_null());
  EXPECT_EQ(ok.at("sync_count"), 7u);
  EXPECT_EQ(ok.at("sync_error_count"), 0u);
  EXPECT_EQ(ok.at("bytes_written"), 9000u);
  EXPECT_EQ(ok.at("snapshot_count"), 1u);

  const Json& bad = dbs[1];
  EXPECT_EQ(bad.at("path"), "/data/\"odd\"\\name\n.db");
  EXPECT_EQ(bad.at("state"), "error");
  EXPECT_EQ(bad.at("healthy"), false);
  EXPECT_EQ(bad.at("reason"), "last attempt failed: PUT s3://bkt/odd: HTTP 503; never synced");
  EXPECT_TRUE(bad.at("last_sync").is_null());
  EXPECT_TRUE(bad.at("last_sync_age_seconds").is_null());
  EXPECT_EQ(bad.at("last_error"), "PUT s3://bkt/odd: HTTP 503");
  EXPECT_EQ(bad.at("last_error_time"), "2023-11-14T22:13:18.000Z");

  const auto& hb = j.at("heartbeat");
  ASSERT_EQ(hb.size(), 1u);
  EXPECT_EQ(hb[0].at("url"), "https://hc-ping.com/****");
  EXPECT_EQ(hb[0].at("last_ping"), "2023-11-14T22:11:20.000Z");
  EXPECT_EQ(hb[0].at("last_ok"), true);
  EXPECT_EQ(hb[0].at("last_result"), "HTTP 200");
  EXPECT_EQ(hb[0].at("next_due"), "2023-11-14T22:14:20.000Z");
  EXPECT_EQ(hb[0].at("withholding"), true);
  ASSERT_EQ(hb[0].at("reasons").size(), 1u);
  EXPECT_EQ(hb[0].at("reasons")[0], "/data/odd.db: never synced");
  EXPECT_EQ(hb[0].at("pings_sent"), 5u);
  EXPECT_EQ(hb[0].at("pings_failed"), 1u);
}

TEST(RenderJsonTest, ParseStatusJsonReadsBackTheSameReport) {
  StatusReport in = MixedReport();
  LS_ASSERT_OK_AND_ASSIGN(StatusReport out, ParseStatusJson(RenderJson(in)));
  EXPECT_EQ(out.source, in.source);
  EXPECT_EQ(out.generated_at, in.generated_at);
  EXPECT_EQ(out.started_at, in.started_at);
  EXPECT_EQ(out.interval, in.interval);
  EXPECT_EQ(out.healthy, in.healthy);
  EXPECT_EQ(out.notes, in.notes);
  ASSERT_EQ(out.databases.size(), in.databases.size());
  for (size_t i = 0; i < in.databases.size(); ++i) {
    const DbStatus& a = in.databases[i];
    const DbStatus& b = out.databases[i];
    EXPECT_EQ(b.path, a.path);
    EXPECT_EQ(b.replica, a.replica);
    EXPECT_EQ(b.state, a.state);
    EXPECT_EQ(b.healthy, a.healthy);
    EXPECT_EQ(b.reason, a.reason);
    EXPECT_EQ(b.database_exists, a.database_exists);
    EXPECT_EQ(b.last_sync, a.last_sync);
    EXPECT_EQ(b.lineage, a.lineage);
    EXPECT_EQ(b.local_txid, a.local_txid);
    EXPECT_EQ(b.replicated_txid, a.replicated_txid);
    EXPECT_EQ(b.behind_txns, a.behind_txns);
    EXPECT_EQ(b.behind_bytes, a.behind_bytes);
    EXPECT_EQ(b.lag_seconds, a.lag_seconds);
    EXPECT_EQ(b.wal_size, a.wal_size);
    EXPECT_EQ(b.last_error, a.last_error);
    EXPECT_EQ(b.last_error_time, a.last_error_time);
    EXPECT_EQ(b.sync_count, a.sync_count);
    EXPECT_EQ(b.sync_error_count, a.sync_error_count);
    EXPECT_EQ(b.bytes_written, a.bytes_written);
    EXPECT_EQ(b.snapshot_count, a.snapshot_count);
  }
  ASSERT_EQ(out.heartbeat.size(), 1u);
  EXPECT_EQ(out.heartbeat[0].url, in.heartbeat[0].url);
  EXPECT_EQ(out.heartbeat[0].last_ping, in.heartbeat[0].last_ping);
  EXPECT_EQ(out.heartbeat[0].last_ok, in.heartbeat[0].last_ok);
  EXPECT_EQ(out.heartbeat[0].last_result, in.heartbeat[0].last_result);
  EXPECT_EQ(out.heartbeat[0].next_due, in.heartbeat[0].next_due);
  EXPECT_EQ(out.heartbeat[0].withholding, in.heartbeat[0].withholding);
  EXPECT_EQ(out.heartbeat[0].reasons, in.heartbeat[0].reasons);
  EXPECT_EQ(out.heartbeat[0].pings_sent, in.heartbeat[0].pings_sent);
  EXPECT_EQ(out.heartbeat[0].pings_failed, in.heartbeat[0].pings_failed);
  // And the table rendered from the parsed copy says the same as the original.
  EXPECT_EQ(RenderTable(out), RenderTable(in));
}

TEST(RenderJsonTest, ParseStatusJsonNamesTheBadField) {
  std::string doc = RenderJson(MixedReport());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string d = doc;
    size_t pos = d.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) d.replace(pos, from.size(), to);
    return d;
  };
  auto error = [](const std::string& text) {
    absl::StatusOr<StatusReport> r = ParseStatusJson(text);
    return r.ok() ? std::string("ok") : MessageOf(r.status());
  };
  EXPECT_EQ(error(replace("\"local_txid\": 15", "\"local_txid\": \"15\"")),
            "databases[0].local_txid: expected an unsigned integer");
  EXPECT_EQ(error(replace("\"state\": \"ok\"", "\"state\": \"fine\"")),
            "databases[0].state: unknown state \"fine\"");
  EXPECT_EQ(error(replace("\"schema\": 1", "\"schema\": 2")),
            "schema: unsupported version 2 (want 1)");
  EXPECT_EQ(error(replace("\"last_ping\": \"2023", "\"last_ping\": \"yesterday")),
            "heartbeat[0].last_ping: expected an RFC 3339 UTC time");
  EXPECT_THAT(error("{\"schema\": 1"), HasSubstr("json:"));
  // Unknown members are ignored: fields can be added without a schema bump.
  EXPECT_EQ(error(replace("\"schema\": 1", "\"schema\": 1, \"future\": [1]")), "ok");
}

TEST(RenderTableTest, ShowsOneRowPerDatabaseReasonsAndHeartbeat) {
  std::string t = RenderTable(MixedReport());
  EXPECT_THAT(t, HasSubstr("DATABASE"));
  EXPECT_THAT(t, HasSubstr("/data/ok.db"));
  EXPECT_THAT(t, HasSubstr("2023-11-14 22:13:17Z (3s ago)"));
  EXPECT_THAT(t, HasSubstr("3 tx, 100 B"));
  EXPECT_THAT(t, HasSubstr("4.0 KiB"));
  EXPECT_THAT(t, HasSubstr("PUT s3://bkt/odd: HTTP 503 (2s ago)"));
  EXPECT_THAT(t, HasSubstr("1 of 2 not ok:"));
  EXPECT_THAT(t, HasSubstr("error: last attempt failed"));
  EXPECT_THAT(t, HasSubstr("https://hc-ping.com/****"));
  EXPECT_THAT(t, HasSubstr("withholding: /data/odd.db: never synced"));
  EXPECT_THAT(t, HasSubstr("in 1m"));
  EXPECT_THAT(t, HasSubstr("HTTP 200"));
}

// The header states the verdict, not the rule.
TEST(RenderTableTest, TheHeaderStatesTheVerdict) {
  StatusReport mixed = MixedReport();
  EXPECT_THAT(RenderTable(mixed), HasSubstr("1 of 2 not ok as of "));
  StatusReport healthy = mixed;
  healthy.databases.erase(healthy.databases.begin() + 1);
  ASSERT_EQ(healthy.databases[0].state, DbState::kOk);
  EXPECT_THAT(RenderTable(healthy), HasSubstr("\nhealthy as of "));  // after the notes
  StatusReport none;
  EXPECT_THAT(RenderTable(none), ::testing::StartsWith("no databases as of "));
}

// On a terminal the LAST ERROR column is cut to the width; the JSON keeps it all.
TEST(RenderTableTest, LastErrorIsCutToTheTerminalWidth) {
  StatusReport report = MixedReport();
  const std::string long_error = "PUT s3://bkt/odd: " + std::string(300, 'x') + " END";
  for (DbStatus& d : report.databases) {
    if (!d.last_error.empty()) d.last_error = long_error;
  }
  std::string full = RenderTable(report);
  EXPECT_THAT(full, HasSubstr(" END"));
  std::string cut = RenderTable(report, 200);
  EXPECT_THAT(cut, Not(HasSubstr(" END")));
  EXPECT_THAT(cut, HasSubstr("xxx..."));
  std::istringstream lines(cut);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("/data/") == 0) {
      EXPECT_LE(line.size(), 200u) << line;
    }
  }
  EXPECT_THAT(RenderJson(report), HasSubstr(" END"));
}

TEST(FormatTest, AgesBytesAndTimes) {
  EXPECT_EQ(FormatAge(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatAge(absl::Seconds(-5)), "0s");
  EXPECT_EQ(FormatAge(absl::Seconds(45)), "45s");
  EXPECT_EQ(FormatAge(absl::Seconds(372)), "6m12s");
  EXPECT_EQ(FormatAge(absl::Minutes(5)), "5m");
  EXPECT_EQ(FormatAge(absl::Hours(1) + absl::Seconds(5)), "1h");
  EXPECT_EQ(FormatAge(absl::Hours(3) + absl::Minutes(4)), "3h4m");
  EXPECT_EQ(FormatAge(absl::Hours(51)), "2d3h");
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(5ull << 30), "5.0 GiB");
  EXPECT_EQ(ParseTimestamp(FormatTimestamp(kNow + absl::Milliseconds(2))),
            kNow + absl::Milliseconds(2));
  EXPECT_FALSE(ParseTimestamp("2023-11-14 22:13:20").has_value());
}

}  // namespace
}  // namespace litesync

namespace litesync {
namespace {

// `litesync heartbeat` judges the daemon's databases from GET /status. Every input
// of the health rule must survive that trip, or the command says "would ping"
// while the daemon's own heartbeat is silent (a failed validation once did not).
TEST(RecordsFromReportTest, EveryBranchOfTheHealthRuleSurvivesTheStatusDocument) {
  std::vector<SyncRecord> cases;
  cases.push_back(Synced("/data/ok.db", absl::Seconds(10)));
  SyncRecord never;
  never.db = "/data/never.db";
  never.replica = "file:///backups/never.db";
  cases.push_back(never);
  cases.push_back(Synced("/data/stale.db", absl::Minutes(6)));
  SyncRecord failing = Synced("/data/failing.db", absl::Minutes(7));
  failing.last_error = absl::UnavailableError("connection refused");
  failing.last_error_time = kNow - absl::Seconds(3);
  cases.push_back(failing);
  SyncRecord missing = Synced("/data/missing.db", absl::Seconds(10));
  missing.database_missing = true;
  cases.push_back(missing);
  SyncRecord invalid = Synced("/data/invalid.db", absl::Seconds(10));
  invalid.validation_failed = true;
  invalid.last_error = absl::DataLossError("replica differs from the database at page 3");
  invalid.last_error_time = kNow - absl::Seconds(2);
  cases.push_back(invalid);

  for (const SyncRecord& r : cases) {
    SCOPED_TRACE(r.db);
    const std::vector<SyncRecord> direct = {r};
    LS_ASSERT_OK_AND_ASSIGN(StatusReport parsed,
                            ParseStatusJson(RenderJson(BuildStatus(direct, {}, kNow, kInterval))));
    const std::vector<SyncRecord> back = RecordsFromReport(parsed);
    Verdict want = Evaluate(direct, kNow, kInterval);
    Verdict got = Evaluate(back, kNow, kInterval);
    EXPECT_EQ(got.healthy, want.healthy);
    EXPECT_EQ(got.reasons, want.reasons);
  }
  // The case that once slipped through, checked on its own.
  LS_ASSERT_OK_AND_ASSIGN(StatusReport parsed,
                          ParseStatusJson(RenderJson(BuildStatus({invalid}, {}, kNow, kInterval))));
  EXPECT_FALSE(Evaluate(RecordsFromReport(parsed), kNow, kInterval).healthy);
}

}  // namespace
}  // namespace litesync
