#!/bin/sh
# Builds every fuzz/fuzz_*.c as a libFuzzer binary (clang, ASan+UBSan) in build-fuzz/ and
# runs each for FUZZ_SECONDS (default 60) on a scratch corpus seeded from
# fuzz/corpus/<name>/. Afterwards the new inputs that add coverage are merged into
# fuzz/corpus/<name>/, which ctest replays on every `make test`.
set -eu
secs=${FUZZ_SECONDS:-60}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=Debug -DPHIDB_SANITIZE=ON -DPHIDB_LIBFUZZER=ON >/dev/null
cmake --build build-fuzz -j2
for bin in build-fuzz/libfuzzer_*; do
    name=${bin#build-fuzz/libfuzzer_}
    work=$(mktemp -d)
    mkdir -p "fuzz/corpus/$name"
    echo "fuzzing $name for ${secs}s"
    "$bin" -max_total_time="$secs" -max_len=65536 "$work" "fuzz/corpus/$name"
    # Add only the new inputs that bring new coverage (the named seeds stay).
    "$bin" -merge=1 "fuzz/corpus/$name" "$work" >/dev/null 2>&1
    rm -rf "$work"
    echo "$name: $(ls "fuzz/corpus/$name" | wc -l) corpus inputs"
done
