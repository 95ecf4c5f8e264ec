// The S3 client under the failures object storage shows in the field:
// 500s, 503 SlowDown, resets, stalls past the timeout, a 200 that carries an
// <Error>, and a server that is down for a while. A FaultProxy sits between the
// client and a real s3rver; the client must retry, restart bodies from the source,
// and succeed once the faults stop, or fail Unavailable naming the endpoint.
#include <atomic>
#include <mutex>
#include <span>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/status.h"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replica/engine/lease.h"
#include "replica/storage/s3/s3_replica_client.h"
#include "replica/storage/s3/s3_settings.h"
#include "tests/testutil/fault_proxy.h"
#include "tests/testutil/s3_server.h"
#include "tests/testutil/status_matchers.h"

namespace litesync {
namespace {

using ::testing::AllOf;
using testing::Fault;
using testing::FaultProxy;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::S3Server;

constexpr char kSecret[] = "fault-test-secret-key";

TxFileInfo Info(uint64_t txid) {
  TxFileInfo i;
  i.lineage = 1;
  i.min_txid = txid;
  i.max_txid = txid;
  i.timestamp = absl::FromUnixMillis(1'700'000'000'000);
  return i;
}

std::string Bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 + i / 251);
  return s;
}

// Fast retries, so a test with five attempts takes milliseconds, not seconds.
S3Tuning FastRetries() {
  S3Tuning t;
  t.initial_backoff = absl::Milliseconds(5);
  t.max_backoff = absl::Milliseconds(50);
  t.request_timeout = absl::Seconds(5);
  t.connect_timeout = absl::Seconds(2);
  return t;
}

// A MemorySource that counts Open(): each attempt must restart from the source.
class CountingSource : public ByteSource {
 public:
  explicit CountingSource(std::string bytes) : inner_(MemorySource(std::move(bytes))) {}
  uint64_t Size() const override { return inner_->Size(); }
  absl::StatusOr<std::unique_ptr<ByteReader>> Open() const override {
    ++opens_;
    return inner_->Open();
  }
  int opens() const { return opens_; }

 private:
  std::unique_ptr<ByteSource> inner_;
  mutable std::atomic<int> opens_{0};
};

class S3FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.running());
    client_ = MakeClient(FastRetries());
  }

  std::unique_ptr<ReplicaClient> MakeClient(const S3Tuning& tuning) {
    ReplicaOptions o = server_.Options("app", proxy_.endpoint());
    o.settings<S3Settings>().secret_access_key = Secret(kSecret);
    absl::StatusOr<std::unique_ptr<ReplicaClient>> c = NewS3ReplicaClient(o, tuning);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  absl::StatusOr<std::string> Read(ReplicaClient* c, const TxFileInfo& info) {
    absl::StatusOr<std::unique_ptr<ByteReader>> r = c->Open(info);
    if (!r.ok()) return r.status();
    return ReadAll(**r);
  }

  S3Server server_;
  FaultProxy proxy_{server_.port()};
  std::unique_ptr<ReplicaClient> client_;
};

