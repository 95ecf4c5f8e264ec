// The litesync binary on bad input: a clear message naming the file, line or key,
// exit 2 (usage/config) or 1 (runtime), and nothing created or overwritten.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "fmt/format.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cmd/cli_util.h"
#include "tests/testutil/temp_dir.h"

namespace litesync {
namespace {

using testing::Cli;
using testing::CliResult;
using testing::FileExists;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::OneDbConfig;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::WriteFileOrDie;

class CliErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LITESYNC_CONFIG", "LITESYNC_SOCKET"}) unsetenv(v);
  }
  // A config file in the temp dir; its path.
  std::string WriteConfig(const std::string& text) {
    std::string path = dir_.Join("litesync.yml");
    WriteFileOrDie(path, text);
    return path;
  }
  size_t EntriesIn(const std::string& path) {
    size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(path);
         it != std::filesystem::directory_iterator(); ++it) {
      ++n;
    }
    return n;
  }

  TempDir dir_;
  Cli cli_{dir_};
};

TEST_F(CliErrorsTest, NoArgumentsPrintsUsageAndExits2) {
  CliResult r = cli_.Run({});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("Usage:\n  litesync <command>"));
}

TEST_F(CliErrorsTest, HelpPrintsUsageAndExits0) {
  CliResult r = cli_.Run({"-h"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("replicate"));
  EXPECT_THAT(r.output, HasSubstr("restore"));
  for (const char* cmd : {"replicate", "restore", "databases", "heartbeat", "version", "status"}) {
    CliResult c = cli_.Run({cmd, "-h"});
    EXPECT_EQ(c.code, 0) << cmd << "\n" << c.output;
    EXPECT_THAT(c.output, HasSubstr(cmd)) << cmd;
  }
  CliResult h = cli_.Run({"help", "restore"});
  EXPECT_EQ(h.code, 0);
  EXPECT_THAT(h.output, HasSubstr("-if-replica-exists"));
}

TEST_F(CliErrorsTest, UnknownCommandExits2) {
  CliResult r = cli_.Run({"replicat"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("litesync: unknown command \"replicat\""));
}

// Litestream's commands that litesync does not have say what to use instead.
TEST_F(CliErrorsTest, LitestreamsOwnCommandsSayWhatToUseInstead) {
  for (const auto& [command, instead] : std::vector<std::pair<std::string, std::string>>{
           {"list", "`litesync status` lists the databases"},
           {"info", "`litesync version` prints the version"},
           {"start", "add it there and send SIGHUP"},
           {"stop", "remove it there and send SIGHUP"},
           {"register", "add the database to the config"},
           {"unregister", "remove the database from the config"},
           {"reset", "keeps no local state to reset"},
           {"generations", "`litesync snapshots` lists litesync's files"},
           {"wal", "`litesync ltx` lists litesync's files"}}) {
    CliResult r = cli_.Run({command, "/data/app.db"});
    EXPECT_EQ(r.code, 2) << command;
    EXPECT_THAT(r.output,
                HasSubstr("litesync: \"" + command + "\" is Litestream's, not litesync's: "));
    EXPECT_THAT(r.output, HasSubstr(instead));
  }
}

TEST_F(CliErrorsTest, UnknownFlagPrintsUsageAndExits2) {
  CliResult r = cli_.Run({"restore", "-output", "x.db", "/data/app.db"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("litesync restore: flag provided but not defined: -output"));
  EXPECT_THAT(r.output, HasSubstr("Usage:"));
}

TEST_F(CliErrorsTest, VersionPrintsLitesyncAndSqlite) {
  CliResult r = cli_.Run({"version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("litesync "));
  EXPECT_THAT(r.output, HasSubstr("(SQLite 3."));
}

TEST_F(CliErrorsTest, MissingConfigFileNamesIt) {
  std::string path = dir_.Join("missing.yml");
  for (const char* cmd : {"replicate", "databases"}) {
    CliResult r = cli_.Run({cmd, "-config", path});
    EXPECT_EQ(r.code, 2) << cmd;
    EXPECT_THAT(r.output,
                HasSubstr(path + ": cannot read the config file: No such file or directory"));
  }
}

TEST_F(CliErrorsTest, ConfigFromTheEnvironment) {
  setenv("LITESYNC_CONFIG", dir_.Join("from-env.yml").c_str(), 1);
  CliResult r = cli_.Run({"databases"});
  unsetenv("LITESYNC_CONFIG");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr(dir_.Join("from-env.yml") + ": cannot read the config file"));
}

TEST_F(CliErrorsTest, MalformedYamlNamesTheLine) {
  std::string config = WriteConfig("dbs:\n  - path: /a.db\n    replica: {path: /b\n");
  CliResult r = cli_.Run({"replicate", "-config", config});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr(config + ":"));
  EXPECT_THAT(r.output, HasSubstr("invalid YAML"));
}

// A config error prints the value as the file has it; what ${VAR}
// expanded to (here a secret) appears nowhere, for replicate, status or databases.
TEST_F(CliErrorsTest, ConfigErrorsShowTheValueAsWrittenNotTheExpandedSecret) {
  constexpr char kSecret[] = "wJalrXUtnFEMI-K7MDENG-s3cr3t";
  setenv("LITESYNC_TEST_SECRET", kSecret, 1);
  std::string config = WriteConfig(fmt::format(R"(dbs:
  - path: {}
    replica:
      url: s3://bkt/app
      endpoint: notaurl${{LITESYNC_TEST_SECRET}}
)",
                                               dir_.Join("app.db")));
  for (const char* cmd : {"replicate", "status", "databases"}) {
    CliResult r = cli_.Run({cmd, "-config", config});
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(config + ":5: dbs[0].replica.endpoint: must start with "
                                             "http:// or https:// (got "
                                             "\"notaurl${LITESYNC_TEST_SECRET}\")"))
        << cmd;
    EXPECT_THAT(r.output, Not(HasSubstr("K7MDENG"))) << cmd;
  }
  unsetenv("LITESYNC_TEST_SECRET");
}

TEST_F(CliErrorsTest, UnknownKeyNamesLineAndKeyAndCreatesNothing) {
  std::string replica = dir_.Join("replica");
  std::string config =
      WriteConfig(OneDbConfig(dir_.Join("app.db"), replica, "      retension: 24h\n"));
  CliResult r = cli_.Run({"replicate", "-config", config});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr(config + ":5: dbs[0].replica: unknown key \"retension\" (did "
                                           "you mean \"retention\"?)"));
  EXPECT_FALSE(FileExists(replica));
  EXPECT_FALSE(FileExists(dir_.Join("app.db")));
}

