# cmd_tests: config parsing and flags (in process), and the litesync binary end to
# end as a child process (LITESYNC_BIN; tests/test_writer plays the application).
litesync_test_binary(cmd_tests
  cmd/cli_age_test.cc
  cmd/cli_cost_test.cc
  cmd/cli_daemon_test.cc
  cmd/cli_deploy_test.cc
  cmd/cli_disk_full_test.cc
  cmd/cli_errors_test.cc
  cmd/cli_failing_replica_test.cc
  cmd/cli_force_snapshot_test.cc
  cmd/cli_lease_test.cc
  cmd/cli_litestream_test.cc
  cmd/cli_many_dbs_test.cc
  cmd/cli_replicate_test.cc
  cmd/cli_sidecar_test.cc
  cmd/cli_restore_on_start_test.cc
  cmd/cli_sync_test.cc
  cmd/cli_util.cc
  cmd/config_litestream_test.cc
  cmd/config_test.cc
  cmd/flags_test.cc
  cmd/list_command_test.cc
)
# cli_sidecar_test checks the files in etc/.
target_compile_definitions(cmd_tests PRIVATE LITESYNC_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(cmd_tests PRIVATE nlohmann_json::nlohmann_json)
