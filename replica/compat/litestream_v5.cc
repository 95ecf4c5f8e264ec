// Litestream v0.5 replicas: LTX files by level (0: one per sync, 1-8:
// compactions, 9: snapshots). The plan is Litestream's (replica.go
// CalcRestorePlan): the newest snapshot at or before the target, then from any
// level the file that continues the restored range furthest without passing the
// target, until none does. Every file's checksum is verified, and after each
// file the restored image's checksum must equal the one the file records.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <regex>
#include <vector>

#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "replica/compat/litestream_internal.h"
#include "replica/compat/ltx_reader.h"
#include "replica/restore/page_writer.h"

namespace litesync {
namespace {

constexpr int kLtxSnapshotLevel = 9;

struct V5File {
  int level;
  uint64_t min_txid, max_txid;
  ObjectInfo object;
  std::optional<absl::Time> created;  // the header's timestamp, read when needed
};

const std::regex kLtxName("([0-9a-f]{16})-([0-9a-f]{16})\\.ltx");

// Every LTX file: under ltx/<level>/ (Litestream's file client) and under
// <level as 4 hex>/ (its S3 client), at either kind of location.
absl::StatusOr<std::vector<V5File>> ListLtx(ReplicaClient& client,
                                            const std::vector<std::string>& names) {
  const auto has = [&](const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  std::vector<V5File> out;
  std::smatch m;
  const auto add = [&](int level, ObjectInfo& o, const std::string& name) {
    if (!std::regex_match(name, m, kLtxName)) return;
    out.push_back(V5File{level, std::stoull(m[1], nullptr, 16), std::stoull(m[2], nullptr, 16),
                         std::move(o), std::nullopt});
  };
  if (has("ltx")) {
    LS_ASSIGN_OR_RETURN(std::vector<ObjectInfo> in_ltx, client.ListObjects("ltx/"));
    const std::regex level_dir("ltx/([0-9])/([^/]+)");
    for (ObjectInfo& o : in_ltx) {
      if (std::regex_match(o.key, m, level_dir)) add(m[1].str()[0] - '0', o, m[2].str());
    }
  }
  for (int level = 0; level <= kLtxSnapshotLevel; ++level) {
    if (!has(fmt::format("{:04x}", level))) continue;
    const std::string dir = fmt::format("{:04x}/", level);
    LS_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, client.ListObjects(dir));
    for (ObjectInfo& o : objects) add(level, o, o.key.substr(dir.size()));
  }
  std::sort(out.begin(), out.end(), [](const V5File& a, const V5File& b) {
    return std::tie(a.level, a.min_txid, a.max_txid) < std::tie(b.level, b.min_txid, b.max_txid);
  });
  return out;
}

absl::StatusOr<absl::Time> Created(ReplicaClient& client, V5File& f) {
  if (!f.created) {
    const std::string what = DescribeObject(client, f.object);
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> r,
                        client.OpenObject(f.object.key, 0, kLtxHeaderSize));
    std::string head(kLtxHeaderSize, '\0');
    size_t got = 0;
    LS_RETURN_IF_ERROR(ReadFull(*r, head.data(), head.size(), &got));
    head.resize(got);
    LS_ASSIGN_OR_RETURN(LtxHeader h, ParseLtxHeader(head, what));
    if (h.min_txid != f.min_txid || h.max_txid != f.max_txid) {
      return absl::DataLossError(fmt::format(
          "{}: header TXIDs {:016x}-{:016x} differ from its name", what, h.min_txid, h.max_txid));
    }
    f.created = absl::FromUnixMillis(h.timestamp_ms);
  }
  return *f.created;
}

// Whether `f` may end the restored state: not past the target TXID, written
// before the target time (Litestream: CreatedAt before the timestamp).
absl::StatusOr<bool> Eligible(ReplicaClient& client, V5File& f, const RestoreTarget& target) {
  if (target.txid && f.max_txid > *target.txid) return false;
  if (!target.timestamp) return true;
  LS_ASSIGN_OR_RETURN(absl::Time t, Created(client, f));
  return t < *target.timestamp;
}

std::string NotRestorable(const std::string& where, const RestoreTarget& target, uint64_t reached) {
  std::string what = target.txid ? fmt::format("TXID {:016x}", *target.txid)
                                 : "time " + FormatTimestamp(*target.timestamp);
  return reached == 0
             ? fmt::format("Litestream v0.5 replica {} holds no state at or before {}", where, what)
             : fmt::format(
                   "Litestream v0.5 replica {} cannot restore {} (its files reach TXID "
                   "{:016x} there)",
                   where, what, reached);
}

}  // namespace

