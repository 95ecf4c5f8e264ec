// The daemon's control endpoint: a small HTTP/1.1 server on one thread serving
//   GET /status   the status report as JSON (docs/status.md)
//   GET /healthz  200 "ok" while every database is healthy, else 503 with reasons
//   GET /metrics  Prometheus text format 0.0.4
//   POST /sync    sync one database now, optionally waiting for its replicas
//                 (Unix socket only; the request waits without blocking the loop)
// on a Unix socket next to the config (mode 0600, always on while `replicate`
// runs) and, when configured, on a TCP address (loopback unless asked otherwise).
// Requests are bounded (8 KiB head, 5 s to read and write, Connection: close, at
// most 32 connections at once); handlers read copies of the sync records and the
// heartbeat state, so a slow client never stalls replication.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "base/handles.h"
#include "base/sync_record.h"

#include "cmd/config.h"
#include "heartbeat/heartbeat_status.h"
#include "replica/engine/sync_request.h"

namespace litesync {

struct ControlServerOptions {
  std::string socket_path;  // Unix socket; empty: none
  // When the socket cannot be created (a read-only or foreign directory), log a
  // warning and serve without it instead of failing Start. Another daemon
  // answering on the socket still fails Start.
  bool socket_optional = false;
  // "host:port", "[v6]:port" or ":port" (empty host: 127.0.0.1); port 0 picks one.
  // Empty: no TCP listener.
  std::string tcp_addr;
  absl::Duration heartbeat_interval = absl::Minutes(5);  // the health rule's interval
  std::optional<absl::Time> process_start;               // default: the clock's time at Start
  absl::Duration io_timeout = absl::Seconds(5);
  size_t max_request_bytes = 8192;
  int max_connections = 32;
};

// The directory etc/litesync.service has systemd create (RuntimeDirectory=litesync).
inline constexpr char kServiceRuntimeDirectory[] = "/run/litesync";

// The control socket the daemon of a config binds, the first of:
//   $LITESYNC_SOCKET
//   $RUNTIME_DIRECTORY/<config file name>.sock     (systemd's RuntimeDirectory=)
//   $XDG_RUNTIME_DIR/litesync-<config file name>.sock
//   <config dir>/.<config file name>.sock           (e.g. /etc/.litesync.yml.sock)
std::string ControlSocketPath(const Config& config);
// Where `status` and `heartbeat` look for the daemon, in order: ControlSocketPath,
// then (unless $LITESYNC_SOCKET is set) /run/litesync/<config file name>.sock, so
// a shell without the service's environment finds it, then beside the config.
std::vector<std::string> ControlSocketCandidates(const Config& config);
// The health rule's interval: the smallest heartbeat target interval, else 5m.
absl::Duration HealthInterval(const Config& config);
// Options for `replicate`: the socket, `addr` and interval of `config`.
ControlServerOptions ControlServerOptionsFromConfig(const Config& config);

// Starts a sync of the database at `path` (Replicator::RequestSync): `done`
// null for a sync that is not waited for. NotFound for an unknown database.
using SyncHandler = std::function<absl::Status(const std::string& path, SyncDone done)>;

class ControlServer {
 public:
  // Binds every listener, then serves on its own thread. `records`, `heartbeat`
  // (may be null: no heartbeat configured) and `clock` must outlive the server.
  // Errors: FailedPrecondition when another process answers on the socket or the
  // path is not a socket; the bind error (with the address) otherwise. A stale
  // socket file left by a killed daemon is replaced.
  // `sync` serves POST /sync; without it /sync answers 503.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(
      const ControlServerOptions& options, const SyncRecordSource* records,
      const HeartbeatStatusSource* heartbeat, Clock* clock, SyncHandler sync = nullptr);

  // A whole HTTP response (FormatResponse) for a GET or HEAD of `path`; called on
  // the server's thread, so it must answer from copies and never block.
  using Responder = std::function<std::string(const std::string& method, const std::string& path)>;
  // The same listeners and bounds, answering with `respond` instead of the
  // replicate daemon's endpoints (`litesync monitor -config` serves its own).
  static absl::StatusOr<std::unique_ptr<ControlServer>> StartWith(
      const ControlServerOptions& options, Responder respond, Clock* clock);

  ~ControlServer();  // Stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Closes the listeners and open connections, joins the thread and removes the
  // socket file (if it is still ours). Idempotent.
  void Stop();

  // The bound TCP address ("127.0.0.1:41234"), empty without a TCP listener.
  const std::string& tcp_address() const { return tcp_address_; }
  const std::string& socket_path() const { return options_.socket_path; }

 private:
  struct Conn;
  struct PendingSync;
  struct Waker;
  ControlServer(ControlServerOptions options, const SyncRecordSource* records,
                const HeartbeatStatusSource* heartbeat, Clock* clock, SyncHandler sync);
  // Binds the listeners and starts the thread.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Launch(
      std::unique_ptr<ControlServer> server, Responder respond);
  absl::Status Listen();
  absl::Status ListenUnix();
  absl::Status ListenTcp();
  void Run();
  void Accept(int listen_fd, std::vector<Conn>* conns);
  bool ReadRequest(Conn* c);  // false: close the connection
  std::string Respond(const std::string& method, const std::string& path);
  // POST /sync (control_sync.cc): a response now, or a pending sync on `c`.
  void HandleSync(Conn* c, std::string_view body);
  // A waiting sync of `c` that finished or timed out becomes its response.
  void FinishSync(Conn* c);

  ControlServerOptions options_;
  const SyncRecordSource* records_;
  const HeartbeatStatusSource* heartbeat_;
  Clock* clock_;
  SyncHandler sync_;   // POST /sync; null: 503
  Responder respond_;  // Respond() unless StartWith gave another
  absl::Time process_start_;
  UniqueFd unix_fd_;
  UniqueFd tcp_fd_;
  std::string tcp_address_;
  dev_t socket_dev_ = 0;  // identity of our socket file, so Stop never removes another's
  ino_t socket_ino_ = 0;
  UniqueFd wake_read_;
  UniqueFd wake_write_;
  std::shared_ptr<Waker> waker_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace litesync
