// The open-file budget of `litesync replicate`: every replicated database holds
// kFdsPerDatabase descriptors for as long as it is replicated (three SQLite
// connections with the database and its WAL open, and one shared -shm), so
// 1,000 databases need ~7,000 while a soft RLIMIT_NOFILE is often 1,024.
// Main thread only.
#pragma once

#include <sys/resource.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace litesync {

inline constexpr uint64_t kFdsPerDatabase = 7;
// Besides the databases: stdio, the control socket and its clients, HTTP
// connections, replica files being written, compaction and restore scratch files.
inline constexpr uint64_t kFdsReserved = 64;

// Descriptors `dbs` databases need, reserve included.
inline uint64_t FdsNeeded(size_t dbs) { return dbs * kFdsPerDatabase + kFdsReserved; }

// Raises the soft RLIMIT_NOFILE to the hard limit (logged at INFO when it
// changed, DEBUG when it already was) and returns the soft limit in force
// afterwards; RLIM_INFINITY when unlimited.
rlim_t RaiseFdLimit();

// Warns once when the databases replicated need more descriptors than `limit`,
// naming the limit and how to raise it; warns again only after the count went
// back under the limit and over it again.
class FdBudget {
 public:
  explicit FdBudget(rlim_t limit) : limit_(limit) {}
  void Check(size_t dbs);
  bool warned() const { return warned_; }

 private:
  rlim_t limit_;
  bool warned_ = false;
};

}  // namespace litesync
