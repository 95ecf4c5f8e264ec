# Thin wrapper over CMake. `make run` and `make test` install what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)
# Tests run two per core: most of their time is spent waiting (sync intervals,
# servers, child processes), not computing. On two cores the suite took 378 s
# with -j2, 202 s with -j4, 109 s with -j8; under ASan 461 s with -j2, 217 s with
# -j6. Not more: a clean-clone CI run took 1,364 s at -j6 and 1,436 s at -j4, and
# -j6 keeps the load average near 10, where every timing margin is thinner.
TEST_JOBS ?= $(shell echo $$(( $$(nproc) * 2 )))
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure -j $(TEST_JOBS) --timeout 600

.PHONY: all deps build run test sanitize asan tsan format format-check bench bench-s3 image image-test clean

all: build

deps:
	@bash .ci/deps

$(BUILD)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS)

run: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) --target litesync test_writer
	@bash etc/demo.sh $(BUILD)

# ctest starts the costliest tests first, by the times it recorded last run; a
# new build directory has none, and the 108 s test could start last and set the
# length of the run. tests/ctest_costs.txt seeds it (name, runs, seconds; the
# longest tests on two cores), and ctest's own record replaces it after a run.
COST_DATA = $(BUILD)/Testing/Temporary/CTestCostData.txt
test: build
	@test -f $(COST_DATA) || { mkdir -p $(dir $(COST_DATA)) && cp tests/ctest_costs.txt $(COST_DATA); }
	@cd $(BUILD) && ctest $(CTEST_FLAGS)

sanitize asan: deps
	@$(MAKE) --no-print-directory test BUILD=build-asan \
	  CMAKE_FLAGS="-DLITESYNC_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug"

# TSan over the threaded code (replication workers, heartbeat ticker, pinger,
# control server, the restore's page writer, the monitor daemon's checker and
# verifier): the tests labelled `threads`; then the parallel object reader's
# fetching threads, from s3_tests, which is otherwise not about threads
# (TSAN_PARTS).
# Debian's Abseil is not built with TSan, so shared state locks with std::mutex
# (base/mutex.h), which TSan sees, never absl::Mutex.
TSAN_PARTS = ForeignObjectsTest\.AParallelReader|S3ReplicationTest\.(ALargeSnapshot|ParallelRestore)
tsan: deps
	@cmake -S . -B build-tsan -DLITESYNC_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug \
	  -DLITESYNC_TEST_MODULES="heartbeat;replica;monitord;s3" >/dev/null
	@cmake --build build-tsan -j $(JOBS) --target heartbeat_tests page_writer_tests tx_frames_tests replication_tests fs_fault_tests monitor_daemon_tests s3_tests litesync test_writer
	@cd build-tsan && TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --output-on-failure -j $(JOBS) --timeout 600 -L threads \
	  -E 'WalStaysBoundedUnderContinuousWrites|AHotDatabaseSyncs'  # bounds on time; TSan slows litesync ~10x
	@cd build-tsan && TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --output-on-failure -j $(JOBS) --timeout 600 -R '$(TSAN_PARTS)'

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

format-check:
	@git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

bench: build
	@bash bench/run.sh $(BUILD)

# S3 replicas against s3rver on loopback, beside Litestream (bench/README.md).
bench-s3: build
	@bash bench/s3.sh $(BUILD) full

# The container image (etc/Dockerfile) with a dockerd of its own, data in
# $(BUILD)/docker (etc/image.sh). image-test proves it (tests/image_test.sh); it is
# not part of .ci/run (see README, "Container image").
image:
	@bash etc/image.sh $(BUILD)

image-test: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) --target test_writer
	@bash tests/image_test.sh $(BUILD)

clean:
	rm -rf build build-asan build-tsan
