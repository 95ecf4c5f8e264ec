#include "replica/storage/s3/s3_replica_client.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/storage/s3/s3_delete.h"
#include "replica/storage/s3/s3_upload.h"
#include "replica/storage/s3/s3_xml.h"
#include "replica/storage/spill_buffer.h"

namespace litesync {
namespace {

constexpr int kMaxKeysPerList = 1000;

struct ListedObject {
  std::string key;
  uint64_t size = 0;
  absl::Time modified;  // LastModified; InfinitePast when absent
};

absl::Time ParseLastModified(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*S%Ez", std::string(text), &t, &err)) {
    return absl::InfinitePast();
  }
  return t;
}

// Where a 206 answer's body starts in the object ("bytes 100-199/200": 100);
// nullopt when Content-Range is missing or malformed.
std::optional<uint64_t> ContentRangeStart(const HttpHead& head) {
  uint64_t from = 0;
  if (std::sscanf(head.Header("content-range").c_str(), "bytes %" SCNu64, &from) != 1) {
    return std::nullopt;
  }
  return from;
}

struct ListPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_token;
};

class S3ReplicaClient : public ReplicaClient {
 public:
  S3ReplicaClient(S3Target target, S3Tuning tuning) : api_(std::move(target), std::move(tuning)) {}

  std::string_view Type() const override { return "s3"; }
  std::string Describe() const override { return api_.S3Url(api_.target().prefix); }

  absl::StatusOr<std::vector<Lineage>> ListLineages() override;
  absl::StatusOr<std::vector<TxFileInfo>> List(Lineage lineage, int level) override {
    return ListFrom(lineage, level, 0);
  }
  absl::StatusOr<std::vector<TxFileInfo>> ListFrom(Lineage lineage, int level,
                                                   uint64_t min_txid) override;
  absl::Status Write(const TxFileInfo& info, const ByteSource& bytes) override;
  absl::StatusOr<std::unique_ptr<ByteReader>> Open(const TxFileInfo& info) override;
  absl::Status Delete(std::span<const TxFileInfo> files) override;
  absl::Status Ping() override;
  absl::StatusOr<Record> ReadRecord(std::string_view name) override;
  absl::Status WriteRecord(std::string_view name, std::string_view bytes,
                           const RecordCondition& when, std::string* version) override;
  RecordConditions record_conditions() const override { return conditions_; }
  RequestCounts requests() const override { return api_.requests(); }
  absl::StatusOr<std::vector<std::string>> ListRootNames() override;
  absl::StatusOr<std::vector<ObjectInfo>> ListObjects(std::string_view prefix) override;
  absl::StatusOr<std::unique_ptr<ByteReader>> OpenObject(std::string_view key, uint64_t offset,
                                                         uint64_t limit) override {
    return OpenKey(api_.Key(key), 0, offset, limit);
  }
  absl::Status ReadObjectRange(std::string_view key, uint64_t offset, std::span<char> out) override;

 private:
  // GET of `key` (`size` bytes when known, else 0); from `offset` on, only `limit`
  // bytes when limit > 0.
  absl::StatusOr<std::unique_ptr<ByteReader>> OpenKey(const std::string& key, uint64_t size,
                                                      uint64_t offset, uint64_t limit);
  // One ListObjectsV2 page of keys under `prefix`, no delimiter.
  absl::StatusOr<ListPage> ListOnePage(const std::string& prefix, const std::string& token,
                                       const std::string& start_after, int max_keys);

  S3Api api_;
  RecordConditions conditions_ = RecordConditions::kUnknown;
};

absl::StatusOr<ListPage> S3ReplicaClient::ListOnePage(const std::string& prefix,
                                                      const std::string& token,
                                                      const std::string& start_after,
                                                      int max_keys) {
  S3Call call;
  call.query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(max_keys)}};
  if (!token.empty()) call.query.emplace_back("continuation-token", token);
  if (!start_after.empty()) call.query.emplace_back("start-after", start_after);
  call.what = "LIST " + api_.S3Url(prefix);
  LS_ASSIGN_OR_RETURN(HttpResponse r, api_.Send(call));
  XmlDocument xml(r.body);
  if (!xml.ok() || std::string_view(xml.root().name()) != "ListBucketResult") {
    // A body cut short (a dropped connection) must not read as a shorter listing.
    return absl::UnavailableError(
        fmt::format("{}: the answer is not a complete ListBucketResult document", call.what));
  }
  ListPage page;
  for (pugi::xml_node contents : XmlElements(xml.root(), "Contents")) {
    ListedObject o;
    o.key = XmlText(contents, "Key").value_or("");
    o.size = std::strtoull(XmlText(contents, "Size").value_or("0").c_str(), nullptr, 10);
    o.modified = ParseLastModified(XmlText(contents, "LastModified").value_or(""));
    if (!o.key.empty()) page.objects.push_back(std::move(o));
  }
  page.truncated = XmlText(xml.root(), "IsTruncated").value_or("false") == "true";
  page.next_token = XmlText(xml.root(), "NextContinuationToken").value_or("");
  if (page.truncated && page.next_token.empty() && page.objects.empty()) {
    return absl::UnavailableError(
        fmt::format("{}: truncated listing without a continuation token", call.what));
  }
  return page;
}

