// The storage seam: a ReplicaClient stores one database's tx files and speaks in
// TxFileInfo, never in URLs or paths. Backends: file_replica_client (a directory),
// s3_replica_client (S3-compatible object storage). One thread at a time per client.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/handles.h"
#include "base/request_counts.h"
#include "fmt/format.h"

#include "replica/format/tx_file_info.h"
#include "replica/storage/replica_options.h"

namespace litesync {

// A sequential byte stream. Read returns 0 at the end.
class ByteReader {
 public:
  virtual ~ByteReader() = default;
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

// What Write uploads: a known size and a stream that can start over (for retries).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t Size() const = 0;
  // A fresh reader from the first byte; the source must outlive it.
  virtual absl::StatusOr<std::unique_ptr<ByteReader>> Open() const = 0;
};

// In-memory and file-backed sources (the file must not change while in use).
std::unique_ptr<ByteSource> MemorySource(std::string bytes);
absl::StatusOr<std::unique_ptr<ByteSource>> FileSource(const std::string& path);
// Readers: over bytes in memory it owns, over bytes that outlive it, and over an
// open file from its current offset (`what` names the file in errors).
std::unique_ptr<ByteReader> NewMemoryReader(std::string bytes);
std::unique_ptr<ByteReader> NewMemoryViewReader(std::string_view bytes);
std::unique_ptr<ByteReader> NewFdReader(UniqueFd fd, std::string what);
// `prefix` (bytes already read from `rest`), then the rest of `rest`.
std::unique_ptr<ByteReader> NewPrefixedReader(std::string prefix, std::unique_ptr<ByteReader> rest);
// Reads a whole stream into memory.
absl::StatusOr<std::string> ReadAll(ByteReader& reader);
// Reads until `n` bytes or the end of the stream; *got says how many arrived.
absl::Status ReadFull(ByteReader& reader, char* buf, size_t n, size_t* got);
// The error of a ranged read that got fewer bytes than it asked for.
absl::Status ShortRangeError(std::string_view key, uint64_t offset, uint64_t want, uint64_t got);

// A record as read: its bytes, and the version a conditional write names (the
// ETag on S3, the bytes themselves in a directory).
struct Record {
  std::string bytes;
  std::string version;
};

// When WriteRecord may write.
struct RecordCondition {
  enum Kind { kAlways, kAbsent, kVersion };
  Kind kind = kAlways;
  std::string version;  // kVersion: Record::version as read
};

// An object of another program's replica found beside ours (replica/compat/ reads
// Litestream's): its key relative to the replica root, size and storage time
// (the file's mtime, the S3 object's LastModified).
struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  absl::Time modified;
};

enum class RecordConditions {
  kEnforced,  // a conditional write that succeeded held its condition
  kUnknown,   // not known yet (S3 until the server showed it either way)
  kIgnored,   // writes are unconditional
};

class ReplicaClient {
 public:
  virtual ~ReplicaClient() = default;
  // The client that asks the storage itself, past any cache in front of it
  // (writer_cache.h): what validation reads, so it checks what a restore on
  // another host would get.
  virtual ReplicaClient& Storage() { return *this; }
  virtual std::string_view Type() const = 0;  // its backend's scheme (backend.h)
  // The replica's redacted address for logs and status: file:///b/app, s3://bkt/app.
  virtual std::string Describe() const = 0;

  // Lineages present, ascending; empty (not NotFound) for an empty replica.
  virtual absl::StatusOr<std::vector<Lineage>> ListLineages() = 0;
  // Files of one lineage and level sorted by min_txid (then max_txid); empty when none.
  virtual absl::StatusOr<std::vector<TxFileInfo>> List(Lineage lineage, int level) = 0;
  // What List returns, cut from below: the files whose min_txid is at least
  // `min_txid`. A backend that can start a listing at a key (S3's start-after)
  // sends only the pages past it, so a reader that knows roughly where the newest
  // files are (the monitor, monitor/verdict.h) lists one page, not the whole level.
  virtual absl::StatusOr<std::vector<TxFileInfo>> ListFrom(Lineage lineage, int level,
                                                           uint64_t min_txid);
  // Stores the file atomically: a reader sees all of it or nothing. Returns only
  // after the storage acknowledged the write (durable).
  virtual absl::Status Write(const TxFileInfo& info, const ByteSource& bytes) = 0;
  // NotFound when absent.
  virtual absl::StatusOr<std::unique_ptr<ByteReader>> Open(const TxFileInfo& info) = 0;
  // Deleting an absent file is not an error.
  virtual absl::Status Delete(std::span<const TxFileInfo> files) = 0;
  // A cheap request proving the replica is reachable and usable now.
  virtual absl::Status Ping() = 0;