TEST_F(S3FaultTest, RetriesHttp500AndRestartsTheBodyFromTheSource) {
  CountingSource source(Bytes(100'000));
  proxy_.Script({Fault::kHttp500, Fault::kHttp500});
  LS_ASSERT_OK(client_->Write(Info(1), source));
  EXPECT_EQ(proxy_.requests(), 3);
  EXPECT_EQ(proxy_.faults(), 2);
  EXPECT_EQ(source.opens(), 4);  // one to hash the body, one per attempt
  LS_ASSERT_OK_AND_ASSIGN(std::string got, Read(client_.get(), Info(1)));
  EXPECT_TRUE(got == Bytes(100'000));
}

TEST_F(S3FaultTest, RetriesSlowDownOnEveryKindOfRequest) {
  std::unique_ptr<ByteSource> src = MemorySource("x");
  proxy_.Script({Fault::kSlowDown503, Fault::kSlowDown503});
  LS_ASSERT_OK(client_->Write(Info(1), *src));
  proxy_.Script({Fault::kSlowDown503});
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> files, client_->List(1, 0));
  EXPECT_EQ(files.size(), 1u);
  proxy_.Script({Fault::kSlowDown503});
  LS_ASSERT_OK(client_->ListLineages());
  proxy_.Script({Fault::kSlowDown503});
  LS_ASSERT_OK(Read(client_.get(), Info(1)));
  proxy_.Script({Fault::kSlowDown503});
  LS_ASSERT_OK(client_->Ping());
  proxy_.Script({Fault::kSlowDown503});
  LS_ASSERT_OK(client_->Delete(files));
  EXPECT_EQ(proxy_.faults(), 7);
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> after, client_->List(1, 0));
  EXPECT_TRUE(after.empty());
}

// A server without DeleteObjects (501 to the POST ?delete) gets one DELETE per
// key, and every file is gone.
TEST_F(S3FaultTest, AServerWithoutDeleteObjectsGetsOneDeletePerKey) {
  std::unique_ptr<ByteSource> src = MemorySource("x");
  for (uint64_t txid = 1; txid <= 3; ++txid) LS_ASSERT_OK(client_->Write(Info(txid), *src));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> files, client_->List(1, 0));
  ASSERT_EQ(files.size(), 3u);
  const size_t before = proxy_.request_lines().size();
  proxy_.Script({Fault::kNotImplemented501});
  LS_ASSERT_OK(client_->Delete(files));
  std::vector<std::string> lines = proxy_.request_lines();
  ASSERT_EQ(lines.size(), before + 4);
  EXPECT_THAT(lines[before], HasSubstr("POST "));
  for (size_t i = before + 1; i < lines.size(); ++i) EXPECT_THAT(lines[i], HasSubstr("DELETE "));
  LS_ASSERT_OK_AND_ASSIGN(std::vector<TxFileInfo> after, client_->List(1, 0));
  EXPECT_TRUE(after.empty());
}

TEST_F(S3FaultTest, RetriesConnectionResets) {
  CountingSource source(Bytes(300'000));
  proxy_.Script({Fault::kReset, Fault::kReset, Fault::kReset});
  LS_ASSERT_OK(client_->Write(Info(1), source));
  EXPECT_EQ(source.opens(), 5);
  proxy_.Script({Fault::kReset});
  LS_ASSERT_OK_AND_ASSIGN(std::string got, Read(client_.get(), Info(1)));
  EXPECT_TRUE(got == Bytes(300'000));
  EXPECT_EQ(proxy_.faults(), 4);
}

TEST_F(S3FaultTest, RetriesARequestThatStallsPastTheTimeout) {
  S3Tuning tuning = FastRetries();
  tuning.request_timeout = absl::Seconds(1);
  std::unique_ptr<ReplicaClient> c = MakeClient(tuning);
  std::unique_ptr<ByteSource> src = MemorySource("stalled");
  LS_ASSERT_OK(c->Write(Info(1), *src));
  proxy_.set_stall_time(absl::Seconds(20));
  proxy_.Script({Fault::kStall});
  absl::Time start = absl::Now();
  LS_ASSERT_OK_AND_ASSIGN(std::string got, Read(c.get(), Info(1)));
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(got, "stalled");
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(10));  // the client's timeout, not the stall, ended it
}

TEST_F(S3FaultTest, ResumesADownloadCutOffMidwayWithARangeRequest) {
  const std::string bytes = Bytes(1 << 20);
  std::unique_ptr<ByteSource> src = MemorySource(bytes);
  LS_ASSERT_OK(client_->Write(Info(1), *src));
  proxy_.set_reset_after_bytes(400 << 10);
  proxy_.Script({Fault::kResetMidResponse});
  LS_ASSERT_OK_AND_ASSIGN(std::string got, Read(client_.get(), Info(1)));
  EXPECT_TRUE(got == bytes);
  std::vector<std::string> heads = proxy_.request_heads();
  ASSERT_EQ(heads.size(), 3u);  // PUT, GET cut off, GET of the rest
  EXPECT_THAT(heads[1], Not(HasSubstr("Range:")));
  EXPECT_THAT(heads[2], AllOf(HasSubstr("Range: bytes="), HasSubstr("If-Match: \"")));
  EXPECT_THAT(heads[2], Not(HasSubstr("Range: bytes=0-")));
}

// A part of a parallel read (ReplicaClient::ReadObjectRange) cut off midway is
// asked for again whole, and the buffer holds exactly the range.
TEST_F(S3FaultTest, ARangeReadCutOffMidwayIsRetriedWhole) {
  const std::string bytes = Bytes(1 << 20);
  std::unique_ptr<ByteSource> src = MemorySource(bytes);
  LS_ASSERT_OK(client_->Write(Info(1), *src));
  proxy_.set_reset_after_bytes(300 << 10);
  proxy_.Script({Fault::kResetMidResponse});
  std::string buf(600 << 10, '\0');
  LS_ASSERT_OK(
      client_->ReadObjectRange(Info(1).RelativePath(), 1000, std::span(buf.data(), buf.size())));
  EXPECT_TRUE(buf == bytes.substr(1000, buf.size()));
  std::vector<std::string> heads = proxy_.request_heads();
  ASSERT_EQ(heads.size(), 3u);  // PUT, GET cut off, the same GET again
  EXPECT_THAT(heads[1], HasSubstr("Range: bytes=1000-615399"));
  EXPECT_THAT(heads[2], HasSubstr("Range: bytes=1000-615399"));
}

TEST_F(S3FaultTest, FailedPartsAreRetriedAndTheMultipartUploadCompletes) {
  S3Tuning tuning = FastRetries();
  tuning.part_size = 5 << 20;
  std::unique_ptr<ReplicaClient> c = MakeClient(tuning);
  const std::string bytes = Bytes(11 << 20);
  std::unique_ptr<ByteSource> src = MemorySource(bytes);
  // create, part 1, part 2 (500, reset, ok), part 3, complete (200 with <Error>, ok)
  proxy_.Script({Fault::kNone, Fault::kNone, Fault::kHttp500, Fault::kReset, Fault::kNone,
                 Fault::kNone, Fault::kError200});
  LS_ASSERT_OK(c->Write(Info(1), *src));
  EXPECT_EQ(proxy_.faults(), 3);
  EXPECT_EQ(proxy_.requests(), 8);
  LS_ASSERT_OK_AND_ASSIGN(std::string got, Read(c.get(), Info(1)));
  EXPECT_TRUE(got == bytes);
}

TEST_F(S3FaultTest, CompleteThatKeepsAnsweringAnErrorInsideA200Fails) {
  S3Tuning tuning = FastRetries();
  tuning.part_size = 5 << 20;
  std::unique_ptr<ReplicaClient> c = MakeClient(tuning);
  std::unique_ptr<ByteSource> src = MemorySource(Bytes(6 << 20));
  proxy_.Script({Fault::kNone, Fault::kNone, Fault::kNone, Fault::kError200, Fault::kError200,
                 Fault::kError200, Fault::kError200, Fault::kError200});
  absl::Status s = c->Write(Info(1), *src);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("complete multipart upload"), HasSubstr("InternalError"),
                    HasSubstr("gave up after 5 attempts")));
  EXPECT_EQ(c->Open(Info(1)).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(S3FaultTest, GivesUpAfterBoundedAttemptsWithATransientCode) {
  proxy_.SetMode(Fault::kHttp500);
  std::unique_ptr<ByteSource> src = MemorySource("x");
  absl::Status s = client_->Write(Info(1), *src);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("PUT s3://litesync-test/app/0000000000000001/0/"),
                    HasSubstr("HTTP 500 InternalError"), HasSubstr("gave up after 5 attempts")));
  EXPECT_EQ(proxy_.requests(), 5);
}

TEST_F(S3FaultTest, RetriesStopWhenTheTotalRetryTimeIsSpent) {
  S3Tuning tuning = FastRetries();
  tuning.max_attempts = 100;
  tuning.initial_backoff = absl::Milliseconds(100);
  tuning.max_backoff = absl::Milliseconds(100);
  tuning.max_retry_time = absl::Milliseconds(500);
  std::unique_ptr<ReplicaClient> c = MakeClient(tuning);
  proxy_.SetMode(Fault::kSlowDown503);
  absl::Time start = absl::Now();
  absl::Status s = c->Ping();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_LT(proxy_.requests(), 20);
}

// A sink for log lines; tests run one at a time in this binary's process.
std::mutex g_log_mu;
std::vector<std::string>* g_log_lines = nullptr;
void CaptureLog(std::string_view line) {
  std::lock_guard<std::mutex> lock(g_log_mu);
  if (g_log_lines != nullptr) g_log_lines->emplace_back(line);
}

TEST_F(S3FaultTest, RetriesAreLoggedWithoutSecrets) {
  std::vector<std::string> lines;
  {
    std::lock_guard<std::mutex> lock(g_log_mu);
    g_log_lines = &lines;
  }
  SetLogSink(&CaptureLog);
  proxy_.Script({Fault::kSlowDown503});
  LS_EXPECT_OK(client_->Ping());
  SetLogSink(nullptr);
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log_lines = nullptr;
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], AllOf(HasSubstr("level=WARN"),
                              HasSubstr("msg=\"s3 request succeeded after retrying\""),
                              HasSubstr("SlowDown"), HasSubstr("attempts=2"),
                              Not(HasSubstr(kSecret)), Not(HasSubstr("Signature="))));
}

