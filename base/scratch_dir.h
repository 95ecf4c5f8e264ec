// The scratch-directory rule. Temporary files that do not belong beside a
// database (S3 objects over the in-memory limit while they download) go to the
// scratch directory: $TMPDIR when set, else /tmp. Files that belong to a database
// (compaction pages, validation restores, a restore's output) stay beside it.
// `replicate` and `restore` check the scratch directory at start-up when an S3
// replica may need it. Thread-safe.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace litesync {

// `dir` when not empty, else $TMPDIR when set, else /tmp.
std::string ScratchDir(const std::string& dir = "");

// Creates and removes one file in `dir`. FailedPrecondition naming the directory,
// the cause and the fix (point TMPDIR at a writable directory; in Kubernetes mount
// an emptyDir there) when it cannot.
absl::Status CheckScratchDir(const std::string& dir);

}  // namespace litesync
