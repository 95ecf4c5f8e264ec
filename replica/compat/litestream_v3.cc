// Litestream v0.3 replicas: a generation's latest snapshot (the database file)
// followed by its WAL, index by index, each index the concatenation of its
// segments. Applying a WAL index is what SQLite's checkpoint does with it: the
// last committed copy of each page up to the final commit's database size, then
// the file cut to that size. Frames are verified as SQLite verifies them (salts
// and the cumulative checksum); Litestream v0.3 only ever ships whole, verified
// transactions, so a frame that does not verify means a damaged object.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <regex>
#include <span>
#include <vector>

#include "base/endian.h"
#include "base/handles.h"
#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "replica/compat/litestream_internal.h"
#include "replica/compat/lz4_reader.h"
#include "replica/restore/page_writer.h"
#include "replica/sqlite/wal_reader.h"

namespace litesync {
namespace {

struct V3Snapshot {
  uint32_t index;
  ObjectInfo object;
};

struct V3Segment {
  uint32_t index;
  uint64_t offset;
  ObjectInfo object;
};

struct V3Generation {
  std::vector<V3Snapshot> snapshots;  // by index
  std::vector<V3Segment> segments;    // by index, then offset
  absl::Time created = absl::InfiniteFuture();
  absl::Time updated = absl::InfinitePast();
};

// Object keys of v0.3 (litestream.go: SnapshotPath, WALSegmentPath).
const std::regex kSnapshotKey(
    "generations/([0-9a-f]{16})/snapshots/([0-9a-f]{8})\\.snapshot\\.lz4");
const std::regex kSegmentKey(
    "generations/([0-9a-f]{16})/wal/([0-9a-f]{8})_([0-9a-f]{8,16})\\.wal\\.lz4");

absl::StatusOr<std::map<std::string, V3Generation>> ListGenerations(ReplicaClient& client) {
  LS_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, client.ListObjects("generations/"));
  std::map<std::string, V3Generation> out;
  std::smatch m;
  for (const ObjectInfo& o : objects) {
    V3Generation* g = nullptr;
    if (std::regex_match(o.key, m, kSnapshotKey)) {
      g = &out[m[1]];
      g->snapshots.push_back(V3Snapshot{static_cast<uint32_t>(std::stoul(m[2], nullptr, 16)), o});
    } else if (std::regex_match(o.key, m, kSegmentKey)) {
      g = &out[m[1]];
      g->segments.push_back(V3Segment{static_cast<uint32_t>(std::stoul(m[2], nullptr, 16)),
                                      std::stoull(m[3], nullptr, 16), o});
    } else {
      continue;  // Litestream's temporary files, anything else
    }
    g->created = std::min(g->created, o.modified);
    g->updated = std::max(g->updated, o.modified);
  }
  for (auto& [id, g] : out) {
    std::sort(g.snapshots.begin(), g.snapshots.end(),
              [](const V3Snapshot& a, const V3Snapshot& b) { return a.index < b.index; });
    std::sort(g.segments.begin(), g.segments.end(), [](const V3Segment& a, const V3Segment& b) {
      return std::tie(a.index, a.offset) < std::tie(b.index, b.offset);
    });
  }
  return out;
}

// The generation Litestream restores (replica.go CalcRestoreTarget): the most
// recently updated one, or the most recently updated one whose time span holds
// the target time. Litestream refuses a time after a generation's last object;
// litesync takes it as that generation's last state when no generation spans it
// (the caller has checked that litesync's own history starts later: after the
// switch Litestream's replica no longer changes).
absl::StatusOr<std::string> ChooseGeneration(const std::map<std::string, V3Generation>& gens,
                                             const RestoreTarget& target,
                                             const std::string& where) {
  std::string best;
  std::string after_last;
  absl::Time best_updated = absl::InfinitePast();
  std::string spans;
  for (const auto& [id, g] : gens) {
    spans += fmt::format("{}{} {} to {}", spans.empty() ? "" : ", ", id, FormatTimestamp(g.created),
                         FormatTimestamp(g.updated));
    if (target.timestamp && (*target.timestamp < g.created || *target.timestamp > g.updated)) {
      continue;
    }
    if (best.empty() || g.updated > best_updated) {
      best = id;
      best_updated = g.updated;
    }
  }
  for (const auto& [id, g] : gens) {
    if (!best.empty() || !target.timestamp) break;
    if (*target.timestamp > g.updated && g.updated > best_updated) {
      best_updated = g.updated;
      after_last = id;
    }
  }
  if (best.empty()) best = after_last;
  if (best.empty()) {
    return absl::NotFoundError(fmt::format(
        "Litestream v0.3 replica {} has no generation spanning {} (its generations: {})", where,
        FormatTimestamp(*target.timestamp), spans));
  }
  return best;
}

}  // namespace

