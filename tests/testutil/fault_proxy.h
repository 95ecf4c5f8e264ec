// A TCP proxy of our own on 127.0.0.1 between an HTTP client and a server (s3rver)
// that injects the failures object storage shows in the field: HTTP 500, HTTP 503
// SlowDown, 200 with an <Error> body, connection resets (before the answer or in the middle of it),
// stalls past the client's timeout, and a server that is down (connections refused).
//
// Every proxied connection carries one request: the proxy rewrites the request to
// "Connection: close", so the n-th connection is the n-th request and a fault can
// be scripted per request (Script) or set for all that follow (SetMode).
// Thread-safe; one thread accepts, one serves each connection; Stop() and the
// destructor join them all, and every wait is bounded.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "base/handles.h"

namespace litesync::testing {

enum class Fault {
  kNone,                   // pass the request through
  kHttp500,                // 500 InternalError
  kError200,               // 200 OK whose body is an <Error> (as CompleteMultipartUpload may)
  kSlowDown503,            // 503 SlowDown, as S3 throttles
  kAccessDenied403,        // 403 AccessDenied, as for a revoked key or a changed bucket policy
  kPreconditionFailed412,  // 412, as S3 answers a conditional PUT whose condition failed
  kNotImplemented501,      // 501, as servers without conditional PUT answer one
  kReset,                  // TCP reset once the request head arrived
  kResetMidResponse,       // forward reset_after_bytes() bytes of the answer, then reset
  kStall,                  // read the request, answer nothing for stall_time(), then close
  kDelay,                  // wait stall_time(), then pass the request through (a slow link)
  kRefuse,                 // as a mode only: the port is closed (connection refused)
};

class FaultProxy {
 public:
  // Listening on return; a test failure when it cannot.
  explicit FaultProxy(int upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"

  // The faults of the next requests, in order (kNone passes one through); once
  // used up, the mode applies.
  void Script(std::vector<Fault> faults);
  // The fault of every request after the script. kRefuse closes the listening
  // socket; any other mode listens again on the same port.
  void SetMode(Fault fault);
  void set_stall_time(absl::Duration d);
  void set_reset_after_bytes(size_t n);

  int requests() const;  // requests seen, faulted or not
  int faults() const;    // faults injected
  // "PUT /bucket/key?partNumber=1&uploadId=..." for each request seen, in order.
  std::vector<std::string> request_lines() const;
  // The whole head (request line and headers) of each request seen, in order.
  std::vector<std::string> request_heads() const;

  void Stop();  // closes everything and joins every thread; idempotent

 private:
  struct Conn {
    UniqueFd fd;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  bool Listen(int port);
  void AcceptLoop();
  void Serve(Conn* conn);
  Fault NextFault(const std::string& request_line, const std::string& head);
  void Forward(int client, const std::string& head, const std::string& body_start, Fault fault);
  // Waits `d` or until Stop(); false when stopping.
  bool Pause(absl::Duration d);

  int upstream_port_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  UniqueFd listen_fd_;  // guarded by mu_ once the acceptor runs
  std::deque<Fault> script_;
  Fault mode_ = Fault::kNone;
  absl::Duration stall_time_ = absl::Seconds(30);
  size_t reset_after_bytes_ = 100;
  int requests_ = 0;
  int faults_ = 0;
  std::vector<std::string> request_lines_;
  std::vector<std::string> request_heads_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace litesync::testing
