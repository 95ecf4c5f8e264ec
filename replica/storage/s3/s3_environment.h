// The AWS environment variables litesync honours, read in this one place:
// credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the
// region (AWS_REGION, else AWS_DEFAULT_REGION) and the endpoint
// (AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL). Each is a fallback for a value the
// configuration or the URL leaves empty. Thread-safe (reads only).
#pragma once

#include <string>

#include "base/secret.h"

namespace litesync {

inline constexpr char kAccessKeyIdVar[] = "AWS_ACCESS_KEY_ID";
inline constexpr char kSecretAccessKeyVar[] = "AWS_SECRET_ACCESS_KEY";

struct S3Environment {
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;
  std::string region;
  std::string endpoint;
  std::string endpoint_var;  // the variable `endpoint` came from, for messages
};

S3Environment ReadS3Environment();

}  // namespace litesync
