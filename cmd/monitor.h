// `litesync monitor`: judges replicas from storage alone, from another machine
// (monitor/verdict.h). -once checks each REPLICA-URL once (cron, systemd timers).
// Used on the main thread.
#pragma once

#include <string>
#include <vector>

namespace litesync {

// Exit 0 when every replica is fresh (and verified, with -verify), 1 when any is
// not (each named with its reason) or the -url ping failed, 2 on usage errors.
int RunMonitorCommand(const std::vector<std::string>& args);

}  // namespace litesync