// A request that keeps failing is logged once, by its caller, with
// "gave up after N attempts"; its retries are DEBUG lines (one WARN per retry
// made a persistent outage log five lines per sync attempt).
TEST_F(S3FaultTest, RetriesOfARequestThatFailsInTheEndAreNotLoggedAboveDebug) {
  std::vector<std::string> lines;
  {
    std::lock_guard<std::mutex> lock(g_log_mu);
    g_log_lines = &lines;
  }
  SetLogSink(&CaptureLog);
  proxy_.SetMode(Fault::kSlowDown503);
  absl::Status s = client_->Ping();
  proxy_.SetMode(Fault::kNone);
  SetLogSink(nullptr);
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log_lines = nullptr;
  EXPECT_THAT(std::string(s.message()), HasSubstr("gave up after"));
  EXPECT_THAT(lines, ::testing::IsEmpty());
}

TEST_F(S3FaultTest, ServerDownIsUnavailableNamingTheEndpointAndRecoversAfterRestart) {
  std::unique_ptr<ByteSource> src = MemorySource("before");
  LS_ASSERT_OK(client_->Write(Info(1), *src));

  // Straight to the server (no proxy): the real process is gone.
  ReplicaOptions o = server_.Options("app");
  absl::StatusOr<std::unique_ptr<ReplicaClient>> direct = NewS3ReplicaClient(o, FastRetries());
  LS_ASSERT_OK(direct);
  server_.Stop();
  std::unique_ptr<ByteSource> during = MemorySource("during");
  for (absl::Status s : {(*direct)->Ping(), (*direct)->Write(Info(2), *during),
                         (*direct)->List(1, 0).status(), (*direct)->Open(Info(1)).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    EXPECT_THAT(std::string(s.message()),
                AllOf(HasSubstr(server_.endpoint()), HasSubstr("gave up after 5 attempts")));
  }
  LS_ASSERT_OK(server_.Restart());
  LS_ASSERT_OK((*direct)->Write(Info(2), *during));
  LS_ASSERT_OK_AND_ASSIGN(std::string got, Read(direct->get(), Info(1)));
  EXPECT_EQ(got, "before");  // the data outlived the outage
}

TEST_F(S3FaultTest, RefusedConnectionsAreUnavailableUntilTheProxyListensAgain) {
  proxy_.SetMode(Fault::kRefuse);
  absl::Status s = client_->Ping();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(proxy_.endpoint()));
  proxy_.SetMode(Fault::kNone);
  LS_EXPECT_OK(client_->Ping());
}

}  // namespace
}  // namespace litesync