  // A small named record at the replica's root beside the lineages (the writer's
  // lease, lease.h), written atomically. NotFound when absent; a backend without
  // records answers Unimplemented.
  virtual absl::StatusOr<Record> ReadRecord(std::string_view name) {
    return absl::UnimplementedError(fmt::format("{}: no records", name));
  }
  // Writes the record when `when` holds: always, only if no record exists, or
  // only if it is still at the version that ReadRecord returned. Aborted when the
  // condition does not hold (another writer got there first). `version` (may be
  // null) receives the written record's version when the storage tells it (S3's
  // ETag; empty when the server sends none), so a later conditional write needs
  // no read first.
  virtual absl::Status WriteRecord(std::string_view name, std::string_view bytes,
                                   const RecordCondition& when = {},
                                   std::string* version = nullptr) {
    (void)bytes;
    (void)when;
    (void)version;
    return absl::UnimplementedError(fmt::format("{}: no records", name));
  }
  // Whether the storage enforces WriteRecord's condition. Not enforced (S3
  // servers without conditional writes, such as s3rver): the write happened
  // unconditionally and the caller must verify by reading back (lease.h).
  virtual RecordConditions record_conditions() const { return RecordConditions::kIgnored; }

  // Encryption at rest (replica/crypto/age_replica_client.h). Whether files are
  // written encrypted; whether this host can read encrypted files (false with
  // age recipients only: the watcher then neither compacts, validates nor
  // resumes); whether one stored file is encrypted (it is opened to look).
  virtual bool encrypts() const { return false; }
  virtual bool can_read() const { return true; }
  virtual absl::StatusOr<bool> IsEncrypted(const TxFileInfo& info) {
    (void)info;
    return false;
  }
  // The requests this client sent so far, by op (base/request_counts.h); the
  // backends count where requests leave the process.
  virtual RequestCounts requests() const { return {}; }
  // The first path components under the replica root that hold objects (its
  // "directories": litesync's lineages, Litestream's generations, ltx, 0000...),
  // sorted. Cheap on S3: one listing per name.
  virtual absl::StatusOr<std::vector<std::string>> ListRootNames() {
    return absl::UnimplementedError("listing the replica root");
  }

  // Read-only access to objects that are not litesync's, for restoring a
  // Litestream replica at the same location (replica/compat/). Every object whose
  // key (relative to the replica root) starts with `prefix`, sorted by key; empty
  // when none.
  virtual absl::StatusOr<std::vector<ObjectInfo>> ListObjects(std::string_view prefix) {
    return absl::UnimplementedError(fmt::format("{}: listing other objects", prefix));
  }
  // The object's bytes from `offset` on, or only `limit` of them when limit > 0
  // (fewer when it is shorter). NotFound when absent.
  virtual absl::StatusOr<std::unique_ptr<ByteReader>> OpenObject(std::string_view key,
                                                                 uint64_t offset = 0,
                                                                 uint64_t limit = 0) {
    (void)offset;
    (void)limit;
    return absl::UnimplementedError(fmt::format("{}: reading other objects", key));
  }
  // Exactly out.size() bytes of the object from `offset` on, into `out` (one part
  // of a parallel read, replica/storage/parallel_reader.h). DataLoss when the
  // object is shorter. The default reads through OpenObject; a backend that can
  // put the bytes straight into `out` overrides it.
  virtual absl::Status ReadObjectRange(std::string_view key, uint64_t offset, std::span<char> out);
};

inline absl::StatusOr<std::vector<TxFileInfo>> ReplicaClient::ListFrom(Lineage lineage, int level,
                                                                       uint64_t min_txid) {
  absl::StatusOr<std::vector<TxFileInfo>> files = List(lineage, level);
  if (files.ok()) std::erase_if(*files, [&](const TxFileInfo& f) { return f.min_txid < min_txid; });
  return files;
}

// The factory: the only place that knows the concrete backends.
absl::StatusOr<std::unique_ptr<ReplicaClient>> NewReplicaClient(const ReplicaOptions& options);
// NewReplicaClient or a stand-in (tests inject fault-injecting clients with one).
using ReplicaClientFactory =
    std::function<absl::StatusOr<std::unique_ptr<ReplicaClient>>(const ReplicaOptions&)>;

// Parses a replica URL as given on the command line for restore without a config:
// a directory path, file:///path, or
// s3://bucket/prefix?endpoint=...&region=...&force-path-style=true
absl::StatusOr<ReplicaOptions> ReplicaOptionsFromUrl(std::string_view url);

}  // namespace litesync
