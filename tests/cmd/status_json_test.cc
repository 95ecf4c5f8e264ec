#include "cmd/status_json.h"

#include <cstdint>
#include <limits>
#include <string>

#include "base/status.h"  // LS_STATUS_CONCAT_, used by status_matchers.h
#include <gtest/gtest.h>

#include "tests/testutil/status_matchers.h"

namespace litesync {
namespace {

TEST(JsonTest, ParsesWhatItDumps) {
  Json o = Json::Object();
  o.Set("name", Json::String("a \"quoted\" \\ path\nwith\ttabs and \x01 control"));
  o.Set("big", Json::Unsigned(std::numeric_limits<uint64_t>::max()));
  o.Set("neg", Json::Integer(-42));
  o.Set("pi", Json::Number(3.25));
  o.Set("none", Json());
  o.Set("yes", Json::Bool(true));
  Json& list = o.Set("list", Json::Array());
  list.Push(Json::String("x"));
  list.Push(Json::Object());
  list.Push(Json::Array());
  for (int indent : {2, -1}) {
    LS_ASSERT_OK_AND_ASSIGN(Json back, ParseJson(o.Dump(indent)));
    ASSERT_EQ(back.type(), Json::Type::kObject);
    EXPECT_EQ(back.Find("name")->AsString(), "a \"quoted\" \\ path\nwith\ttabs and \x01 control");
    EXPECT_EQ(back.Find("big")->AsUint64(), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(back.Find("neg")->AsInt64(), -42);
    EXPECT_FALSE(back.Find("neg")->AsUint64().has_value());
    EXPECT_EQ(back.Find("pi")->AsDouble(), 3.25);
    EXPECT_FALSE(back.Find("pi")->AsUint64().has_value());
    EXPECT_TRUE(back.Find("none")->is_null());
    EXPECT_EQ(back.Find("yes")->AsBool(), true);
    ASSERT_EQ(back.Find("list")->items().size(), 3u);
    EXPECT_EQ(back.Find("list")->items()[1].type(), Json::Type::kObject);
    EXPECT_EQ(back.Find("missing"), nullptr);
    // Members keep their order.
    ASSERT_EQ(back.members().size(), 7u);
    EXPECT_EQ(back.members()[0].first, "name");
    EXPECT_EQ(back.members()[6].first, "list");
  }
}

TEST(JsonTest, QuoteEscapesQuoteBackslashAndControlCharacters) {
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\re\tf\x1fg\x7f"), R"("a\"b\\c\nd\re\tf\u001fg\u007f")");
  EXPECT_EQ(JsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 passes through
}

TEST(JsonTest, DecodesUnicodeEscapesAndSurrogatePairs) {
  LS_ASSERT_OK_AND_ASSIGN(Json v, ParseJson(R"(["\u00e9\u4e2d\ud83d\ude00\/"])"));
  EXPECT_EQ(v.items()[0].AsString(), "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80/");
}

TEST(JsonTest, RejectsMalformedDocuments) {
  const char* bad[] = {
      "",           "{",           "[1,]",        "{\"a\":1,}", "{\"a\" 1}", "{a:1}",
      "01",         "1.",          "-",           "1e",         "\"abc",     "\"a\x01\"",
      "\"\\x\"",    "\"\\ud800\"", "\"\\udc00\"", "tru",        "nul",       "[1] [2]",
      "{\"a\":1}x", "'a'",         "NaN",
  };
  for (const char* text : bad) {
    absl::StatusOr<Json> v = ParseJson(text);
    EXPECT_FALSE(v.ok()) << "accepted: " << text;
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << text;
    }
  }
}

TEST(JsonTest, LimitsNestingDepth) {
  EXPECT_TRUE(ParseJson(std::string(60, '[') + std::string(60, ']')).ok());
  EXPECT_FALSE(ParseJson(std::string(100, '[') + std::string(100, ']')).ok());
  EXPECT_FALSE(ParseJson(std::string(100000, '[')).ok());  // no stack overflow
}

TEST(JsonTest, NonFiniteNumbersBecomeNull) {
  EXPECT_EQ(Json::Number(std::numeric_limits<double>::quiet_NaN()).Dump(), "null");
  EXPECT_EQ(Json::Number(std::numeric_limits<double>::infinity()).Dump(), "null");
}

}  // namespace
}  // namespace litesync
