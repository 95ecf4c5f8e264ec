#include "replica/storage/s3/s3_upload.h"

#include <algorithm>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

#include "replica/storage/s3/s3_xml.h"

namespace litesync {
namespace {

constexpr uint64_t kMaxParts = 10000;

absl::Status PutSingle(S3Api& api, const std::string& key, const ByteSource& bytes) {
  S3Call call;
  call.method = "PUT";
  call.key = key;
  call.what = "PUT " + api.S3Url(key);
  // The payload hash is signed, so the body is read once to hash it, then sent.
  {
    LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> reader, bytes.Open());
    Sha256Hasher hasher;
    uint64_t total = 0;
    std::string buf(256 * 1024, '\0');
    while (true) {
      LS_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
      if (n == 0) break;
      hasher.Update(std::string_view(buf.data(), n));
      total += n;
    }
    if (total != bytes.Size()) {
      return absl::DataLossError(
          fmt::format("{}: source has {} bytes, expected {}", call.what, total, bytes.Size()));
    }
    call.payload_sha256 = hasher.HexDigest();
  }
  call.body_source = &bytes;
  return api.Send(call).status();
}

absl::Status UploadParts(S3Api& api, const std::string& key, const std::string& upload_id,
                         const ByteSource& bytes, uint64_t part_size,
                         std::vector<std::string>* etags) {
  uint64_t size = bytes.Size();
  uint64_t parts = (size + part_size - 1) / part_size;
  LS_ASSIGN_OR_RETURN(std::unique_ptr<ByteReader> reader, bytes.Open());
  // One part in memory at a time; a retry resends it from this buffer.
  std::string buf(part_size, '\0');
  uint64_t done = 0;
  for (uint64_t part = 1; part <= parts; ++part) {
    size_t want = static_cast<size_t>(std::min(part_size, size - done));
    size_t have = 0;
    while (have < want) {
      LS_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data() + have, want - have));
      if (n == 0) {
        return absl::DataLossError(fmt::format("PUT {}: source ended after {} of {} bytes",
                                               api.S3Url(key), done + have, size));
      }
      have += n;
    }
    S3Call call;
    call.method = "PUT";
    call.key = key;
    call.query = {{"partNumber", std::to_string(part)}, {"uploadId", upload_id}};
    call.body = std::string_view(buf.data(), want);
    call.what = fmt::format("PUT {} (part {} of {})", api.S3Url(key), part, parts);
    LS_ASSIGN_OR_RETURN(HttpResponse r, api.Send(call));
    std::string etag = r.Header("etag");
    if (etag.empty()) return absl::UnavailableError(call.what + ": no ETag in the answer");
    etags->push_back(std::move(etag));
    done += want;
  }
  char extra;
  LS_ASSIGN_OR_RETURN(size_t more, reader->Read(&extra, 1));
  if (more != 0) {
    return absl::DataLossError(
        fmt::format("PUT {}: source has more than {} bytes", api.S3Url(key), size));
  }
  return absl::OkStatus();
}

absl::Status CompleteUpload(S3Api& api, const std::string& key, const std::string& upload_id,
                            const std::vector<std::string>& etags, uint64_t size) {
  pugi::xml_document doc;
  pugi::xml_node complete = doc.append_child("CompleteMultipartUpload");
  complete.append_attribute("xmlns").set_value(kS3Xmlns);
  for (size_t i = 0; i < etags.size(); ++i) {
    pugi::xml_node part = complete.append_child("Part");
    part.append_child("PartNumber").text().set(std::to_string(i + 1).c_str());
    part.append_child("ETag").text().set(etags[i].c_str());
  }
  std::string body = XmlToString(doc);
  S3Call call;
  call.method = "POST";
  call.key = key;
  call.query = {{"uploadId", upload_id}};
  call.headers = {{"Content-Type", "application/xml"}};
  call.body = body;
  call.what = fmt::format("POST {} (complete multipart upload)", api.S3Url(key));
  // A 200 may still carry an <Error> (the server failed while assembling).
  call.check = [&](const HttpResponse& r) -> absl::Status {
    if (XmlElements(XmlDocument(r.body).root(), "Error").empty()) return absl::OkStatus();
    return api.ErrorFor(call, 500, r.body);
  };
  absl::StatusOr<HttpResponse> r = api.Send(call);
  if (r.ok() || r.status().code() != absl::StatusCode::kNotFound) return r.status();
  // NoSuchUpload after a retry: an earlier attempt may have completed it and lost
  // the answer. The object, whole, says so.
  S3Call head;
  head.method = "HEAD";
  head.key = key;
  head.what = "HEAD " + api.S3Url(key);
  absl::StatusOr<HttpResponse> h = api.Send(head);
  if (h.ok() && h->Header("content-length") == std::to_string(size)) return absl::OkStatus();
  return r.status();
}

void AbortUpload(S3Api& api, const std::string& key, const std::string& upload_id) {
  S3Call call;
  call.method = "DELETE";
  call.key = key;
  call.query = {{"uploadId", upload_id}};
  call.what = fmt::format("DELETE {} (abort multipart upload)", api.S3Url(key));
  absl::Status s = api.Send(call).status();
  if (!s.ok()) {
    // Parts of an unfinished upload are invisible; a lifecycle rule removes them.
    LogWarn("s3 multipart upload not aborted",
            {{"replica", api.S3Url(api.target().prefix)}, {"upload_id", upload_id}, {"err", s}});
  }
}

absl::Status PutMultipart(S3Api& api, const std::string& key, const ByteSource& bytes) {
  uint64_t size = bytes.Size();
  uint64_t part_size = std::max(api.tuning().part_size, (size + kMaxParts - 1) / kMaxParts);
  S3Call create;
  create.method = "POST";
  create.key = key;
  create.query = {{"uploads", ""}};
  create.what = fmt::format("POST {} (create multipart upload)", api.S3Url(key));
  LS_ASSIGN_OR_RETURN(HttpResponse r, api.Send(create));
  std::string upload_id = XmlText(XmlDocument(r.body).root(), "UploadId").value_or("");
  if (upload_id.empty()) {
    return absl::UnavailableError(fmt::format("{}: no UploadId in the answer", create.what));
  }
  std::vector<std::string> etags;
  absl::Status s = UploadParts(api, key, upload_id, bytes, part_size, &etags);
  if (s.ok()) s = CompleteUpload(api, key, upload_id, etags, size);
  if (!s.ok()) AbortUpload(api, key, upload_id);
  return s;
}

}  // namespace

absl::Status S3Upload(S3Api& api, const std::string& key, const ByteSource& bytes) {
  if (bytes.Size() > api.tuning().part_size) return PutMultipart(api, key, bytes);
  return PutSingle(api, key, bytes);
}

}  // namespace litesync
