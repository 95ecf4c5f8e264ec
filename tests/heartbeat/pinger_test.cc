#include "heartbeat/pinger.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/heartbeat/log_capture.h"
#include "tests/testutil/http_server.h"

namespace litesync {
namespace {

using ::litesync::testing::HttpRequest;
using ::litesync::testing::HttpResponse;
using ::litesync::testing::HttpServer;
using ::litesync::testing::kToken;
using ::testing::HasSubstr;
using ::testing::Not;

class PingerTest : public ::testing::Test {
 protected:
  PingResult Ping(const std::string& url, std::string method = "GET",
                  absl::Duration timeout = absl::Seconds(5)) {
    std::vector<PingRequest> req = {{url, std::move(method), timeout}};
    return pinger_->Send(req, never_).at(0);
  }
  std::string TokenUrl(const std::string& prefix = "/ping/") {
    return server_.Url(prefix + std::string(kToken));
  }

  HttpServer server_;
  std::unique_ptr<Pinger> pinger_ = NewCurlPinger();
  StopSignal never_;
};

TEST_F(PingerTest, GetAnswered200IsOk) {
  PingResult r = Ping(TokenUrl());
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(server_.RequestCount(), 1u);
  HttpRequest req = server_.Requests()[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/ping/" + std::string(kToken));
  EXPECT_EQ(req.Header("user-agent"), "litesync-heartbeat");
}

TEST_F(PingerTest, PostAndHeadUseTheirMethods) {
  EXPECT_TRUE(Ping(TokenUrl(), "POST").ok);
  EXPECT_TRUE(Ping(TokenUrl(), "HEAD").ok);
  ASSERT_EQ(server_.RequestCount(), 2u);
  EXPECT_EQ(server_.Requests()[0].method, "POST");
  EXPECT_EQ(server_.Requests()[0].body, "");
  EXPECT_EQ(server_.Requests()[1].method, "HEAD");
}

TEST_F(PingerTest, Non2xxIsAFailureWithItsStatus) {
  server_.Enqueue(HttpResponse::Status(500));
  server_.Enqueue(HttpResponse::Status(404));
  PingResult r = Ping(TokenUrl());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_EQ(r.error, "HTTP 500");
  EXPECT_EQ(Ping(TokenUrl()).error, "HTTP 404");
}

TEST_F(PingerTest, RefusedConnectionIsAFailureWithoutTheUrl) {
  server_.StopListening();
  PingResult r = Ping(TokenUrl());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_THAT(r.error, HasSubstr("onnect"));
  EXPECT_THAT(r.error, Not(HasSubstr(std::string(kToken))));
}

TEST_F(PingerTest, ResetConnectionIsAFailure) {
  server_.Enqueue(HttpResponse::Reset());
  PingResult r = Ping(TokenUrl());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error, "");
}

TEST_F(PingerTest, HangingReceiverTimesOutWithinTheTimeout) {
  server_.SetDefault(HttpResponse::Hang());
  absl::Time start = absl::Now();
  PingResult r = Ping(TokenUrl(), "GET", absl::Milliseconds(300));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("timed out"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(PingerTest, FollowsUpToThreeRedirects) {
  server_.SetHandler([this](const HttpRequest& req) {
    int hop = req.path.back() - '0';  // /hop/0 -> /hop/1 -> ...
    if (hop >= 3 && req.query != "loop") return HttpResponse::Status(200);
    HttpResponse r = HttpResponse::Status(302);
    r.headers.emplace_back("Location", server_.Url("/hop/" + std::to_string(hop + 1)) +
                                           (req.query.empty() ? "" : "?" + req.query));
    return r;
  });
  EXPECT_TRUE(Ping(server_.Url("/hop/0")).ok);
  EXPECT_EQ(server_.RequestCount(), 4u);
  PingResult loop = Ping(server_.Url("/hop/0?loop"));
  EXPECT_FALSE(loop.ok);
  EXPECT_THAT(loop.error, HasSubstr("edirect"));
  EXPECT_EQ(server_.RequestCount(), 8u);  // the first and three redirects, no more
}

TEST_F(PingerTest, SendsTargetsConcurrently) {
  // The fast ping is answered while the slow one is still held by the receiver: one
  // hanging target does not delay the others. (Sent one after the other, the fast
  // one would arrive only after the slow one timed out, alone.)
  int in_flight_at_fast = -1;
  server_.SetHandler([&](const HttpRequest& req) {
    if (req.path == "/slow") return HttpResponse::Hang();
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (server_.InFlight() < 2 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    in_flight_at_fast = server_.InFlight();
    return HttpResponse::Status(200);
  });
  std::vector<PingRequest> reqs = {{server_.Url("/slow"), "GET", absl::Seconds(1)},
                                   {server_.Url("/fast"), "GET", absl::Seconds(10)}};
  std::vector<PingResult> results = pinger_->Send(reqs, never_);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].ok);
  EXPECT_THAT(results[0].error, HasSubstr("timed out"));
  EXPECT_TRUE(results[1].ok);
  EXPECT_EQ(in_flight_at_fast, 2);
}

TEST_F(PingerTest, StopAbortsARequestInFlightAtOnce) {
  server_.SetDefault(HttpResponse::Hang());
  StopSignal stop;
  std::thread stopper([&] {
    ASSERT_TRUE(server_.WaitForRequests(1));
    stop.Notify();
  });
  std::vector<PingRequest> reqs = {{TokenUrl(), "GET", absl::Seconds(30)}};
  absl::Time start = absl::Now();
  PingResult r = pinger_->Send(reqs, stop).at(0);
  stopper.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(r.stopped);
  EXPECT_FALSE(r.ok);
}

TEST_F(PingerTest, SendsNothingOnceStopped) {
  StopSignal stop;
  stop.Notify();
  std::vector<PingRequest> reqs = {{server_.Url("/after-stop"), "GET", absl::Seconds(5)}};
  PingResult r = pinger_->Send(reqs, stop).at(0);
  EXPECT_TRUE(r.stopped);
  // A request sent afterwards is the first the receiver ever saw.
  EXPECT_TRUE(Ping(server_.Url("/later")).ok);
  ASSERT_EQ(server_.RequestCount(), 1u);
  EXPECT_EQ(server_.Requests()[0].path, "/later");
}

}  // namespace
}  // namespace litesync
