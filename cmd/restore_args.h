// `litesync restore`'s command line: its flags, and the replicas and output path
// they name (a REPLICA URL or directory, or a DBPATH of the config). Main thread
// only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cmd/restore_output.h"
#include "replica/restore/restore.h"
#include "replica/storage/replica_options.h"

namespace litesync::restore_args {

struct Args {
  std::string config, output, timestamp, txid, replica, log_level;
  std::vector<std::string> age_identity_files;
  std::string integrity_check = "none";
  IntegrityCheck check = IntegrityCheck::kNone;
  bool if_db_not_exists = false, if_replica_exists = false, dry_run = false, json = false;
  int64_t parallelism = 8;
  std::string target_arg;  // DBPATH or REPLICA
  bool config_set = false;
};

// Parses the words after `restore` into `a` and `target`; an exit code when the
// command ends here (-h, or a usage error already printed).
std::optional<int> Parse(const std::vector<std::string>& argv, Args* a, RestoreTarget* target);

// The replicas to restore from (the URL's, or the config database's, narrowed by
// -replica) and the output path; an exit code when an error was printed.
std::optional<int> Resolve(const Args& a, std::vector<ReplicaOptions>* replicas,
                           std::string* output);

}  // namespace litesync::restore_args
