// Records when files appear under a directory tree, for lag measurements: each
// file renamed into place (IN_MOVED_TO) or closed after writing (IN_CLOSE_WRITE)
// becomes a line "<unix ns> <kind> <path relative to root>". New subdirectories
// are watched as they appear and scanned once (kind "scan") for files that beat
// the watch. Single-threaded; runs until SIGINT or SIGTERM.
#pragma once

#include <string>

namespace litesync::bench {

// Writes "ready" to `out_path` once the initial watches are set, then events.
// Returns a process exit code.
int WatchTree(const std::string& root, const std::string& out_path);

}  // namespace litesync::bench
