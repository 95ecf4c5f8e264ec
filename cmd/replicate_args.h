// `litesync replicate`'s command line: its flags, and the databases they name
// (the config's, or one DBPATH with its REPLICA-URLs). Main thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cmd/config.h"
#include "cmd/databases.h"
#include "cmd/restore_on_start.h"

namespace litesync::replicate_args {

struct Setup {
  Config config;
  std::vector<ResolvedDb> dbs;
  bool from_config = true;
  std::string exec;             // -exec: the application's command line
  bool once = false;            // -once: sync every database once, then exit
  bool force_snapshot = false;  // -force-snapshot: that sync is a full snapshot
  RestoreOnStart restore;       // -restore-if-db-not-exists
  std::string log_level;        // -log-level, kept over the config's on reload
};

// Flags and positional arguments to a Setup (its config loaded); an exit code
// when there is nothing to run (-h, or a usage or config error already printed).
std::optional<int> Parse(const std::vector<std::string>& args, Setup* setup);

// True when a replica of the setup may spill downloads to the scratch directory.
bool SpillsToScratch(const Setup& setup);

}  // namespace litesync::replicate_args
