// Uploads one object to S3 from a ByteSource. Up to the part size it is a single
// PUT whose body is read twice: once to hash it (the payload hash is signed), once
// per attempt to send it. Larger objects are a multipart upload read from the
// source one part at a time (one part in memory), completed only when every part
// is acknowledged and aborted on failure, so the object is visible whole or not at
// all. CompleteMultipartUpload answers 200 even when it failed; its <Error> counts.
#pragma once

#include <string>

#include "absl/status/status.h"

#include "replica/storage/replica_client.h"
#include "replica/storage/s3/s3_api.h"

namespace litesync {

// OK only once the server acknowledged the whole object under `key`.
absl::Status S3Upload(S3Api& api, const std::string& key, const ByteSource& bytes);

}  // namespace litesync
