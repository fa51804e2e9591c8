#!/usr/bin/env bash
# make run: serve a data directory on loopback for a developer or analyst.
#   deploy/run-dev.sh BUILD_DIR DATA_DIR ENDPOINT
# Starts dossierd, imports the bundled sample reports once (a fresh data
# directory), prints how to query it, and serves until Ctrl-C.
set -euo pipefail
build=${1:-build}
data=${2:-var}
endpoint=${3:-tcp://127.0.0.1:7531}
bin="$build/bin"
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$data"
fresh=no
[ -e "$data/data.mdb" ] || fresh=yes

"$bin/dossierd" --data "$data" --bind "$endpoint" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; exit 0' INT TERM

# Wait (bounded) until the server answers.
for _ in $(seq 1 50); do
    if "$bin/dossier" -s "$endpoint" --timeout 200 health >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 $server 2>/dev/null; then
        wait $server
        exit $?
    fi
    sleep 0.1
done

if [ $fresh = yes ]; then
    "$bin/dossier" -s "$endpoint" import "$here/samples" || true
fi

cat <<MSG

dossierd is serving $data/ on $endpoint. In another terminal:

    export PATH="\$PWD/$bin:\$PATH"
    dossier list
    dossier get tip-2004-aze
    dossier history Azerbaijan
    dossier search "forced labor" --year 2004
    dossier import ~/refworld/          # your own Refworld .txt files

Ctrl-C stops the server; the data stays in $data/.
MSG
wait $server
