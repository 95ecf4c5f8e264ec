// test_writer: plays the application in tests and benchmarks. It writes a
// database through the ordinary SQLite API (the same fixed SQLite litesync links)
// in its own process, and can log, after every commit, "seq hash unix_ns".
//
//   test_writer DB [-txns N] [-duration SEC] [-rate TPS] [-seed S] [-log FILE]
//                  [-mode random|insert] [-vacuum-every N] [-alter-at SEQ]
//                  [-payload BYTES] [-autocheckpoint N]
//   test_writer DB -checkpoint MODE     (PASSIVE|FULL|RESTART|TRUNCATE, then exit)
//
// random: each transaction inserts, updates and deletes rows of items(id, val,
// data BLOB) with blobs up to ~3 pages (overflow pages); every -vacuum-every
// transactions a VACUUM shrinks the file; at -alter-at a column is added.
// insert: one row of -payload bytes per transaction (benchmarks).
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include <sqlite3.h>

#include "tests/tools/content_hash.h"

namespace {

struct Args {
  std::string db;
  long txns = -1;
  double duration = -1;
  double rate = 0;
  unsigned seed = 1;
  std::string log;
  std::string mode = "random";
  long vacuum_every = 0;
  long alter_at = -1;
  int payload = 100;
  int autocheckpoint = -1;
  std::string checkpoint;
};

void Die(sqlite3* db, const char* what) {
  std::fprintf(stderr, "test_writer: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
  std::exit(1);
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  for (int attempt = 0;; ++attempt) {
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return;
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempt < 100) {
      sqlite3_free(err);
      err = nullptr;
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    std::fprintf(stderr, "test_writer: %s: %s\n", sql.substr(0, 80).c_str(), err ? err : "");
    std::exit(1);
  }
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr char kUsage[] =
    "usage: test_writer DB [-txns N] [-duration SEC] [-rate TPS] [-seed S] [-log FILE]\n"
    "                      [-mode random|insert] [-vacuum-every N] [-alter-at SEQ]\n"
    "                      [-payload BYTES] [-autocheckpoint N]\n"
    "       test_writer DB -checkpoint PASSIVE|FULL|RESTART|TRUNCATE\n"
    "Writes until -txns or -duration is reached (forever without either).\n";

[[noreturn]] void Usage(const std::string& error) {
  if (error.empty()) {  // -h: asked for
    std::fputs(kUsage, stdout);
    std::exit(0);
  }
  std::fprintf(stderr, "test_writer: %s\n%s", error.c_str(), kUsage);
  std::exit(2);
}

void ParseFlag(const std::string& k, const std::string& v, Args* out) {
  Args& a = *out;
  if (k == "-txns")
    a.txns = std::stol(v);
  else if (k == "-duration")
    a.duration = std::stod(v);
  else if (k == "-rate")
    a.rate = std::stod(v);
  else if (k == "-seed")
    a.seed = static_cast<unsigned>(std::stoul(v));
  else if (k == "-log")
    a.log = v;
  else if (k == "-mode")
    a.mode = v;
  else if (k == "-vacuum-every")
    a.vacuum_every = std::stol(v);
  else if (k == "-alter-at")
    a.alter_at = std::stol(v);
  else if (k == "-payload")
    a.payload = std::stoi(v);
  else if (k == "-autocheckpoint")
    a.autocheckpoint = std::stoi(v);
  else if (k == "-checkpoint")
    a.checkpoint = v;
  else
    Usage("unknown flag " + k);
}

bool IsHelp(const std::string& s) { return s == "-h" || s == "-help" || s == "--help"; }

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    if (IsHelp(argv[i])) Usage("");
  }
  if (argc < 2) Usage("needs a database path");
  a.db = argv[1];
  // A flag where the database path belongs is a mistake, not a file name.
  if (a.db.empty() || a.db[0] == '-')
    Usage("the first argument is the database path (got \"" + a.db + "\")");
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) Usage(k + " needs a value");
    std::string v = argv[++i];
    try {
      ParseFlag(k, v, &a);
    } catch (const std::logic_error&) {  // std::stol and friends: not a number
      Usage(k + ": not a number: \"" + v + "\"");
    }
  }
  return a;
}