absl::StatusOr<std::optional<LitestreamPlan>> PlanLitestreamV5(
    ReplicaClient& client, const std::vector<std::string>& names, const RestoreTarget& target) {
  LS_ASSIGN_OR_RETURN(std::vector<V5File> files, ListLtx(client, names));
  if (files.empty()) return std::nullopt;
  const std::string where = client.Describe();
  std::vector<V5File*> chain;
  uint64_t reached = 0;
  for (V5File& f : files) {  // snapshots sort last; the newest eligible one wins
    if (f.level != kLtxSnapshotLevel) continue;
    LS_ASSIGN_OR_RETURN(bool ok, Eligible(client, f, target));
    if (ok && f.min_txid == 1) {
      chain.assign(1, &f);
      reached = f.max_txid;
    }
  }
  while (!target.txid || reached < *target.txid) {
    V5File* next = nullptr;
    for (V5File& f : files) {
      if (f.level == kLtxSnapshotLevel || f.min_txid > reached + 1 || f.max_txid <= reached)
        continue;
      if (next != nullptr &&
          std::make_tuple(f.max_txid, -static_cast<int64_t>(f.min_txid), f.level) <=
              std::make_tuple(next->max_txid, -static_cast<int64_t>(next->min_txid), next->level)) {
        continue;
      }
      LS_ASSIGN_OR_RETURN(bool ok, Eligible(client, f, target));
      if (ok) next = &f;
    }
    if (next == nullptr) break;
    chain.push_back(next);
    reached = next->max_txid;
  }
  if (chain.empty() || (target.txid && reached != *target.txid)) {
    if (!target.txid && !target.timestamp) {
      return absl::DataLossError(fmt::format(
          "Litestream v0.5 replica {} has no snapshot (no LTX file starts at TXID 1)", where));
    }
    return absl::NotFoundError(NotRestorable(where, target, reached));
  }
  if (!target.txid && !target.timestamp) {
    for (const V5File& f : files) {
      if (f.min_txid > reached + 1) {
        return absl::DataLossError(fmt::format(
            "Litestream v0.5 replica {}: the files reach TXID {:016x} but {} starts at {:016x}: "
            "TXIDs are missing; restore an earlier -txid",
            where, reached, DescribeObject(client, f.object), f.min_txid));
      }
    }
  }
  LitestreamPlan plan;
  plan.format = LitestreamFormat::kV5;
  plan.txid = reached;
  LS_ASSIGN_OR_RETURN(plan.timestamp, Created(client, *chain.back()));
  for (const V5File* f : chain) {
    plan.objects.push_back(f->object);
    plan.bytes += f->object.size;
  }
  return plan;
}

namespace {

// Applies LTX files in order, tracking each page's checksum on the writer's
// threads (as replica/restore/restore.cc does with litesync's own checksums).
class LtxApplier {
 public:
  LtxApplier(int fd, const std::string& path)
      : fd_(fd), path_(path), writer_(fd, path, [this](uint32_t pgno, std::string_view page) {
          if (pgno == lock_page_) return;
          uint64_t c = LtxPageChecksum(pgno, page);
          sum_.fetch_xor(sums_[pgno - 1] ^ c, std::memory_order_relaxed);
          sums_[pgno - 1] = c;
        }) {}

