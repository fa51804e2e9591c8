#!/usr/bin/env bash
# Installs the Debian packages Dossier builds, tests and runs with.
# Idempotent: asks dpkg first and prints nothing when all is present.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libzmq3-dev libczmq-dev
    libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
    liblmdb-dev lmdb-utils
    libsodium-dev libssl-dev
    libjansson-dev libcmocka-dev unicode-data
    python3 python3-zmq python3-protobuf python3-xapian
    clang clang-format libclang-rt-14-dev valgrind strace git
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
