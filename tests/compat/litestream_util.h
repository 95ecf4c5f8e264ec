// Litestream's own programs as test peers: the v0.3.13 binary (npm
// @flydotio/litestream-linux-x64) and v0.5.17's VFS extension in write mode (npm
// litestream-vfs-linux-amd64, driven by tests/tools/litestream_vfs_writer.py under
// Debian's /usr/bin/python3). Every child is bounded in time and stopped by its PID.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "tests/testutil/process.h"
#include "tests/testutil/temp_dir.h"

namespace litesync::testing {

std::string LitestreamBin();
std::string LitestreamVfsExtension();

// `litestream replicate` (v0.3.13) of one database to the replica described by
// `replica_yaml` (the lines of one `replicas:` entry, indented by 8), checking the
// database every 100 ms and syncing every 100 ms.
class Litestream3 {
 public:
  Litestream3(const TempDir& dir, const std::string& db, const std::string& replica_yaml);
  ~Litestream3();
  bool running() { return process_ != nullptr && process_->Running(); }
  // Waits until Litestream has shipped what the database holds: no new replica
  // object under `watch_dir` (a directory: the replica's own, or s3rver's data)
  // for a second. False after 30 s.
  bool WaitShipped(const std::string& watch_dir);
  // SIGTERM and wait; its exit code.
  int Stop();
  std::string log() const;

 private:
  std::string config_, log_;
  std::unique_ptr<Process> process_;
};

// Runs v0.5.17's VFS writer once: `rows` rows (seed `seed`) into `db` through the
// VFS, replicated to `replica_url`; `env` adds environment variables (S3
// credentials). Returns the content hash of the database the writer saw.
absl::StatusOr<std::string> VfsWrite(const TempDir& dir, const std::string& replica_url, int rows,
                                     int seed, const std::map<std::string, std::string>& env = {});
// The same content hash of a plain database file (Python's iterdump).
absl::StatusOr<std::string> ContentHashOf(const TempDir& dir, const std::string& db);

// Files under `dir`, recursively, with size and mtime (ns), for "untouched" checks.
std::map<std::string, std::string> Snapshot(const std::string& dir);

// RFC 3339 with nanoseconds, for -timestamp.
std::string Rfc3339(absl::Time t);

}  // namespace litesync::testing
