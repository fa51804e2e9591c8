#!/usr/bin/env bash
# Installs the Debian packages Dossier builds, tests and runs with.
# Idempotent: asks dpkg first and prints nothing when all is present.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libzmq3-dev libczmq-dev
    libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
    liblmdb-dev lmdb-utils
    libraft-dev libuv1-dev  # a cluster's Raft (server/cluster/)
    libsodium-dev libssl-dev
    libjansson-dev libcmocka-dev unicode-data
    libmicrohttpd-dev wrk curl
    python3 python3-zmq python3-protobuf python3-xapian
    clang clang-format libclang-rt-14-dev valgrind strace git
    groff-base  # renders the man pages in test_readme_c
)

# The web page's tests drive Debian's chromium headless through
# chromedriver and python3-selenium (tests/integration/test_web_browser.py).
# DOSSIER_SKIP_BROWSER=1 (the container build, which runs no tests) skips
# them.
if [ -z "${DOSSIER_SKIP_BROWSER:-}" ]; then
    packages+=(chromium chromium-driver python3-selenium)
fi

# The benchmarks' baselines, for `make bench` only (it sets
# DOSSIER_BENCH_DEPS=1): the gRPC C++ server and client of bench/grpc/.
# The product never links gRPC and `make build`/`make test` neither
# build nor install them; without these packages the gRPC rows are
# skipped with a message.
if [ -n "${DOSSIER_BENCH_DEPS:-}" ]; then
    packages+=(g++ libgrpc++-dev protobuf-compiler-grpc)
fi

# Node.js runs tests/connect/ (the Connect client test of dossier-gateway).
# A node from elsewhere (nodesource) is fine: Debian's is installed only
# when there is none. DOSSIER_SKIP_NODE=1 (the container build) skips both.
if [ -n "${DOSSIER_SKIP_NODE:-}" ]; then
    :
elif ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
fi

# The Connect client test's npm packages, at the versions package-lock.json
# pins; again only when they are missing or the lock file changed.
s_npm_ci() {
    local dir
    dir="$(cd "$(dirname "$0")/.." && pwd)/tests/connect"
    [ -z "${DOSSIER_SKIP_NODE:-}" ] && [ -f "$dir/package-lock.json" ] ||
        return 0
    if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
        [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        echo "install-deps: npm ci in tests/connect" >&2
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
}

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    s_npm_ci
    exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
s_npm_ci
