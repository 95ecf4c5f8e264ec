#include "replica/restore/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <map>

#include "absl/cleanup/cleanup.h"
#include "base/fs.h"
#include "base/handles.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/format/page_checksum.h"
#include "replica/format/tx_file.h"
#include "replica/restore/page_writer.h"
#include "replica/restore/restore_prefetch.h"
#include "replica/storage/backend.h"
#include "replica/storage/parallel_reader.h"
#include "replica/storage/replica_head.h"

namespace litesync {
namespace {

class Applier {
 public:
  Applier(int fd, std::string tmp)
      : fd_(fd),
        tmp_(tmp),
        writer_(fd, std::move(tmp), [this](uint32_t pgno, std::string_view page) {
          // On a writer thread; distinct pages concurrently, so the sum is atomic.
          uint64_t nh = PageHash(pgno, page);
          sum_.fetch_xor(hashes_[pgno - 1] ^ nh, std::memory_order_relaxed);
          hashes_[pgno - 1] = nh;
        }) {}

  absl::Status Apply(TxFileReader& reader, const TxFileInfo& info, std::string_view what,
                     bool first) {
    const TxHeader& h = reader.header();
    if (h.lineage != info.lineage || h.min_txid != info.min_txid || h.max_txid != info.max_txid) {
      return absl::DataLossError(fmt::format("{}: header does not match its name", what));
    }
    if (first) {
      if (!h.snapshot) return absl::DataLossError(fmt::format("{}: not a snapshot", what));
      page_size_ = h.page_size;
      LS_RETURN_IF_ERROR(writer_.Reserve(uint64_t{h.commit} * h.page_size));
    } else {
      if (h.page_size != page_size_) {
        return absl::DataLossError(
            fmt::format("{}: page size {} differs from {}", what, h.page_size, page_size_));
      }
      if (h.pre_checksum != sum_.load()) {
        return absl::DataLossError(fmt::format(
            "{}: does not continue the previous file (checksum {:016x}, expected {:016x})", what,
            h.pre_checksum, sum_.load()));
      }
    }
    // The writer's threads are idle here (Wait() after each file).
    if (first) {
      // A snapshot holds every page: each one's hash replaces this 0, and a
      // missing page leaves the sum short of the recorded checksum.
      hashes_.assign(h.commit, 0);
    } else {
      // Pages beyond the new size are gone; new pages start as zeros until written.
      for (uint32_t p = h.commit + 1; p <= hashes_.size(); ++p) sum_ ^= hashes_[p - 1];
      const std::string zeros(page_size_, '\0');
      for (uint32_t p = static_cast<uint32_t>(hashes_.size()) + 1; p <= h.commit; ++p) {
        hashes_.push_back(PageHash(p, zeros));
        sum_ ^= hashes_.back();
      }
      hashes_.resize(h.commit);
    }
    const auto slot = [this](uint32_t pgno) { return writer_.Slot(pgno, page_size_); };
    uint32_t pgno;
    while (true) {
      LS_ASSIGN_OR_RETURN(bool more, reader.NextInto(&pgno, slot));  // hashed by the observer
      if (!more) break;
    }
    LS_RETURN_IF_ERROR(writer_.Wait());  // no write may land after the truncation
    if (::ftruncate(fd_, static_cast<off_t>(h.commit) * page_size_) != 0) {
      return ErrnoStatus(errno, fmt::format("truncate {}", tmp_));
    }
    if (sum_.load() != h.post_checksum) {
      return absl::DataLossError(
          fmt::format("{}: restored database checksum {:016x} differs from the recorded {:016x}",
                      what, sum_.load(), h.post_checksum));
    }
    return absl::OkStatus();
  }

  // Flushes the pages written and fsyncs the file.
  absl::Status Sync() { return writer_.Sync(); }

