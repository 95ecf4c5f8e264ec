# Tests of `litesync status`, the control server, /healthz and /metrics.
litesync_test_binary(status_tests
  cmd/control_server_test.cc
  cmd/metrics_test.cc
  cmd/status_command_test.cc
  cmd/status_report_test.cc
)
# libcurl is the independent HTTP client the server tests use.
target_link_libraries(status_tests PRIVATE CURL::libcurl)
# The metrics tests check etc/grafana-dashboard.json and etc/prometheus-alerts.yml.
target_compile_definitions(status_tests PRIVATE LITESYNC_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
