# Makefile - thin wrapper over CMake: make, make demo, make test, make install.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build demo test deps clean install fuzz valgrind bench bench-train

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# make demo builds the command alone (not the tests or benchmarks).
demo: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target cnnfilter
	scripts/demo.sh $(BUILD)/cnnfilter out

test: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCNNFILTER_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 CNNFILTER_ASAN=1 \
	  ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory valgrind

# make bench: the photos (bench/prepare.sh installs the peers it needs), the core
# micro-benchmark, the peer comparison, the batch and the size scaling, tall thin images
# at -j 1 and -j 2 (bench/tall.py), the Gaussian blur
# against libvips gaussblur (bench/blur.py), the training
# engine's multiply-add rates and training against PyTorch (bench/train.py); every table
# is also written to bench/results-*.md, and all of them to bench/results.md
# (bench/README.md).  BENCH_RUNS=N for the medians (5).
BENCH_RUNS ?= 5
bench: build
	bench/prepare.sh
	$(BUILD)/bench_core 5312 2988 $(BENCH_RUNS) > bench/results-core.md
	/usr/bin/python3 bench/core_opencv.py bench/data/photo.png $(BENCH_RUNS) $(BUILD)/cnnfilter >> bench/results-core.md
	cat bench/results-core.md
	/usr/bin/python3 bench/peers.py --runs $(BENCH_RUNS) --out bench/results-peers.md
	/usr/bin/python3 bench/batch.py --runs 3 --out bench/results-batch.md
	/usr/bin/python3 bench/scaling.py --runs 3 --out bench/results-scaling.md
	/usr/bin/python3 bench/tall.py --runs 3 --out bench/results-tall.md
	/usr/bin/python3 bench/blur.py --runs $(BENCH_RUNS) --out bench/results-blur.md
	$(MAKE) --no-print-directory bench-train

# make bench-train: the training part of make bench alone (a few minutes).
bench-train: build
	$(BUILD)/bench_gemm $(BENCH_RUNS) > bench/results-gemm.md
	cat bench/results-gemm.md
	/usr/bin/python3 bench/train.py --runs 3 --out bench/results-train.md
	bench/collect.sh > bench/results.md

# The CLI test tier under valgrind memcheck (a plain build: valgrind and
# ASan do not mix).
valgrind: build
	command -v valgrind >/dev/null || scripts/install-deps.sh valgrind
	CNNFILTER_REAL_BIN=$(CURDIR)/$(BUILD)/cnnfilter CNNFILTER_BIN=$(CURDIR)/scripts/valgrind-cnnfilter.sh \
	  /usr/bin/python3 tests/cli/test_cli.py

# make fuzz FUZZ_SECONDS=600: each libFuzzer target for that long (clang,
# ASan+UBSan), starting from tests/fuzz/corpus/<target> and keeping what it
# finds in build-fuzz/corpus/<target>; crashes are written to build-fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= json matrix image options exif
fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCNNFILTER_FUZZ=ON \
	  -DCNNFILTER_SANITIZE=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t && cp -n tests/fuzz/corpus/$$t/* build-fuzz/corpus/$$t/ ; \
	  (cd build-fuzz && ./tests/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -timeout=10 corpus/$$t) || exit 1; \
	done

# make install [PREFIX=DIR] [DESTDIR=STAGING]: PREFIX defaults to CMake's (/usr/local).
PREFIX ?=
install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz out
