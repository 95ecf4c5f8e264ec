#include "tests/compat/litestream_util.h"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fmt/format.h"
#include <gtest/gtest.h>

namespace litesync::testing {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string VfsWriterScript() {
  return std::string(LITESYNC_TEST_NODE_MODULES) + "/../tools/litestream_vfs_writer.py";
}

// The "content <hash>" line a writer printed.
absl::StatusOr<std::string> ContentLine(int code, const std::string& log) {
  std::string out = ReadText(log);
  size_t at = out.rfind("content ");
  if (code != 0 || at == std::string::npos) {
    return absl::InternalError(fmt::format("litestream_vfs_writer.py exited {}: {}", code, out));
  }
  return out.substr(at + 8, 64);
}

}  // namespace

std::string LitestreamBin() {
  return std::string(LITESYNC_TEST_NODE_MODULES) + "/@flydotio/litestream-linux-x64/litestream";
}

std::string LitestreamVfsExtension() {
  return std::string(LITESYNC_TEST_NODE_MODULES) + "/litestream-vfs-linux-amd64/litestream-vfs.so";
}

Litestream3::Litestream3(const TempDir& dir, const std::string& db, const std::string& replica_yaml)
    : config_(dir.Join("litestream.yml")), log_(dir.Join("litestream.log")) {
  WriteFileOrDie(config_, fmt::format("dbs:\n  - path: {}\n    monitor-interval: 100ms\n"
                                      "    replicas:\n{}        sync-interval: 100ms\n",
                                      db, replica_yaml));
  // AWS_CA_BUNDLE (set on some machines) makes Litestream's AWS SDK load a CA
  // file it does not need for http:// on loopback.
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"/usr/bin/env", "-u", "AWS_CA_BUNDLE", LitestreamBin(), "replicate",
                               "-config", config_},
      log_);
}

Litestream3::~Litestream3() {
  if (process_ != nullptr && process_->Running()) Stop();
}

bool Litestream3::WaitShipped(const std::string& watch_dir) {
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::map<std::string, std::string> last = Snapshot(watch_dir);
  absl::Time stable_since = absl::Now();
  while (absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    std::map<std::string, std::string> now = Snapshot(watch_dir);
    if (now != last) {
      last = std::move(now);
      stable_since = absl::Now();
    } else if (!last.empty() && absl::Now() - stable_since >= absl::Seconds(1)) {
      return true;
    }
  }
  return false;
}

int Litestream3::Stop() {
  process_->Signal(SIGTERM);
  return process_->Wait(absl::Seconds(30));
}

std::string Litestream3::log() const { return ReadText(log_); }

absl::StatusOr<std::string> VfsWrite(const TempDir& dir, const std::string& replica_url, int rows,
                                     int seed, const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {"/usr/bin/env",
                                   "-u",
                                   "AWS_CA_BUNDLE",
                                   "LITESTREAM_REPLICA_URL=" + replica_url,
                                   "LITESTREAM_WRITE_ENABLED=true",
                                   "LITESTREAM_SYNC_INTERVAL=200ms"};
  for (const auto& [k, v] : env) argv.push_back(k + "=" + v);
  // The VFS keeps its write buffer beside the database name it is given.
  for (const std::string& a : {std::string("/usr/bin/python3"), VfsWriterScript(),
                               std::string("write"), LitestreamVfsExtension(), dir.Join("vfs.db"),
                               std::to_string(rows), std::to_string(seed), std::string("1.2")}) {
    argv.push_back(a);
  }
  std::string log = dir.Join(fmt::format("vfs-writer-{}.log", seed));
  int code = RunProcess(argv, absl::Seconds(60), log);
  return ContentLine(code, log);
}

absl::StatusOr<std::string> ContentHashOf(const TempDir& dir, const std::string& db) {
  std::string log = dir.Join("content-hash.log");
  int code =
      RunProcess({"/usr/bin/python3", VfsWriterScript(), "hash", db}, absl::Seconds(60), log);
  return ContentLine(code, log);
}

std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (!it->is_regular_file(ec) || ::stat(it->path().c_str(), &st) != 0) continue;
    out[it->path().string()] =
        fmt::format("{} {}.{:09}", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  }
  return out;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", t, absl::UTCTimeZone());
}

}  // namespace litesync::testing
