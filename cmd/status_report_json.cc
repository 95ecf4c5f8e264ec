// RenderJson and ParseStatusJson: the /status schema, version 1 (docs/status.md).
// Unknown values are null; readers ignore members they do not know, so fields
// can be added without a schema bump.
#include <cmath>

#include "base/status.h"
#include "fmt/format.h"

#include "cmd/json.h"
#include "cmd/status_report.h"
#include "replica/format/tx_file_info.h"

namespace litesync {
namespace {

Json OptTime(const std::optional<absl::Time>& t) { return t ? Json(FormatTimestamp(*t)) : Json(); }
Json OptU64(const std::optional<uint64_t>& v) { return v ? Json(*v) : Json(); }
Json OptStr(const std::string& s) { return s.empty() ? Json() : Json(s); }
// A finite number; NaN and infinities (which JSON cannot carry) become null.
Json Number(double d) { return std::isfinite(d) ? Json(d) : Json(); }
Json Strings(const std::vector<std::string>& v) { return Json(v); }

Json DbJson(const DbStatus& d, absl::Time now) {
  Json o = Json::object();
  o["path"] = Json(d.path);
  o["replica"] = Json(d.replica);
  o["state"] = Json(std::string(DbStateName(d.state)));
  o["healthy"] = Json(d.healthy);
  o["reason"] = OptStr(d.reason);
  o["database_exists"] = Json(d.database_exists);
  o["validation_failed"] = Json(d.validation_failed);
  o["last_sync"] = OptTime(d.last_sync);
  o["last_sync_age_seconds"] =
      d.last_sync
          ? Number(absl::ToDoubleSeconds(std::max(now - *d.last_sync, absl::ZeroDuration())))
          : Json();
  o["lineage"] = d.lineage ? Json(LineageName(*d.lineage)) : Json();
  o["local_txid"] = OptU64(d.local_txid);
  o["replicated_txid"] = OptU64(d.replicated_txid);
  o["behind_txns"] = OptU64(d.behind_txns);
  o["behind_bytes"] = OptU64(d.behind_bytes);
  o["lag_seconds"] = d.lag_seconds ? Number(*d.lag_seconds) : Json();
  o["wal_size_bytes"] = d.wal_size ? Json(*d.wal_size) : Json();
  o["last_error"] = OptStr(d.last_error);
  o["last_error_time"] = OptTime(d.last_error_time);
  o["sync_count"] = OptU64(d.sync_count);
  o["sync_error_count"] = OptU64(d.sync_error_count);
  o["bytes_written"] = OptU64(d.bytes_written);
  o["snapshot_count"] = OptU64(d.snapshot_count);
  o["warnings"] = Strings(d.warnings);
  o["checkpoint_error_count"] = OptU64(d.checkpoint_error_count);
  return o;
}

Json HeartbeatJson(const HeartbeatRow& h) {
  Json o = Json::object();
  o["url"] = Json(h.url);
  o["last_ping"] = OptTime(h.last_ping);
  o["last_ok"] = h.last_ok ? Json(*h.last_ok) : Json();
  o["last_result"] = OptStr(h.last_result);
  o["next_due"] = OptTime(h.next_due);
  o["withholding"] = Json(h.withholding);
  o["reasons"] = Strings(h.reasons);
  o["pings_sent"] = OptU64(h.pings_sent);
  o["pings_failed"] = OptU64(h.pings_failed);
  return o;
}

// Field readers: absent or null leaves the optional empty; a wrong type is an error
// naming the field, e.g. `databases[1].local_txid: expected an unsigned integer`.
class FieldReader {
 public:
  FieldReader(const Json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  absl::Status status() const { return status_; }

  const Json* Get(const char* key) {
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
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
    } else if (v->is_string()) {
      *out = v->get<std::string>();
    } else {
      Fail(key, "a string");
    }
  }
  void Bool(const char* key, bool* out) {
    const Json* v = Get(key);
    if (v == nullptr || !v->is_boolean()) return Fail(key, "a boolean");
    *out = v->get<bool>();
  }
  // Absent (a daemon older than the field): left as it is.
  void OptionalBool(const char* key, bool* out) {
    if (const Json* v = Get(key)) {
      if (!v->is_boolean()) return Fail(key, "a boolean");
      *out = v->get<bool>();
    }
  }
  void OptBool(const char* key, std::optional<bool>* out) {
    if (const Json* v = Get(key)) {
      if (!v->is_boolean()) return Fail(key, "a boolean");
      *out = v->get<bool>();
    }
  }
  void U64(const char* key, std::optional<uint64_t>* out) {
    if (const Json* v = Get(key)) {
      if (!v->is_number_unsigned()) return Fail(key, "an unsigned integer");
      *out = v->get<uint64_t>();
    }
  }
  void Double(const char* key, std::optional<double>* out) {
    if (const Json* v = Get(key)) {
      if (!v->is_number()) return Fail(key, "a number");
      *out = v->get<double>();
    }
  }
  void Time(const char* key, std::optional<absl::Time>* out) {
    if (const Json* v = Get(key)) {
      std::optional<absl::Time> t =
          v->is_string() ? ParseTimestamp(v->get<std::string>()) : std::nullopt;
      if (!t) return Fail(key, "an RFC 3339 UTC time");
      *out = t;
    }
  }
  void Strings(const char* key, std::vector<std::string>* out) {
    const Json* v = Get(key);
    if (v == nullptr) return;
    if (!v->is_array()) return Fail(key, "an array of strings");
    for (const Json& item : *v) {
      if (!item.is_string()) return Fail(key, "an array of strings");
      out->push_back(item.get<std::string>());
    }
  }

