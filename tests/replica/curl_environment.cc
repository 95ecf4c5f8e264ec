// curl_global_init once, before any test: cmd/main.cc does it for the binary, and
// this binary has GTest's main.
#include <gtest/gtest.h>

#include "tests/testutil/s3_server.h"

namespace litesync::testing {
namespace {

class CurlEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { InitCurlOnce(); }
};

[[maybe_unused]] ::testing::Environment* const kCurlEnvironment =
    ::testing::AddGlobalTestEnvironment(new CurlEnvironment);

}  // namespace
}  // namespace litesync::testing