std::string RandomText(std::mt19937_64& rng, int n) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(static_cast<size_t>(n), ' ');
  for (char& c : s) c = kChars[rng() % (sizeof kChars - 1)];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = Parse(argc, argv);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(a.db.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Die(db, "open");
  }
  sqlite3_busy_timeout(db, 10000);
  if (!a.checkpoint.empty()) {
    int busy = 0, log = 0, ckpt = 0;
    // A fresh connection has not opened the WAL yet; checkpointing before a first
    // read would do nothing (log=-1).
    Exec(db, "SELECT count(*) FROM sqlite_schema");
    int mode = a.checkpoint == "TRUNCATE"  ? SQLITE_CHECKPOINT_TRUNCATE
               : a.checkpoint == "RESTART" ? SQLITE_CHECKPOINT_RESTART
               : a.checkpoint == "FULL"    ? SQLITE_CHECKPOINT_FULL
                                           : SQLITE_CHECKPOINT_PASSIVE;
    int rc = sqlite3_wal_checkpoint_v2(db, nullptr, mode, &log, &ckpt);
    busy = rc == SQLITE_BUSY;
    std::printf("busy=%d log=%d checkpointed=%d\n", busy, log, ckpt);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : 1;
  }
  Exec(db, "PRAGMA journal_mode=WAL");
  if (a.autocheckpoint >= 0) {
    Exec(db, "PRAGMA wal_autocheckpoint=" + std::to_string(a.autocheckpoint));
  }
  Exec(db,
       "CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY, val TEXT, data BLOB);"
       "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER);"
       "INSERT OR IGNORE INTO meta VALUES('seq', 0);");
  FILE* log = nullptr;
  if (!a.log.empty()) {
    log = std::fopen(a.log.c_str(), "a");
    if (log == nullptr) {
      std::perror(a.log.c_str());
      return 1;
    }
  }
  sqlite3_stmt* seq_stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k='seq'", -1, &seq_stmt, nullptr);
  sqlite3_step(seq_stmt);
  long seq = sqlite3_column_int64(seq_stmt, 0);
  sqlite3_finalize(seq_stmt);

  std::mt19937_64 rng(a.seed);
  auto start = std::chrono::steady_clock::now();
  long done = 0;
  while (true) {
    if (a.txns >= 0 && done >= a.txns) break;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (a.duration >= 0 && elapsed >= a.duration) break;
    if (a.rate > 0) {
      auto due = start + std::chrono::duration<double>(static_cast<double>(done) / a.rate);
      std::this_thread::sleep_until(due);
    }
    ++seq;
    if (a.mode == "insert") {
      Exec(db, "BEGIN IMMEDIATE");
      Exec(db, "INSERT INTO items(val) VALUES('" + RandomText(rng, a.payload) + "')");
    } else {
      if (a.vacuum_every > 0 && seq % a.vacuum_every == 0) Exec(db, "VACUUM");
      Exec(db, "BEGIN IMMEDIATE");
      if (seq == a.alter_at) Exec(db, "ALTER TABLE items ADD COLUMN extra TEXT DEFAULT 'x'");
      int ops = 1 + static_cast<int>(rng() % 5);
      for (int i = 0; i < ops; ++i) {
        int kind = static_cast<int>(rng() % 10);
        long id = 1 + static_cast<long>(rng() % 400);
        if (kind < 5) {
          int blob =
              rng() % 4 == 0 ? static_cast<int>(rng() % 12000) : static_cast<int>(rng() % 200);
          Exec(db, "INSERT OR REPLACE INTO items(id, val, data) VALUES(" + std::to_string(id) +
                       ",'" + RandomText(rng, 1 + static_cast<int>(rng() % 60)) + "', randomblob(" +
                       std::to_string(blob) + "))");
        } else if (kind < 8) {
          Exec(db,
               "UPDATE items SET val='" + RandomText(rng, 20) + "' WHERE id=" + std::to_string(id));
        } else {
          Exec(db, "DELETE FROM items WHERE id BETWEEN " + std::to_string(id) + " AND " +
                       std::to_string(id + static_cast<long>(rng() % 30)));
        }
      }
    }
    Exec(db, "UPDATE meta SET v=" + std::to_string(seq) + " WHERE k='seq'");
    Exec(db, "COMMIT");
    ++done;
    if (log != nullptr) {
      uint64_t hash = 0;
      int64_t got_seq = 0;
      if (a.mode == "insert") {
        std::fprintf(log, "%ld 0 %lld\n", seq, static_cast<long long>(NowNs()));
      } else {
        if (!litesync::testing::ContentHash(db, &hash, &got_seq)) Die(db, "hash");
        std::fprintf(log, "%lld %016llx %lld\n", static_cast<long long>(got_seq),
                     static_cast<unsigned long long>(hash), static_cast<long long>(NowNs()));
      }
      std::fflush(log);
    }
  }
  if (log) std::fclose(log);
  sqlite3_close(db);
  return 0;
}