absl::StatusOr<std::optional<LitestreamPlan>> PlanLitestreamV3(
    ReplicaClient& client, const std::vector<std::string>& names, const RestoreTarget& target) {
  if (std::find(names.begin(), names.end(), "generations") == names.end()) return std::nullopt;
  LS_ASSIGN_OR_RETURN(auto gens, ListGenerations(client));
  if (gens.empty()) return std::nullopt;
  const std::string where = client.Describe();
  if (target.txid) {
    return absl::InvalidArgumentError(fmt::format(
        "Litestream v0.3 replica {} has no TXIDs (it numbers WAL indexes per generation): "
        "restore it by -timestamp",
        where));
  }
  LS_ASSIGN_OR_RETURN(std::string id, ChooseGeneration(gens, target, where));
  const V3Generation& g = gens.at(id);
  // The newest snapshot written at or before the target (replica.go SnapshotIndexAt).
  const V3Snapshot* snap = nullptr;
  for (const V3Snapshot& s : g.snapshots) {
    if (target.timestamp && s.object.modified > *target.timestamp) continue;
    if (snap == nullptr || s.object.modified > snap->object.modified) snap = &s;
  }
  if (snap == nullptr) {
    return absl::NotFoundError(
        fmt::format("Litestream v0.3 replica {}: generation {} has no snapshot{}", where, id,
                    target.timestamp ? " at or before " + FormatTimestamp(*target.timestamp) : ""));
  }
  LitestreamPlan plan;
  plan.format = LitestreamFormat::kV3;
  plan.generation = id;
  plan.timestamp = snap->object.modified;
  plan.objects.push_back(snap->object);
  // WAL segments from the snapshot's index on, in order, until the first one
  // written after the target (replica.go walSegmentMap).
  uint32_t expect_index = snap->index;
  bool index_started = false;
  uint64_t last_offset = 0;
  for (const V3Segment& s : g.segments) {
    if (s.index < snap->index) continue;
    if (target.timestamp && s.object.modified > *target.timestamp) break;
    if (s.index != expect_index || !index_started) {
      if (s.index != expect_index && !(index_started && s.index == expect_index + 1)) {
        return absl::DataLossError(fmt::format(
            "Litestream v0.3 replica {}: generation {} is missing WAL index {:08x} (found "
            "{:08x} next): restore an earlier -timestamp",
            where, id, expect_index + (index_started ? 1 : 0), s.index));
      }
      if (s.offset != 0) {
        return absl::DataLossError(fmt::format(
            "{}: the first WAL segment of index {:08x} starts at offset {}, not 0 (a segment "
            "is missing): restore an earlier -timestamp",
            DescribeObject(client, s.object), s.index, s.offset));
      }
      expect_index = s.index;
      index_started = true;
    } else if (s.offset <= last_offset) {
      return absl::DataLossError(
          fmt::format("{}: WAL segments out of order", DescribeObject(client, s.object)));
    }
    last_offset = s.offset;
    plan.objects.push_back(s.object);
    plan.timestamp = std::max(plan.timestamp, s.object.modified);
  }
  for (const ObjectInfo& o : plan.objects) plan.bytes += o.size;
  return plan;
}

namespace {

// One WAL index: its segments decoded into an unnamed temporary file beside the
// output, verified, then applied.
class WalIndexApplier {
 public:
  WalIndexApplier(ReplicaClient& client, const LitestreamRestoreOptions& opts, PageWriter& writer,
                  int out_fd, const std::string& out_path, uint32_t page_size)
      : client_(client),
        opts_(opts),
        writer_(writer),
        out_fd_(out_fd),
        out_path_(out_path),
        page_size_(page_size) {}

