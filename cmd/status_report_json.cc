// RenderJson and ParseStatusJson: the /status schema, version 1 (docs/status.md).
// Unknown values are null; readers ignore members they do not know, so fields
// can be added without a schema bump.
#include "base/status.h"
#include "fmt/format.h"

#include "cmd/status_json.h"
#include "cmd/status_report.h"
#include "replica/format/tx_file_info.h"

namespace litesync {
namespace {

Json OptTime(const std::optional<absl::Time>& t) {
  return t ? Json::String(FormatTimestamp(*t)) : Json();
}
Json OptU64(const std::optional<uint64_t>& v) { return v ? Json::Unsigned(*v) : Json(); }
Json OptStr(const std::string& s) { return s.empty() ? Json() : Json::String(s); }
Json Strings(const std::vector<std::string>& v) {
  Json a = Json::Array();
  for (const std::string& s : v) a.Push(Json::String(s));
  return a;
}

Json DbJson(const DbStatus& d, absl::Time now) {
  Json o = Json::Object();
  o.Set("path", Json::String(d.path));
  o.Set("replica", Json::String(d.replica));
  o.Set("state", Json::String(std::string(DbStateName(d.state))));
  o.Set("healthy", Json::Bool(d.healthy));
  o.Set("reason", OptStr(d.reason));
  o.Set("database_exists", Json::Bool(d.database_exists));
  o.Set("last_sync", OptTime(d.last_sync));
  o.Set("last_sync_age_seconds", d.last_sync ? Json::Number(absl::ToDoubleSeconds(std::max(
                                                   now - *d.last_sync, absl::ZeroDuration())))
                                             : Json());
  o.Set("lineage", d.lineage ? Json::String(LineageName(*d.lineage)) : Json());
  o.Set("local_txid", OptU64(d.local_txid));
  o.Set("replicated_txid", OptU64(d.replicated_txid));
  o.Set("behind_txns", OptU64(d.behind_txns));
  o.Set("behind_bytes", OptU64(d.behind_bytes));
  o.Set("lag_seconds", d.lag_seconds ? Json::Number(*d.lag_seconds) : Json());
  o.Set("wal_size_bytes", d.wal_size ? Json::Integer(*d.wal_size) : Json());
  o.Set("last_error", OptStr(d.last_error));
  o.Set("last_error_time", OptTime(d.last_error_time));
  o.Set("sync_count", OptU64(d.sync_count));
  o.Set("sync_error_count", OptU64(d.sync_error_count));
  o.Set("bytes_written", OptU64(d.bytes_written));
  o.Set("snapshot_count", OptU64(d.snapshot_count));
  o.Set("warnings", Strings(d.warnings));
  o.Set("checkpoint_error_count", OptU64(d.checkpoint_error_count));
  return o;
}

Json HeartbeatJson(const HeartbeatRow& h) {
  Json o = Json::Object();
  o.Set("url", Json::String(h.url));
  o.Set("last_ping", OptTime(h.last_ping));
  o.Set("last_ok", h.last_ok ? Json::Bool(*h.last_ok) : Json());
  o.Set("last_result", OptStr(h.last_result));
  o.Set("next_due", OptTime(h.next_due));
  o.Set("withholding", Json::Bool(h.withholding));
  o.Set("reasons", Strings(h.reasons));
  o.Set("pings_sent", OptU64(h.pings_sent));
  o.Set("pings_failed", OptU64(h.pings_failed));
  return o;
}

// Field readers: absent or null leaves the optional empty; a wrong type is an error
// naming the field, e.g. `databases[1].local_txid: expected an unsigned integer`.
class FieldReader {
 public:
  FieldReader(const Json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  absl::Status status() const { return status_; }

  const Json* Get(const char* key) {
    const Json* v = obj_.Find(key);
    return v == nullptr || v->is_null() ? nullptr : v;
  }
  void Fail(const char* key, const char* what) {
    if (status_.ok()) {
      status_ = absl::InvalidArgumentError(fmt::format("{}{}: expected {}", where_, key, what));
    }
  }
  void Str(const char* key, std::string* out, bool required = false) {
    const Json* v = Get(key);
    if (v == nullptr) {
      if (required) Fail(key, "a string");
    } else if (auto s = v->AsString()) {
      *out = *s;
    } else {
      Fail(key, "a string");
    }
  }
  void Bool(const char* key, bool* out) {
    const Json* v = Get(key);
    if (v == nullptr || !v->AsBool()) return Fail(key, "a boolean");
    *out = *v->AsBool();
  }
  void OptBool(const char* key, std::optional<bool>* out) {
    if (const Json* v = Get(key)) {
      if (!v->AsBool()) return Fail(key, "a boolean");
      *out = *v->AsBool();
    }
  }
  void U64(const char* key, std::optional<uint64_t>* out) {
    if (const Json* v = Get(key)) {
      if (!v->AsUint64()) return Fail(key, "an unsigned integer");
      *out = *v->AsUint64();
    }
  }
  void Double(const char* key, std::optional<double>* out) {
    if (const Json* v = Get(key)) {
      if (!v->AsDouble()) return Fail(key, "a number");
      *out = *v->AsDouble();
    }
  }
  void Time(const char* key, std::optional<absl::Time>* out) {
    if (const Json* v = Get(key)) {
      std::optional<absl::Time> t = v->AsString() ? ParseTimestamp(*v->AsString()) : std::nullopt;
      if (!t) return Fail(key, "an RFC 3339 UTC time");
      *out = t;
    }
  }
  void Strings(const char* key, std::vector<std::string>* out) {
    const Json* v = Get(key);
    if (v == nullptr) return;
    if (v->type() != Json::Type::kArray) return Fail(key, "an array of strings");
    for (const Json& item : v->items()) {
      if (!item.AsString()) return Fail(key, "an array of strings");
      out->push_back(*item.AsString());
    }
  }

 private:
  const Json& obj_;
  std::string where_;
  absl::Status status_;
};

absl::StatusOr<DbStatus> ParseDb(const Json& j, const std::string& where) {
  if (j.type() != Json::Type::kObject) {
    return absl::InvalidArgumentError(where + ": expected an object");
  }
  DbStatus d;
  FieldReader r(j, where + ".");
  std::string state, lineage;
  r.Str("path", &d.path, /*required=*/true);
  r.Str("replica", &d.replica, /*required=*/true);
  r.Str("state", &state, /*required=*/true);
  r.Bool("healthy", &d.healthy);
  r.Str("reason", &d.reason);
  r.Bool("database_exists", &d.database_exists);
  r.Time("last_sync", &d.last_sync);
  r.Str("lineage", &lineage);
  r.U64("local_txid", &d.local_txid);
  r.U64("replicated_txid", &d.replicated_txid);
  r.U64("behind_txns", &d.behind_txns);
  r.U64("behind_bytes", &d.behind_bytes);
  r.Double("lag_seconds", &d.lag_seconds);
  std::optional<uint64_t> wal;
  r.U64("wal_size_bytes", &wal);
  r.Str("last_error", &d.last_error);
  r.Time("last_error_time", &d.last_error_time);
  r.U64("sync_count", &d.sync_count);
  r.U64("sync_error_count", &d.sync_error_count);
  r.U64("bytes_written", &d.bytes_written);
  r.U64("snapshot_count", &d.snapshot_count);
  r.Strings("warnings", &d.warnings);
  r.U64("checkpoint_error_count", &d.checkpoint_error_count);
  LS_RETURN_IF_ERROR(r.status());
  if (wal) d.wal_size = static_cast<int64_t>(*wal);
  std::optional<DbState> s = ParseDbState(state);
  if (!s)
    return absl::InvalidArgumentError(fmt::format("{}.state: unknown state \"{}\"", where, state));
  d.state = *s;
  if (!lineage.empty()) {
    d.lineage = ParseLineageName(lineage);
    if (!d.lineage) return absl::InvalidArgumentError(where + ".lineage: expected 16 hex digits");
  }
  return d;
}

absl::StatusOr<HeartbeatRow> ParseHeartbeat(const Json& j, const std::string& where) {
  if (j.type() != Json::Type::kObject) {
    return absl::InvalidArgumentError(where + ": expected an object");
  }
  HeartbeatRow h;
  FieldReader r(j, where + ".");
  r.Str("url", &h.url, /*required=*/true);
  r.Time("last_ping", &h.last_ping);
  r.OptBool("last_ok", &h.last_ok);
  r.Str("last_result", &h.last_result);
  r.Time("next_due", &h.next_due);
  r.Bool("withholding", &h.withholding);
  r.Strings("reasons", &h.reasons);
  r.U64("pings_sent", &h.pings_sent);
  r.U64("pings_failed", &h.pings_failed);
  LS_RETURN_IF_ERROR(r.status());
  return h;
}

}  // namespace

std::string RenderJson(const StatusReport& report) {
  Json o = Json::Object();
  o.Set("schema", Json::Integer(report.schema));
  o.Set("source", Json::String(report.source));
  o.Set("generated_at", Json::String(FormatTimestamp(report.generated_at)));
  o.Set("started_at", OptTime(report.started_at));
  o.Set("interval_seconds", Json::Number(absl::ToDoubleSeconds(report.interval)));
  o.Set("healthy", Json::Bool(report.healthy));
  o.Set("notes", Strings(report.notes));
  Json& dbs = o.Set("databases", Json::Array());
  for (const DbStatus& d : report.databases) dbs.Push(DbJson(d, report.generated_at));
  Json& hb = o.Set("heartbeat", Json::Array());
  for (const HeartbeatRow& h : report.heartbeat) hb.Push(HeartbeatJson(h));
  return o.Dump() + "\n";
}

absl::StatusOr<StatusReport> ParseStatusJson(std::string_view text) {
  LS_ASSIGN_OR_RETURN(Json j, ParseJson(text));
  if (j.type() != Json::Type::kObject) return absl::InvalidArgumentError("expected an object");
  StatusReport report;
  FieldReader r(j, "");
  std::optional<uint64_t> schema;
  r.U64("schema", &schema);
  LS_RETURN_IF_ERROR(r.status());
  if (schema != std::optional<uint64_t>(kStatusSchemaVersion)) {
    return absl::InvalidArgumentError(fmt::format("schema: unsupported version {} (want {})",
                                                  schema ? fmt::format("{}", *schema) : "null",
                                                  kStatusSchemaVersion));
  }
  std::optional<absl::Time> generated;
  std::optional<double> interval;
  r.Str("source", &report.source, /*required=*/true);
  r.Time("generated_at", &generated);
  r.Time("started_at", &report.started_at);
  r.Double("interval_seconds", &interval);
  r.Bool("healthy", &report.healthy);
  r.Strings("notes", &report.notes);
  LS_RETURN_IF_ERROR(r.status());
  if (!generated) return absl::InvalidArgumentError("generated_at: expected an RFC 3339 UTC time");
  if (!interval) return absl::InvalidArgumentError("interval_seconds: expected a number");
  report.generated_at = *generated;
  report.interval = absl::Seconds(*interval);
  const Json* dbs = j.Find("databases");
  if (dbs == nullptr || dbs->type() != Json::Type::kArray) {
    return absl::InvalidArgumentError("databases: expected an array");
  }
  for (size_t i = 0; i < dbs->items().size(); ++i) {
    LS_ASSIGN_OR_RETURN(DbStatus d, ParseDb(dbs->items()[i], fmt::format("databases[{}]", i)));
    report.databases.push_back(std::move(d));
  }
  if (const Json* hb = j.Find("heartbeat"); hb != nullptr && !hb->is_null()) {
    if (hb->type() != Json::Type::kArray)
      return absl::InvalidArgumentError("heartbeat: expected an array");
    for (size_t i = 0; i < hb->items().size(); ++i) {
      LS_ASSIGN_OR_RETURN(HeartbeatRow h,
                          ParseHeartbeat(hb->items()[i], fmt::format("heartbeat[{}]", i)));
      report.heartbeat.push_back(std::move(h));
    }
  }
  return report;
}

}  // namespace litesync
