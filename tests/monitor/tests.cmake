# monitor_tests: the liveness record, the verdict (in process, over replicas the
# litesync binary wrote), and `litesync monitor` end to end as a child process
# beside a replicating sidecar, s3rver, the logging proxy and a heartbeat receiver.
litesync_test_binary(monitor_tests
  cmd/cli_util.cc
  monitor/cli_monitor_test.cc
  monitor/liveness_test.cc
  monitor/monitor_util.cc
  monitor/verdict_listing_test.cc
  monitor/verdict_test.cc
)
target_link_libraries(monitor_tests PRIVATE litesync_monitor)