  absl::Status Apply(const std::vector<const ObjectInfo*>& segments, uint32_t index) {
    std::string dir = std::filesystem::path(out_path_).parent_path().string();
    if (dir.empty()) dir = ".";
    UniqueFd wal(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!wal.valid()) return ErrnoStatus(errno, fmt::format("create a temporary WAL in {}", dir));
    // Where each segment's bytes begin in the WAL, to name the object of a bad frame.
    std::vector<uint64_t> starts;
    uint64_t size = 0;
    for (const ObjectInfo* o : segments) {
      starts.push_back(size);
      LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> stored, OpenPlanned(client_, *o, opts_));
      std::unique_ptr<ByteReader> r =
          NewLz4FrameReader(std::move(stored), DescribeObject(client_, *o));
      LS_ASSIGN_OR_RETURN(uint64_t n, CopyTo(*r, wal.get(), size));
      size += n;
    }
    const std::string what = fmt::format("WAL index {:08x}", index);
    const auto object_at = [&](uint64_t offset) {
      size_t i = std::upper_bound(starts.begin(), starts.end(), offset) - starts.begin();
      return DescribeObject(client_, *segments[i == 0 ? 0 : i - 1]);
    };
    absl::StatusOr<WalHeader> hdr = ReadWalHeader(wal.get(), what);
    if (!hdr.ok()) {
      return absl::DataLossError(
          fmt::format("{}: not a valid WAL header ({}): the object is "
                      "corrupt; restore an earlier -timestamp",
                      object_at(0), std::string(hdr.status().message())));
    }
    if (hdr->page_size != page_size_) {
      return absl::DataLossError(fmt::format("{}: WAL page size {} differs from the snapshot's {}",
                                             object_at(0), hdr->page_size, page_size_));
    }
    std::vector<uint64_t> frame_of;  // pgno - 1 -> last committed frame holding it
    uint32_t commit_size = 0;
    auto on_commit = [&](const std::vector<WalFrame>& frames, uint32_t commit,
                         const WalCursor&) -> absl::Status {
      for (const WalFrame& f : frames) {
        if (f.pgno > frame_of.size()) frame_of.resize(f.pgno, 0);
        frame_of[f.pgno - 1] = f.index;
      }
      commit_size = commit;
      return absl::OkStatus();
    };
    LS_ASSIGN_OR_RETURN(WalCursor end,
                        ScanWal(wal.get(), what, *hdr, StartCursor(*hdr), 0, on_commit));
    const uint64_t frame_bytes = kWalFrameHeaderSize + page_size_;
    const uint64_t frames = (size - kWalHeaderSize) / frame_bytes;
    if (end.frames != frames || (size - kWalHeaderSize) % frame_bytes != 0) {
      uint64_t bad = kWalHeaderSize + end.frames * frame_bytes;
      return absl::DataLossError(
          fmt::format("{}: WAL frame {} (byte {} of index {:08x}) is {}: the object is corrupt or "
                      "truncated; restore an earlier -timestamp",
                      object_at(bad), end.frames + 1, bad, index,
                      end.frames < frames ? "not a valid continuation (checksum or salt mismatch)"
                                          : "incomplete"));
    }
    if (commit_size == 0) return absl::OkStatus();  // a header and no transaction yet
    for (uint32_t pgno = 1; pgno <= std::min<size_t>(commit_size, frame_of.size()); ++pgno) {
      if (frame_of[pgno - 1] == 0) continue;
      LS_ASSIGN_OR_RETURN(char* slot, writer_.Slot(pgno, page_size_));
      uint64_t off = WalPageOffset(frame_of[pgno - 1], page_size_);
      if (::pread(wal.get(), slot, page_size_, static_cast<off_t>(off)) !=
          static_cast<ssize_t>(page_size_)) {
        return ErrnoStatus(errno, fmt::format("read the temporary WAL of index {:08x}", index));
      }
    }
    LS_RETURN_IF_ERROR(writer_.Wait());
    if (::ftruncate(out_fd_, static_cast<off_t>(commit_size) * page_size_) != 0) {
      return ErrnoStatus(errno, fmt::format("truncate {}", out_path_));
    }
    return absl::OkStatus();
  }

 private:
  static absl::StatusOr<uint64_t> CopyTo(ByteReader& r, int fd, uint64_t at) {
    std::vector<char> buf(1 << 20);
    uint64_t total = 0;
    while (true) {
      LS_ASSIGN_OR_RETURN(size_t n, r.Read(buf.data(), buf.size()));
      if (n == 0) return total;
      if (::pwrite(fd, buf.data(), n, static_cast<off_t>(at + total)) != static_cast<ssize_t>(n)) {
        return ErrnoStatus(errno, "write a temporary WAL");
      }
      total += n;
    }
  }

