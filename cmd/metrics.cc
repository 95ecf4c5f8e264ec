#include "cmd/metrics.h"

#include <cmath>
#include <optional>
#include <vector>

#include "fmt/format.h"

namespace litesync {
namespace {

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// One metric family: its header, then its samples.
class Family {
 public:
  Family(std::string* out, std::string_view name, std::string_view type, std::string_view help)
      : out_(out), name_(name) {
    *out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(help), name, type);
  }
  void Sample(const std::vector<std::pair<std::string_view, std::string_view>>& labels,
              std::string value) {
    *out_ += name_;
    if (!labels.empty()) {
      *out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) *out_ += ',';
        *out_ += fmt::format("{}=\"{}\"", labels[i].first, EscapeLabelValue(labels[i].second));
      }
      *out_ += '}';
    }
    *out_ += ' ' + value + '\n';
  }

 private:
  std::string* out_;
  std::string_view name_;
};

template <typename T>
std::string Value(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return FormatValue(v);
  } else {
    return fmt::format("{}", v);
  }
}

// A per database x replica family; `get` returns nullopt to leave a row out.
template <typename Get>
void DbFamily(std::string* out, const StatusReport& r, std::string_view name, std::string_view type,
              std::string_view help, Get get) {
  Family f(out, name, type, help);
  for (const DbStatus& d : r.databases) {
    auto v = get(d);
    if (v) f.Sample({{"db", d.path}, {"replica", d.replica}}, Value(*v));
  }
}

// A per database x replica x op family of request counters; replicas that
// count no requests (file replicas) are left out.
template <typename Get>
void RequestFamily(std::string* out, const StatusReport& r, std::string_view name,
                   std::string_view help, Get get) {
  Family f(out, name, "counter", help);
  for (const DbStatus& d : r.databases) {
    if (d.requests.Total() == 0) continue;
    const auto& counts = get(d.requests);
    for (size_t op = 0; op < kRequestOps; ++op) {
      f.Sample({{"db", d.path}, {"replica", d.replica}, {"op", RequestOpName(RequestOp(op))}},
               Value(counts[op]));
    }
  }
}

template <typename Get>
void HeartbeatFamily(std::string* out, const StatusReport& r, std::string_view name,
                     std::string_view type, std::string_view help, Get get) {
  Family f(out, name, type, help);
  for (const HeartbeatRow& h : r.heartbeat) {
    auto v = get(h);
    if (v) f.Sample({{"url", h.url}}, Value(*v));
  }
}

}  // namespace

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string RenderMetrics(const StatusReport& r, absl::Time process_start) {
  std::string out;
  DbFamily(&out, r, "litesync_sync_total", "counter",
           "Syncs of a database to a replica that the replica acknowledged.",
           [](const DbStatus& d) { return d.sync_count; });
  DbFamily(&out, r, "litesync_sync_errors_total", "counter",
           "Sync attempts of a database to a replica that failed.",
           [](const DbStatus& d) { return d.sync_error_count; });
  DbFamily(&out, r, "litesync_last_sync_timestamp_seconds", "gauge",
           "Unix time of the last successful sync; 0 before the first.",
           [](const DbStatus& d) -> std::optional<double> {
             return d.last_sync ? absl::ToUnixMillis(*d.last_sync) / 1000.0 : 0.0;
           });
  DbFamily(&out, r, "litesync_replicated_txid", "gauge",
           "Last transaction ID the replica acknowledged.",
           [](const DbStatus& d) { return d.replicated_txid; });
  DbFamily(&out, r, "litesync_local_txid", "gauge",
           "Last transaction ID read from the database's WAL.",
           [](const DbStatus& d) { return d.local_txid; });
  DbFamily(&out, r, "litesync_lag_seconds", "gauge",
           "Seconds the replica has been behind the database; 0 when caught up.",
           [](const DbStatus& d) { return d.lag_seconds; });
  DbFamily(&out, r, "litesync_wal_size_bytes", "gauge",
           "Size of the database's -wal file at the last sync.",
           [](const DbStatus& d) { return d.wal_size; });
  DbFamily(&out, r, "litesync_replica_bytes_written_total", "counter",
           "Bytes of tx files written to the replica.",
           [](const DbStatus& d) { return d.bytes_written; });
  DbFamily(&out, r, "litesync_snapshots_total", "counter",
           "Full-database snapshots written to the replica.",
           [](const DbStatus& d) { return d.snapshot_count; });
  DbFamily(&out, r, "litesync_checkpoint_errors_total", "counter",
           "Checkpoints of the database by litesync that failed (e.g. its disk is full).",
           [](const DbStatus& d) { return d.checkpoint_error_count; });
  RequestFamily(&out, r, "litesync_replica_requests_total",
                "Requests sent to the replica's storage, by the op it bills (PUT, GET, HEAD, "
                "LIST, DELETE); each attempt of a retried request counts.",
                [](const RequestCounts& c) { return c.sent; });
  RequestFamily(&out, r, "litesync_replica_request_failures_total",
                "Of litesync_replica_requests_total, the requests that failed (no answer, "
                "or an error such as 5xx, throttling or 403).",
                [](const RequestCounts& c) { return c.failed; });
  DbFamily(&out, r, "litesync_database_healthy", "gauge",
           "1 when the database is healthy under the heartbeat rule (synced within the "
           "interval), else 0.",
           [](const DbStatus& d) -> std::optional<int> { return d.healthy ? 1 : 0; });
  HeartbeatFamily(&out, r, "litesync_heartbeat_pings_sent_total", "counter",
                  "Heartbeat pings sent to a target (URL redacted).",
                  [](const HeartbeatRow& h) { return h.pings_sent; });
  HeartbeatFamily(&out, r, "litesync_heartbeat_pings_failed_total", "counter",
                  "Heartbeat pings that failed (URL redacted).",
                  [](const HeartbeatRow& h) { return h.pings_failed; });
  HeartbeatFamily(&out, r, "litesync_heartbeat_withholding", "gauge",
                  "1 while the heartbeat withholds pings because a database is unhealthy.",
                  [](const HeartbeatRow& h) -> std::optional<int> { return h.withholding; });
  Family start(&out, "litesync_process_start_time_seconds", "gauge",
               "Start time of the litesync process since the Unix epoch in seconds.");
  start.Sample({}, FormatValue(absl::ToUnixMillis(process_start) / 1000.0));
  return out;
}

}  // namespace litesync
