# Makefile - a thin wrapper over CMake. `make demo` and `make test` are all a user needs.
BUILD    ?= build
ASAN     ?= build-asan
FUZZ     ?= build-fuzz
# Seconds each fuzz harness runs under `make fuzz`.
FUZZ_TIME ?= 60
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
# Warnings are errors in CI (CI=true), and wherever WERROR=ON is given.
WERROR   ?= $(if $(CI),ON,OFF)
CMAKE_ARGS ?=

MAKEFLAGS += --no-print-directory

export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none

.PHONY: all deps build test test-unit test-sanitize test-valgrind fuzz demo format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DMAESTRO_WERROR=$(WERROR) $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (see tests/CMakeLists.txt
# for why MPI processes run without leak detection).
test-sanitize: deps
	cmake -S . -B $(ASAN) -DMAESTRO_WERROR=$(WERROR) -DMAESTRO_SANITIZE=address,undefined \
	      -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(ASAN) -j$(JOBS)
	cd $(ASAN) && ctest --output-on-failure -j$(JOBS)

# The unit suite under valgrind memcheck (scripts/valgrind-unit.sh; docs/reliability.md).
test-valgrind: build
	@scripts/install-deps.sh check
	scripts/valgrind-unit.sh $(BUILD)

# Every tests/fuzz/ harness under libFuzzer (clang, ASan + UBSan) for FUZZ_TIME seconds each,
# starting from its saved corpus; new inputs go to $(FUZZ)/corpus/, crashes to
# $(FUZZ)/crashes/ (scripts/fuzz.sh; docs/reliability.md).
fuzz: deps
	@scripts/install-deps.sh check
	CC=clang cmake -S . -B $(FUZZ) -DMAESTRO_FUZZ=ON -DMAESTRO_SANITIZE=address,undefined \
	      -DMAESTRO_CUDA=off -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(FUZZ) -j$(JOBS)
	scripts/fuzz.sh $(FUZZ) $(FUZZ_TIME)

demo: build
	@scripts/demo.sh $(BUILD)/maestro

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
