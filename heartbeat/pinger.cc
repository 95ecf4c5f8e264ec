#include "heartbeat/pinger.h"

#include <algorithm>
#include <string_view>

#include "fmt/format.h"
#include <curl/curl.h>

#include "heartbeat/heartbeat_url.h"

namespace litesync {
namespace {

struct CurlEasyCleanup {
  void operator()(CURL* p) const { curl_easy_cleanup(p); }
};
struct CurlMultiCleanup {
  void operator()(CURLM* p) const { curl_multi_cleanup(p); }
};
using EasyHandle = std::unique_ptr<CURL, CurlEasyCleanup>;
using MultiHandle = std::unique_ptr<CURLM, CurlMultiCleanup>;

constexpr absl::Duration kMaxConnectTimeout = absl::Seconds(10);
constexpr int kPollMs = 50;  // how quickly a stop signal aborts requests in flight

size_t Discard(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

struct Transfer {
  EasyHandle easy;
  char error[CURL_ERROR_SIZE] = {0};
  bool done = false;
  CURLcode code = CURLE_OK;
};

class CurlPinger : public Pinger {
 public:
  std::vector<PingResult> Send(std::span<const PingRequest> requests,
                               const StopSignal& stop) override {
    std::vector<PingResult> results(requests.size());
    if (stop.Notified()) {
      for (PingResult& r : results) MarkStopped(&r);
      return results;
    }
    MultiHandle multi(curl_multi_init());
    std::vector<std::unique_ptr<Transfer>> transfers;
    for (size_t i = 0; i < requests.size(); ++i) {
      auto t = std::make_unique<Transfer>();
      t->easy.reset(curl_easy_init());
      if (multi == nullptr || t->easy == nullptr) {
        results[i].error = "cannot initialize libcurl";
      } else {
        Configure(t.get(), requests[i], i);
        curl_multi_add_handle(multi.get(), t->easy.get());
      }
      transfers.push_back(std::move(t));
    }
    bool stopped = false;
    int running = 1;
    while (multi != nullptr && running > 0) {
      // Checked before every step, so no request is begun once shutdown has begun.
      if (stop.Notified()) {
        stopped = true;
        break;
      }
      if (curl_multi_perform(multi.get(), &running) != CURLM_OK) break;
      CollectDone(multi.get(), &transfers);
      if (running > 0) curl_multi_poll(multi.get(), nullptr, 0, kPollMs, nullptr);
    }
    if (multi != nullptr) CollectDone(multi.get(), &transfers);
    for (size_t i = 0; i < transfers.size(); ++i) {
      Transfer& t = *transfers[i];
      if (t.easy == nullptr || multi == nullptr) continue;
      if (!t.done) {
        if (stopped) {
          MarkStopped(&results[i]);
        } else {
          results[i].error = "transfer did not complete";
        }
      } else {
        Finish(t, &results[i]);
      }
      curl_multi_remove_handle(multi.get(), t.easy.get());
    }
    return results;
  }

 private:
  static void MarkStopped(PingResult* r) {
    r->stopped = true;
    r->error = "stopped";
  }

  static void Configure(Transfer* t, const PingRequest& req, size_t index) {
    CURL* e = t->easy.get();
    long timeout_ms = std::max<long>(1, absl::ToInt64Milliseconds(req.timeout));
    long connect_ms =
        std::max<long>(1, absl::ToInt64Milliseconds(std::min(req.timeout, kMaxConnectTimeout)));
    curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "litesync-heartbeat");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, reinterpret_cast<void*>(index));
    if (req.method == "POST") {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (req.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    }
  }

  static void CollectDone(CURLM* multi, std::vector<std::unique_ptr<Transfer>>* transfers) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      void* priv = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      auto index = reinterpret_cast<size_t>(priv);
      if (index >= transfers->size()) continue;
      (*transfers)[index]->done = true;
      (*transfers)[index]->code = msg->data.result;
    }
  }

  static void Finish(const Transfer& t, PingResult* r) {
    curl_off_t total_us = 0;
    curl_easy_getinfo(t.easy.get(), CURLINFO_TOTAL_TIME_T, &total_us);
    r->elapsed = absl::Microseconds(total_us);
    long status = 0;
    curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &status);
    r->http_status = static_cast<int>(status);
    if (t.code != CURLE_OK) {
      // libcurl's messages name the host and port, never the path or query.
      r->error = t.error[0] != '\0' ? t.error : curl_easy_strerror(t.code);
    } else if (status < 200 || status > 299) {
      r->error = fmt::format("HTTP {}", status);
    } else {
      r->ok = true;
    }
  }
};

}  // namespace

std::unique_ptr<Pinger> NewCurlPinger() { return std::make_unique<CurlPinger>(); }

}  // namespace litesync
