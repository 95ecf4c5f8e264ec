// LS_ASSERT_OK / LS_EXPECT_OK print the status on failure.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/status.h"
#include <gtest/gtest.h>

namespace litesync::testing {
inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace litesync::testing

#define LS_ASSERT_OK(expr) \
  ASSERT_TRUE(::litesync::testing::GetStatus(expr).ok()) << ::litesync::testing::GetStatus(expr)
#define LS_EXPECT_OK(expr) \
  EXPECT_TRUE(::litesync::testing::GetStatus(expr).ok()) << ::litesync::testing::GetStatus(expr)
#define LS_ASSERT_OK_AND_ASSIGN(lhs, expr)             \
  auto LS_STATUS_CONCAT_(ls_t_, __LINE__) = (expr);    \
  ASSERT_TRUE(LS_STATUS_CONCAT_(ls_t_, __LINE__).ok()) \
      << LS_STATUS_CONCAT_(ls_t_, __LINE__).status();  \
  lhs = std::move(LS_STATUS_CONCAT_(ls_t_, __LINE__)).value()
