#!/usr/bin/env bash
# make run: serve a data directory on loopback for a developer or analyst.
#   deploy/run-dev.sh BUILD_DIR DATA_DIR ENDPOINT [HTTP_LISTEN]
# Starts dossierd (with its change feed on the next port), imports the
# bundled sample reports once (a fresh data directory), starts
# dossier-gateway serving the web page from this checkout's web/ and the
# Connect API on HTTP_LISTEN (default 127.0.0.1:8080), prints how to
# reach both, and serves until Ctrl-C.
set -euo pipefail
build=${1:-build}
data=${2:-var}
endpoint=${3:-tcp://127.0.0.1:7531}
listen=${4:-127.0.0.1:8080}
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
stop() {
    [ -n "$gateway" ] && kill -TERM "$gateway" 2>/dev/null
    [ -n "$gateway" ] && wait "$gateway" 2>/dev/null
    kill -TERM $server 2>/dev/null
    wait $server 2>/dev/null
    exit 0
}
trap stop INT TERM

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

page="(no web page: $bin/dossier-gateway is not built)"
if [ -x "$bin/dossier-gateway" ]; then
    "$bin/dossier-gateway" --server "$endpoint" --feed "$feed" \
        --listen "$listen" --web "$web" --no-access-log &
    gateway=$!
    page="http://$listen/"
fi

cat <<MSG

dossierd is serving $data/ on $endpoint. The web page for analysts:

    $page

In another terminal:

    export PATH="\$PWD/$bin:\$PATH"
    dossier list
    dossier get tip-2004-aze
    dossier history Azerbaijan
    dossier search "forced labor" --year 2004
    dossier import ~/refworld/          # your own Refworld .txt files
    curl -s -H 'Content-Type: application/json' -d '{"id":"tip-2004-aze"}' \\
        http://$listen/dossier.v1.Reports/Get

Ctrl-C stops the servers; the data stays in $data/.
MSG
wait $server
