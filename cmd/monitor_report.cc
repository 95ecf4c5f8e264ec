#include "cmd/monitor_report.h"

#include "base/time_format.h"
#include "fmt/format.h"

namespace litesync {
namespace {

Json TimeOrNull(absl::Time t) {
  if (t == absl::InfinitePast()) return nullptr;
  return FormatTimestamp(t);
}

Json AgeSeconds(absl::Time t, absl::Time now) {
  if (t == absl::InfinitePast()) return nullptr;
  return absl::ToDoubleSeconds(now - t);
}

}  // namespace

std::string VerdictLine(const ReplicaVerdict& v) {
  if (!v.fresh) {
    return fmt::format("{:<20} {}\n", VerdictStateName(v.state), v.reason);
  }
  std::string what =
      fmt::format("data current {} ago (newest {}", FormatAge(v.checked - v.current_at),
                  v.newest_file ? v.newest_file->RelativePath() : "-");
  if (v.liveness.confirmed && v.liveness.time > v.newest_capture) what += ", liveness record";
  what += ")";
  if (v.verification.ok) {
    what += fmt::format("; verified txid {} ({} files, {} ms)", TxidString(v.verification.txid),
                        v.verification.files, absl::ToInt64Milliseconds(v.verification.elapsed));
  }
  return fmt::format("{:<20} {}: {}\n", VerdictStateName(v.state), v.replica, what);
}

Json VerdictJson(const ReplicaVerdict& v) {
  Json j;
  j["replica"] = v.replica;
  j["state"] = std::string(VerdictStateName(v.state));
  j["fresh"] = v.fresh;
  j["reason"] = v.reason;
  j["checked"] = TimeOrNull(v.checked);
  j["current_at"] = TimeOrNull(v.current_at);
  j["age_seconds"] = AgeSeconds(v.current_at, v.checked);
  if (v.newest_file) {
    j["newest_file"] = v.newest_file->RelativePath();
    j["newest_txid"] = TxidString(v.newest_file->max_txid);
  } else {
    j["newest_file"] = nullptr;
    j["newest_txid"] = nullptr;
  }
  j["newest_capture"] = TimeOrNull(v.newest_capture);
  Json live;
  live["present"] = v.liveness.present;
  live["confirmed"] = v.liveness.confirmed;
  if (v.liveness.present) {
    live["lineage"] = LineageName(v.liveness.lineage);
    live["txid"] = TxidString(v.liveness.txid);
    live["time"] = TimeOrNull(v.liveness.time);
    live["host"] = v.liveness.host;
  }
  j["liveness"] = live;
  Json ver;
  ver["ran"] = v.verification.ran;
  ver["ok"] = v.verification.ok;
  if (v.verification.ran) {
    ver["lineage"] = LineageName(v.verification.lineage);
    ver["txid"] = TxidString(v.verification.txid);
    ver["files"] = v.verification.files;
    ver["elapsed_ms"] = absl::ToInt64Milliseconds(v.verification.elapsed);
    ver["error"] = v.verification.error;
  }
  j["verification"] = ver;
  j["last_good_verification"] = TimeOrNull(v.last_good_verification);
  Json req = Json::object();
  for (size_t i = 0; i < kRequestOps; i++) {
    if (v.requests.sent[i] == 0) continue;
    req[std::string(RequestOpName(static_cast<RequestOp>(i)))] = v.requests.sent[i];
  }
  j["requests"] = req;
  return j;
}

Json VerdictsJson(std::span<const ReplicaVerdict> verdicts) {
  Json j;
  bool ok = true;
  Json list = Json::array();
  for (const ReplicaVerdict& v : verdicts) {
    ok = ok && v.fresh;
    list.push_back(VerdictJson(v));
  }
  j["ok"] = ok;
  j["replicas"] = list;
  return j;
}

}  // namespace litesync
