#include "tests/monitor/monitor_util.h"

#include <algorithm>
#include <filesystem>

#include "fmt/format.h"
#include <gtest/gtest.h>

#include "tests/cmd/cli_util.h"

namespace litesync::testing {

std::string WriteAndSyncOnce(const TempDir& dir, const std::string& db, const std::string& replica,
                             int txns, int seed, const std::string& extra) {
  if (std::string err = WriteTxns(db, txns, seed, dir.Join(fmt::format("writer-{}.log", seed)));
      !err.empty()) {
    return err;
  }
  const std::string config = dir.Join("sync-once.yml");
  const char* key = replica.find("://") == std::string::npos ? "path" : "url";
  WriteFileOrDie(config, fmt::format("dbs:\n  - path: {}\n    replica:\n      {}: {}\n{}\n", db,
                                     key, replica, extra));
  Cli cli(dir);
  CliResult r = cli.Run({"replicate", "-config", config, "-once"});
  if (r.code != 0) return fmt::format("replicate -once exited {}:\n{}", r.code, r.output);
  return "";
}

std::vector<std::string> TxFilePaths(const std::string& replica_dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(replica_dir)) {
    if (e.is_regular_file() && e.path().extension() == ".ltx") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void FlipBit(const std::string& path) {
  std::string bytes = ReadFileOrDie(path);
  ASSERT_GT(bytes.size(), 200u) << path;
  bytes[bytes.size() / 2] ^= 0x10;
  WriteFileOrDie(path, bytes);
}

}  // namespace litesync::testing
