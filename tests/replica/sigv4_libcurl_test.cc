// Our signer against an independent one on the requests litesync really sends:
// libcurl 7.88's CURLOPT_AWS_SIGV4 (which reproduces AWS's published GET Object
// signature when given x-amz-date and x-amz-content-sha256) signs the same request,
// a FaultProxy records what it sent, and the signatures must agree. This covers
// what the published examples do not: a port in Host, keys under a prefix, and
// query values full of '/', '+' and '=' (continuation tokens, upload ids).
#include "fmt/format.h"
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/storage/s3/sigv4.h"
#include "tests/testutil/fault_proxy.h"
#include "tests/testutil/s3_server.h"

namespace litesync {
namespace {

using testing::Fault;
using testing::FaultProxy;

constexpr char kAccessKey[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kDate[] = "20241102T030405Z";

struct Case {
  std::string method;
  std::string path;  // encoded
  QueryList query;
  std::string body;
  HeaderList headers;  // besides host, x-amz-date and x-amz-content-sha256
};

// "Name=value" of the Authorization header libcurl sent, e.g. field "Signature".
std::string AuthField(const std::string& head, const std::string& field) {
  size_t auth = head.find("Authorization: ");
  size_t start = head.find(field + "=", auth);
  if (auth == std::string::npos || start == std::string::npos) return "";
  start += field.size() + 1;
  return head.substr(start, head.find_first_of(",\r", start) - start);
}

// Sends `c` signed by libcurl through `proxy` and returns the request head.
std::string SendSignedByLibcurl(const FaultProxy& proxy, const Case& c) {
  testing::InitCurlOnce();
  CURL* curl = curl_easy_init();
  std::string query = CanonicalQueryString(c.query);
  std::string url = proxy.endpoint() + c.path + (query.empty() ? "" : "?" + query);
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, (std::string("x-amz-date: ") + kDate).c_str());
  headers = curl_slist_append(headers, ("x-amz-content-sha256: " + Sha256Hex(c.body)).c_str());
  for (const auto& [name, value] : c.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
  curl_easy_setopt(curl, CURLOPT_USERPWD, (std::string(kAccessKey) + ":" + kSecret).c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, c.method.c_str());
  if (!c.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, c.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(c.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  std::vector<std::string> heads = proxy.request_heads();
  return heads.empty() ? "" : heads.back();
}

TEST(SigV4LibcurlTest, AgreesWithLibcurlOnTheRequestsLitesyncSends) {
  FaultProxy proxy(/*upstream_port=*/1);
  proxy.SetMode(Fault::kHttp500);  // the proxy answers itself; only the head matters
  std::string object =
      "/litesync-test/app/0000000000000001/0/"
      "0000000000000001-0000000000000004-0000018bcfe56800.ltx";
  std::vector<Case> cases = {
      {"GET",
       "/litesync-test",
       {{"list-type", "2"},
        {"prefix", "app/0000000000000001/0/"},
        {"max-keys", "1000"},
        {"continuation-token", "1EvKq3DVp7cySiz1q3b0wrYb4ZpWWK17JQTjz29XwjjqsSPPMaAa+Q=="}},
       "",
       {}},
      {"PUT", object, {}, "tx file bytes", {{"Content-Type", "application/octet-stream"}}},
      {"PUT",
       object,
       {{"partNumber", "2"}, {"uploadId", "VXBsb2FkIElE/+x=="}},
       "part bytes",
       {{"Content-Type", "application/octet-stream"}}},
      {"POST",
       "/litesync-test",
       {{"delete", ""}},
       "<Delete><Object><Key>app/x</Key></Object></Delete>",
       {{"Content-Type", "application/xml"},
        {"Content-MD5", Md5Base64("<Delete><Object><Key>app/x</Key></Object></Delete>")}}},
      {"GET", object, {}, "", {{"Range", "bytes=100-"}, {"If-Match", "\"0123abcd\""}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    std::string head = SendSignedByLibcurl(proxy, c);
    ASSERT_THAT(head, ::testing::HasSubstr("Authorization: AWS4-HMAC-SHA256"));

    SigV4Request r;
    r.method = c.method;
    r.path = c.path;
    r.query = c.query;
    r.amz_date = kDate;
    r.payload_sha256 = Sha256Hex(c.body);
    r.headers = {{"host", fmt::format("127.0.0.1:{}", proxy.port())},
                 {"x-amz-date", kDate},
                 {"x-amz-content-sha256", r.payload_sha256}};
    r.headers.insert(r.headers.end(), c.headers.begin(), c.headers.end());
    SigV4Credentials creds;
    creds.access_key_id = kAccessKey;
    creds.secret_access_key = Secret(kSecret);
    creds.region = "us-east-1";
    SigV4Result ours = SignV4(r, creds);
    EXPECT_EQ(AuthField(head, "SignedHeaders"), ours.signed_headers) << head;
    EXPECT_EQ(AuthField(head, "Signature"), ours.signature) << head << "\n"
                                                            << ours.canonical_request;
  }
}

}  // namespace
}  // namespace litesync
