# Tests of replica/: listed explicitly.
litesync_test_binary(replica_tests
  replica/secret_test.cc
  replica/tx_file_info_test.cc
)
