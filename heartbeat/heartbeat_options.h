// Plain options for heartbeat targets, filled by cmd/config.cc.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/secret.h"

namespace litesync {

struct HeartbeatTarget {
  Secret url;                  // the whole URL is a credential: log RedactUrl(url.reveal(), true)
  Secret fail_url;             // optional: called once when health turns bad
  std::string method = "GET";  // GET or POST
  absl::Duration interval = absl::Minutes(5);  // clamped to >= 1 minute by the parser
  absl::Duration timeout = absl::Seconds(30);
  std::vector<std::string> databases;  // empty: every database
};

struct HeartbeatOptions {
  std::vector<HeartbeatTarget> targets;  // `heartbeat-url` becomes one target over all dbs
  absl::Duration check_every = absl::Seconds(15);
};

}  // namespace litesync
