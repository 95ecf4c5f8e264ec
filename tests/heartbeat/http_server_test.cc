#include "tests/testutil/http_server.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace litesync::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using Easy = std::unique_ptr<CURL, CurlDeleter>;

// One request with libcurl; `easy` lets two requests share a connection.
Reply Fetch(const std::string& url, const std::string& method = "GET", const std::string& body = "",
            std::vector<std::string> headers = {}, absl::Duration timeout = absl::Seconds(5),
            CURL* easy = nullptr) {
  Easy owned;
  if (easy == nullptr) {
    owned.reset(curl_easy_init());
    easy = owned.get();
  }
  Reply r;
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  r.code = curl_easy_perform(easy);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(list);
  return r;
}

TEST(HttpServerTest, RecordsMethodTargetHeadersAndBody) {
  HttpServer server;
  Reply r = Fetch(server.Url("/a/b?x=1&y=2"), "POST", "hello", {"X-Test: yes"});
  ASSERT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "OK");
  ASSERT_EQ(server.RequestCount(), 1u);
  HttpRequest req = server.Requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/a/b?x=1&y=2");
  EXPECT_EQ(req.path, "/a/b");
  EXPECT_EQ(req.query, "x=1&y=2");
  EXPECT_EQ(req.Header("x-test"), "yes");
  EXPECT_EQ(req.Header("X-TEST"), "yes");
  EXPECT_EQ(req.body, "hello");
}

TEST(HttpServerTest, AnswersFromTheQueueInOrderThenTheDefault) {
  HttpServer server;
  server.Enqueue(HttpResponse::Status(500, "boom"));
  server.Enqueue(HttpResponse::Status(503));
  server.SetDefault(HttpResponse::Status(204));
  EXPECT_EQ(Fetch(server.Url()).status, 500);
  EXPECT_EQ(Fetch(server.Url()).status, 503);
  EXPECT_EQ(Fetch(server.Url()).status, 204);
  EXPECT_EQ(Fetch(server.Url()).status, 204);
}

TEST(HttpServerTest, HandlerAnswersEveryRequest) {
  HttpServer server;
  server.SetHandler([](const HttpRequest& req) {
    return HttpResponse::Status(req.path == "/missing" ? 404 : 200, req.method);
  });
  EXPECT_EQ(Fetch(server.Url("/missing")).status, 404);
  Reply r = Fetch(server.Url("/x"), "PUT", "data");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "PUT");
}

TEST(HttpServerTest, KeepsConnectionsAlive) {
  HttpServer server;
  Easy easy(curl_easy_init());
  EXPECT_EQ(Fetch(server.Url("/1"), "GET", "", {}, absl::Seconds(5), easy.get()).status, 200);
  EXPECT_EQ(Fetch(server.Url("/2"), "GET", "", {}, absl::Seconds(5), easy.get()).status, 200);
  long connects = -1;
  curl_easy_getinfo(easy.get(), CURLINFO_NUM_CONNECTS, &connects);
  EXPECT_EQ(connects, 0);  // the second request reused the first connection
  EXPECT_EQ(server.RequestCount(), 2u);
}

TEST(HttpServerTest, DecodesChunkedBodiesAndAnswersExpectContinue) {
  HttpServer server;
  Reply r = Fetch(server.Url("/up"), "PUT", "chunky body",
                  {"Transfer-Encoding: chunked", "Expect: 100-continue"});
  ASSERT_EQ(r.code, CURLE_OK);
  ASSERT_EQ(server.RequestCount(), 1u);
  EXPECT_EQ(server.Requests()[0].body, "chunky body");
}

TEST(HttpServerTest, SlowResponseArrivesAfterItsDelay) {
  HttpServer server;
  server.Enqueue(HttpResponse::Slow(absl::Milliseconds(300), 201));
  absl::Time start = absl::Now();
  Reply r = Fetch(server.Url());
  EXPECT_EQ(r.status, 201);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
}

TEST(HttpServerTest, HangingResponseTimesTheClientOutAndIsCountedInFlight) {
  HttpServer server;
  server.SetDefault(HttpResponse::Hang());
  Reply r;
  std::thread client([&] { r = Fetch(server.Url(), "GET", "", {}, absl::Seconds(30)); });
  ASSERT_TRUE(server.WaitForRequests(1));
  EXPECT_EQ(server.InFlight(), 1);
  server.ReleaseHanging();  // closes without an answer
  client.join();
  EXPECT_EQ(r.code, CURLE_GOT_NOTHING);
  EXPECT_EQ(server.InFlight(), 0);

  Reply timed_out = Fetch(server.Url(), "GET", "", {}, absl::Milliseconds(200));
  EXPECT_EQ(timed_out.code, CURLE_OPERATION_TIMEDOUT);
}

TEST(HttpServerTest, StopReleasesHangingConnections) {
  auto server = std::make_unique<HttpServer>();
  server->SetDefault(HttpResponse::Hang());
  Reply r;
  std::thread client([&] { r = Fetch(server->Url(), "GET", "", {}, absl::Seconds(30)); });
  ASSERT_TRUE(server->WaitForRequests(1));
  absl::Time start = absl::Now();
  server->Stop();
  client.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_NE(r.code, CURLE_OK);
}

TEST(HttpServerTest, ResetAndCloseFailTheRequest) {
  HttpServer server;
  server.Enqueue(HttpResponse::Reset());
  server.Enqueue(HttpResponse::Close());
  Reply reset = Fetch(server.Url());
  EXPECT_TRUE(reset.code == CURLE_RECV_ERROR || reset.code == CURLE_GOT_NOTHING) << reset.code;
  EXPECT_EQ(Fetch(server.Url()).code, CURLE_GOT_NOTHING);
  EXPECT_EQ(server.RequestCount(), 2u);
}

TEST(HttpServerTest, RefusesWhileNotListeningAndResumesOnTheSamePort) {
  HttpServer server;
  int port = server.port();
  server.StopListening();
  EXPECT_EQ(Fetch(server.Url()).code, CURLE_COULDNT_CONNECT);
  EXPECT_EQ(server.RequestCount(), 0u);
  ASSERT_TRUE(server.Listen());
  EXPECT_EQ(server.port(), port);
  EXPECT_EQ(Fetch(server.Url()).status, 200);
}

TEST(HttpServerTest, WaitForRequestsTimesOutWhenNoneArrive) {
  HttpServer server;
  EXPECT_FALSE(server.WaitForRequests(1, absl::Milliseconds(50)));
  std::thread client([&] { Fetch(server.Url()); });
  EXPECT_TRUE(server.WaitForRequests(1));
  client.join();
  EXPECT_THAT(server.Requests()[0].headers, ::testing::Contains(Pair("host", ::testing::_)));
}

}  // namespace
}  // namespace litesync::testing
