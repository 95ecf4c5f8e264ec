#include "replica/engine/lease.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include "base/log.h"
#include "base/status.h"
#include "base/time_format.h"
#include "fmt/format.h"

namespace litesync {
namespace {

std::string RandomId() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

const std::string& ProcessId() {
  static const std::string id = RandomId();
  return id;
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// /proc/PID/stat: after the command's closing ')', field 3 is the state and
// field 22 the start time in clock ticks after boot (proc(5)).
struct ProcStat {
  char state = '?';
  uint64_t start = 0;
};
std::optional<ProcStat> ReadProcStat(int64_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  ProcStat st;
  std::string skip;
  fields >> st.state;
  for (int field = 4; field < 22 && fields; ++field) fields >> skip;
  fields >> st.start;
  return st;
}

uint64_t OwnStartTime() {
  static const uint64_t start = [] {
    std::optional<ProcStat> st = ReadProcStat(::getpid());
    return st ? st->start : 0;
  }();
  return start;
}

// A process on this host that is gone: no such pid, a zombie (killed, not yet
// reaped by its parent), or another process that reuses the pid.
bool ProcessGone(int64_t pid, uint64_t start) {
  if (pid <= 0) return false;
  std::optional<ProcStat> st = ReadProcStat(pid);
  if (!st) return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
  if (st->state == 'Z' || st->state == 'X') return true;
  return start != 0 && st->start != 0 && st->start != start;
}

}  // namespace

std::string EncodeLease(const LeaseRecord& r) {
  return fmt::format(
      "litesync-lease 1\nowner {}\nprocess {}\nhost {}\npid {}\nstart {}\nexpires_ms {}\n", r.owner,
      r.process, r.host, r.pid, r.start, absl::ToUnixMillis(r.expires));
}

absl::StatusOr<LeaseRecord> DecodeLease(std::string_view bytes) {
  LeaseRecord r;
  bool magic = false, expires = false;
  auto number = [](std::string_view v, int64_t* out) {
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
    return ec == std::errc() && end == v.data() + v.size();
  };
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    std::string_view line = bytes.substr(0, nl);
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    std::string_view key = line.substr(0, sp), value = line.substr(sp + 1);
    int64_t n = 0;
    if (key == "litesync-lease") magic = value == "1";
    if (key == "owner") r.owner = value;
    if (key == "process") r.process = value;
    if (key == "host") r.host = value;
    if (key == "pid" && number(value, &n)) r.pid = n;
    if (key == "start" && number(value, &n)) r.start = static_cast<uint64_t>(n);
    if (key == "expires_ms" && number(value, &n)) {
      r.expires = absl::FromUnixMillis(n);
      expires = true;
    }
  }
  if (!magic || !expires || r.owner.empty()) {
    return absl::InvalidArgumentError("not a litesync lease record");
  }
  return r;
}

ReplicaLease::ReplicaLease() : owner_(RandomId()) {}

LeaseRecord ReplicaLease::Mine(absl::Time expires) const {
  return LeaseRecord{owner_, ProcessId(), HostName(), ::getpid(), OwnStartTime(), expires};
}

// Another owner's record that binds no one: expired, or left on this host by a
// process that is gone (or by an earlier life of a container that reuses our pid).
bool ReplicaLease::Stale(const LeaseRecord& r, absl::Time now) const {
  if (r.expires <= now) return true;
  if (r.host != HostName()) return false;
  if (r.pid == ::getpid()) return r.process != ProcessId();
  return ProcessGone(r.pid, r.start);
}

absl::Status ReplicaLease::Wait(ReplicaClient& client, const LeaseRecord& theirs) {
  lost_ = lost_ || held_;
  held_ = false;
  refused_ = true;
  return absl::FailedPreconditionError(fmt::format(
      "replica {} is in use by another litesync (host {}, pid {}, lease until {}); waiting for "
      "its lease. Only one instance may write a replica: if this one should write it, stop the "
      "other one; otherwise give this database another replica path",
      client.Describe(), theirs.host, theirs.pid, FormatTimestamp(theirs.expires)));
}

absl::Status ReplicaLease::Acquired(ReplicaClient& client, absl::Time now, std::string version) {
  if (!held_) LogInfo("replica lease acquired", {{"replica", client.Describe()}});
  held_ = true;
  expires_ = now + kLeaseTtl;
  version_ = std::move(version);
  renew_at_ = now + kLeaseTtl / 2;
  if (!refused_) return absl::OkStatus();
  refused_ = false;
  return absl::AbortedError(
      fmt::format("{}: lease {} another instance; re-reading the replica", client.Describe(),
                  lost_ ? "regained after it was lost to" : "taken over from"));
}

bool ReplicaLease::RenewBlind(ReplicaClient& client, absl::Time now, absl::Status* status) {
  // Late (within kLeaseSettle of the expiry, or past it): another instance may
  // be taking it over now, so read first. Storage that enforces conditions
  // needs the version of our own write for If-Match.
  if (!held_ || renew_at_ == absl::InfiniteFuture() || now + kLeaseSettle >= expires_) return false;
  if (version_.empty() && client.record_conditions() == RecordConditions::kEnforced) return false;
  std::string version;
  absl::Status s =
      client.WriteRecord(kLeaseRecord, EncodeLease(Mine(now + kLeaseTtl)),
                         RecordCondition{RecordCondition::kVersion, version_}, &version);
  if (s.ok()) {
    expires_ = now + kLeaseTtl;
    version_ = std::move(version);
    renew_at_ = now + kLeaseTtl / 2;
    return true;
  }
  // Aborted: the record is not the one we wrote; read it to see whose it is.
  if (!absl::IsAborted(s)) *status = Annotate(s, "renew the replica's lease");
  return !status->ok();
}

absl::Status ReplicaLease::Ensure(ReplicaClient& client, absl::Time now) {
  if (held_ && now < renew_at_) return absl::OkStatus();
  if (absl::Status s; RenewBlind(client, now, &s)) return s;
  if (!refused_) lost_ = false;
  bool confirm = confirming();
  if (confirm && now < confirm_at_) {
    return absl::UnavailableError(
        fmt::format("{}: confirming the replica's lease", client.Describe()));
  }
  confirm_at_ = absl::InfinitePast();
  absl::StatusOr<Record> record = client.ReadRecord(kLeaseRecord);
  if (absl::IsUnimplemented(record.status())) {  // storage without records: no lease
    held_ = true;
    renew_at_ = absl::InfiniteFuture();
    return absl::OkStatus();
  }
  if (!record.ok() && !absl::IsNotFound(record.status())) {
    return Annotate(record.status(), "read the replica's lease");
  }
  RecordCondition when{RecordCondition::kAbsent, ""};
  if (record.ok()) {
    absl::StatusOr<LeaseRecord> theirs = DecodeLease(record->bytes);
    if (held_ && (!theirs.ok() || theirs->owner != owner_)) {
      // Another instance wrote the lease while we held it: it may have written
      // the replica too. Whatever happens next, we re-read it (Aborted, lost()).
      LogWarn("replica lease lost to another litesync; this replica may hold its files",
              {{"replica", client.Describe()},
               {"host", theirs.ok() ? theirs->host : "?"},
               {"pid", theirs.ok() ? theirs->pid : 0}});
      held_ = false;
      refused_ = true;
      lost_ = true;
    }
    if (theirs.ok() && theirs->owner != owner_ && (confirm || !Stale(*theirs, now))) {
      return Wait(client, *theirs);  // confirming: a later write than ours won
    }
    if (theirs.ok() && theirs->owner == owner_ && confirm) {
      return Acquired(client, theirs->expires - kLeaseTtl, record->version);  // as written
    }
    if (!theirs.ok()) {
      LogWarn("replacing an unreadable lease record", {{"replica", client.Describe()}});
    }
    when = RecordCondition{RecordCondition::kVersion, record->version};
  } else if (confirm) {
    return absl::UnavailableError(
        fmt::format("{}: the lease written a moment ago is gone; retrying", client.Describe()));
  }
  std::string version;
  absl::Status s =
      client.WriteRecord(kLeaseRecord, EncodeLease(Mine(now + kLeaseTtl)), when, &version);
  if (absl::IsAborted(s)) {  // another instance wrote it since we read it
    held_ = false;
    refused_ = true;
    return absl::FailedPreconditionError(fmt::format(
        "replica {}: another litesync took the lease at the same moment; waiting for it",
        client.Describe()));
  }
  LS_RETURN_IF_ERROR(Annotate(s, "write the replica's lease"));
  if (!held_ && client.record_conditions() != RecordConditions::kEnforced) {
    confirm_at_ = now + kLeaseSettle;
    return absl::UnavailableError(
        fmt::format("{}: confirming the replica's lease (the storage does not enforce "
                    "conditional writes; docs/FORMAT.md, \"The lease\")",
                    client.Describe()));
  }
  return Acquired(client, now, std::move(version));
}

absl::Status ReplicaLease::Release(ReplicaClient& client, absl::Time now) {
  confirm_at_ = absl::InfinitePast();
  if (!held_ || renew_at_ == absl::InfiniteFuture()) return absl::OkStatus();
  held_ = false;
  renew_at_ = absl::InfinitePast();
  // Only our own record: if another instance took over meanwhile, it stays.
  LS_ASSIGN_OR_RETURN(Record record, client.ReadRecord(kLeaseRecord));
  absl::StatusOr<LeaseRecord> r = DecodeLease(record.bytes);
  if (!r.ok() || r->owner != owner_) return absl::OkStatus();
  return client.WriteRecord(kLeaseRecord, EncodeLease(Mine(now - absl::Seconds(1))),
                            RecordCondition{RecordCondition::kVersion, record.version});
}

}  // namespace litesync
