// A logging TCP proxy on 127.0.0.1 in front of an S3 server, for bench/s3.sh: it
// records when each object write was acknowledged to the client, the S3
// counterpart of dir_watch's rename events. Every request is rewritten to
// "Connection: close" (one request per connection, for both sidecars alike); the
// response is forwarded byte for byte. For each PUT of a whole object (no
// partNumber) and each CompleteMultipartUpload (POST ?uploadId=) answered 2xx, one
// line goes to EVENTS, stamped (CLOCK_REALTIME) when the response's last byte was
// handed to the client:
//   <unix_ns> moved <key below STRIP, percent-decoded>
// Every request also gets "<unix_ns> request <status>,<METHOD>,<target>". The
// first line is "<unix_ns> listening <port>". SIGTERM or SIGINT ends it.
#pragma once

#include <string>

namespace litesync::bench {

// Serves until SIGTERM/SIGINT. `strip` is the path prefix of the keys of
// interest, e.g. "/bucket/prefix/"; writes outside it are logged as requests only.
int RunS3LogProxy(int upstream_port, const std::string& strip, const std::string& events);

}  // namespace litesync::bench
