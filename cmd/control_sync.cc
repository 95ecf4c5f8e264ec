// POST /sync: `litesync sync [-wait] DBPATH` asks the daemon to sync one database
// now. The body is Litestream's: {"path": "/abs/db", "wait": true, "timeout": 30}.
// A waiting request parks its connection until a replication worker settles it or
// the timeout passes, so the loop keeps serving /status, /metrics and other syncs.
#include <algorithm>
#include <chrono>

#include "base/status.h"
#include "fmt/format.h"

#include "cmd/control_http.h"
#include "cmd/control_server.h"
#include "cmd/control_server_internal.h"
#include "cmd/json.h"
#include "cmd/status_report.h"
#include "replica/format/tx_file_info.h"

namespace litesync {
namespace {

constexpr int kDefaultTimeoutSeconds = 30;  // Litestream's default for -wait
constexpr int kMaxTimeoutSeconds = 24 * 60 * 60;

std::string JsonError(int code, std::string_view message) {
  Json j;
  j["error"] = message;
  return FormatResponse(code, "application/json", DumpJson(j, -1) + "\n");
}

int CodeFor(const absl::Status& s) {
  if (absl::IsNotFound(s)) return 404;
  if (absl::IsInvalidArgument(s)) return 400;
  if (absl::IsAborted(s)) return 503;
  return 500;
}

std::string SyncedResponse(std::string_view status, const std::string& path, uint64_t txid,
                           uint64_t replicated_txid) {
  Json j;
  j["status"] = status;
  j["path"] = path;
  j["txid"] = txid;
  j["replicated_txid"] = replicated_txid;
  return FormatResponse(200, "application/json", DumpJson(j, -1) + "\n");
}

}  // namespace

void ControlServer::HandleSync(Conn* c, std::string_view body) {
  c->writing = true;
  if (!sync_) {
    c->out = JsonError(503, "this litesync does not replicate (no sync available)");
    return;
  }
  absl::StatusOr<Json> req = ParseJson(body);
  if (!req.ok() || !req->is_object()) {
    c->out =
        JsonError(400, "sync: want a JSON object {\"path\": ..., \"wait\": ..., \"timeout\": ...}");
    return;
  }
  const Json& path_j = (*req)["path"];
  const Json& wait_j = req->contains("wait") ? (*req)["wait"] : Json(false);
  const Json& timeout_j = req->contains("timeout") ? (*req)["timeout"] : Json(0);
  if (!path_j.is_string() || path_j.get<std::string>().empty() || !wait_j.is_boolean() ||
      !timeout_j.is_number_integer()) {
    c->out = JsonError(400,
                       "sync: \"path\" (a string), \"wait\" (a boolean) and \"timeout\" "
                       "(whole seconds) are expected");
    return;
  }
  std::string path = path_j.get<std::string>();
  if (path.front() != '/') {
    c->out = JsonError(400, fmt::format("sync: path {} is not absolute", path));
    return;
  }
  if (!wait_j.get<bool>()) {
    if (absl::Status s = sync_(path, nullptr); !s.ok()) {
      c->out = JsonError(CodeFor(s), MessageOf(s));
      return;
    }
    uint64_t txid = 0, replicated = UINT64_MAX;
    for (const SyncRecord& r : records_->Snapshot()) {
      if (r.db != path) continue;
      txid = std::max(txid, r.local_txid);
      replicated = std::min(replicated, r.replicated_txid);
    }
    c->out = SyncedResponse("requested", path, txid, replicated == UINT64_MAX ? 0 : replicated);
    return;
  }
  auto pending = std::make_shared<PendingSync>();
  pending->path = path;
  int64_t timeout = timeout_j.get<int64_t>();
  pending->timeout_seconds = static_cast<int>(
      timeout <= 0 ? kDefaultTimeoutSeconds : std::min<int64_t>(timeout, kMaxTimeoutSeconds));
  absl::Status s = sync_(path, [pending, waker = waker_](const SyncOutcome& outcome) {
    {
      MutexLock lock(&pending->mu);
      pending->done = true;
      pending->outcome = outcome;
    }
    waker->Wake();
  });
  if (!s.ok()) {
    c->out = JsonError(CodeFor(s), MessageOf(s));
    return;
  }
  c->writing = false;
  c->sync = std::move(pending);
  c->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(c->sync->timeout_seconds);
}

void ControlServer::FinishSync(Conn* c) {
  PendingSync& p = *c->sync;
  std::optional<SyncOutcome> outcome;
  {
    MutexLock lock(&p.mu);
    if (p.done) outcome = p.outcome;
  }
  SteadyTime now = std::chrono::steady_clock::now();
  if (!outcome && now < c->deadline) return;
  if (!outcome) {
    c->out = JsonError(504, fmt::format("sync of {}: the replicas did not acknowledge it within "
                                        "{}s (raise -timeout, or see `litesync status`)",
                                        p.path, p.timeout_seconds));
  } else if (!outcome->status.ok()) {
    c->out = JsonError(CodeFor(outcome->status),
                       fmt::format("sync of {}: {}", p.path, MessageOf(outcome->status)));
  } else {
    c->out = SyncedResponse("synced", p.path, outcome->txid, outcome->replicated_txid);
  }
  c->sync.reset();
  c->writing = true;
  c->written = 0;
  c->deadline = now + absl::ToChronoMilliseconds(options_.io_timeout);
}

}  // namespace litesync
