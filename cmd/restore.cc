#include "cmd/restore.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include "base/fs.h"
#include "base/log.h"
#include "base/scratch_dir.h"
#include "base/secret.h"
#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

#include "cmd/age_flags.h"
#include "cmd/command.h"
#include "cmd/restore_args.h"
#include "cmd/restore_choice.h"
#include "cmd/restore_output.h"
#include "cmd/restore_progress.h"
#include "replica/compat/litestream.h"
#include "replica/compat/litestream_age.h"
#include "replica/restore/restore.h"
#include "replica/storage/backend.h"

namespace litesync {
namespace {

using restore_args::Args;
using restore_choice::Candidate;
using restore_choice::Choose;
using restore_choice::FormatPlan;
using restore_choice::Outcome;

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Moves the verified `staging` file to `output` unless something appeared there.
absl::Status Publish(const std::string& staging, const std::string& output) {
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, output.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EINVAL && errno != ENOSYS) {
      return ErrnoStatus(errno, fmt::format("move the restored file to {}", output));
    }
    // A filesystem without RENAME_NOREPLACE: link(2) fails when the target exists.
    if (::link(staging.c_str(), output.c_str()) != 0) {
      return ErrnoStatus(errno, fmt::format("move the restored file to {}", output));
    }
    ::unlink(staging.c_str());
  }
  return fs::FsyncParentDir(output);
}

// One restore after its command line: what -json prints, whatever the outcome
// (errors also go to stderr), and the steps from the output check to the log.
class RestoreRun {
 public:
  RestoreRun(const Args& a, std::string output) : a_(a), output_(std::move(output)) {}

  // 0 or 1, the command's exit status.
  int Run(const std::vector<ReplicaOptions>& replicas, const RestoreTarget& target) {
    if (std::optional<int> code = CheckOutput()) return *code;
    if (std::optional<int> code = Plan(replicas, target)) return *code;
    if (a_.dry_run) {
      if (a_.json) {
        Report("planned", "", &*best_);
      } else {
        std::fputs(FormatPlan(*best_, output_).c_str(), stdout);
      }
      return kExitOk;
    }
    absl::Time start = absl::Now();
    absl::Status s = Execute(target);
    if (!s.ok()) {
      s = Annotate(s, "restore " + output_);
      PrintError("restore", s);
      Report("failed", StatusMessage(s));
      return kExitFailure;
    }
    const absl::Duration elapsed = absl::Now() - start;
    LogFinished(elapsed);
    Report("restored", "", &*best_, elapsed);
    return kExitOk;
  }

 private:
  void Report(const std::string& status, const std::string& reason, const Candidate* c = nullptr,
              absl::Duration elapsed = absl::ZeroDuration()) const {
    if (!a_.json) return;
    RestoreReport r{.status = status,
                    .reason = reason,
                    .output = output_,
                    .replica = c ? RedactUrl(c->client->Describe()) : "",
                    .plan = c && !c->litestream ? &c->plan : nullptr,
                    .litestream = c && c->litestream ? &*c->litestream : nullptr,
                    .integrity_check = a_.check,
                    .elapsed = elapsed};
    std::fputs(RestoreReportJson(r).c_str(), stdout);
  }

  // Restore never overwrites: an exit code when the output (or a WAL that would
  // be applied over it) exists.
  std::optional<int> CheckOutput() const {
    if (Exists(output_)) {
      if (a_.if_db_not_exists) {
        LogInfo("restore skipped: the database exists", {{"output", output_}});
        Report("skipped", "the database exists");
        return kExitOk;
      }
      Report("failed", "the output exists");
      PrintError("restore", fmt::format("{} already exists; restore never overwrites a database: "
                                        "remove it, or choose another -o",
                                        output_));
      return kExitFailure;
    }
    if (Exists(output_ + "-wal")) {
      std::string msg = fmt::format(
          "{}-wal exists (left by an earlier database); it would be applied over the restored "
          "file: remove it first",
          output_);
      Report("failed", msg);
      PrintError("restore", msg);
      return kExitFailure;
    }
    return std::nullopt;
  }

  // Sets best_ (the replica restoring the newest state at `target`); an exit code
  // when there is none.
  std::optional<int> Plan(const std::vector<ReplicaOptions>& replicas,
                          const RestoreTarget& target) {
    absl::Status error;
    Outcome outcome = Outcome::kFailed;
    RunInterruptible([&] { outcome = Choose(replicas, target, &best_, &error); },
                     [](int sig) {
                       PrintError("restore", fmt::format("interrupted by {}; nothing was written",
                                                         SignalName(sig)));
                       ::_exit(kExitFailure);
                     });
    if (outcome == Outcome::kPlanned) return std::nullopt;
    if (outcome == Outcome::kNoBackup && a_.if_replica_exists) {
      LogInfo("restore skipped: the replica holds no backup", {{"output", output_}});
      Report("skipped", "the replica holds no backup");
      return kExitOk;
    }
    PrintError("restore", error);
    Report("failed", StatusMessage(error));
    return kExitFailure;
  }

