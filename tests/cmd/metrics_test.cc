#include "cmd/metrics.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmd/json.h"

namespace litesync {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// A strict reader of the Prometheus text format 0.0.4; `errors` lists every rule
// the text breaks.
struct Exposition {
  std::map<std::string, std::string> help;
  std::map<std::string, std::string> type;
  std::vector<Sample> samples;
  std::vector<std::string> errors;

  const Sample* Find(const std::string& name,
                     const std::map<std::string, std::string>& labels) const {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return &s;
    }
    return nullptr;
  }
  int Count(const std::string& name) const {
    int n = 0;
    for (const Sample& s : samples) n += s.name == name;
    return n;
  }
};

bool ParseLabels(const std::string& line, size_t* pos, std::map<std::string, std::string>* out,
                 std::string* err) {
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  ++*pos;  // '{'
  while (*pos < line.size() && line[*pos] != '}') {
    size_t eq = line.find('=', *pos);
    if (eq == std::string::npos) return *err = "label without '='", false;
    std::string name = line.substr(*pos, eq - *pos);
    if (!std::regex_match(name, kLabelName)) return *err = "bad label name " + name, false;
    if (eq + 1 >= line.size() || line[eq + 1] != '"') return *err = "unquoted label value", false;
    std::string value;
    size_t i = eq + 2;
    for (; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] != '\\') {
        value += line[i];
        continue;
      }
      if (++i >= line.size()) return *err = "dangling backslash", false;
      if (line[i] == '\\')
        value += '\\';
      else if (line[i] == '"')
        value += '"';
      else if (line[i] == 'n')
        value += '\n';
      else
        return *err = std::string("invalid escape \\") + line[i], false;
    }
    if (i >= line.size()) return *err = "unterminated label value", false;
    if (out->count(name)) return *err = "duplicate label " + name, false;
    (*out)[name] = value;
    *pos = i + 1;
    if (*pos < line.size() && line[*pos] == ',') ++*pos;
  }
  if (*pos >= line.size()) return *err = "unterminated label set", false;
  ++*pos;  // '}'
  return true;
}

Exposition ParseExposition(const std::string& text) {
  static const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                               "untyped"};
  Exposition e;
  auto fail = [&](int n, const std::string& what) {
    e.errors.push_back("line " + std::to_string(n) + ": " + what);
  };
  if (!text.empty() && text.back() != '\n') e.errors.push_back("no trailing newline");
  std::set<std::string> finished;  // families whose sample group has ended
  std::set<std::string> series;
  std::string current;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      bool is_help = line[2] == 'H';
      std::string rest = line.substr(7);
      size_t sp = rest.find(' ');
      std::string name = rest.substr(0, sp);
      std::string arg = sp == std::string::npos ? "" : rest.substr(sp + 1);
      if (!std::regex_match(name, kMetricName)) fail(n, "bad metric name " + name);
      auto& map = is_help ? e.help : e.type;
      if (map.count(name))
        fail(n, "second " + std::string(is_help ? "HELP" : "TYPE") + " for " + name);
      if (!is_help && !kTypes.count(arg)) fail(n, "unknown type " + arg);
      if (!is_help && e.Count(name) > 0) fail(n, "TYPE after samples of " + name);
      map[name] = arg;
      continue;
    }
    if (line[0] == '#') continue;  // comment
    Sample s;
    size_t pos = line.find_first_of("{ ");
    s.name = line.substr(0, pos);
    if (!std::regex_match(s.name, kMetricName)) fail(n, "bad metric name " + s.name);
    std::string err;
    if (pos != std::string::npos && line[pos] == '{' && !ParseLabels(line, &pos, &s.labels, &err)) {
      fail(n, err);
      continue;
    }
    if (pos >= line.size() || line[pos] != ' ') {
      fail(n, "no value");
      continue;
    }
    std::string value = line.substr(pos + 1);
    value = value.substr(0, value.find(' '));  // an optional timestamp follows
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0') fail(n, "bad value " + value);
    if (!e.help.count(s.name)) fail(n, "sample of " + s.name + " without HELP");
    if (!e.type.count(s.name)) fail(n, "sample of " + s.name + " without TYPE");
    if (e.type[s.name] == "counter" && !s.name.ends_with("_total")) {
      fail(n, "counter " + s.name + " does not end in _total");
    }
    if (s.name != current) {
      if (finished.count(s.name)) fail(n, "samples of " + s.name + " are not grouped");
      if (!current.empty()) finished.insert(current);
      current = s.name;
    }
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "\x1f" + k + "=" + v;
    if (!series.insert(key).second) fail(n, "duplicate series " + s.name);
    e.samples.push_back(std::move(s));
  }
  for (const auto& [name, type] : e.type) {
    if (type == "counter" && !name.ends_with("_total")) {
      e.errors.push_back("counter " + name + " does not end in _total");
    }
  }
  return e;
}

