// A replica in S3-compatible object storage (AWS, MinIO, R2, B2, Tigris, Wasabi...):
//   s3://<bucket>/<prefix>/<lineage 16 hex>/<level>/<min>-<max>-<ts>.ltx
// Listings use the full key prefix without a delimiter (some servers, s3rver among
// them, return no CommonPrefixes for deeper keys). Objects up to the part size are
// one PUT, larger ones a multipart upload streamed from the source in parts, so
// memory stays bounded; either way an object is visible whole or not at all, and
// Write returns only after the server acknowledged it. Reads keep small objects in
// memory and spill larger ones to an unlinked temporary file. One thread at a time.
#pragma once

#include <memory>

#include "absl/status/statusor.h"

#include "replica/storage/replica_client.h"
#include "replica/storage/s3/s3_api.h"

namespace litesync {

// Needs the S3Settings' bucket; region, endpoint and credentials fall back to AWS_REGION,
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
// AWS_SESSION_TOKEN. Makes no request (Ping does).
absl::StatusOr<std::unique_ptr<ReplicaClient>> NewS3ReplicaClient(const ReplicaOptions& options,
                                                                  const S3Tuning& tuning = {});

}  // namespace litesync