  // Restores next to the output under a private name, checks it, then moves it
  // into place with no-replace semantics: a file that appears at the output
  // meanwhile is kept. On error or a signal nothing is left behind.
  absl::Status Execute(const RestoreTarget& target) {
    std::filesystem::path out_path(output_);
    std::error_code ec;
    std::filesystem::create_directories(out_path.parent_path(), ec);
    if (ec) {
      return absl::InternalError(
          fmt::format("create directory {}: {}", out_path.parent_path().string(), ec.message()));
    }
    const std::string staging =
        (out_path.parent_path() /
         fmt::format(".{}.restore-{}", out_path.filename().string(), getpid()))
            .string();
    const std::string staging_tmp = fmt::format("{}.tmp-{}", staging, getpid());
    RestoreProgressLine progress(STDERR_FILENO);  // a TTY only
    absl::Status s;
    RunInterruptible(
        [&] {
          s = RestoreInto(staging, target, &progress);
          progress.Clear();
        },
        [&](int sig) {
          progress.Clear();
          ::unlink(staging_tmp.c_str());
          ::unlink(staging.c_str());
          PrintError("restore", fmt::format("interrupted by {}; nothing was written to {}",
                                            SignalName(sig), output_));
          ::_exit(kExitFailure);
        });
    if (s.ok()) s = CheckIntegrity(staging, a_.check);
    if (s.ok()) s = Publish(staging, output_);
    if (!s.ok()) ::unlink(staging.c_str());
    return s;
  }

  absl::Status RestoreInto(const std::string& staging, const RestoreTarget& target,
                           RestoreProgressLine* progress) {
    auto factory = [this] { return NewReplicaClient(best_->options); };
    if (best_->litestream) {
      LitestreamRestoreOptions theirs;
      theirs.output_path = staging;
      theirs.client_factory = factory;
      LS_ASSIGN_OR_RETURN(theirs.decode_stored, LitestreamAgeDecoder(best_->options));
      return ExecuteLitestreamRestore(*best_->client, *best_->litestream, theirs);
    }
    RestoreOptions options;
    options.output_path = staging;
    options.parallelism = static_cast<int>(a_.parallelism);
    options.client_factory = factory;
    options.on_progress = [progress](const RestoreProgress& p) { progress->Update(p); };
    return ExecuteRestoreReplanning(*best_->client, target, &best_->plan, options);
  }

  void LogFinished(absl::Duration elapsed) const {
    std::vector<LogField> fields = {{"output", output_},
                                    {"replica", RedactUrl(best_->client->Describe())}};
    if (best_->litestream) {
      const LitestreamPlan& p = *best_->litestream;
      fields.insert(fields.end(), {{"from", DescribeLitestreamPlan(p)},
                                   {"time", p.timestamp},
                                   {"files", p.objects.size()},
                                   {"bytes", p.bytes}});
    } else {
      const RestorePlan& p = best_->plan;
      fields.insert(fields.end(), {{"lineage", LineageName(p.lineage)},
                                   {"txid", TxidString(p.txid)},
                                   {"time", p.timestamp},
                                   {"files", p.files.size()},
                                   {"bytes", p.bytes}});
    }
    fields.insert(fields.end(),
                  {{"integrity_check", IntegrityCheckName(a_.check)}, {"elapsed", elapsed}});
    Log(LogLevel::kInfo, "restore finished", fields);
  }

  const Args& a_;
  const std::string output_;
  std::optional<Candidate> best_;
};

}  // namespace

int RunRestoreCommand(const std::vector<std::string>& argv) {
  BlockSignals();  // ExecuteRestore runs threads; signals are handled in RestoreRun
  Args a;
  RestoreTarget target;
  if (std::optional<int> code = restore_args::Parse(argv, &a, &target)) return *code;
  std::vector<ReplicaOptions> replicas;
  std::string output;
  if (std::optional<int> code = restore_args::Resolve(a, &replicas, &output)) return *code;
  for (ReplicaOptions& r : replicas) {
    if (absl::Status s = ApplyAgeIdentityFiles(a.age_identity_files, &r); !s.ok()) {
      PrintError("restore", s);
      return kExitUsage;
    }
  }
  if (AnySpillsToScratch(replicas)) {  // objects over the memory limit spill there
    if (absl::Status s = CheckScratchDir(ScratchDir()); !s.ok()) {
      PrintError("restore", s);
      return kExitUsage;
    }
  }
  return RestoreRun(a, std::move(output)).Run(replicas, target);
}

}  // namespace litesync
