// How `litesync monitor` shows verdicts (monitor/verdict.h): one text line per
// replica, and the -json document. Pure functions; thread-safe.
#pragma once

#include <span>
#include <string>

#include "monitor/verdict.h"

#include "cmd/json.h"

namespace litesync {

// "fresh  s3://bkt/app  data current 3s ago (newest 0000000000000001/0/...ltx)"
// or "stale  s3://bkt/app  <reason>"; ends with a newline.
std::string VerdictLine(const ReplicaVerdict& v);

// One replica's verdict: replica, state, fresh, reason, checked, newest file and
// capture time, current_at and its age, liveness, verification, last good
// verification, requests by op (docs/monitor.md lists the fields).
Json VerdictJson(const ReplicaVerdict& v);

// {"ok": all fresh, "replicas": [...]} for -once -json.
Json VerdictsJson(std::span<const ReplicaVerdict> verdicts);

}  // namespace litesync
