// Signature V4 against the worked examples AWS publishes for S3 ("Signature
// Calculations for the Authorization Header: Transferring Payload in a Single Chunk",
// examplebucket, 20130524T000000Z) and for deriving a signing key. s3rver does not
// verify signatures, so these are what prove the signer.
#include "replica/storage/s3/sigv4.h"

#include <gtest/gtest.h>

namespace litesync {
namespace {

constexpr char kAccessKey[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kHost[] = "examplebucket.s3.amazonaws.com";
constexpr char kDate[] = "20130524T000000Z";

SigV4Credentials ExampleCredentials() {
  SigV4Credentials c;
  c.access_key_id = kAccessKey;
  c.secret_access_key = Secret(kSecret);
  c.region = "us-east-1";
  return c;
}

SigV4Request ExampleRequest(std::string method, std::string path, std::string payload_sha256) {
  SigV4Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.payload_sha256 = payload_sha256;
  r.amz_date = kDate;
  r.headers = {{"Host", kHost}, {"x-amz-date", kDate}, {"x-amz-content-sha256", payload_sha256}};
  return r;
}

TEST(SigV4Test, SignsThePublishedGetObjectExample) {
  SigV4Request r = ExampleRequest("GET", "/test.txt", std::string(kEmptySha256));
  r.headers.emplace_back("Range", "bytes=0-9");
  SigV4Result s = SignV4(r, ExampleCredentials());
  EXPECT_EQ(
      s.canonical_request,
      "GET\n"
      "/test.txt\n"
      "\n"
      "host:examplebucket.s3.amazonaws.com\n"
      "range:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n"
      "\n"
      "host;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n"
            "20130524T000000Z\n"
            "20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, SignsThePublishedPutObjectExample) {
  std::string payload = Sha256Hex("Welcome to Amazon S3.");
  ASSERT_EQ(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request r = ExampleRequest("PUT", UriEncode("/test$file.text", false), payload);
  r.headers.emplace_back("Date", "Fri, 24 May 2013 00:00:00 GMT");
  r.headers.emplace_back("x-amz-storage-class", "REDUCED_REDUNDANCY");
  SigV4Result s = SignV4(r, ExampleCredentials());
  EXPECT_EQ(s.canonical_request.substr(0, s.canonical_request.find('\n', 4)),
            "PUT\n/test%24file.text");
  EXPECT_EQ(s.signed_headers, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n"
            "20130524T000000Z\n"
            "20130524/us-east-1/s3/aws4_request\n"
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, SignsThePublishedGetBucketLifecycleExample) {
  SigV4Request r = ExampleRequest("GET", "/", std::string(kEmptySha256));
  r.query = {{"lifecycle", ""}};
  SigV4Result s = SignV4(r, ExampleCredentials());
  EXPECT_NE(s.canonical_request.find("\nlifecycle=\n"), std::string::npos) << s.canonical_request;
  EXPECT_EQ(s.string_to_sign.substr(s.string_to_sign.rfind('\n') + 1),
            "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Test, SignsThePublishedListObjectsExampleWithQuerySorted) {
  SigV4Request r = ExampleRequest("GET", "/", std::string(kEmptySha256));
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // out of order on purpose
  SigV4Result s = SignV4(r, ExampleCredentials());
  EXPECT_EQ(s.canonical_request.substr(0, s.canonical_request.find("host:")),
            "GET\n/\nmax-keys=2&prefix=J\n");
  EXPECT_EQ(s.string_to_sign.substr(s.string_to_sign.rfind('\n') + 1),
            "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, DerivesThePublishedSigningKeys) {
  EXPECT_EQ(HexEncode(SigV4SigningKey(kSecret, "20130524", "us-east-1", "s3")),
            "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378");
  // The IAM example of "deriving the signing key" (note '+' in this secret).
  EXPECT_EQ(HexEncode(SigV4SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                      "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4Test, CanonicalHeadersIgnoreCaseAndCollapseSpaces) {
  SigV4Request plain = ExampleRequest("GET", "/test.txt", std::string(kEmptySha256));
  plain.headers.emplace_back("range", "bytes=0-9");
  SigV4Request messy = ExampleRequest("GET", "/test.txt", std::string(kEmptySha256));
  messy.headers.emplace_back("RANGE", "   bytes=0-9  ");
  EXPECT_EQ(SignV4(plain, ExampleCredentials()).signature,
            SignV4(messy, ExampleCredentials()).signature);
  SigV4Request spaced = ExampleRequest("GET", "/", std::string(kEmptySha256));
  spaced.headers.emplace_back("x-amz-meta-note", "a   b\tc");
  EXPECT_NE(SignV4(spaced, ExampleCredentials()).canonical_request.find("x-amz-meta-note:a b c\n"),
            std::string::npos);
}

TEST(SigV4Test, SessionTokenIsSignedAndTheSecretNeverAppears) {
  SigV4Request r = ExampleRequest("GET", "/test.txt", std::string(kEmptySha256));
  SigV4Result without = SignV4(r, ExampleCredentials());
  r.headers.emplace_back("x-amz-security-token", "session-token-value");
  SigV4Result with = SignV4(r, ExampleCredentials());
  EXPECT_EQ(with.signed_headers, "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
  EXPECT_NE(with.signature, without.signature);
  for (const SigV4Result* s : {&with, &without}) {
    EXPECT_EQ(s->authorization.find(kSecret), std::string::npos);
    EXPECT_EQ(s->canonical_request.find(kSecret), std::string::npos);
  }
}

TEST(SigV4Test, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("A-z_0.9~", true), "A-z_0.9~");
  EXPECT_EQ(UriEncode("a b+c=d&e", true), "a%20b%2Bc%3Dd%26e");
  EXPECT_EQ(UriEncode("app/0000000000000001/0/x.ltx", false), "app/0000000000000001/0/x.ltx");
  EXPECT_EQ(UriEncode("a/b", true), "a%2Fb");
  EXPECT_EQ(UriEncode("!'()*$", false), "%21%27%28%29%2A%24");
  EXPECT_EQ(UriEncode("\xc3\xa9", false), "%C3%A9");  // UTF-8 bytes, upper-case hex
}

TEST(SigV4Test, CanonicalQueryStringEncodesAndSorts) {
  EXPECT_EQ(CanonicalQueryString({{"uploadId", "a/b+c=="}, {"partNumber", "2"}}),
            "partNumber=2&uploadId=a%2Fb%2Bc%3D%3D");
  EXPECT_EQ(CanonicalQueryString({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQueryString({{"prefix", "app/"}, {"list-type", "2"}}),
            "list-type=2&prefix=app%2F");
  EXPECT_EQ(CanonicalQueryString({}), "");
}

TEST(SigV4Test, DigestsMatchKnownValues) {
  EXPECT_EQ(AmzDate(absl::FromUnixSeconds(1369353600)), "20130524T000000Z");
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
  EXPECT_EQ(Md5Base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
  // Python hashlib + base64 computed this one.
  EXPECT_EQ(Md5Base64("Welcome to Amazon S3."), "1EfQ6PKJ8WoS/2AnznfCWA==");
  Sha256Hasher h;
  h.Update("Welcome to ");
  h.Update("Amazon S3.");
  EXPECT_EQ(h.HexDigest(), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

}  // namespace
}  // namespace litesync
