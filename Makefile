# Front door. `make` builds, `make run` starts a server on ./var (or DIR=...),
# `make test` runs every test, in a normal and in an ASan+UBSan build.
DIR ?= var
PORT ?= 6380
JOBS ?= 2

.PHONY: all deps build build-asan run test test-fast fuzz bench clean format

all: build

deps:
	@sh scripts/install-deps.sh

build/CMakeCache.txt:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: build/CMakeCache.txt
	cmake --build build -j$(JOBS)

build-asan/CMakeCache.txt:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPHIDB_SANITIZE=ON >/dev/null

build-asan: build-asan/CMakeCache.txt
	cmake --build build-asan -j$(JOBS)

run: deps build
	@sh scripts/run.sh "$(DIR)" "$(PORT)"

test: deps build build-asan
	ctest --test-dir build -j$(JOBS) --output-on-failure
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir build-asan -j$(JOBS) --output-on-failure

# Only the normal build (quicker while developing).
test-fast: build
	ctest --test-dir build -j$(JOBS) --output-on-failure

fuzz:
	@sh scripts/fuzz.sh

bench: deps build
	@sh bench/bench.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz
