#include "replica/storage/s3/s3_delete.h"

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "fmt/format.h"

#include "replica/storage/s3/s3_xml.h"
#include "replica/storage/s3/sigv4.h"

namespace litesync {
namespace {

constexpr size_t kMaxKeysPerDelete = 1000;  // DeleteObjects' limit per request

absl::Status DeleteBatch(S3Api& api, std::span<const std::string> keys) {
  pugi::xml_document doc;
  pugi::xml_node del = doc.append_child("Delete");
  del.append_attribute("xmlns").set_value(kS3Xmlns);
  del.append_child("Quiet").text().set("true");
  for (const std::string& k : keys) {
    del.append_child("Object").append_child("Key").text().set(k.c_str());
  }
  std::string body = XmlToString(doc);
  S3Call call;
  call.method = "POST";
  call.query = {{"delete", ""}};
  // S3 requires Content-MD5 (or a checksum header) on DeleteObjects.
  call.headers = {{"Content-MD5", Md5Base64(body)}, {"Content-Type", "application/xml"}};
  call.body = body;
  call.what = fmt::format("DELETE {} ({} keys)", api.S3Url(keys.front()), keys.size());
  LS_ASSIGN_OR_RETURN(HttpResponse r, api.Send(call));
  XmlDocument xml(r.body);
  for (pugi::xml_node err : XmlElements(xml.root(), "Error")) {
    std::string code = XmlText(err, "Code").value_or("");
    if (code == "NoSuchKey") continue;  // already absent: fine
    S3Call one = call;
    one.what = "DELETE " + api.S3Url(XmlText(err, "Key").value_or(""));
    return api.ErrorFor(one, code == "AccessDenied" ? 403 : 500, XmlToString(err));
  }
  return absl::OkStatus();
}

absl::Status DeleteOneByOne(S3Api& api, std::span<const std::string> keys) {
  for (const std::string& k : keys) {
    S3Call call;
    call.method = "DELETE";
    call.key = k;
    call.what = "DELETE " + api.S3Url(k);
    absl::Status s = api.Send(call).status();
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status S3DeleteKeys(S3Api& api, std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (size_t i = 0; i < keys.size(); i += kMaxKeysPerDelete) {
    std::span<const std::string> batch(keys.data() + i,
                                       std::min(kMaxKeysPerDelete, keys.size() - i));
    absl::Status s = DeleteBatch(api, batch);
    // Some S3-compatible services lack DeleteObjects: one request per key.
    if (s.code() == absl::StatusCode::kUnimplemented) s = DeleteOneByOne(api, batch);
    LS_RETURN_IF_ERROR(s);
  }
  return absl::OkStatus();
}

}  // namespace litesync
