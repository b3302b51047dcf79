# plantd — the two commands of the README, and a few more.
#   make run    dependencies, Release build, plant-sim + plantd on the demo plant, plantctl watch
#   make test   dependencies, build, every test (ctest)
#   make bench  benchmarks; JSON results under build/bench/
#   make fuzz   libFuzzer targets built with clang in build-fuzz/, FUZZ_SECONDS (60) each;
#               executions per second in build-fuzz/fuzz.json
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CONFIG ?= deploy/examples/single-cabinet.json
LISTEN ?= 127.0.0.1:50051

.PHONY: all deps build run test bench fuzz clean format

all: build

deps:
	@bash deploy/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

SPEED ?= 60

run: build
	@BIN=$(BUILD_DIR)/bin CONFIG=$(CONFIG) SPEED=$(SPEED) LISTEN=$(LISTEN) VAR=$(BUILD_DIR)/var \
	  bash deploy/run-demo.sh

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

bench: build
	@mkdir -p $(BUILD_DIR)/bench
	cd $(BUILD_DIR) && ctest -C bench -L bench --output-on-failure
	@echo "results:" && ls $(BUILD_DIR)/bench/*.json

FUZZ_SECONDS ?= 60

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash test/fuzz/run.sh

format:
	find model drivers actors services apps test -name '*.[ch]pp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
