#!/bin/sh
# Side-by-side throughput of redis-server and phidb-server (TLS, redis-benchmark), then the
# memory check and the AUTH storm when asked. Every figure is a ratio measured in one run.
#
#   bench/bench.sh                 throughput table (about 10 s per test and server)
#   bench/bench.sh memory          1,000,000 keys of 256 bytes: used_memory and RSS
#   bench/bench.sh auth            AUTH storm: AUTHs/s and the GET latency others see
#   bench/bench.sh all             all three
#
# Environment: see bench/README.md (PHIDB_BUILD, PHIDB_TARGET=redis, BENCH_SCALE, ...).
# Results (CSV) go to bench/results/, which git ignores.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3   # Debian's python3 with python3-redis; no other Python is used
: "${PHIDB_BUILD:=$(dirname "$here")/build}"
export PHIDB_BUILD

what=${1:-throughput}
case "$what" in
    throughput) exec "$py" "$here/bench.py" ;;
    memory)     exec "$py" "$here/memory.py" ;;
    auth)       exec "$py" "$here/auth_storm.py" ;;
    all)
        rc=0
        "$py" "$here/bench.py" || rc=1
        "$py" "$here/memory.py" || rc=1
        "$py" "$here/auth_storm.py" || rc=1
        exit $rc ;;
    *) echo "usage: $0 [throughput|memory|auth|all]" >&2; exit 2 ;;
esac