  absl::Status Apply(std::unique_ptr<ByteReader> source, const std::string& what, bool first,
                     uint64_t min_txid, uint64_t max_txid) {
    LtxReader reader(std::move(source), what);
    LS_ASSIGN_OR_RETURN(LtxHeader h, reader.ReadHeader());
    if (h.min_txid != min_txid || h.max_txid != max_txid) {
      return absl::DataLossError(fmt::format(
          "{}: header TXIDs {:016x}-{:016x} differ from its name", what, h.min_txid, h.max_txid));
    }
    if (first) {
      if (!h.snapshot()) return absl::DataLossError(fmt::format("{}: not a snapshot", what));
      page_size_ = h.page_size;
      lock_page_ = LtxLockPage(page_size_);
      sums_.assign(h.commit, 0);
      LS_RETURN_IF_ERROR(writer_.Reserve(uint64_t{h.commit} * page_size_));
    } else {
      if (h.page_size != page_size_) {
        return absl::DataLossError(
            fmt::format("{}: page size {} differs from {}", what, h.page_size, page_size_));
      }
      checked_ = checked_ && !h.no_checksum();
      if (checked_ && h.pre_checksum != (kLtxChecksumFlag | sum_.load())) {
        return absl::DataLossError(fmt::format(
            "{}: does not continue the previous file (pre-apply checksum {:016x}, the restored "
            "image has {:016x}): the replica is damaged; restore an earlier -txid",
            what, h.pre_checksum, kLtxChecksumFlag | sum_.load()));
      }
      Resize(h.commit);
    }
    if (first) checked_ = !h.no_checksum();
    uint32_t pgno = 0;
    while (true) {
      LS_ASSIGN_OR_RETURN(bool more, reader.NextPage(&pgno, [this](uint32_t p) {
        return writer_.Slot(p, page_size_);
      }));
      if (!more) break;
    }
    LS_ASSIGN_OR_RETURN(uint64_t post, reader.Finish());
    LS_RETURN_IF_ERROR(writer_.Wait());
    if (::ftruncate(fd_, static_cast<off_t>(h.commit) * page_size_) != 0) {
      return ErrnoStatus(errno, fmt::format("truncate {}", path_));
    }
    if (checked_ && post != (kLtxChecksumFlag | sum_.load())) {
      return absl::DataLossError(fmt::format(
          "{}: the restored image's checksum {:016x} differs from the recorded {:016x}: the "
          "replica is damaged; restore an earlier -txid",
          what, kLtxChecksumFlag | sum_.load(), post));
    }
    return absl::OkStatus();
  }

  absl::Status Sync() { return writer_.Sync(); }

 private:
  // Pages past a smaller size are gone; new pages count as zeros until written.
  void Resize(uint32_t commit) {
    for (uint32_t p = commit + 1; p <= sums_.size(); ++p) sum_ ^= sums_[p - 1];
    const std::string zeros(page_size_, '\0');
    for (uint32_t p = static_cast<uint32_t>(sums_.size()) + 1; p <= commit; ++p) {
      sums_.push_back(p == lock_page_ ? 0 : LtxPageChecksum(p, zeros));
      sum_ ^= sums_.back();
    }
    sums_.resize(commit);
  }

  int fd_;
  const std::string& path_;
  uint32_t page_size_ = 0;
  uint32_t lock_page_ = 0;
  bool checked_ = true;
  std::atomic<uint64_t> sum_{0};  // XOR of sums_, without the flag bit's meaning
  std::vector<uint64_t> sums_;    // per page; written by the observer
  PageWriter writer_;             // last: its threads stop before the members above go
};

}  // namespace

absl::Status ApplyLitestreamV5(ReplicaClient& client, const LitestreamPlan& plan,
                               const LitestreamRestoreOptions& opts, int fd,
                               const std::string& path) {
  LtxApplier applier(fd, path);
  std::smatch m;
  for (size_t i = 0; i < plan.objects.size(); ++i) {
    const ObjectInfo& o = plan.objects[i];
    std::string name = o.key.substr(o.key.rfind('/') + 1);
    if (!std::regex_match(name, m, kLtxName)) {
      return absl::InternalError(fmt::format("{}: not an LTX file name", o.key));
    }
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> r, OpenPlanned(client, o, opts));
    LS_RETURN_IF_ERROR(applier.Apply(std::move(r), DescribeObject(client, o), i == 0,
                                     std::stoull(m[1], nullptr, 16),
                                     std::stoull(m[2], nullptr, 16)));
  }
  return applier.Sync();
}

}  // namespace litesync