TEST_F(CliErrorsTest, MissingDatabaseDirectoryIsRefused) {
  std::string replica = dir_.Join("replica");
  std::string db = dir_.Join("no-such-dir/app.db");
  std::string config = WriteConfig(OneDbConfig(db, replica));
  CliResult r = cli_.Run({"replicate", "-config", config});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr(fmt::format("{}:2: dbs[0].path: directory {} does not exist",
                                              config, dir_.Join("no-such-dir"))));
  EXPECT_FALSE(FileExists(replica));
  EXPECT_FALSE(FileExists(dir_.Join("no-such-dir")));
}

TEST_F(CliErrorsTest, NonSqliteFileIsRefusedAndLeftAlone) {
  std::string db = dir_.Join("notes.db");
  WriteFileOrDie(db, "these are my notes, not a database\n");
  std::string replica = dir_.Join("replica");
  std::string config = WriteConfig(OneDbConfig(db, replica));
  CliResult r = cli_.Run({"replicate", "-config", config});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output,
              HasSubstr(fmt::format("{}:2: dbs[0].path: {} is not a SQLite database", config, db)));
  EXPECT_EQ(ReadFileOrDie(db), "these are my notes, not a database\n");
  EXPECT_FALSE(FileExists(db + "-wal"));
  EXPECT_FALSE(FileExists(db + "-shm"));
  EXPECT_FALSE(FileExists(replica));
}

TEST_F(CliErrorsTest, ReplicaUnderARegularFileIsRefused) {
  WriteFileOrDie(dir_.Join("plain-file"), "x");
  std::string replica = dir_.Join("plain-file/replica");
  std::string config = WriteConfig(OneDbConfig(dir_.Join("app.db"), replica));
  CliResult r = cli_.Run({"replicate", "-config", config});
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("refusing to start"));
  EXPECT_THAT(r.output, HasSubstr(dir_.Join("plain-file")));
  EXPECT_EQ(ReadFileOrDie(dir_.Join("plain-file")), "x");
}

TEST_F(CliErrorsTest, UnwritableReplicaDirectoryIsRefused) {
  std::vector<std::string> prefix;
  if (geteuid() == 0) {  // root writes anywhere: run litesync as nobody
    if (!FileExists("/usr/bin/setpriv")) GTEST_SKIP() << "running as root without setpriv";
    prefix = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  }
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  std::string parent = dir_.Join("readonly");
  ASSERT_EQ(mkdir(parent.c_str(), 0555), 0);
  std::string replica = parent + "/replica";
  std::string config = WriteConfig(OneDbConfig(dir_.Join("app.db"), replica));
  CliResult r = cli_.RunWith(prefix, {"replicate", "-config", config});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("refusing to start"));
  EXPECT_THAT(r.output, HasSubstr(replica));
  EXPECT_THAT(r.output, HasSubstr("ermission denied"));
  EXPECT_EQ(EntriesIn(parent), 0u);
}

