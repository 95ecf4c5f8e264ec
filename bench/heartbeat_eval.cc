// heartbeat_eval: times one health evaluation (heartbeat/health.h Evaluate) over
// N databases, the work the heartbeat does every check. Prints the median and
// worst of many evaluations, for 1,000 databases by default (target: < 1 ms).
//   heartbeat_eval [N] [ROUNDS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/sync_record.h"

#include "heartbeat/health.h"

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 2000;
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  std::vector<litesync::SyncRecord> records(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    records[static_cast<size_t>(i)].db = "/data/db" + std::to_string(i) + ".db";
    records[static_cast<size_t>(i)].replica = "s3://bucket/db" + std::to_string(i);
    records[static_cast<size_t>(i)].last_success = now - absl::Seconds(i % 200);
  }
  std::vector<double> us;
  us.reserve(static_cast<size_t>(rounds));
  size_t healthy = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    litesync::Verdict v = litesync::Evaluate(records, now, absl::Minutes(5));
    auto t1 = std::chrono::steady_clock::now();
    healthy += v.healthy ? 1 : 0;
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  std::printf(
      "heartbeat evaluation, %d databases: median %.1f us, p99 %.1f us, max %.1f us (%d rounds, "
      "healthy=%s)\n",
      n, us[us.size() / 2], us[us.size() * 99 / 100], us.back(), rounds,
      healthy == static_cast<size_t>(rounds) ? "yes" : "no");
  return 0;
}