TEST(ExpositionParserTest, CatchesBrokenExpositions) {
  // The checker below must be able to fail, or the metrics tests prove nothing.
  EXPECT_THAT(ParseExposition("x 1\n").errors, Not(IsEmpty()));  // no HELP/TYPE
  EXPECT_THAT(ParseExposition("# HELP x h\n# TYPE x counter\nx 1\n").errors, Not(IsEmpty()));
  EXPECT_THAT(ParseExposition("# HELP x h\n# TYPE x gauge\nx{a=\"\\t\"} 1\n").errors,
              Not(IsEmpty()));
  EXPECT_THAT(ParseExposition("# HELP 1x h\n# TYPE 1x gauge\n1x 1\n").errors, Not(IsEmpty()));
  EXPECT_THAT(ParseExposition("# HELP x h\n# TYPE x gauge\nx{a=\"1} 1\n").errors, Not(IsEmpty()));
  EXPECT_THAT(ParseExposition("# HELP x h\n# TYPE x gauge\nx one\n").errors, Not(IsEmpty()));
  EXPECT_THAT(ParseExposition("# HELP x h\n# TYPE x gauge\nx 1\nx 2\n").errors, Not(IsEmpty()));
  EXPECT_THAT(
      ParseExposition("# HELP x h\n# TYPE x gauge\n# HELP y h\n# TYPE y gauge\nx{a=\"1\"} 1\n"
                      "y 1\nx{a=\"2\"} 1\n")
          .errors,
      Not(IsEmpty()));
  EXPECT_THAT(
      ParseExposition("# HELP x_total h\n# TYPE x_total counter\nx_total{a=\"q\\\"\\\\\\n\"} 1\n")
          .errors,
      IsEmpty());
}

StatusReport SampleReport() {
  SyncRecord ok;
  ok.db = "/data/app.db";
  ok.replica = "s3://bkt/app";
  ok.last_success = kNow - absl::Seconds(4);
  ok.lineage = 1;
  ok.local_txid = 30;
  ok.replicated_txid = 27;
  ok.wal_size = 8192;
  ok.sync_count = 11;
  ok.sync_error_count = 2;
  ok.bytes_written = 123456;
  ok.snapshot_count = 3;
  ok.checkpoint_error_count = 4;
  SyncRecord odd;
  odd.db = "C:\\data\\\"quoted\"\nname.db";
  odd.replica = "file:///b";
  HeartbeatTargetStatus hb;
  hb.url = "https://hc-ping.com/0d5b9c1e-secret-token";
  hb.pings_sent = 9;
  hb.pings_failed = 2;
  hb.withholding = true;
  return BuildStatus({ok, odd}, {hb}, kNow, absl::Minutes(5));
}

TEST(MetricsTest, ExpositionFollowsTheTextFormatRules) {
  std::string text = RenderMetrics(SampleReport(), kNow - absl::Hours(2));
  Exposition e = ParseExposition(text);
  EXPECT_THAT(e.errors, IsEmpty()) << text;
  for (const char* family :
       {"litesync_sync_total", "litesync_sync_errors_total", "litesync_last_sync_timestamp_seconds",
        "litesync_replicated_txid", "litesync_local_txid", "litesync_lag_seconds",
        "litesync_wal_size_bytes", "litesync_replica_bytes_written_total",
        "litesync_snapshots_total", "litesync_checkpoint_errors_total", "litesync_database_healthy",
        "litesync_heartbeat_pings_sent_total", "litesync_heartbeat_pings_failed_total",
        "litesync_process_start_time_seconds"}) {
    EXPECT_TRUE(e.help.count(family)) << family;
    EXPECT_TRUE(e.type.count(family)) << family;
    EXPECT_GT(e.Count(family), 0) << family;
  }
  EXPECT_EQ(e.type["litesync_sync_total"], "counter");
  EXPECT_EQ(e.type["litesync_lag_seconds"], "gauge");
  EXPECT_EQ(e.type["litesync_heartbeat_pings_failed_total"], "counter");
}