namespace litesync {
namespace {

// The lease on S3 with conditional writes. s3rver ignores If-None-Match and
// If-Match on PUT; the proxy answers 412 where a server that enforces them would
// (scripted), and the request heads show what litesync sent.
class S3LeaseTest : public S3FaultTest {
 protected:
  // Heads of the requests after the first `skip`, that carry `header`.
  int PutsWith(const std::string& header, size_t skip = 0) {
    int n = 0;
    std::vector<std::string> heads = proxy_.request_heads();
    for (size_t i = skip; i < heads.size(); ++i) {
      if (heads[i].rfind("PUT ", 0) == 0 &&
          absl::AsciiStrToLower(heads[i]).find(absl::AsciiStrToLower(header)) !=
              std::string::npos) {
        ++n;
      }
    }
    return n;
  }
  absl::Time now_ = absl::Now();
};

// A first record is created with If-None-Match: *; a 412 (another instance
// created it first) leaves this one waiting, and it wrote nothing else.
TEST_F(S3LeaseTest, AFirstLeaseIsCreatedOnlyIfAbsent) {
  ReplicaLease a;
  proxy_.Script({Fault::kNone, Fault::kPreconditionFailed412});  // GET: 404; PUT: 412
  absl::Status s = a.Ensure(*client_, now_);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("waiting"));
  EXPECT_EQ(PutsWith("If-None-Match: *"), 1);
  EXPECT_EQ(proxy_.requests(), 2);
  EXPECT_EQ(client_->record_conditions(), RecordConditions::kEnforced);
}

// Taking over an existing (released) record: If-None-Match: * first, whose 412
// proves the server enforces conditions, then If-Match with the ETag read; no
// read-back confirmation is needed then.
TEST_F(S3LeaseTest, AnExistingRecordIsTakenOverWithIfMatchWhereEnforced) {
  ReplicaLease first;
  absl::Status s = first.Ensure(*client_, now_);  // s3rver: written, confirming
  ASSERT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(client_->record_conditions(), RecordConditions::kUnknown);
  auto fresh = MakeClient(FastRetries());  // another instance, knowing nothing yet
  ReplicaLease b;
  size_t before = proxy_.request_heads().size();
  now_ += kLeaseTtl + absl::Seconds(1);  // `first` never confirmed nor renewed: expired
  proxy_.Script({Fault::kNone, Fault::kPreconditionFailed412});  // GET; probe PUT: 412
  LS_EXPECT_OK(b.Ensure(*fresh, now_));
  EXPECT_TRUE(b.held());
  EXPECT_FALSE(b.confirming());
  EXPECT_EQ(fresh->record_conditions(), RecordConditions::kEnforced);
  EXPECT_EQ(PutsWith("If-None-Match: *", before), 1);
  EXPECT_EQ(PutsWith("If-Match: ", before), 1);
}

// A server that refuses the conditional header (501) is written to as one
// that ignores conditions: unconditionally, then confirmed by a read-back.
TEST_F(S3LeaseTest, AServerThatRefusesConditionalHeadersIsWrittenUnconditionally) {
  ReplicaLease a;
  proxy_.Script({Fault::kNone, Fault::kNotImplemented501});  // GET: 404; PUT: 501
  absl::Status s = a.Ensure(*client_, now_);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;  // written, confirming
  EXPECT_EQ(client_->record_conditions(), RecordConditions::kIgnored);
  EXPECT_EQ(proxy_.requests(), 3);
  now_ += kLeaseSettle;
  LS_EXPECT_OK(a.Ensure(*client_, now_));
  EXPECT_TRUE(a.held());
}

// A server that ignores conditions shows it by answering the probe 200: the
// record is written, and the acquisition is confirmed by a read-back.
TEST_F(S3LeaseTest, AServerThatIgnoresConditionsIsConfirmedByReadingBack) {
  ReplicaLease first;
  ASSERT_TRUE(absl::IsUnavailable(first.Ensure(*client_, now_)));
  auto fresh = MakeClient(FastRetries());
  ReplicaLease b;
  now_ += kLeaseTtl + absl::Seconds(1);
  absl::Status s = b.Ensure(*fresh, now_);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(fresh->record_conditions(), RecordConditions::kIgnored);
  now_ += kLeaseSettle;
  LS_EXPECT_OK(b.Ensure(*fresh, now_));
  EXPECT_TRUE(b.held());
  EXPECT_TRUE(absl::IsFailedPrecondition(first.Ensure(*client_, now_)));
}

}  // namespace
}  // namespace litesync
