# litestream_tests: restoring what Litestream wrote (v0.3.13's binary, v0.5.17's
# VFS extension, both from tests/node_modules) and replicating beside it, through
# the litesync binary; the LTX checksum against its reference value.
litesync_test_binary(litestream_tests
  compat/crc64_test.cc
  compat/parallel_reader_test.cc
  compat/litestream_v3_test.cc
  compat/litestream_v5_test.cc
  compat/litestream_util.cc
  cmd/cli_util.cc
)
