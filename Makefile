# The two commands of the quick start, and the targets around them.
#   make run    install what is missing, build, serve ./var/ on loopback
#   make test   install what is missing, build, run every test (ctest),
#               then again under AddressSanitizer + UBSan
MAKEFLAGS += --no-print-directory
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
ENDPOINT ?= tcp://127.0.0.1:7531
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DDOSSIER_WERROR=ON
endif

.PHONY: all deps build run test test-fast test-asan valgrind fuzz bench \
        install format clean

all: build

deps:
	@deploy/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@deploy/run-dev.sh $(BUILD) var $(ENDPOINT)

test: test-fast test-asan

test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DDOSSIER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	    $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# make fuzz: the libFuzzer harnesses (fuzz/) built with clang, ASan and
# UBSan in $(FUZZ_BUILD), each run for FUZZ_SECONDS on a working corpus
# seeded from fuzz/corpus/NAME/. A crash stops here and names the input
# saved under $(FUZZ_BUILD)/artifacts/. Never part of `make test`.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
# One input taking longer than this (seconds) is reported as a hang.
FUZZ_TIMEOUT ?= 10
FUZZERS ?= refworld json query envelope dynpb gateway webfiles

fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DDOSSIER_FUZZ=ON \
	    -DDOSSIER_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	@mkdir -p $(FUZZ_BUILD)/artifacts
	@for name in $(FUZZERS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	    log=$(FUZZ_BUILD)/fuzz_$$name.log; \
	    echo "fuzz_$$name: $(FUZZ_SECONDS) s (log: $$log)"; \
	    if ! $(FUZZ_BUILD)/bin/fuzz_$$name -max_total_time=$(FUZZ_SECONDS) \
	        -timeout=$(FUZZ_TIMEOUT) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$name- \
	        $(FUZZ_BUILD)/corpus/$$name fuzz/corpus/$$name >$$log 2>&1; \
	    then \
	        tail -n 60 $$log; \
	        echo "fuzz_$$name FAILED: input in $(FUZZ_BUILD)/artifacts/"; \
	        exit 1; \
	    fi; \
	    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|Done )' $$log; \
	done

# make valgrind: the C unit and integration tests under valgrind memcheck
# in $(VALGRIND_BUILD) (no sanitizers). ctest runs each test program
# through valgrind (CMAKE_CROSSCOMPILING_EMULATOR), following children,
# so the dossierd an integration test starts is checked too: a memory
# error or a definite leak makes valgrind exit 1, which fails the test
# (the server's exit status is checked by testserver_stop). Valgrind
# writes to $(VALGRIND_BUILD)/valgrind/PID.log, not to stderr, so the
# server's log stays its own; the reports with errors are printed at the
# end. Python and shell tests are left out. tests/valgrind.supp holds
# only library-internal reports, each explained. A child forked without
# exec (the store copy of a Backup) is not reported on: it holds the
# parent's memory, whose pointers lived on the stacks of threads the
# child does not have, so every block a thread was using looks lost.
VALGRIND_BUILD ?= build-valgrind
VALGRIND_LOGS = $(abspath $(VALGRIND_BUILD))/valgrind
VALGRIND ?= valgrind;--error-exitcode=1;--leak-check=full;--errors-for-leak-kinds=definite;--show-leak-kinds=definite;--num-callers=30;--trace-children=yes;--child-silent-after-fork=yes;--trace-children-skip=*/python3*,/bin/*,/usr/bin/*;--suppressions=$(CURDIR)/tests/valgrind.supp;--log-file=$(VALGRIND_LOGS)/%p.log
VALGRIND_TESTS ?= .

valgrind: deps
	@cmake -S . -B $(VALGRIND_BUILD) -DDOSSIER_SANITIZE=OFF \
	    "-DCMAKE_CROSSCOMPILING_EMULATOR=$(VALGRIND)" $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(VALGRIND_BUILD) -j $(JOBS)
	@rm -rf $(VALGRIND_LOGS) && mkdir -p $(VALGRIND_LOGS)
	@rc=0; \
	ctest --test-dir $(VALGRIND_BUILD) --output-on-failure -j $(JOBS) \
	    -R '$(VALGRIND_TESTS)' -E '_(py|sh)$$' --timeout 900 || rc=$$?; \
	for log in $(VALGRIND_LOGS)/*.log; do \
	    if grep -q 'ERROR SUMMARY: [1-9]' $$log; then \
	        echo "==== $$log"; cat $$log; rc=1; \
	    fi; \
	done; \
	echo "valgrind reports: $(VALGRIND_LOGS)/ ($$(ls $(VALGRIND_LOGS) | wc -l) processes)"; \
	exit $$rc

# make bench: the load benchmark (bench/load/run.sh: Get, List, Search, a
# mixed load with the server's memory, the bulk import through `dossier
# import`) on a Release build in $(BENCH_BUILD), against servers it
# starts on loopback, beside the gRPC baseline (bench/grpc/: built here
# when Debian's libgrpc++-dev is there, never by `make build` or `make
# test`) and the raw ZeroMQ echo; refreshes the Load section of
# docs/PERFORMANCE.md.
# Then bench/load/json_import.sh: `dossier import --json` of a dump of
# the same reports beside SQLite FTS5's load of them (REPORTS, RUNS).
# DURATION, MIXED_SECONDS, RECORDS, REPORTS, IMPORTS size it (bench/load/run.sh). Never
# part of `make test` (test_bench_smoke.sh is).
BENCH_BUILD ?= build-bench

bench:
	@DOSSIER_BENCH_DEPS=1 deploy/install-deps.sh
	@cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release \
	    $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BENCH_BUILD) -j $(JOBS) --target dossierd dossier_cli \
	    dossier-bench dossier_gateway grpc_baseline python_proto
	bench/load/run.sh $(BENCH_BUILD)
	bench/load/json_import.sh $(BENCH_BUILD)

install: build
	cmake --install $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(VALGRIND_BUILD) $(BENCH_BUILD)