TEST(MetricsTest, SamplesCarryTheRecordsValues) {
  Exposition e = ParseExposition(RenderMetrics(SampleReport(), kNow - absl::Hours(2)));
  const std::map<std::string, std::string> app = {{"db", "/data/app.db"},
                                                  {"replica", "s3://bkt/app"}};
  auto value = [&](const std::string& name, const std::map<std::string, std::string>& labels) {
    const Sample* s = e.Find(name, labels);
    EXPECT_NE(s, nullptr) << name;
    return s ? s->value : -1;
  };
  EXPECT_EQ(value("litesync_sync_total", app), 11);
  EXPECT_EQ(value("litesync_sync_errors_total", app), 2);
  EXPECT_EQ(value("litesync_last_sync_timestamp_seconds", app), 1'699'999'996);
  EXPECT_EQ(value("litesync_replicated_txid", app), 27);
  EXPECT_EQ(value("litesync_local_txid", app), 30);
  EXPECT_EQ(value("litesync_lag_seconds", app), 4);
  EXPECT_EQ(value("litesync_wal_size_bytes", app), 8192);
  EXPECT_EQ(value("litesync_replica_bytes_written_total", app), 123456);
  EXPECT_EQ(value("litesync_snapshots_total", app), 3);
  EXPECT_EQ(value("litesync_checkpoint_errors_total", app), 4);
  EXPECT_EQ(value("litesync_database_healthy", app), 1);
  EXPECT_EQ(value("litesync_heartbeat_pings_sent_total", {{"url", "https://hc-ping.com/****"}}), 9);
  EXPECT_EQ(value("litesync_heartbeat_pings_failed_total", {{"url", "https://hc-ping.com/****"}}),
            2);
  EXPECT_EQ(value("litesync_heartbeat_withholding", {{"url", "https://hc-ping.com/****"}}), 1);
  EXPECT_EQ(value("litesync_process_start_time_seconds", {}), 1'699'992'800);
}

TEST(MetricsTest, NeverSyncedDatabaseIsUnhealthyWithZeroLastSync) {
  Exposition e = ParseExposition(RenderMetrics(SampleReport(), kNow));
  const std::map<std::string, std::string> odd = {{"db", "C:\\data\\\"quoted\"\nname.db"},
                                                  {"replica", "file:///b"}};
  ASSERT_NE(e.Find("litesync_last_sync_timestamp_seconds", odd), nullptr);
  EXPECT_EQ(e.Find("litesync_last_sync_timestamp_seconds", odd)->value, 0);
  ASSERT_NE(e.Find("litesync_database_healthy", odd), nullptr);
  EXPECT_EQ(e.Find("litesync_database_healthy", odd)->value, 0);
}

TEST(MetricsTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  std::string text = RenderMetrics(SampleReport(), kNow);
  EXPECT_THAT(text, HasSubstr("db=\"C:\\\\data\\\\\\\"quoted\\\"\\nname.db\""));
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  // The parser above unescapes them back to the original path (Find matched it).
  EXPECT_NE(
      ParseExposition(text).Find("litesync_sync_total", {{"db", "C:\\data\\\"quoted\"\nname.db"},
                                                         {"replica", "file:///b"}}),
      nullptr);
}

TEST(MetricsTest, OmitsUnknownValuesInsteadOfReportingZero) {
  StatusReport r = SampleReport();
  r.databases[0].local_txid.reset();
  r.databases[0].lag_seconds.reset();
  r.heartbeat[0].pings_sent.reset();
  Exposition e = ParseExposition(RenderMetrics(r, kNow));
  EXPECT_THAT(e.errors, IsEmpty());
  EXPECT_EQ(e.Count("litesync_local_txid"), 1);  // only the second database
  EXPECT_EQ(e.Count("litesync_heartbeat_pings_sent_total"), 0);
  EXPECT_TRUE(e.type.count("litesync_heartbeat_pings_sent_total"));  // the family stays declared
}

TEST(MetricsTest, HeartbeatUrlTokenNeverAppears) {
  std::string text = RenderMetrics(SampleReport(), kNow);
  EXPECT_THAT(text, Not(HasSubstr("0d5b9c1e")));
  EXPECT_THAT(text, Not(HasSubstr("secret-token")));
}

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(LITESYNC_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in.good()) << relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<std::string> MetricNamesIn(const std::string& text) {
  std::set<std::string> names;
  static const std::regex kName("litesync_[a-z_]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

TEST(MetricsTest, DashboardAndAlertsUseOnlyExportedMetrics) {
  std::set<std::string> exported;
  for (const auto& [name, type] : ParseExposition(RenderMetrics(SampleReport(), kNow)).type) {
    exported.insert(name);
  }
  std::string dashboard = ReadSource("etc/grafana-dashboard.json");
  absl::StatusOr<Json> parsed = ParseJson(dashboard);
  ASSERT_TRUE(parsed.ok()) << "etc/grafana-dashboard.json: " << parsed.status();
  EXPECT_TRUE(parsed->contains("panels"));
  std::string alerts = ReadSource("etc/prometheus-alerts.yml");
  for (const auto& [file, text] :
       {std::pair{"dashboard", dashboard}, std::pair{"alerts", alerts}}) {
    std::set<std::string> used = MetricNamesIn(text);
    EXPECT_FALSE(used.empty()) << file;
    for (const std::string& name : used) {
      EXPECT_TRUE(exported.count(name)) << file << " uses " << name << ", which /metrics lacks";
    }
  }
  EXPECT_TRUE(MetricNamesIn(alerts).count("litesync_last_sync_timestamp_seconds"));
  EXPECT_TRUE(MetricNamesIn(alerts).count("litesync_sync_errors_total"));
  EXPECT_TRUE(MetricNamesIn(alerts).count("litesync_heartbeat_pings_failed_total"));
}

}  // namespace
}  // namespace litesync
