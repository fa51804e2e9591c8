#!/usr/bin/env bash
# make run: serve a data directory on loopback for a developer or analyst.
#   deploy/run-dev.sh BUILD_DIR DATA_DIR ENDPOINT
# Starts dossierd (its change feed on the next port) and dossier-gateway
# (HTTP on $GATEWAY_LISTEN, default 127.0.0.1:8080: the Connect API, the
# web page from this checkout's web/, and the feed as server-sent
# events), imports the bundled sample reports once (a fresh data
# directory), prints how to reach it, and serves until Ctrl-C.
set -euo pipefail
build=${1:-build}
data=${2:-var}
endpoint=${3:-tcp://127.0.0.1:7531}
listen=${GATEWAY_LISTEN:-127.0.0.1:8080}
bin="$build/bin"
here=$(cd "$(dirname "$0")" && pwd)
web="$(dirname "$here")/web"
port=${endpoint##*:}
feed="${endpoint%:*}:$((port + 1))"

mkdir -p "$data"
fresh=no
[ -e "$data/data.mdb" ] || fresh=yes

"$bin/dossierd" --data "$data" --bind "$endpoint" --feed "$feed" &
server=$!
gateway=
trap 'kill -TERM $server $gateway 2>/dev/null; wait $server $gateway 2>/dev/null; exit 0' INT TERM

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

# The gateway says where it listens in the first line of its log
# ($data/gateway.log, with a line per request after it).
: >"$data/gateway.log"
"$bin/dossier-gateway" --server "$endpoint" --listen "$listen" \
    --web "$web" --feed "$feed" 2>>"$data/gateway.log" &
gateway=$!
http=
for _ in $(seq 1 50); do
    http=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$data/gateway.log")
    [ -n "$http" ] && break
    kill -0 $gateway 2>/dev/null || break
    sleep 0.1
done
if [ -z "$http" ]; then
    cat "$data/gateway.log" >&2
    echo "dossier-gateway did not start (is $listen taken?" \
        "GATEWAY_LISTEN=127.0.0.1:0 picks a free port)" >&2
fi

if [ $fresh = yes ]; then
    "$bin/dossier" -s "$endpoint" import "$here/samples" || true
fi

cat <<MSG

dossierd is serving $data/ on $endpoint.

The web page for analysts: ${http:-(not started)}/

In another terminal:

    export PATH="\$PWD/$bin:\$PATH"
    dossier list
    dossier get tip-2004-aze
    dossier history Azerbaijan
    dossier search "forced labor" --year 2004
    dossier import ~/refworld/          # your own Refworld .txt files

Over HTTP (dossier-gateway, the Connect protocol; its log in
$data/gateway.log) at ${http:-(not started)}:

    curl -s -H 'Content-Type: application/json' -d '{"id":"tip-2004-aze"}' \\
        ${http:-http://127.0.0.1:8080}/dossier.v1.Reports/Get

Ctrl-C stops both; the data stays in $data/.
MSG
wait $server
