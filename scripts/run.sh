#!/bin/sh
# make run: create DIR with `phidb init` when it does not exist yet, then run the
# server in the foreground on it.
set -eu
dir=${1:-var}
port=${2:-6380}
if [ ! -f "$dir/phidb.conf" ]; then
    ./build/phidb init "$dir" --port "$port"
fi
exec ./build/phidb-server "$dir/phidb.conf"