 private:
  const Json& obj_;
  std::string where_;
  absl::Status status_;
};

absl::StatusOr<DbStatus> ParseDb(const Json& j, const std::string& where) {
  if (!j.is_object()) {
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
  r.OptionalBool("validation_failed", &d.validation_failed);
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
  if (!j.is_object()) {
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
  Json o = Json::object();
  o["schema"] = Json(report.schema);
  o["source"] = Json(report.source);
  o["generated_at"] = Json(FormatTimestamp(report.generated_at));
  o["started_at"] = OptTime(report.started_at);
  o["interval_seconds"] = Number(absl::ToDoubleSeconds(report.interval));
  o["healthy"] = Json(report.healthy);
  o["notes"] = Strings(report.notes);
  Json& dbs = o["databases"] = Json::array();
  for (const DbStatus& d : report.databases) dbs.push_back(DbJson(d, report.generated_at));
  Json& hb = o["heartbeat"] = Json::array();
  for (const HeartbeatRow& h : report.heartbeat) hb.push_back(HeartbeatJson(h));
  return DumpJson(o) + "\n";
}

absl::StatusOr<StatusReport> ParseStatusJson(std::string_view text) {
  LS_ASSIGN_OR_RETURN(Json j, ParseJson(text));
  if (!j.is_object()) return absl::InvalidArgumentError("expected an object");
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
  auto dbs = j.find("databases");
  if (dbs == j.end() || !dbs->is_array()) {
    return absl::InvalidArgumentError("databases: expected an array");
  }
  for (size_t i = 0; i < dbs->size(); ++i) {
    LS_ASSIGN_OR_RETURN(DbStatus d, ParseDb((*dbs)[i], fmt::format("databases[{}]", i)));
    report.databases.push_back(std::move(d));
  }
  if (auto hb = j.find("heartbeat"); hb != j.end() && !hb->is_null()) {
    if (!hb->is_array()) return absl::InvalidArgumentError("heartbeat: expected an array");
    for (size_t i = 0; i < hb->size(); ++i) {
      LS_ASSIGN_OR_RETURN(HeartbeatRow h,
                          ParseHeartbeat((*hb)[i], fmt::format("heartbeat[{}]", i)));
      report.heartbeat.push_back(std::move(h));
    }
  }
  return report;
}

}  // namespace litesync
