# The two commands of the quick start, and the targets around them.
#   make run    install what is missing, build, serve ./var/ on loopback
#   make test   install what is missing, build, run every test (ctest),
#               then again under AddressSanitizer + UBSan
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

install: build
	cmake --install $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz build-valgrind
