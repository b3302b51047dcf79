# plantd — the two commands of the README, and a few more.
#   make run    dependencies, Release build, plant-sim + plantd on the demo plant, plantctl watch
#   make test   dependencies, build, every test (ctest)
#   make bench  benchmarks; JSON results under build/bench/
#   make deb    build/plantd_VERSION_ARCH.deb (CPack), checked by lintian
#   make fuzz   libFuzzer targets built with clang in build-fuzz/, FUZZ_SECONDS (60) each;
#               executions per second in build-fuzz/fuzz.json
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
# ASan + UBSan in a build directory of its own (no benchmarks).
# -O1 -g1: sanitizers want a little optimization and line tables; full
# debug info would double the build time on a 2-core machine.
BUILD_DIR ?= build-asan
BUILD_TYPE ?= Sanitize
CMAKE_EXTRA = -DPLANTD_SANITIZE=ON -DPLANTD_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_SANITIZE="-O1 -g1"
# Leaks are not checked yet: CAF and gRPC keep singletons to the end.
export ASAN_OPTIONS ?= detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/test/ubsan.supp
endif
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CONFIG ?= deploy/examples/single-cabinet.json
LISTEN ?= 127.0.0.1:50051

.PHONY: all deps build run test bench fuzz clean format deb

all: build

deps:
	@bash deploy/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_EXTRA)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

SPEED ?= 60

run: build
	@BIN=$(BUILD_DIR)/bin CONFIG=$(CONFIG) SPEED=$(SPEED) LISTEN=$(LISTEN) VAR=$(BUILD_DIR)/var \
	  bash deploy/run-demo.sh

# ASan frames are several times larger: deep (bounded) recursions such as
# a formula of 1,000 operators need a bigger stack than 8 MB there.
# CTEST_ARGS: more ctest options, e.g. CTEST_ARGS="-E ^e2e" (CI's sanitizer
# run leaves out the end-to-end tests, whose timing ASan slows down).
test: build
	$(if $(filter 1,$(SANITIZE)),ulimit -s 65536 &&) cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600 $(CTEST_ARGS)

bench: build
	@mkdir -p $(BUILD_DIR)/bench
	cd $(BUILD_DIR) && ctest -C bench -L bench --output-on-failure
	@echo "results:" && ls $(BUILD_DIR)/bench/*.json

FUZZ_SECONDS ?= 60

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash test/fuzz/run.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format-14 -i

clean:
	rm -rf $(BUILD_DIR)

deb: build
	cd $(BUILD_DIR) && cpack -G DEB
	lintian --fail-on error $(BUILD_DIR)/plantd_*.deb
