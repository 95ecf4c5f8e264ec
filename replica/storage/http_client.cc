#include "replica/storage/http_client.h"

#include <algorithm>
#include <cstring>

#include "base/status.h"
#include "fmt/format.h"
#include <curl/curl.h>

namespace litesync {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr long kStallBytesPerSecond = 1024;

struct CurlCleanup {
  void operator()(CURL* p) const { curl_easy_cleanup(p); }
};
using CurlEasy = std::unique_ptr<CURL, CurlCleanup>;
struct SlistFree {
  void operator()(curl_slist* p) const { curl_slist_free_all(p); }
};
using CurlSlist = std::unique_ptr<curl_slist, SlistFree>;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The state of one transfer, shared with curl's callbacks.
struct Transfer {
  const HttpRequest* request = nullptr;
  std::unique_ptr<ByteReader> reader;  // over request->body_source
  uint64_t sent = 0;
  HttpResponse response;
  absl::Status local_error;  // from the body source or the sink
};

absl::Status OpenBody(Transfer* t) {
  t->sent = 0;
  t->reader.reset();
  if (t->request->body_source == nullptr) return absl::OkStatus();
  LS_ASSIGN_OR_RETURN(t->reader, t->request->body_source->Open());
  return absl::OkStatus();
}

size_t ReadBody(char* buf, size_t size, size_t nitems, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  size_t n = size * nitems;
  const HttpRequest& req = *t->request;
  if (req.body_source == nullptr) {
    size_t k = std::min<uint64_t>(n, req.body.size() - t->sent);
    std::memcpy(buf, req.body.data() + t->sent, k);
    t->sent += k;
    return k;
  }
  uint64_t total = req.body_source->Size();
  if (t->sent == total) return 0;
  absl::StatusOr<size_t> got = t->reader->Read(buf, std::min<uint64_t>(n, total - t->sent));
  if (!got.ok()) {
    t->local_error = Annotate(got.status(), "read request body");
    return CURL_READFUNC_ABORT;
  }
  if (*got == 0) {
    t->local_error = absl::DataLossError(fmt::format(
        "request body ended after {} of {} bytes (source changed while in use)", t->sent, total));
    return CURL_READFUNC_ABORT;
  }
  t->sent += *got;
  return *got;
}

// curl rewinds the body when it must send it again (a reused connection that
// turned out dead); only a restart from the first byte is needed.
int SeekBody(void* userp, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(userp);
  if (offset != 0 || origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  absl::Status s = OpenBody(t);
  if (!s.ok()) {
    t->local_error = s;
    return CURL_SEEKFUNC_FAIL;
  }
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  size_t n = size * nmemb;
  const HttpRequest& req = *t->request;
  long status = t->response.status;
  if (req.sink && status >= 200 && status < 300) {
    absl::Status s = req.sink(t->response, std::string_view(ptr, n));
    if (!s.ok()) {
      t->local_error = s;
      return 0;
    }
    return n;
  }
  std::string& body = t->response.body;
  if (req.sink) n = std::min(n, kMaxErrorBody - std::min(kMaxErrorBody, body.size()));
  body.append(ptr, n);
  return size * nmemb;
}

size_t WriteHeader(char* ptr, size_t size, size_t nitems, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  std::string_view line(ptr, size * nitems);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response (after 100 Continue, for instance): start over.
    t->response.headers.clear();
    size_t sp = line.find(' ');
    t->response.status = sp == std::string_view::npos ? 0 : std::atol(line.data() + sp + 1);
    return size * nitems;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response.headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                                     std::string(Trim(line.substr(colon + 1))));
  }
  return size * nitems;
}

absl::Status TransportStatus(CURLcode code, const char* errbuf, const std::string& url) {
  std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  std::string msg = fmt::format("{}: {}", UrlOrigin(url), detail);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(msg);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(msg);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return absl::FailedPreconditionError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

long Millis(absl::Duration d) { return static_cast<long>(absl::ToInt64Milliseconds(d)); }

}  // namespace

std::string HttpHead::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

std::string UrlOrigin(std::string_view url) {
  size_t scheme = url.find("://");
  size_t host_start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", host_start);
  std::string_view authority = url.substr(host_start, end - host_start);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  return std::string(url.substr(0, host_start)) + std::string(authority);
}

struct HttpClient::Impl {
  CurlEasy curl{curl_easy_init()};
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {}
HttpClient::~HttpClient() = default;

absl::StatusOr<HttpResponse> HttpClient::Do(const HttpRequest& request) {
  CURL* c = impl_->curl.get();
  if (c == nullptr) return absl::InternalError("curl_easy_init failed");
  curl_easy_reset(c);  // keeps the connection cache

  Transfer t;
  t.request = &request;
  LS_RETURN_IF_ERROR(OpenBody(&t));

  CurlSlist headers;
  for (const auto& [name, value] : request.headers) {
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  }
  headers.reset(curl_slist_append(headers.release(), "Expect:"));

  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH,
                   request.unix_socket.empty() ? nullptr : request.unix_socket.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "litesync");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, Millis(request.connect_timeout));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, Millis(request.timeout));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, kStallBytesPerSecond);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(absl::ToInt64Seconds(absl::Ceil(
                       std::max(request.stall_timeout, absl::Seconds(1)), absl::Seconds(1)))));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, request.skip_verify ? 0L : 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, request.skip_verify ? 0L : 2L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);

  bool has_body = request.body_source != nullptr || !request.body.empty() ||
                  request.method == "PUT" || request.method == "POST";
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    uint64_t size =
        request.body_source != nullptr ? request.body_source->Size() : request.body.size();
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, SeekBody);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  CURLcode code = curl_easy_perform(c);
  if (!t.local_error.ok()) return t.local_error;
  if (code == CURLE_COULDNT_CONNECT && !request.unix_socket.empty()) {
    long os_errno = 0;
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno != 0) {
      return ErrnoStatus(static_cast<int>(os_errno), "connect " + request.unix_socket);
    }
  }
  if (code != CURLE_OK) return TransportStatus(code, errbuf, request.url);
  return std::move(t.response);
}

}  // namespace litesync