TEST_F(CliErrorsTest, ExecNeedsACommand) {
  std::string config = WriteConfig(OneDbConfig(dir_.Join("app.db"), dir_.Join("replica")));
  CliResult r = cli_.Run({"replicate", "-config", config, "-exec", ""});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("-exec needs a command"));
}

TEST_F(CliErrorsTest, ReplicateNeedsAReplicaUrlAfterTheDatabase) {
  CliResult r = cli_.Run({"replicate", dir_.Join("app.db")});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("needs a replica URL"));
}

TEST_F(CliErrorsTest, RestoreRefusesToOverwriteAnExistingFile) {
  std::string db = dir_.Join("app.db");
  std::string out = dir_.Join("out.db");
  WriteFileOrDie(out, "precious");
  std::string config = WriteConfig(OneDbConfig(db, dir_.Join("replica")));
  CliResult r = cli_.Run({"restore", "-config", config, "-o", out, db});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(out + " already exists; restore never overwrites"));
  EXPECT_EQ(ReadFileOrDie(out), "precious");
  // Without -o the output is the database itself: the same refusal.
  WriteFileOrDie(db, "the live database");
  r = cli_.Run({"restore", "-config", config, db});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.output, HasSubstr(db + " already exists"));
  EXPECT_EQ(ReadFileOrDie(db), "the live database");
}

TEST_F(CliErrorsTest, RestoreIfDbNotExistsDoesNothingWhenTheOutputExists) {
  std::string db = dir_.Join("app.db");
  WriteFileOrDie(db, "the live database");
  std::string config = WriteConfig(OneDbConfig(db, dir_.Join("replica")));
  CliResult r = cli_.Run({"restore", "-config", config, "-if-db-not-exists", db});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("restore skipped"));
  EXPECT_EQ(ReadFileOrDie(db), "the live database");
  EXPECT_FALSE(FileExists(dir_.Join("replica")));
}

TEST_F(CliErrorsTest, RestoreRefusesALeftoverWal) {
  std::string out = dir_.Join("out.db");
  WriteFileOrDie(out + "-wal", "stale");
  std::string config = WriteConfig(OneDbConfig(dir_.Join("app.db"), dir_.Join("replica")));
  CliResult r = cli_.Run({"restore", "-config", config, "-o", out, dir_.Join("app.db")});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.output, HasSubstr(out + "-wal exists"));
  EXPECT_FALSE(FileExists(out));
}

TEST_F(CliErrorsTest, RestoreOfAnUnknownDatabaseListsTheConfiguredOnes) {
  std::string config = WriteConfig(OneDbConfig(dir_.Join("app.db"), dir_.Join("replica")));
  CliResult r = cli_.Run({"restore", "-config", config, "-o", dir_.Join("o.db"), "/elsewhere.db"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("/elsewhere.db is not a database of " + config));
  EXPECT_THAT(r.output, HasSubstr(dir_.Join("app.db")));
}

TEST_F(CliErrorsTest, RestoreUsageErrors) {
  std::string config = WriteConfig(OneDbConfig(dir_.Join("app.db"), dir_.Join("replica")));
  std::string db = dir_.Join("app.db");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"restore", "-config", config}, "needs a DBPATH or a REPLICA"},
      {{"restore", "-config", config, db, db}, "takes one DBPATH or REPLICA"},
      {{"restore", "-config", config, "-txid", "0000000000000001", "-timestamp",
        "2025-01-01T00:00:00Z", db},
       "give either -timestamp or -txid"},
      {{"restore", "-config", config, "-txid", "10", db},
       "-txid must be 16 hex digits as in tx file names, like 00000000000004d2"},
      {{"restore", "-config", config, "-timestamp", "yesterday", db},
       "-timestamp must be an RFC 3339 time"},
      {{"restore", "-config", config, "-parallelism", "0", db}, "-parallelism must be between"},
      {{"restore", "file:///backups/app"}, "-o OUT is required when restoring from a replica"},
      {{"restore", "-config", config, "-replica", "nope", db}, "has no replica named \"nope\""},
      // Litestream's flags litesync does not have say what to do instead.
      {{"restore", "-config", config, "-generation", "d31f797823850ced", db},
       "-generation: Litestream v0.3's generation is chosen by time in litesync: give a "
       "-timestamp inside it"},
      {{"restore", "-config", config, "-index", "2", db}, "-index: Litestream v0.3's WAL index"},
      {{"restore", "-config", config, "-force", db},
       "-force: litesync never restores over an existing database"},
      {{"restore", "-config", config, "-f", db}, "-f: litesync has no follow mode"},
  };
  for (const Case& c : cases) {
    CliResult r = cli_.Run(c.args);
    EXPECT_EQ(r.code, 2) << c.message << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message));
  }
}