absl::StatusOr<std::vector<TxFileInfo>> S3ReplicaClient::ListFrom(Lineage lineage, int level,
                                                                  uint64_t min_txid) {
  std::string dir = api_.Key(fmt::format("{}/{}/", LineageName(lineage), level));
  std::vector<TxFileInfo> out;
  std::string token;
  // Names start with the file's min TXID in 16 hex digits, so every name of a
  // file from `min_txid` on sorts after the bare digits ("<min>-<max>.ltx" >
  // "<min>"). A server that ignores start-after only sends more; the filter below
  // still holds.
  std::string start_after = min_txid > 0 ? dir + TxidString(min_txid) : "";
  while (true) {
    LS_ASSIGN_OR_RETURN(ListPage page, ListOnePage(dir, token, start_after, kMaxKeysPerList));
    for (const ListedObject& o : page.objects) {
      if (o.key.size() <= dir.size() || o.key.compare(0, dir.size(), dir) != 0) continue;
      std::optional<TxFileInfo> info = ParseTxFileName(o.key.substr(dir.size()), lineage, level);
      if (!info || info->min_txid < min_txid) continue;  // not ours (temp files, junk), or below
      info->size = o.size;
      out.push_back(*info);
    }
    if (!page.truncated) break;
    // Servers without continuation tokens (ListObjects v1 semantics) page by key.
    token = page.next_token;
    start_after = token.empty() ? page.objects.back().key : "";
  }
  std::sort(out.begin(), out.end(), [](const TxFileInfo& a, const TxFileInfo& b) {
    return std::tie(a.min_txid, a.max_txid) < std::tie(b.min_txid, b.max_txid);
  });
  return out;
}

absl::StatusOr<std::vector<std::string>> S3ReplicaClient::ListRootNames() {
  // Without a delimiter every key would be listed; instead, once a key shows a
  // first path component, the listing jumps past it: "<root><name>0" sorts after
  // every "<root><name>/..." key and before the next name that is not a prefix.
  std::string root = api_.Key("");
  std::vector<std::string> names;
  std::string start_after;
  while (true) {
    LS_ASSIGN_OR_RETURN(ListPage page, ListOnePage(root, "", start_after, kMaxKeysPerList));
    bool jumped = false;
    for (const ListedObject& o : page.objects) {
      std::string_view rest = std::string_view(o.key).substr(std::min(root.size(), o.key.size()));
      size_t slash = rest.find('/');
      if (slash == std::string_view::npos) continue;  // a record at the root (lease)
      names.emplace_back(rest.substr(0, slash));
      start_after = root + names.back() + "0";
      jumped = true;
      break;
    }
    if (jumped) continue;
    if (!page.truncated || page.objects.empty()) break;
    start_after = page.objects.back().key;
  }
  return names;
}

