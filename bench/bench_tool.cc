// bench_tool: the measuring side of bench/run.sh. Subcommands:
//   bench_tool watch ROOT EVENTS            record files appearing under ROOT (dir_watch.h)
//   bench_tool s3proxy UPSTREAM_PORT STRIP EVENTS   record acknowledged S3 object writes
//                                           (s3_log_proxy.h)
//   bench_tool lag-litesync WRITER_LOG EVENTS REPLICA FINAL_SEQ
//   bench_tool lag-litestream WRITER_LOG EVENTS REPLICA DB     (lag_report.h)
//   bench_tool seq DB                        print test_writer's seq in DB (read-only)
//   bench_tool check DB                      "ok <seq>" if PRAGMA integrity_check passes
//   bench_tool lz4cat FILE                   decode an LZ4 frame file to stdout (self-check)
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/dir_watch.h"
#include "bench/lag_report.h"
#include "bench/lz4_frame.h"
#include "bench/s3_log_proxy.h"
#include <sqlite3.h>

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: bench_tool watch ROOT EVENTS | s3proxy UPSTREAM_PORT STRIP EVENTS |\n"
               "       lag-litesync LOG EVENTS REPLICA FINAL_SEQ |\n"
               "       lag-litestream LOG EVENTS REPLICA DB | seq DB | check DB | lz4cat FILE\n");
  return 2;
}

int PrintSeq(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 10000);
    rc = sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k='seq'", -1, &stmt, nullptr);
  }
  if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    std::printf("%lld\n", static_cast<long long>(sqlite3_column_int64(stmt, 0)));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return 0;
  }
  std::fprintf(stderr, "bench_tool: %s: %s\n", path.c_str(), db ? sqlite3_errmsg(db) : "open");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return 1;
}

// "ok <seq>" when PRAGMA integrity_check passes, else its first message (exit 1).
int Check(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  std::string result = "unreadable";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  } else if (db != nullptr) {
    result = sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (result != "ok") {
    std::printf("integrity_check: %s\n", result.c_str());
    return 1;
  }
  std::printf("ok ");
  std::fflush(stdout);
  return PrintSeq(path);
}

int Lz4Cat(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto out = litesync::bench::Lz4FrameDecode(ss.str());
  if (!in || !out) {
    std::fprintf(stderr, "bench_tool: %s: not an LZ4 frame file\n", path.c_str());
    return 1;
  }
  std::fwrite(out->data(), 1, out->size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  std::string cmd = argv[1];
  if (cmd == "watch" && argc == 4) return litesync::bench::WatchTree(argv[2], argv[3]);
  if (cmd == "s3proxy" && argc == 5) {
    return litesync::bench::RunS3LogProxy(std::stoi(argv[2]), argv[3], argv[4]);
  }
  if (cmd == "lag-litesync" && argc == 6) {
    return litesync::bench::LagLitesync(argv[2], argv[3], argv[4], std::stoll(argv[5]));
  }
  if (cmd == "lag-litestream" && argc == 6) {
    return litesync::bench::LagLitestream(argv[2], argv[3], argv[4], argv[5]);
  }
  if (cmd == "seq" && argc == 3) return PrintSeq(argv[2]);
  if (cmd == "check" && argc == 3) return Check(argv[2]);
  if (cmd == "lz4cat" && argc == 3) return Lz4Cat(argv[2]);
  return Usage();
}