  ReplicaClient& client_;
  const LitestreamRestoreOptions& opts_;
  PageWriter& writer_;
  int out_fd_;
  const std::string& out_path_;
  uint32_t page_size_;
};

// Writes the snapshot (the database file) page by page; returns the page size.
absl::StatusOr<uint32_t> ApplySnapshot(ReplicaClient& client, const ObjectInfo& object,
                                       const LitestreamRestoreOptions& opts, PageWriter& writer,
                                       int fd, const std::string& path) {
  const std::string what = DescribeObject(client, object);
  LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> stored, OpenPlanned(client, object, opts));
  std::unique_ptr<ByteReader> r = NewLz4FrameReader(std::move(stored), what);
  char head[100];
  size_t got = 0;
  LS_RETURN_IF_ERROR(ReadFull(*r, head, sizeof head, &got));
  if (got < sizeof head ||
      std::string_view(head, 16) != std::string_view("SQLite format 3\0", 16)) {
    return absl::DataLossError(
        fmt::format("{}: not a SQLite database snapshot: the object is corrupt", what));
  }
  uint32_t page_size = GetBig16(head + 16) == 1 ? 65536 : GetBig16(head + 16);
  if (page_size < 512 || (page_size & (page_size - 1)) != 0) {
    return absl::DataLossError(fmt::format("{}: invalid page size {}", what, page_size));
  }
  LS_ASSIGN_OR_RETURN(char* first, writer.Slot(1, page_size));
  std::copy_n(head, sizeof head, first);
  LS_RETURN_IF_ERROR(ReadFull(*r, first + sizeof head, page_size - sizeof head, &got));
  if (got != page_size - sizeof head) {
    return absl::DataLossError(
        fmt::format("{}: shorter than one page: the object is truncated", what));
  }
  // Many pages per read: the frame reader reads or decodes whole blocks straight
  // into the writer's run (see lz4_frame_reader.cc).
  uint32_t pages = 1;
  while (true) {
    LS_ASSIGN_OR_RETURN(std::span<char> slots, writer.Slots(pages + 1, page_size, SIZE_MAX));
    LS_RETURN_IF_ERROR(ReadFull(*r, slots.data(), slots.size(), &got));
    pages += static_cast<uint32_t>(got / page_size);
    if (got % page_size != 0) {
      return absl::DataLossError(
          fmt::format("{}: ends inside page {} ({} of {} bytes): the object is truncated", what,
                      pages + 1, got % page_size, page_size));
    }
    if (got < slots.size()) break;
  }
  LS_RETURN_IF_ERROR(writer.Wait());
  // The last Slots may have been handed out for pages that never came.
  if (::ftruncate(fd, static_cast<off_t>(pages) * page_size) != 0) {
    return ErrnoStatus(errno, fmt::format("truncate {}", path));
  }
  return page_size;
}

}  // namespace

absl::Status ApplyLitestreamV3(ReplicaClient& client, const LitestreamPlan& plan,
                               const LitestreamRestoreOptions& opts, int fd,
                               const std::string& path) {
  PageWriter writer(fd, path);
  LS_ASSIGN_OR_RETURN(uint32_t page_size,
                      ApplySnapshot(client, plan.objects.front(), opts, writer, fd, path));
  WalIndexApplier wal(client, opts, writer, fd, path, page_size);
  std::smatch m;
  std::vector<const ObjectInfo*> segments;
  uint32_t index = 0;
  for (size_t i = 1; i <= plan.objects.size(); ++i) {
    uint32_t next = 0;
    if (i < plan.objects.size()) {
      if (!std::regex_match(plan.objects[i].key, m, kSegmentKey)) {
        return absl::InternalError(fmt::format("{}: not a WAL segment", plan.objects[i].key));
      }
      next = static_cast<uint32_t>(std::stoul(m[2], nullptr, 16));
    }
    if (!segments.empty() && (i == plan.objects.size() || next != index)) {
      LS_RETURN_IF_ERROR(wal.Apply(segments, index));
      segments.clear();
    }
    if (i < plan.objects.size()) {
      index = next;
      segments.push_back(&plan.objects[i]);
    }
  }
  return writer.Sync();
}

}  // namespace litesync