// No S3 credentials anywhere: the replica is named once, with every way to give
// them, Litestream's variables included.
TEST_F(CliErrorsTest, RestoreFromS3WithoutCredentialsSaysHowToGiveThem) {
  CliResult r = cli_.RunWith(
      {"/usr/bin/env", "-u", "AWS_ACCESS_KEY_ID", "-u", "AWS_SECRET_ACCESS_KEY", "-u",
       "LITESTREAM_ACCESS_KEY_ID", "-u", "LITESTREAM_SECRET_ACCESS_KEY"},
      {"restore", "-o", dir_.Join("out.db"),
       "s3://bkt/app?endpoint=http://127.0.0.1:9&region=us-east-1&force-path-style=true"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("litesync restore: s3 replica s3://bkt/app: no credentials: "
                                  "set access-key-id and secret-access-key, or "
                                  "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                                  "(LITESTREAM_ACCESS_KEY_ID and LITESTREAM_SECRET_ACCESS_KEY"));
  EXPECT_FALSE(testing::FileExists(dir_.Join("out.db")));
}

TEST_F(CliErrorsTest, DatabasesListsReplicasWithoutSecrets) {
  std::string config = WriteConfig(fmt::format(R"(dbs:
  - path: {0}/a.db
    replicas:
      - path: {0}/replica-a
      - name: offsite
        url: s3://bkt/prod/a
        access-key-id: AKIDSECRETVALUE
        secret-access-key: VERYSECRETKEY
        retention: 72h
)",
                                               dir_.path()));
  CliResult r = cli_.Run({"databases", "-config", config});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PATH"));
  EXPECT_THAT(r.output, HasSubstr(dir_.Join("a.db")));
  EXPECT_THAT(r.output, HasSubstr("file://" + dir_.Join("replica-a")));
  EXPECT_THAT(r.output, HasSubstr("s3://bkt/prod/a"));
  EXPECT_THAT(r.output, HasSubstr("offsite"));
  EXPECT_THAT(r.output, HasSubstr("72h"));
  EXPECT_THAT(r.output, Not(HasSubstr("AKIDSECRETVALUE")));
  EXPECT_THAT(r.output, Not(HasSubstr("VERYSECRETKEY")));
}

TEST_F(CliErrorsTest, DatabasesListsFilesFoundInDirs) {
  std::string data = dir_.Join("data");
  ASSERT_EQ(mkdir(data.c_str(), 0755), 0);
  for (const char* f : {"a.db", "b.db", "b.db-wal", "notes.txt"})
    WriteFileOrDie(data + "/" + f, "");
  std::string config = WriteConfig(
      fmt::format("dirs:\n  - dir: {}\n    pattern: '*.db'\n    replica: {{path: {}}}\n", data,
                  dir_.Join("replicas")));
  CliResult r = cli_.Run({"databases", "-config", config});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("file://" + dir_.Join("replicas/a.db")));
  EXPECT_THAT(r.output, HasSubstr("file://" + dir_.Join("replicas/b.db")));
  EXPECT_THAT(r.output, Not(HasSubstr("b.db-wal")));
  EXPECT_THAT(r.output, Not(HasSubstr("notes.txt")));
}

}  // namespace
}  // namespace litesync

namespace litesync {
namespace {

// `test_writer -h` took -h for a database path and wrote a database
// named "-h" forever. -h prints the usage; a flag where the path belongs, an
// unknown flag or a bad number is a usage error (exit 2); none creates a file.
TEST(TestWriterTest, HelpAndUnknownFlagsAreUsageErrors) {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string message;
  } cases[] = {
      {{"-h"}, 0, "usage: test_writer DB"},
      {{"--help"}, 0, "usage: test_writer DB"},
      {{"-txns", "5"}, 2, "the first argument is the database path (got \"-txns\")"},
      {{"app.db", "-bogus", "1"}, 2, "unknown flag -bogus"},
      {{"app.db", "-txns", "many"}, 2, "-txns: not a number: \"many\""},
      {{"app.db", "-txns"}, 2, "-txns needs a value"},
      {{}, 2, "needs a database path"},
  };
  for (const Case& c : cases) {
    std::string cmd = "cd \"$1\" && shift && exec \"$@\"";
    std::vector<std::string> argv = {"/bin/sh", "-c", cmd, "sh", dir.path(), testing::WriterBin()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    std::string log = dir.Join("writer.log");
    int code = testing::RunProcess(argv, absl::Seconds(10), log);
    std::string out = testing::ReadFileOrEmpty(log);
    EXPECT_EQ(code, c.code) << out;
    EXPECT_THAT(out, HasSubstr(c.message));
    EXPECT_FALSE(FileExists(dir.Join("-h")));
    EXPECT_FALSE(FileExists(dir.Join("app.db")));
  }
}

}  // namespace
}  // namespace litesync
