#include "replica/engine/replicator.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/mutex.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/engine/db_watcher.h"
#include "replica/storage/writer_cache.h"

namespace litesync {

// Watchers wait in a schedule ordered by due time; a worker takes the earliest
// due one, runs its Step outside the lock, and puts it back. A watcher is never
// run by two workers at once because it is out of the schedule while it runs.
struct Replicator::Impl {
  Impl(SyncRegistry* r, Clock* c, ReplicatorOptions o) : registry(r), clock(c), options(o) {}
  SyncRegistry* registry;
  Clock* clock;
  ReplicatorOptions options;

  mutable Mutex mu;
  // Signalled whenever the schedule, `running` or `stopping` changes.
  std::condition_variable changed;
  std::map<std::string, std::unique_ptr<DbWatcher>> watchers ABSL_GUARDED_BY(mu);
  std::multimap<absl::Time, DbWatcher*> schedule ABSL_GUARDED_BY(mu);
  std::map<DbWatcher*, bool> running ABSL_GUARDED_BY(mu);  // taken out of the schedule
  bool started ABSL_GUARDED_BY(mu) = false;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  std::vector<std::thread> threads;
  SyncRequests syncs ABSL_GUARDED_BY(mu);                     // `sync -wait` requests
  std::map<DbWatcher*, bool> step_again ABSL_GUARDED_BY(mu);  // asked to sync while running
  std::map<DbWatcher*, bool> sync_now ABSL_GUARDED_BY(mu);    // its next step is a sync request

  // After a step of `w` that began at `began`: settles its waiting syncs and
  // returns when it should run next.
  absl::Time AfterStep(DbWatcher* w, absl::Time began, absl::Time next);

  void Work();
  void Unschedule(DbWatcher* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (auto it = schedule.begin(); it != schedule.end(); ++it) {
      if (it->second == w) {
        schedule.erase(it);
        return;
      }
    }
  }
};

void Replicator::Impl::Work() {
  while (true) {
    DbWatcher* w = nullptr;
    bool sync_requested = false;
    {
      MutexLock lock(&mu);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
        return stopping || (!schedule.empty() && schedule.begin()->first <= clock->Now());
      };
      // Sleep until the earliest due time, no polling: Add, Remove and Stop change
      // the schedule under `mu`, and releasing it re-evaluates ready(). The bound
      // only matters for a clock that jumps ahead of real time (tests).
      while (!ready()) {
        if (schedule.empty()) {
          changed.wait(lock.native());
          continue;
        }
        absl::Duration wait = std::clamp(schedule.begin()->first - clock->Now(),
                                         absl::Milliseconds(1), absl::Seconds(1));
        changed.wait_for(lock.native(), absl::ToChronoNanoseconds(wait));
      }
      if (stopping) return;
      w = schedule.begin()->second;
      schedule.erase(schedule.begin());
      running[w] = true;
      sync_requested = sync_now.erase(w) != 0;
    }
    absl::Time began = clock->Now();
    absl::Time next = AfterStep(w, began, w->Step(sync_requested));
    MutexLock lock(&mu);
    running.erase(w);
    if (!stopping && watchers.count(w->path()) != 0) schedule.emplace(next, w);
    changed.notify_all();
  }
}

absl::Time Replicator::Impl::AfterStep(DbWatcher* w, absl::Time began, absl::Time next) {
  std::vector<std::pair<SyncDone, SyncOutcome>> settled;
  {
    MutexLock lock(&mu);
    if (step_again.erase(w) != 0) next = clock->Now();
    if (!syncs.Pending(w->path())) return next;
  }
  std::vector<SyncRecord> records;  // the registry's lock is never taken under `mu`
  for (SyncRecord& r : registry->Snapshot()) {
    if (r.db == w->path()) records.push_back(std::move(r));
  }
  {
    MutexLock lock(&mu);
    settled = syncs.Settle(w->path(), began, records);
    // Still shipping: look again soon rather than at the next sync interval.
    if (syncs.Pending(w->path())) next = std::min(next, clock->Now() + absl::Milliseconds(100));
  }
  for (auto& [done, outcome] : settled) done(outcome);
  return next;
}

Replicator::Replicator(SyncRegistry* registry, Clock* clock, ReplicatorOptions options)
    : impl_(new Impl(registry, clock, options)) {}

Replicator::~Replicator() { (void)Stop(); }

