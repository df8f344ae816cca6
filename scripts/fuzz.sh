#!/bin/sh
# Builds every fuzz/fuzz_*.c as a libFuzzer binary (clang) in build-fuzz/ and runs
# each for FUZZ_SECONDS (default 60), growing its corpus in fuzz/corpus/<name>/.
set -eu
secs=${FUZZ_SECONDS:-60}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=Debug -DPHIDB_SANITIZE=ON -DPHIDB_LIBFUZZER=ON >/dev/null
cmake --build build-fuzz -j2
for bin in build-fuzz/libfuzzer_*; do
    name=${bin#build-fuzz/libfuzzer_}
    mkdir -p "fuzz/corpus/$name"
    echo "fuzzing $name for ${secs}s"
    "$bin" -max_total_time="$secs" -max_len=65536 "fuzz/corpus/$name"
done
