#!/bin/sh
# Installs what phidb needs to build, run and test on Debian 12, idempotently.
# Packages already present are left alone; nothing is downloaded when all are there.
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev
libssl-dev openssl libargon2-dev libjansson-dev libhyperscan-dev libzstd-dev
libqrencode-dev redis-server redis-tools python3 python3-redis
oathtool faketime rsyslog rsyslog-openssl procps psmisc gdb util-linux ca-certificates tzdata"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# Node.js and npm for the ioredis integration test; any node >= 14 on PATH will do.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages:$missing" >&2
        echo "install-deps: run as root (or install them) and try again" >&2
        exit 1
    fi
    echo "install-deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi

# ioredis for the Node.js client tests, installed once into tests/integration/node_modules.
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$root/tests/integration/node_modules/ioredis" ]; then
    echo "install-deps: installing ioredis (npm)"
    (cd "$root/tests/integration" && npm install --no-audit --no-fund --silent >/dev/null)
fi
