// `litesync monitor -config monitor.yml`: the monitor as a daemon. Main thread.
#pragma once

#include <string>

namespace litesync {

// Runs until SIGINT or SIGTERM: 0 then, 2 on a config error, 1 when it cannot
// start (addr: taken, scratch directory unusable).
int RunMonitorDaemon(const std::string& config_path, const std::string& log_level_flag);

}  // namespace litesync