absl::Status Replicator::Add(const DbOptions& db) {
  MutexLock lock(&impl_->mu);
  if (impl_->stopping) return absl::FailedPreconditionError("replicator is stopping");
  if (impl_->watchers.count(db.path) != 0) {
    return absl::InvalidArgumentError(fmt::format("database {} is configured twice", db.path));
  }
  // The daemon is its replicas' only writer (the lease): its clients remember
  // what they listed and keep copies of the files compaction will read.
  std::string dir = std::filesystem::path(db.path).parent_path().string();
  auto new_client =
      [dir](const ReplicaOptions& ro) -> absl::StatusOr<std::unique_ptr<ReplicaClient>> {
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ReplicaClient> client, NewReplicaClient(ro));
    return NewWriterCache(std::move(client), WriterCacheOptions{.scratch_dir = dir});
  };
  auto w = std::make_unique<DbWatcher>(db, impl_->registry, impl_->clock, new_client);
  impl_->schedule.emplace(impl_->clock->Now(), w.get());
  impl_->watchers.emplace(db.path, std::move(w));
  impl_->changed.notify_all();
  return absl::OkStatus();
}

absl::Status Replicator::Remove(const std::string& path) {
  std::unique_ptr<DbWatcher> w;
  std::vector<std::pair<SyncDone, SyncOutcome>> cancelled;
  {
    MutexLock lock(&impl_->mu);
    auto it = impl_->watchers.find(path);
    if (it == impl_->watchers.end()) {
      return absl::NotFoundError(fmt::format("database {} is not replicated", path));
    }
    DbWatcher* raw = it->second.get();
    impl_->Unschedule(raw);
    auto not_running = [this, raw]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl_->mu) {
      return impl_->running.count(raw) == 0;
    };
    impl_->changed.notify_all();  // a worker waiting on this watcher's due time
    while (!not_running()) impl_->changed.wait(lock.native());
    // A step that was running when Remove began put the watcher back in the
    // schedule when it finished (the watcher was still listed): take it out again,
    // or a worker would step it after it is gone.
    impl_->Unschedule(raw);
    w = std::move(it->second);
    impl_->watchers.erase(it);
    impl_->step_again.erase(raw);
    impl_->sync_now.erase(raw);
    cancelled = impl_->syncs.Cancel(
        path, absl::AbortedError(fmt::format("database {} stopped being replicated", path)));
  }
  for (auto& [done, outcome] : cancelled) done(outcome);
  absl::Status s = w->FinalSync(absl::Now() + impl_->options.final_sync_deadline);
  impl_->registry->Remove(path);
  return s;
}

std::vector<std::string> Replicator::Paths() const {
  MutexLock lock(&impl_->mu);
  std::vector<std::string> out;
  for (const auto& [path, w] : impl_->watchers) out.push_back(path);
  return out;
}

absl::Status Replicator::RequestSync(const std::string& path, SyncDone done) {
  MutexLock lock(&impl_->mu);
  auto it = impl_->watchers.find(path);
  if (it == impl_->watchers.end() || impl_->stopping) {
    std::vector<std::string> paths;
    for (const auto& [p, w] : impl_->watchers) paths.push_back(p);
    return absl::NotFoundError(
        fmt::format("database {} is not replicated by this litesync (it replicates: {})", path,
                    paths.empty() ? "no databases" : absl::StrJoin(paths, ", ")));
  }
  DbWatcher* w = it->second.get();
  absl::Time now = impl_->clock->Now();
  if (done) impl_->syncs.Add(path, now, std::move(done));
  impl_->sync_now[w] = true;
  if (impl_->running.count(w) != 0) {
    impl_->step_again[w] = true;
  } else {
    impl_->Unschedule(w);
    impl_->schedule.emplace(now, w);
    impl_->changed.notify_all();
  }
  return absl::OkStatus();
}

void Replicator::Start() {
  MutexLock lock(&impl_->mu);
  if (impl_->started) return;
  impl_->started = true;
  int n = std::max(1, impl_->options.workers);
  for (int i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->Work(); });
}

absl::Status Replicator::Stop() {
  {
    MutexLock lock(&impl_->mu);
    if (impl_->stopping) return absl::OkStatus();
    impl_->stopping = true;
    impl_->changed.notify_all();
  }
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  // Final syncs, one database after another, under one overall deadline.
  absl::Time deadline = absl::Now() + impl_->options.final_sync_deadline;
  absl::Status result;
  std::map<std::string, std::unique_ptr<DbWatcher>> watchers;
  std::vector<std::pair<SyncDone, SyncOutcome>> cancelled;
  {
    MutexLock lock(&impl_->mu);
    watchers.swap(impl_->watchers);
    impl_->schedule.clear();
    impl_->step_again.clear();
    impl_->sync_now.clear();
    cancelled = impl_->syncs.Cancel("", absl::AbortedError("litesync is shutting down"));
  }
  for (auto& [done, outcome] : cancelled) done(outcome);
  for (auto& [path, w] : watchers) {
    absl::Status s = w->FinalSync(deadline);
    if (s.ok()) {
      LogInfo("final sync done", {{"db", path}, {"txid", TxidString(w->txid())}});
    } else {
      LogError("final sync failed", {{"db", path}, {"err", s}});
      if (result.ok()) result = s;
    }
  }
  return result;
}

}  // namespace litesync
