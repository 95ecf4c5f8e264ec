#include "heartbeat/health.h"

#include <algorithm>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "base/time_format.h"
#include "fmt/format.h"

namespace litesync {
namespace {

std::string Message(const absl::Status& s) {
  return std::string(s.message().data(), s.message().size());
}

}  // namespace

DbProblem CheckRecord(const SyncRecord& r, absl::Time now, absl::Duration interval) {
  DbProblem p;
  if (r.SyncedOnce()) p.last_sync_age = std::max(now - r.last_success, absl::ZeroDuration());
  if (r.database_missing) {
    p.reason = "database missing";
  } else if (r.validation_failed) {
    p.reason = "validation failed";
    if (!r.last_error.ok()) p.error = Message(r.last_error);
  } else if (!r.SyncedOnce() || p.last_sync_age > interval) {
    if (!r.last_error.ok()) {
      p.reason = "sync error";
      p.error = Message(r.last_error);
    } else {
      p.reason = r.SyncedOnce() ? "last sync too old" : "never synced";
    }
  } else {
    return p;
  }
  p.db = r.db;
  p.replica = r.replica;
  return p;
}

namespace {

struct Slot {
  bool seen = false;
};

}  // namespace

absl::Duration EffectiveInterval(const HeartbeatTarget& target) {
  return std::max(target.interval, kMinHeartbeatInterval);
}

std::string DbProblem::Describe(absl::Duration interval) const {
  std::string who = replica.empty() ? db : fmt::format("{} ({})", db, replica);
  std::string age = last_sync_age == absl::InfiniteDuration()
                        ? std::string("never synced")
                        : fmt::format("last sync {} ago", FormatAge(last_sync_age));
  std::string iv = FormatAge(interval);
  if (reason == "last sync too old") {
    return fmt::format("{}: last sync too old ({} ago, interval {})", who, FormatAge(last_sync_age),
                       iv);
  }
  if (reason == "sync error") {
    return fmt::format("{}: sync error: {} ({}, interval {})", who, error, age, iv);
  }
  if (reason == "validation failed" && !error.empty()) {
    return fmt::format("{}: validation failed: {}", who, error);
  }
  if (reason == "no databases") return "no databases to replicate";
  return fmt::format("{}: {}", who, reason);
}

Verdict Evaluate(std::span<const SyncRecord> records, absl::Time now, absl::Duration interval,
                 std::span<const std::string> databases) {
  Verdict v;
  const bool subset = !databases.empty();
  absl::flat_hash_map<std::string_view, Slot> slots;
  slots.reserve(subset ? databases.size() : records.size());
  for (const std::string& name : databases) slots.try_emplace(name);

  for (const SyncRecord& r : records) {
    Slot* slot;
    if (subset) {
      auto it = slots.find(r.db);
      if (it == slots.end()) continue;
      slot = &it->second;
    } else {
      slot = &slots[r.db];
    }
    if (!slot->seen) {
      slot->seen = true;
      ++v.databases;
    }
    absl::Duration lag = r.SyncedOnce() ? std::max(now - r.last_success, absl::ZeroDuration())
                                        : absl::InfiniteDuration();
    v.worst_lag = std::max(v.worst_lag, lag);
    DbProblem p = CheckRecord(r, now, interval);
    if (!p.reason.empty()) v.problems.push_back(std::move(p));
  }
  // Configured names in configuration order (the map has no order).
  for (const std::string& name : databases) {
    Slot& slot = slots[name];
    if (slot.seen) continue;
    slot.seen = true;  // a name listed twice is reported once
    DbProblem p;
    p.db = name;
    p.reason = "database not configured";
    v.problems.push_back(std::move(p));
  }
  if (v.databases == 0 && v.problems.empty()) {
    DbProblem p;
    p.reason = "no databases";
    v.problems.push_back(std::move(p));
  }
  v.healthy = v.problems.empty();
  v.reasons.reserve(v.problems.size());
  for (const DbProblem& p : v.problems) v.reasons.push_back(p.Describe(interval));
  return v;
}

Verdict Evaluate(std::span<const SyncRecord> records, absl::Time now,
                 const HeartbeatTarget& target) {
  return Evaluate(records, now, EffectiveInterval(target), target.databases);
}

std::string Summarize(const Verdict& verdict) {
  if (verdict.healthy) return "OK";
  if (verdict.reasons.size() == 1) return verdict.reasons[0];
  std::string out = fmt::format("{} problems:", verdict.reasons.size());
  for (size_t i = 0; i < verdict.reasons.size(); ++i) {
    out += i == 0 ? " " : "; ";
    out += verdict.reasons[i];
  }
  return out;
}

}  // namespace litesync