 private:
  int fd_;
  std::string tmp_;
  uint32_t page_size_ = 0;
  std::atomic<uint64_t> sum_{0};
  std::vector<uint64_t> hashes_;  // per page; written by the observer
  PageWriter writer_;             // last: its threads stop before the members above go
};

absl::StatusOr<std::unique_ptr<ByteReader>> TakeFetched(RestorePrefetcher& prefetcher, size_t i) {
  LS_ASSIGN_OR_RETURN(std::string bytes, prefetcher.Take(i));
  return NewMemoryReader(std::move(bytes));
}

// A file too large to prefetch. On object storage it is fetched in ranged parts
// on several connections while the applier decodes the parts already there
// (replica/storage/parallel_reader.h); a plain Open downloads the whole object
// over one connection before its first byte is applied (bench/README.md,
// "Restore from S3"). Encrypted replicas keep Open: their client decrypts it.
absl::StatusOr<std::unique_ptr<ByteReader>> OpenStreamed(ReplicaClient& client,
                                                         const TxFileInfo& info,
                                                         const RestoreOptions& options) {
  const ParallelReadOptions parts;
  const Backend* backend = FindBackend(client.Type());
  if (!options.client_factory || backend == nullptr || !backend->parallel_reads ||
      client.encrypts() || info.size < 2 * parts.part_size) {
    return client.Open(info);
  }
  return NewParallelObjectReader(options.client_factory,
                                 ObjectInfo{info.RelativePath(), info.size, absl::Time()}, parts);
}

}  // namespace

absl::Status ExecuteRestore(ReplicaClient& client, const RestorePlan& plan,
                            const RestoreOptions& options) {
  const std::string& out = options.output_path;
  struct stat st;
  if (::stat(out.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(fmt::format(
        "{} already exists; restore never overwrites a database (choose another -o)", out));
  }
  std::string tmp = fmt::format("{}.tmp-{}", out, ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus(errno, fmt::format("create {}", tmp));
  absl::Cleanup remove_tmp = [&tmp] { ::unlink(tmp.c_str()); };

  std::unique_ptr<RestorePrefetcher> prefetcher;
  if (options.parallelism > 1 && options.client_factory && plan.files.size() > 1) {
    std::vector<std::unique_ptr<ReplicaClient>> clients;
    const size_t workers = std::min<size_t>(options.parallelism, plan.files.size());
    for (size_t i = 0; i < workers; ++i) {
      absl::StatusOr<std::unique_ptr<ReplicaClient>> c = options.client_factory();
      if (!c.ok()) return Annotate(c.status(), "restore: open a client to fetch files");
      clients.push_back(std::move(*c));
    }
    prefetcher = std::make_unique<RestorePrefetcher>(plan.files, std::move(clients),
                                                     static_cast<size_t>(options.parallelism));
  }
  Applier applier(fd.get(), tmp);
  RestoreProgress progress;
  progress.files_total = plan.files.size();
  for (const TxFileInfo& f : plan.files) {
    if (f.size == 0) {
      progress.bytes_total = 0;
      break;
    }
    progress.bytes_total += f.size;
  }
  for (size_t i = 0; i < plan.files.size(); ++i) {
    const TxFileInfo& info = plan.files[i];
    std::string what = DescribeFile(client, info);
    if (options.on_progress) {
      progress.fetching = what;
      options.on_progress(progress);
    }
    absl::StatusOr<std::unique_ptr<ByteReader>> src =
        prefetcher != nullptr && prefetcher->Prefetched(i) ? TakeFetched(*prefetcher, i)
                                                           : OpenStreamed(client, info, options);
    if (!src.ok()) {
      return Annotate(src.status(), absl::IsNotFound(src.status())
                                        ? "restore: a file of the plan is missing (retention "
                                          "removed it?); run restore again to re-plan"
                                        : "restore");
    }
    LS_ASSIGN_OR_RETURN(auto reader, TxFileReader::Open(std::move(*src), what, TxDecode::kThreads));
    LS_RETURN_IF_ERROR(Annotate(applier.Apply(*reader, info, what, i == 0), "restore"));
    progress.files_done = i + 1;
    progress.bytes_done += info.size;
  }
  if (options.on_progress) {
    progress.fetching.clear();
    options.on_progress(progress);
  }
  LS_RETURN_IF_ERROR(Annotate(applier.Sync(), "restore"));
  fd.reset();
  // A stale WAL beside the output would be replayed into it by SQLite.
  for (const char* suffix : {"-wal", "-shm"}) {
    std::string stale = out + suffix;
    if (::unlink(stale.c_str()) == 0)
      LogWarn("removed stale file beside restore output", {{"path", stale}});
  }
  if (::rename(tmp.c_str(), out.c_str()) != 0) {
    return ErrnoStatus(errno, fmt::format("rename {} to {}", tmp, out));
  }
  std::move(remove_tmp).Cancel();
  LS_RETURN_IF_ERROR(fs::FsyncParentDir(out));
  LogInfo("restored", {{"output", out},
                       {"lineage", LineageName(plan.lineage)},
                       {"txid", TxidString(plan.txid)},
                       {"files", plan.files.size()}});
  return absl::OkStatus();
}

}  // namespace litesync
