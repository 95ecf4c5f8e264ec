#include "replica/compat/litestream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/cleanup/cleanup.h"
#include "base/handles.h"
#include "base/log.h"
#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "replica/compat/litestream_internal.h"
#include "replica/format/tx_file_info.h"
#include "replica/storage/backend.h"
#include "replica/storage/parallel_reader.h"

namespace litesync {

std::string DescribeObject(ReplicaClient& client, const ObjectInfo& object) {
  return fmt::format("{} in {}", object.key, client.Describe());
}

std::string DescribeLitestreamPlan(const LitestreamPlan& plan) {
  if (plan.format == LitestreamFormat::kV3) {
    return fmt::format("Litestream v0.3 generation {}", plan.generation);
  }
  return fmt::format("Litestream v0.5 TXID {:016x}", plan.txid.value_or(0));
}

absl::StatusOr<std::unique_ptr<ByteReader>> OpenPlanned(ReplicaClient& client,
                                                        const ObjectInfo& object,
                                                        const LitestreamRestoreOptions& opts) {
  const ParallelReadOptions parallel;
  const Backend* backend = FindBackend(client.Type());
  absl::StatusOr<std::unique_ptr<ByteReader>> r =
      opts.client_factory && backend && backend->parallel_reads &&
              object.size >= 2 * parallel.part_size
          ? NewParallelObjectReader(opts.client_factory, object, parallel)
          : client.OpenObject(object.key);
  if (absl::IsNotFound(r.status())) {
    return absl::NotFoundError(fmt::format(
        "{}: gone since the restore was planned (did Litestream's retention remove it?): run "
        "restore again",
        DescribeObject(client, object)));
  }
  if (!r.ok() || !opts.decode_stored) return r;
  return opts.decode_stored(*std::move(r), object);
}

namespace {

absl::StatusOr<LitestreamPresence> Presence(ReplicaClient& client,
                                            const std::vector<std::string>& names) {
  LitestreamPresence p;
  LS_ASSIGN_OR_RETURN(std::optional<LitestreamPlan> v3,
                      PlanLitestreamV3(client, names, RestoreTarget{}));
  p.v3 = v3.has_value();
  absl::StatusOr<std::optional<LitestreamPlan>> v5 =
      PlanLitestreamV5(client, names, RestoreTarget{});
  // A v0.5 replica without a complete chain is still one.
  p.v5 = !v5.ok() || v5->has_value();
  if (!v5.ok() && !absl::IsDataLoss(v5.status()) && !absl::IsNotFound(v5.status())) {
    return v5.status();
  }
  return p;
}

}  // namespace

absl::StatusOr<LitestreamPresence> FindLitestream(ReplicaClient& client) {
  LS_ASSIGN_OR_RETURN(std::vector<std::string> names, client.ListRootNames());
  return Presence(client, names);
}

namespace {

// When litesync's own history at the location begins: the capture time of its
// oldest file (InfiniteFuture when it has none).
absl::StatusOr<absl::Time> OwnHistoryStart(ReplicaClient& client,
                                           const std::vector<std::string>& names) {
  absl::Time oldest = absl::InfiniteFuture();
  std::optional<Lineage> first;
  for (const std::string& n : names) {
    std::optional<Lineage> l = ParseLineageName(n);
    if (l && (!first || *l < *first)) first = l;
  }
  if (!first) return oldest;
  for (int level : {0, 1, 2, 3, kSnapshotLevel}) {
    LS_ASSIGN_OR_RETURN(std::vector<TxFileInfo> files, client.List(*first, level));
    for (const TxFileInfo& f : files) oldest = std::min(oldest, f.timestamp);
  }
  return oldest;
}

}  // namespace

absl::StatusOr<std::optional<LitestreamPlan>> PlanLitestreamRestore(ReplicaClient& client,
                                                                    const RestoreTarget& target) {
  LS_ASSIGN_OR_RETURN(std::vector<std::string> names, client.ListRootNames());
  if (target.timestamp) {
    // Once litesync's own history has begun here, Litestream's files no longer
    // tell the database's state.
    LS_ASSIGN_OR_RETURN(absl::Time ours, OwnHistoryStart(client, names));
    if (*target.timestamp >= ours) {
      LS_ASSIGN_OR_RETURN(LitestreamPresence found, Presence(client, names));
      if (!found.any()) return std::nullopt;
      return absl::NotFoundError(fmt::format(
          "Litestream's replica at {} ends where litesync's history begins ({}); {} is after "
          "that",
          client.Describe(), FormatTimestamp(ours), FormatTimestamp(*target.timestamp)));
    }
  }
  absl::StatusOr<std::optional<LitestreamPlan>> v3 = PlanLitestreamV3(client, names, target);
  absl::StatusOr<std::optional<LitestreamPlan>> v5 = PlanLitestreamV5(client, names, target);
  // One version present: its answer. Both: the newer state, else the first error.
  if (v3.ok() && !v3->has_value()) return v5;
  if (v5.ok() && !v5->has_value()) return v3;
  if (v3.ok() && v5.ok()) return (*v3)->timestamp >= (*v5)->timestamp ? v3 : v5;
  if (v3.ok()) return v3;
  if (v5.ok()) return v5;
  return v3.status();
}

absl::Status ExecuteLitestreamRestore(ReplicaClient& client, const LitestreamPlan& plan,
                                      const LitestreamRestoreOptions& options) {
  const std::string& out = options.output_path;
  struct stat st;
  if (::stat(out.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(fmt::format(
        "{} already exists; restore never overwrites a database (choose another -o)", out));
  }
  if (plan.objects.empty()) return absl::InvalidArgumentError("restore: an empty plan");
  std::string tmp = fmt::format("{}.tmp-{}", out, ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus(errno, fmt::format("create {}", tmp));
  absl::Cleanup remove_tmp = [&tmp] { ::unlink(tmp.c_str()); };
  absl::Status s = plan.format == LitestreamFormat::kV3
                       ? ApplyLitestreamV3(client, plan, options, fd.get(), tmp)
                       : ApplyLitestreamV5(client, plan, options, fd.get(), tmp);
  LS_RETURN_IF_ERROR(Annotate(s, "restore " + DescribeLitestreamPlan(plan)));
  fd.reset();
  for (const char* suffix : {"-wal", "-shm"}) {
    std::string stale = out + suffix;
    if (::unlink(stale.c_str()) == 0) {
      LogWarn("removed stale file beside restore output", {{"path", stale}});
    }
  }
  if (::rename(tmp.c_str(), out.c_str()) != 0) {
    return ErrnoStatus(errno, fmt::format("rename {} to {}", tmp, out));
  }
  std::move(remove_tmp).Cancel();
  std::filesystem::path parent = std::filesystem::path(out).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::fsync(dfd.get()) != 0) {
    return ErrnoStatus(errno, fmt::format("fsync directory {}", dir));
  }
  LogInfo(
      "restored from Litestream's replica",
      {{"output", out}, {"from", DescribeLitestreamPlan(plan)}, {"objects", plan.objects.size()}});
  return absl::OkStatus();
}

}  // namespace litesync
