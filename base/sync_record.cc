#include "base/sync_record.h"

namespace litesync {

std::vector<SyncRecord> SyncRegistry::Snapshot() const {
  MutexLock lock(&mu_);
  std::vector<SyncRecord> out;
  out.reserve(records_.size());
  for (const auto& [key, r] : records_) out.push_back(r);
  return out;
}

void SyncRegistry::Register(const std::string& db, const std::string& replica) {
  MutexLock lock(&mu_);
  SyncRecord& r = records_[{db, replica}];
  r.db = db;
  r.replica = replica;
}

void SyncRegistry::Remove(const std::string& db) {
  MutexLock lock(&mu_);
  for (auto it = records_.begin(); it != records_.end();) {
    it = it->first.first == db ? records_.erase(it) : std::next(it);
  }
}

}  // namespace litesync
