# Tests of replica/: listed explicitly.
litesync_test_binary(replica_tests REPLICA_ONLY
  replica/change_detection_test.cc
  replica/compactor_test.cc
  replica/lease_test.cc
  replica/writer_cache_test.cc
  replica/maintenance_test.cc
  replica/repeat_log_test.cc
  replica/restore_window_test.cc
  replica/retention_test.cc
  replica/secret_test.cc
  replica/tx_file_info_test.cc
  replica/tx_file_test.cc
  replica/validator_test.cc
  replica/wal_reader_test.cc
)

# Crash tests run the real litesync binary as a process (kill -9 loops), to a file
# replica and to S3 (s3rver on loopback).
litesync_test_binary(crash_tests
  replica/age_crash_test.cc
  replica/crash_test.cc
  replica/s3_crash_test.cc
  replica/replaced_db_test.cc
)

# The restore's page writer runs threads of its own: labelled `threads`, so
# `make tsan` checks it (it synchronizes with std::mutex, which TSan sees).
litesync_test_binary(page_writer_tests REPLICA_ONLY LABEL threads
  replica/page_writer_test.cc
)

# Large tx files are decompressed on threads (FrameDecoder): labelled `threads`.
litesync_test_binary(tx_frames_tests REPLICA_ONLY LABEL threads
  replica/tx_frames_test.cc
)

# The Replicator's worker threads against a real writer process: labelled
# `threads`, so `make tsan` checks them too (base/mutex.h: std::mutex).
litesync_test_binary(replication_tests REPLICA_ONLY LABEL threads
  replica/checkpoint_test.cc
  replica/replication_test.cc
)

# Faults injected under a file replica through the file-system seam (base/fs.h),
# with the Replicator's workers running: labelled `threads`. Links heartbeat/ for
# the health rule.
litesync_test_binary(fs_fault_tests LABEL threads
  replica/fs_fault_test.cc
)

# Encryption at rest: the age v1 format (against the real `age` binary) and the
# encrypting replica client.
litesync_test_binary(age_tests REPLICA_ONLY
  replica/age_replication_test.cc
  replica/age_test.cc
  replica/age_testkit_test.cc
  replica/curl_environment.cc
)
target_link_libraries(age_tests PRIVATE CURL::libcurl OpenSSL::Crypto)
target_compile_definitions(age_tests PRIVATE LITESYNC_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
