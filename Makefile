# The two everyday commands, on a fresh Debian 12 machine:
#   make demo   installs dependencies, builds cnnc, compiles the bundled LeNet-5 and runs it
#   make test   installs dependencies, builds cnnc and runs the tests (all but the model zoo)
#   make test-zoo   every model of the zoo through both backends (slow: 40 minutes the first time)
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-unit test-zoo clean

all: build

deps:
	./scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	BUILD=$(abspath $(BUILD)) ./scripts/demo.sh

test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure

test-zoo: build
	/usr/bin/python3 tests/e2e/zoo.py --cnnc $(BUILD)/cnnc --dir $(BUILD)/e2e/zoo \
		--report $(BUILD)/e2e/zoo/report.md

test-unit: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure -E "e2e|node_tests"

clean:
	rm -rf $(BUILD)
