#include "replica/storage/s3/s3_environment.h"

#include <cstdlib>
#include <initializer_list>

namespace litesync {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// The first of `vars` that is set, and its name in *which.
std::string FirstSet(std::initializer_list<const char*> vars, std::string* which = nullptr) {
  for (const char* var : vars) {
    std::string v = Env(var);
    if (v.empty()) continue;
    if (which != nullptr) *which = var;
    return v;
  }
  return "";
}

}  // namespace

S3Environment ReadS3Environment() {
  S3Environment e;
  e.access_key_id = Env(kAccessKeyIdVar);
  e.secret_access_key = Secret(Env(kSecretAccessKeyVar));
  e.session_token = Secret(Env("AWS_SESSION_TOKEN"));
  e.region = FirstSet({"AWS_REGION", "AWS_DEFAULT_REGION"});
  e.endpoint = FirstSet({"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}, &e.endpoint_var);
  return e;
}

}  // namespace litesync
