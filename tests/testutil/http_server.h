// A real HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel) for tests: it
// records every request and answers from a script, so clients can be driven into
// slow, hanging, failing, reset and refused paths. Thread-safe; one thread accepts,
// one serves each connection (keep-alive, Content-Length and chunked bodies,
// Expect: 100-continue). Everything is joined by Stop() or the destructor.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "base/handles.h"

namespace litesync::testing {

struct HttpRequest {
  std::string method;
  std::string target;  // path and query as sent, e.g. "/ping/abc?status=up"
  std::string path;    // before '?'
  std::string query;   // after '?', without it
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  absl::Time received;  // real time the request was complete
  // The first header named `name` (any case); empty when absent.
  std::string Header(std::string_view name) const;
};

struct HttpResponse {
  enum class Action {
    kRespond,  // after `delay`, answer status/headers/body
    kHang,     // answer nothing for `delay` (infinite: until Stop/ReleaseHanging), then close
    kReset,    // close at once with a TCP reset
    kClose,    // close at once, cleanly, without an answer
  };
  Action action = Action::kRespond;
  int status = 200;
  std::string body = "OK";
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added
  absl::Duration delay = absl::ZeroDuration();

  static HttpResponse Status(int status, std::string body = "");
  static HttpResponse Slow(absl::Duration delay, int status = 200);
  static HttpResponse Hang(absl::Duration delay = absl::InfiniteDuration());
  static HttpResponse Reset();
  static HttpResponse Close();
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer();   // listening and serving on return; dies (test failure) if it cannot
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>" + path (path should start with '/').
  std::string Url(std::string_view path = "/") const;

  // The script: a handler, when set, answers everything; otherwise queued responses
  // answer requests in arrival order, then the default (200 "OK" unless changed).
  void Enqueue(HttpResponse response);
  void SetDefault(HttpResponse response);
  void SetHandler(Handler handler);

  // Refusing: closes the listening socket, so connects fail with ECONNREFUSED.
  // Open connections are kept. Listen() binds the same port again (false if taken).
  void StopListening();
  bool Listen();
  // Ends every hang of a request received so far, now.
  void ReleaseHanging();
  // Closes everything and joins every thread. Idempotent.
  void Stop();

  std::vector<HttpRequest> Requests() const;
  size_t RequestCount() const;
  // Requests received but not yet answered or closed (hanging or slow ones).
  int InFlight() const;
  // Blocks (real time, bounded) until at least `n` requests have been received.
  bool WaitForRequests(size_t n, absl::Duration timeout = absl::Seconds(10)) const;

 private:
  struct Connection;
  bool BindAndListen(int port);
  void AcceptLoop();
  void Serve(Connection* c);
  HttpResponse NextResponse(const HttpRequest& req);
  // Waits `d`, or until Stop() or, for a hang, a ReleaseHanging() after the request
  // arrived (`generation` is the release count then); true unless stopping.
  bool Pause(absl::Duration d, bool hang, uint64_t generation);

  int port_ = 0;
  UniqueFd listen_fd_;
  std::thread acceptor_;
  std::atomic<bool> accepting_{false};
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<HttpRequest> requests_;
  std::deque<HttpResponse> queue_;
  HttpResponse default_;
  Handler handler_;
  int in_flight_ = 0;
  uint64_t release_generation_ = 0;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace litesync::testing
