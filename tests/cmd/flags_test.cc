#include "cmd/flags.h"

#include "base/status.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmd/restore.h"
#include "tests/testutil/status_matchers.h"

namespace litesync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Result = FlagSet::Result;

struct Flags {
  std::string config;
  std::string output;
  bool dry_run = false;
  bool if_db_not_exists = false;
  int64_t parallelism = 8;
  FlagSet set{"Usage: litesync restore [flags] DBPATH\n"};
  Flags() {
    set.String("config", &config, "PATH", "the config file");
    set.String("o", &output, "OUT", "the output");
    set.Bool("dry-run", &dry_run, "print the plan");
    set.Bool("if-db-not-exists", &if_db_not_exists, "skip when the output exists");
    set.Int("parallelism", &parallelism, "N", "downloads at once");
  }
};

TEST(FlagSetTest, ParsesSeparateAndEqualsValues) {
  Flags f;
  ASSERT_EQ(f.set.Parse({"-config", "a.yml", "-o=out.db", "db.db"}), Result::kOk);
  EXPECT_EQ(f.config, "a.yml");
  EXPECT_EQ(f.output, "out.db");
  EXPECT_THAT(f.set.args(), ElementsAre("db.db"));
  EXPECT_TRUE(f.set.IsSet("config"));
  EXPECT_FALSE(f.set.IsSet("dry-run"));
}

TEST(FlagSetTest, AcceptsTwoDashes) {
  Flags f;
  ASSERT_EQ(f.set.Parse({"--config=a.yml", "--dry-run"}), Result::kOk);
  EXPECT_EQ(f.config, "a.yml");
  EXPECT_TRUE(f.dry_run);
}

TEST(FlagSetTest, BooleansTakeNoSeparateValue) {
  Flags f;
  ASSERT_EQ(f.set.Parse({"-dry-run", "false", "-if-db-not-exists=true"}), Result::kOk);
  EXPECT_TRUE(f.dry_run);
  EXPECT_TRUE(f.if_db_not_exists);
  EXPECT_THAT(f.set.args(), ElementsAre("false"));
  Flags g;
  ASSERT_EQ(g.set.Parse({"-dry-run=false"}), Result::kOk);
  EXPECT_FALSE(g.dry_run);
  EXPECT_TRUE(g.set.IsSet("dry-run"));
}

TEST(FlagSetTest, FlagsMayFollowPositionalArguments) {
  Flags f;
  ASSERT_EQ(f.set.Parse({"db.db", "-o", "out.db"}), Result::kOk);
  EXPECT_EQ(f.output, "out.db");
  EXPECT_THAT(f.set.args(), ElementsAre("db.db"));
}

TEST(FlagSetTest, DoubleDashEndsTheFlags) {
  Flags f;
  ASSERT_EQ(f.set.Parse({"-dry-run", "--", "-weird.db", "-o"}), Result::kOk);
  EXPECT_THAT(f.set.args(), ElementsAre("-weird.db", "-o"));
  EXPECT_EQ(f.output, "");
}

TEST(FlagSetTest, SingleDashIsAPositionalArgument) {
  Flags f;
  ASSERT_EQ(f.set.Parse({"-"}), Result::kOk);
  EXPECT_THAT(f.set.args(), ElementsAre("-"));
}

TEST(FlagSetTest, HelpFlags) {
  for (const char* h : {"-h", "-help", "--help"}) {
    Flags f;
    EXPECT_EQ(f.set.Parse({"-config", "x", h}), Result::kHelp) << h;
  }
}

TEST(FlagSetTest, UnknownFlagIsAnError) {
  Flags f;
  ASSERT_EQ(f.set.Parse({"-confg", "x"}), Result::kError);
  EXPECT_EQ(f.set.error(), "flag provided but not defined: -confg");
}

TEST(FlagSetTest, AForeignFlagSaysWhatToDoInsteadAndIsNotListed) {
  Flags f;
  f.set.Foreign("generation", "choose it by -timestamp");
  ASSERT_EQ(f.set.Parse({"-generation=abc", "app.db"}), Result::kError);
  EXPECT_EQ(f.set.error(), "-generation: choose it by -timestamp");
  ASSERT_EQ(f.set.Parse({"--generation", "abc"}), Result::kError);
  EXPECT_EQ(f.set.error(), "-generation: choose it by -timestamp");
  EXPECT_THAT(f.set.Usage(), ::testing::Not(HasSubstr("generation")));
}

