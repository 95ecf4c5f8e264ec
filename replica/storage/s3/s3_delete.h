// Deletes objects from S3: DeleteObjects in batches of up to 1,000 keys (quiet
// mode: only failures are answered, and a key already absent is no failure),
// falling back to one DELETE per key on a server without DeleteObjects (501).
// DeleteObjects answers 200 even when a key failed; its <Error> entries count.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

#include "replica/storage/s3/s3_api.h"

namespace litesync {

// OK once every key (full object keys; duplicates are dropped) is gone.
absl::Status S3DeleteKeys(S3Api& api, std::vector<std::string> keys);

}  // namespace litesync
