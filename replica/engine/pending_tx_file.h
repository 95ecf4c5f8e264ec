// A tx file captured from the database and waiting for replicas: shared by every
// replica's queue (replica_shipper.h), its staging file removed when the last
// queue lets go.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>

#include "replica/format/tx_file_info.h"
#include "replica/storage/replica_client.h"

namespace litesync {

struct PendingTxFile {
  TxFileInfo info;
  std::unique_ptr<ByteSource> bytes;
  std::string staging_path;  // removed when the last queue lets go
  bool snapshot = false;
  std::string new_lineage;  // a new lineage's snapshot: why (logged when a replica has it)
  uint32_t pages = 0;       // for that log line

  PendingTxFile() = default;
  PendingTxFile(const PendingTxFile&) = delete;
  PendingTxFile& operator=(const PendingTxFile&) = delete;
  ~PendingTxFile() {
    if (!staging_path.empty()) ::unlink(staging_path.c_str());
  }
};

}  // namespace litesync