TEST(FlagSetTest, MissingValueIsAnError) {
  Flags f;
  ASSERT_EQ(f.set.Parse({"db.db", "-o"}), Result::kError);
  EXPECT_EQ(f.set.error(), "flag needs an argument: -o");
}

TEST(FlagSetTest, BadValuesAreErrors) {
  Flags f;
  ASSERT_EQ(f.set.Parse({"-parallelism", "many"}), Result::kError);
  EXPECT_EQ(f.set.error(), "invalid value \"many\" for flag -parallelism: must be a whole number");
  Flags g;
  ASSERT_EQ(g.set.Parse({"-dry-run=maybe"}), Result::kError);
  EXPECT_THAT(g.set.error(), HasSubstr("invalid boolean value \"maybe\" for flag -dry-run"));
  Flags h;
  ASSERT_EQ(h.set.Parse({"---config"}), Result::kError);
  EXPECT_EQ(h.set.error(), "bad flag syntax: ---config");
}

TEST(FlagSetTest, IntegersParse) {
  Flags f;
  ASSERT_EQ(f.set.Parse({"-parallelism=16"}), Result::kOk);
  EXPECT_EQ(f.parallelism, 16);
}

TEST(FlagSetTest, UsageListsEveryFlagWithItsDefault) {
  Flags f;
  std::string usage = f.set.Usage();
  EXPECT_THAT(usage, HasSubstr("Usage: litesync restore [flags] DBPATH\n"));
  EXPECT_THAT(usage, HasSubstr("  -config PATH\n        the config file\n"));
  EXPECT_THAT(usage, HasSubstr("  -dry-run\n        print the plan\n"));
  EXPECT_THAT(usage, HasSubstr("  -parallelism N\n        downloads at once (default 8)\n"));
}

TEST(FlagSetTest, ParseOrExitReturnsTheExitCode) {
  Flags f;
  EXPECT_EQ(f.set.ParseOrExit({"-o", "x"}, "litesync restore"), std::nullopt);
  Flags g;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(g.set.ParseOrExit({"-h"}, "litesync restore"), 0);
  EXPECT_THAT(::testing::internal::GetCapturedStdout(), HasSubstr("Usage: litesync restore"));
  Flags h;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(h.set.ParseOrExit({"-nope"}, "litesync restore"), 2);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("litesync restore: flag provided but not defined: -nope\n"));
  EXPECT_THAT(err, HasSubstr("Usage: litesync restore"));
}

// -txid and -timestamp values (cmd/restore.h).
TEST(RestoreArgsTest, TxidIsSixteenHexDigitsAsInLitestream) {
  LS_ASSERT_OK_AND_ASSIGN(uint64_t b, ParseTxid("0000000000000042"));
  EXPECT_EQ(b, 0x42u);
  LS_ASSERT_OK_AND_ASSIGN(uint64_t c, ParseTxid("00000000000000fF"));
  EXPECT_EQ(c, 255u);
  LS_ASSERT_OK_AND_ASSIGN(uint64_t e, ParseTxid("ffffffffffffffff"));
  EXPECT_EQ(e, UINT64_MAX);
}

TEST(RestoreArgsTest, TxidRejectsEverythingElseShowingTheExpectedForm) {
  for (const char* bad :
       {"", "0", "10", "66", "-1", "12a", "ff", "0x1F", "0x0000000000000010", "000000000000010",
        "00000000000000010", "00000000000000zz", " 000000000000001", "0000000000000000"}) {
    EXPECT_FALSE(ParseTxid(bad).ok()) << bad;
  }
  EXPECT_EQ(std::string(ParseTxid("10").status().message()),
            "-txid must be 16 hex digits as in tx file names, like 00000000000004d2 (got \"10\")");
}

TEST(RestoreArgsTest, TimestampIsRfc3339) {
  LS_ASSERT_OK_AND_ASSIGN(absl::Time t, ParseRestoreTime("2025-03-04T10:20:00Z"));
  EXPECT_EQ(t, absl::FromCivil(absl::CivilSecond(2025, 3, 4, 10, 20, 0), absl::UTCTimeZone()));
  LS_ASSERT_OK_AND_ASSIGN(absl::Time u, ParseRestoreTime("2025-03-04T11:20:00.5+01:00"));
  EXPECT_EQ(u, t + absl::Milliseconds(500));
  EXPECT_FALSE(ParseRestoreTime("2025-03-04 10:20").ok());
  EXPECT_FALSE(ParseRestoreTime("yesterday").ok());
}

}  // namespace
}  // namespace litesync
