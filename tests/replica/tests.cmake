# Tests of replica/: listed explicitly.
litesync_test_binary(replica_tests REPLICA_ONLY
  replica/replication_test.cc
  replica/secret_test.cc
  replica/tx_file_info_test.cc
  replica/tx_file_test.cc
  replica/wal_reader_test.cc
)
