// Prometheus text exposition (format 0.0.4) of a StatusReport: per database x
// replica sync counters and positions, heartbeat counters per (redacted) target,
// and the process start time. A pure function; docs/status.md lists the families.
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"

#include "cmd/status_report.h"

namespace litesync {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Every family has # HELP and # TYPE lines, even without samples. Optional
// fields the report lacks are left out rather than reported as 0, except
// litesync_last_sync_timestamp_seconds, which is 0 before the first sync (so
// `time() - litesync_last_sync_timestamp_seconds > 300` also fires for it).
std::string RenderMetrics(const StatusReport& report, absl::Time process_start);

// A label value with backslash, double quote and newline escaped.
std::string EscapeLabelValue(std::string_view v);

}  // namespace litesync
