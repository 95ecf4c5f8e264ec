// A real S3-compatible server for tests: s3rver 3.7.1 (tests/node_modules) bound
// to 127.0.0.1 on a port the kernel chose, its data in a temporary directory, one
// bucket created at start. Stop() and Restart() (same port, same data) play an
// outage. The server runs in a process group of its own, which Stop() and the
// destructor kill; every wait is bounded. Not thread-safe.
//
// What s3rver checks of a request: the access key id must be S3RVER (else 403
// InvalidAccessKeyId), x-amz-content-sha256 must be present and x-amz-date within
// 15 minutes; the Signature V4 itself is not verified.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"

#include "replica/storage/replica_options.h"
#include "tests/testutil/temp_dir.h"

namespace litesync::testing {

// curl_global_init, once per process (tests have no main of their own).
void InitCurlOnce();

class S3Server {
 public:
  static constexpr const char* kAccessKeyId = "S3RVER";
  static constexpr const char* kSecretAccessKey = "S3RVER";

  // Starts the server and waits until it answers; on failure the test fails and
  // running() is false.
  explicit S3Server(std::string bucket = "litesync-test");
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  // Virtual-hosted requests go to http://<bucket>.s3.localhost:<port>: s3rver is
  // started with --service-endpoint localhost and takes the bucket from that Host.
  const std::string& bucket() const { return bucket_; }
  const std::string& data_dir() const { return data_dir_; }

  // Options of an s3 replica at s3://<bucket>/<prefix> on this server (or on
  // `endpoint` when given, e.g. a FaultProxy in front of it).
  ReplicaOptions Options(const std::string& prefix, const std::string& endpoint = "") const;

  // Kills the server: connections are refused until Restart(), which starts it on
  // the same port with the same data and waits until it answers.
  void Stop();
  absl::Status Restart();

 private:
  absl::Status Start(int port);

  TempDir temp_;
  std::string bucket_;
  std::string data_dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace litesync::testing
