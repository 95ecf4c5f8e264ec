// `litesync sync [-wait] DBPATH`: asks the running daemon (over its control
// socket, POST /sync) to sync one database now; with -wait, until every replica
// acknowledged what was committed when the command started. Main thread only.
#pragma once

#include <string>
#include <vector>

namespace litesync {

// `args` are the words after `sync`. Exit codes: 0 done, 1 the sync failed or
// timed out or no daemon answers, 2 usage, config error or unknown database.
int RunSyncCommand(const std::vector<std::string>& args);

}  // namespace litesync
