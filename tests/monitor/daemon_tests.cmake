# monitor_daemon_tests: `litesync monitor -config` (the daemon half):
# monitor.yml, notifications against a real HTTP receiver, and the daemon end to
# end with s3rver, a replicating sidecar and promtool.
add_executable(monitor_daemon_tests
  cmd/cli_util.cc
  heartbeat/log_capture.cc
  monitor/monitor_config_test.cc
  monitor/monitor_cli_test.cc
  monitor/monitor_daemon_test.cc
  monitor/monitor_deploy_test.cc
  monitor/monitor_notifier_test.cc
  monitor/monitor_util.cc
)
target_link_libraries(monitor_daemon_tests PRIVATE litesync_testutil litesync_cmd
                      litesync_heartbeat litesync_replica CURL::libcurl GTest::gtest_main
                      GTest::gmock litesync_warnings)
target_compile_definitions(monitor_daemon_tests PRIVATE LITESYNC_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(monitor_daemon_tests litesync test_writer)
gtest_discover_tests(monitor_daemon_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300
                     LABELS threads)
