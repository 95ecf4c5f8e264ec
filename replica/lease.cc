#include "replica/lease.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <random>

#include "fmt/format.h"

#include "replica/log.h"
#include "replica/status.h"

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

}  // namespace

std::string EncodeLease(const LeaseRecord& r) {
  return fmt::format("litesync-lease 1\nowner {}\nprocess {}\nhost {}\npid {}\nexpires_ms {}\n",
                     r.owner, r.process, r.host, r.pid, absl::ToUnixMillis(r.expires));
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
  return LeaseRecord{owner_, ProcessId(), HostName(), ::getpid(), expires};
}

// Another owner's record that binds no one: expired, or left on this host by a
// process that is gone (or by an earlier life of a container that reuses our pid).
bool ReplicaLease::Stale(const LeaseRecord& r, absl::Time now) const {
  if (r.expires <= now) return true;
  if (r.host != HostName()) return false;
  if (r.pid == ::getpid()) return r.process != ProcessId();
  return r.pid > 0 && ::kill(static_cast<pid_t>(r.pid), 0) != 0 && errno == ESRCH;
}

absl::Status ReplicaLease::Ensure(ReplicaClient& client, absl::Time now) {
  if (held_ && now < renew_at_) return absl::OkStatus();
  absl::StatusOr<std::string> bytes = client.ReadRecord(kLeaseRecord);
  if (absl::IsUnimplemented(bytes.status())) {  // storage without records: no lease
    held_ = true;
    renew_at_ = absl::InfiniteFuture();
    return absl::OkStatus();
  }
  if (!bytes.ok() && !absl::IsNotFound(bytes.status())) {
    return Annotate(bytes.status(), "read the replica's lease");
  }
  if (bytes.ok()) {
    absl::StatusOr<LeaseRecord> theirs = DecodeLease(*bytes);
    if (!theirs.ok()) {
      LogWarn("replacing an unreadable lease record", {{"replica", client.Describe()}});
    } else if (theirs->owner != owner_ && !Stale(*theirs, now)) {
      held_ = false;
      refused_ = true;
      return absl::FailedPreconditionError(fmt::format(
          "replica {} is in use by another litesync (host {}, pid {}, lease until {}); only one "
          "instance may write a replica: stop the other one, or give this database another "
          "replica path",
          client.Describe(), theirs->host, theirs->pid,
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", theirs->expires, absl::UTCTimeZone())));
    }
  }
  LS_RETURN_IF_ERROR(Annotate(client.WriteRecord(kLeaseRecord, EncodeLease(Mine(now + kLeaseTtl))),
                              "write the replica's lease"));
  if (!held_) {  // a first acquisition: did another instance write in the same moment?
    LS_ASSIGN_OR_RETURN(std::string back, client.ReadRecord(kLeaseRecord));
    absl::StatusOr<LeaseRecord> r = DecodeLease(back);
    if (!r.ok() || r->owner != owner_) {
      return absl::FailedPreconditionError(fmt::format(
          "replica {}: another litesync took the lease at the same moment; retrying later",
          client.Describe()));
    }
    LogInfo("replica lease acquired", {{"replica", client.Describe()}});
  }
  held_ = true;
  renew_at_ = now + kLeaseTtl / 3;
  if (refused_) {
    refused_ = false;
    return absl::AbortedError(fmt::format(
        "{}: lease taken over from another instance; re-reading the replica", client.Describe()));
  }
  return absl::OkStatus();
}

absl::Status ReplicaLease::Release(ReplicaClient& client, absl::Time now) {
  if (!held_ || renew_at_ == absl::InfiniteFuture()) return absl::OkStatus();
  held_ = false;
  renew_at_ = absl::InfinitePast();
  // Only our own record: if another instance took over meanwhile, it stays.
  LS_ASSIGN_OR_RETURN(std::string bytes, client.ReadRecord(kLeaseRecord));
  absl::StatusOr<LeaseRecord> r = DecodeLease(bytes);
  if (!r.ok() || r->owner != owner_) return absl::OkStatus();
  return client.WriteRecord(kLeaseRecord, EncodeLease(Mine(now - absl::Seconds(1))));
}

}  // namespace litesync
