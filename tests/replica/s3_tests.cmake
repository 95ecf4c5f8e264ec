# s3_tests: the S3 replica client against a real S3 server on loopback (s3rver),
# Signature V4 against AWS's published examples, the fault proxy, and the
# ReplicaClient conformance suite over every backend, and the core replication
# tests (round trip, continuity, faults and an outage, parallel restore) over S3;
# objects of any name read whole, by range and by the parallel reader.
litesync_test_binary(s3_tests REPLICA_ONLY
  replica/byte_source_test.cc
  replica/curl_environment.cc
  replica/parallel_reader_test.cc
  replica/replica_client_test.cc
  replica/replica_factory_test.cc
  replica/s3_addressing_test.cc
  replica/s3_fault_test.cc
  replica/s3_idle_cost_test.cc
  replica/s3_replica_client_test.cc
  replica/s3_replication_test.cc
  replica/s3_xml_test.cc
  replica/sigv4_libcurl_test.cc
  replica/sigv4_test.cc
  replica/spill_buffer_test.cc
)
target_link_libraries(s3_tests PRIVATE CURL::libcurl)

