# heartbeat_tests: the health rule, heartbeat URLs, the pinger, the heartbeat and its
# ticker, the test HTTP server, and `litesync heartbeat`. Defined here rather than
# with litesync_test_binary() so the tests that start threads (everything but the
# pure suites) carry the `threads` label that `make tsan` (ctest -L threads) selects.
# HeartbeatS3Test drives the real Replicator and SyncRegistry in-process; they
# lock with base/mutex.h (std::mutex), which TSan sees.
set(LITESYNC_HEARTBEAT_PURE_TESTS "HealthTest.*:HeartbeatUrlTest.*")
add_executable(heartbeat_tests
  heartbeat/health_test.cc
  heartbeat/heartbeat_command_test.cc
  heartbeat/heartbeat_s3_test.cc
  heartbeat/heartbeat_test.cc
  heartbeat/heartbeat_thread_test.cc
  heartbeat/heartbeat_url_test.cc
  heartbeat/http_server_test.cc
  heartbeat/log_capture.cc
  heartbeat/pinger_test.cc
)
target_link_libraries(heartbeat_tests PRIVATE litesync_testutil litesync_cmd litesync_heartbeat
                      litesync_replica CURL::libcurl GTest::gtest_main GTest::gmock
                      litesync_warnings)
gtest_discover_tests(heartbeat_tests TEST_FILTER "${LITESYNC_HEARTBEAT_PURE_TESTS}"
                     DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
gtest_discover_tests(heartbeat_tests TEST_FILTER "-${LITESYNC_HEARTBEAT_PURE_TESTS}"
                     DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120 LABELS threads)
