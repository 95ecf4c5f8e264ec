#include "replica/maintenance/validator.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "base/handles.h"
#include "base/log.h"
#include "base/scratch_dir.h"
#include "base/status.h"
#include "fmt/format.h"
#include <sqlite3.h>

#include "replica/format/page_checksum.h"
#include "replica/restore/restore.h"
#include "replica/sqlite/sqlite_status.h"

namespace litesync {
namespace {

// A name no other validation (of this or another process) uses at the same time.
std::string ScratchPath(const std::string& dir) {
  static std::atomic<uint64_t> counter{0};
  std::string base = ScratchDir(dir);
  return fmt::format("{}/.litesync-validate-{}-{}-{}.db", base, ::getpid(),
                     absl::ToUnixNanos(absl::Now()), counter.fetch_add(1));
}

struct FileChecksum {
  uint64_t checksum = 0;
  uint64_t pages = 0;
};

// Reads the file page by page; the page size comes from its header (offset 16,
// big-endian; 1 means 65536).
absl::StatusOr<FileChecksum> ChecksumFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, fmt::format("open {}", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, fmt::format("stat {}", path));
  unsigned char hdr[18];
  if (::pread(fd.get(), hdr, sizeof hdr, 0) != static_cast<ssize_t>(sizeof hdr)) {
    return absl::DataLossError(fmt::format("{}: no database header", path));
  }
  uint32_t page_size = (static_cast<uint32_t>(hdr[16]) << 8) | hdr[17];
  if (page_size == 1) page_size = 65536;
  if (page_size < 512 || (page_size & (page_size - 1)) != 0 ||
      static_cast<uint64_t>(st.st_size) % page_size != 0) {
    return absl::DataLossError(fmt::format("{}: page size {} does not fit a file of {} bytes", path,
                                           page_size, st.st_size));
  }
  FileChecksum r;
  r.pages = static_cast<uint64_t>(st.st_size) / page_size;
  std::string page(page_size, '\0');
  for (uint64_t pgno = 1; pgno <= r.pages; ++pgno) {
    ssize_t n =
        ::pread(fd.get(), page.data(), page_size, static_cast<off_t>((pgno - 1) * page_size));
    if (n != static_cast<ssize_t>(page_size)) {
      return n < 0 ? ErrnoStatus(errno, fmt::format("read {}", path))
                   : absl::DataLossError(fmt::format("{}: short read at page {}", path, pgno));
    }
    r.checksum ^= PageHash(static_cast<uint32_t>(pgno), page);
  }
  return r;
}

// "ok", else DataLoss with SQLite's report. immutable=1: no -wal/-shm is created
// or consulted (the restored file is complete and nobody else has it open).
absl::Status IntegrityCheck(const std::string& path) {
  sqlite3* raw = nullptr;
  std::string uri = fmt::format("file:{}?immutable=1", path);
  int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return SqliteStatus(db.get(), rc, fmt::format("open {}", path));
  sqlite3_stmt* raw_stmt = nullptr;
  rc = sqlite3_prepare_v2(db.get(), "PRAGMA integrity_check", -1, &raw_stmt, nullptr);
  SqliteStmt stmt(raw_stmt);
  if (rc != SQLITE_OK) return SqliteStatus(db.get(), rc, "prepare integrity_check");
  std::string report;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
    report +=
        (report.empty() ? "" : "; ") + std::string(text ? reinterpret_cast<const char*>(text) : "");
  }
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) {
    return absl::DataLossError(fmt::format("integrity_check: {}", sqlite3_errmsg(db.get())));
  }
  if (rc != SQLITE_DONE) return SqliteStatus(db.get(), rc, "integrity_check");
  if (report != "ok") return absl::DataLossError(fmt::format("integrity_check: {}", report));
  return absl::OkStatus();
}

absl::Status Validate(ReplicaClient& client, const std::string& path, uint64_t expect_txid,
                      uint64_t expect_checksum, ValidationResult* out) {
  LS_ASSIGN_OR_RETURN(RestorePlan plan, PlanRestore(client, RestoreTarget{}));
  out->lineage = plan.lineage;
  out->txid = plan.txid;
  out->files = plan.files.size();
  RestoreOptions options;
  options.output_path = path;
  options.parallelism = 1;
  LS_RETURN_IF_ERROR(ExecuteRestore(client, plan, options));
  LS_RETURN_IF_ERROR(IntegrityCheck(path));
  LS_ASSIGN_OR_RETURN(FileChecksum sum, ChecksumFile(path));
  out->checksum = sum.checksum;
  out->pages = sum.pages;
  if (expect_txid != plan.txid) return absl::OkStatus();
  out->compared = true;
  if (sum.checksum != expect_checksum) {
    return absl::DataLossError(
        fmt::format("txid {}: restored checksum {:016x} differs from the database's {:016x}",
                    TxidString(plan.txid), sum.checksum, expect_checksum));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateReplica(ReplicaClient& client, const std::string& scratch_dir,
                             uint64_t expect_txid, uint64_t expect_checksum,
                             ValidationResult* out) {
  absl::Time start = absl::Now();
  ValidationResult local;
  ValidationResult* result = out != nullptr ? out : &local;
  *result = ValidationResult{};
  const std::string path = ScratchPath(scratch_dir);
  absl::Cleanup remove = [&path] {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      ::unlink((path + suffix).c_str());
    }
  };
  absl::Status s = Validate(client, path, expect_txid, expect_checksum, result);
  result->elapsed = absl::Now() - start;
  if (!s.ok()) return Annotate(s, "validate replica " + client.Describe());
  LogDebug("replica validated", {{"replica", client.Describe()},
                                 {"lineage", LineageName(result->lineage)},
                                 {"txid", TxidString(result->txid)},
                                 {"compared", result->compared},
                                 {"elapsed", result->elapsed}});
  return absl::OkStatus();
}

}  // namespace litesync
