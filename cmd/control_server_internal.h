// ControlServer's connection state, shared by control_server.cc and
// control_sync.cc. Internal to the control server.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "base/handles.h"
#include "base/mutex.h"

#include "cmd/control_server.h"

namespace litesync {

using SteadyTime = std::chrono::steady_clock::time_point;

// A `sync -wait` in flight: a replication worker fills it in and wakes the loop.
// Shared by the connection and the worker's callback, which may outlive it.
struct ControlServer::PendingSync {
  std::string path;
  int timeout_seconds = 0;
  Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  SyncOutcome outcome ABSL_GUARDED_BY(mu);
};

// The loop's wake-up pipe as workers see it: closed to them (-1) once Stop begins,
// so a sync finishing after the server is gone writes nowhere.
struct ControlServer::Waker {
  Mutex mu;
  int fd ABSL_GUARDED_BY(mu) = -1;
  void Wake() {
    MutexLock lock(&mu);
    char b = 1;
    while (fd >= 0 && ::write(fd, &b, 1) < 0 && errno == EINTR) {
    }
  }
};

struct ControlServer::Conn {
  UniqueFd fd;
  std::string in;
  std::string out;
  size_t written = 0;
  bool writing = false;
  bool on_unix_socket = false;
  std::shared_ptr<PendingSync> sync;  // set while a sync -wait is in flight
  SteadyTime deadline;
};

}  // namespace litesync
