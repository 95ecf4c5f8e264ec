# litestream_tests: restoring what Litestream wrote (v0.3.13's binary, v0.5.17's
# VFS extension, both from tests/node_modules) and replicating beside it, through
# the litesync binary; the LTX checksum against its reference value; the LZ4 frame
# reader against frames liblz4 writes (hence liblz4 here too).
litesync_test_binary(litestream_tests
  compat/crc64_test.cc
  compat/lz4_reader_test.cc
  compat/litestream_v3_test.cc
  compat/litestream_v5_test.cc
  compat/litestream_util.cc
  cmd/cli_util.cc
)
target_link_libraries(litestream_tests PRIVATE PkgConfig::LZ4)
