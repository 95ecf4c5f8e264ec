// The -age-identity-file flag of restore, ltx and snapshots, and reading age key
// files for it and for the config's identity-files / recipient-files.
// Used on the main thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "cmd/flags.h"
#include "replica/storage/replica_options.h"

namespace litesync {

// Registers -age-identity-file FILE (repeatable) on `flags`.
void AddAgeIdentityFlag(FlagSet& flags, std::vector<std::string>* files);

// A key file's text; InvalidArgument naming the file when it cannot be read.
absl::StatusOr<std::string> ReadAgeKeyFile(const std::string& path);

// Adds the identities in `files` to `replica` (which then reads age files).
// Errors name the file and line, never a key.
absl::Status ApplyAgeIdentityFiles(const std::vector<std::string>& files, ReplicaOptions* replica);

}  // namespace litesync