absl::StatusOr<std::vector<Lineage>> S3ReplicaClient::ListLineages() {
  // Anything else beside the lineages (Litestream's generations/, ltx/, 0000/)
  // is skipped unlisted.
  LS_ASSIGN_OR_RETURN(std::vector<std::string> names, ListRootNames());
  std::vector<Lineage> out;
  for (const std::string& n : names) {
    if (std::optional<Lineage> l = ParseLineageName(n)) out.push_back(*l);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status S3ReplicaClient::Write(const TxFileInfo& info, const ByteSource& bytes) {
  return S3Upload(api_, api_.Key(info.RelativePath()), bytes);
}

absl::StatusOr<std::vector<ObjectInfo>> S3ReplicaClient::ListObjects(std::string_view prefix) {
  const std::string root = api_.Key("");
  const std::string full = root + std::string(prefix);
  std::vector<ObjectInfo> out;
  std::string token;
  std::string start_after;
  while (true) {
    LS_ASSIGN_OR_RETURN(ListPage page, ListOnePage(full, token, start_after, kMaxKeysPerList));
    for (ListedObject& o : page.objects) {
      if (o.key.size() <= root.size() || !o.key.starts_with(full)) continue;
      out.push_back(ObjectInfo{o.key.substr(root.size()), o.size, o.modified});
    }
    if (!page.truncated) break;
    token = page.next_token;
    start_after = token.empty() ? page.objects.back().key : "";
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

absl::StatusOr<std::unique_ptr<ByteReader>> S3ReplicaClient::Open(const TxFileInfo& info) {
  return OpenKey(api_.Key(info.RelativePath()), info.size, 0, 0);
}

absl::StatusOr<std::unique_ptr<ByteReader>> S3ReplicaClient::OpenKey(const std::string& key,
                                                                     uint64_t size, uint64_t offset,
                                                                     uint64_t limit) {
  SpillBuffer buffer(api_.tuning().memory_read_limit, api_.tuning().temp_dir);
  std::string etag;
  std::optional<uint64_t> total;  // from the first full answer's Content-Length
  bool first_chunk = true;
  // A part of the object: one ranged GET, retried whole.
  const bool ranged = offset > 0 || limit > 0;
  bool resume = !ranged;
  S3Call call;
  call.key = key;
  call.transfer_bytes = limit > 0 ? limit : size;
  if (ranged) {
    call.headers.emplace_back("Range", limit > 0
                                           ? fmt::format("bytes={}-{}", offset, offset + limit - 1)
                                           : fmt::format("bytes={}-", offset));
  }
  call.what = "GET " + api_.S3Url(key);
  // A retry after a dropped connection asks for the rest only (If-Match: the same
  // object), so a large download is not restarted from zero.
  call.before_attempt = [&](HeaderList* headers) {
    first_chunk = true;
    if (resume && !etag.empty() && total && buffer.size() > 0 && buffer.size() < *total) {
      headers->emplace_back("Range", fmt::format("bytes={}-", buffer.size()));
      headers->emplace_back("If-Match", etag);
    } else {
      buffer.Clear();
    }
  };
  call.sink = [&](const HttpHead& head, std::string_view data) -> absl::Status {
    if (first_chunk) {
      first_chunk = false;
      if (head.status == 206) {
        if (ContentRangeStart(head) != (ranged ? offset : 0) + buffer.size()) {
          buffer.Clear();
          return absl::UnavailableError(fmt::format("{}: resumed at the wrong offset ({})",
                                                    call.what, head.Header("content-range")));
        }
      } else {
        buffer.Clear();
        etag = head.Header("etag");
        total.reset();
        if (std::string cl = head.Header("content-length"); !cl.empty()) {
          total = std::strtoull(cl.c_str(), nullptr, 10);
        }
      }
    }
    return buffer.Append(data);
  };
  absl::StatusOr<HttpResponse> r = api_.Send(call);
  if (!r.ok() && r.status().code() == absl::StatusCode::kFailedPrecondition && !etag.empty()) {
    resume = false;  // 412: the object changed between attempts; start over once
    r = api_.Send(call);
  }
  LS_RETURN_IF_ERROR(r.status());
  if (total && buffer.size() != *total) {
    return absl::UnavailableError(
        fmt::format("{}: got {} of {} bytes", call.what, buffer.size(), *total));
  }
  return buffer.TakeReader();
}

// One ranged GET whose body goes straight into `out`: a part of a parallel read
// holds no other copy (no spill buffer, no reader over it). Retried whole.
absl::Status S3ReplicaClient::ReadObjectRange(std::string_view key, uint64_t offset,
                                              std::span<char> out) {
  if (out.empty()) return absl::OkStatus();
  S3Call call;
  call.key = api_.Key(key);
  call.transfer_bytes = out.size();
  call.headers.emplace_back("Range", fmt::format("bytes={}-{}", offset, offset + out.size() - 1));
  call.what = "GET " + api_.S3Url(call.key);
  size_t got = 0;
  call.before_attempt = [&](HeaderList*) { got = 0; };
  call.sink = [&](const HttpHead& head, std::string_view data) -> absl::Status {
    if (got == 0 && head.status == 206) {
      if (ContentRangeStart(head) != offset) {
        return absl::UnavailableError(fmt::format("{}: answered the range {}, asked for offset {}",
                                                  call.what, head.Header("content-range"), offset));
      }
    } else if (got == 0 && offset > 0) {  // 200: the whole object, Range ignored
      return absl::FailedPreconditionError(fmt::format(
          "{}: the server ignored the Range header (status {}); litesync needs ranged GETs to "
          "read this object in parts",
          call.what, head.status));
    }
    if (data.size() > out.size() - got) {
      return absl::DataLossError(
          fmt::format("{}: more than the {} bytes asked for arrived (the object changed, or the "
                      "server answered the whole object)",
                      call.what, out.size()));
    }
    std::copy(data.begin(), data.end(), out.begin() + got);
    got += data.size();
    return absl::OkStatus();
  };
  LS_RETURN_IF_ERROR(api_.Send(call).status());
  if (got != out.size()) return ShortRangeError(call.key, offset, out.size(), got);
  return absl::OkStatus();
}

absl::Status S3ReplicaClient::Delete(std::span<const TxFileInfo> files) {
  std::vector<std::string> keys;
  for (const TxFileInfo& f : files) keys.push_back(api_.Key(f.RelativePath()));
  return S3DeleteKeys(api_, std::move(keys));
}

absl::StatusOr<Record> S3ReplicaClient::ReadRecord(std::string_view name) {
  S3Call call;
  call.key = api_.Key(name);
  call.what = "GET " + api_.S3Url(call.key);
  LS_ASSIGN_OR_RETURN(HttpResponse response, api_.Send(call));
  std::string etag(response.Header("etag"));
  return Record{std::move(response.body), etag};
}

// Conditional writes (S3's If-None-Match: * and If-Match: ETag on PUT, which
// AWS and most compatible servers honour, answering 412 when the condition
// fails and 409 when another conditional write to the key is in flight). Some
// servers ignore both headers and overwrite (s3rver): which kind this server is
// shows the first time the record exists, when a PUT with If-None-Match: * is
// answered 412 (enforced; the PUT with If-Match follows) or 200 (ignored: the
// record is written, unconditionally, as the caller was about to do).
absl::Status S3ReplicaClient::WriteRecord(std::string_view name, std::string_view bytes,
                                          const RecordCondition& when, std::string* version) {
  std::function<absl::Status(std::string_view, std::string)> put;
  put = [&](std::string_view header, std::string value) -> absl::Status {
    S3Call call;
    call.method = "PUT";
    call.key = api_.Key(name);
    call.body = bytes;
    call.what = "PUT " + api_.S3Url(call.key);
    if (!header.empty()) call.headers.emplace_back(std::string(header), std::move(value));
    absl::StatusOr<HttpResponse> response = api_.Send(call);
    absl::Status s = response.status();
    if (response.ok() && version != nullptr) *version = std::string(response->Header("etag"));
    if (absl::IsAborted(s) && absl::StrContains(s.message(), "HTTP 412")) {
      conditions_ = RecordConditions::kEnforced;
    }
    // A server that refuses the header itself (501 NotImplemented) has no
    // conditional writes either: write as one that ignores them.
    if (absl::IsUnimplemented(s) && !header.empty()) {
      conditions_ = RecordConditions::kIgnored;
      return put("", "");
    }
    return s;
  };
  if (when.kind == RecordCondition::kAlways || conditions_ == RecordConditions::kIgnored) {
    return put("", "");
  }
  if (when.kind == RecordCondition::kAbsent) return put("If-None-Match", "*");
  if (conditions_ == RecordConditions::kUnknown) {
    absl::Status probe = put("If-None-Match", "*");  // the record exists: 412 where enforced
    if (!absl::IsAborted(probe)) {
      if (probe.ok()) conditions_ = RecordConditions::kIgnored;
      return probe;
    }
  }
  return put("If-Match", when.version);
}

// The cheapest request that proves the bucket answers and the credentials work:
// a GET of the lease record (about 150 bytes; billed as a GET, where a LIST costs
// about twelve times as much on AWS). An absent record (NoSuchKey) answers too;
// a missing bucket is FailedPrecondition, bad credentials PermissionDenied.
absl::Status S3ReplicaClient::Ping() {
  absl::StatusOr<Record> lease = ReadRecord("lease");
  if (absl::IsNotFound(lease.status())) return absl::OkStatus();
  return lease.status();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplicaClient>> NewS3ReplicaClient(const ReplicaOptions& options,
                                                                  const S3Tuning& tuning) {
  LS_ASSIGN_OR_RETURN(S3Target target, ResolveS3Target(options));
  return std::unique_ptr<ReplicaClient>(new S3ReplicaClient(std::move(target), tuning));
}

}  // namespace litesync
