#!/bin/bash
# run.sh: the standard load scenarios of `make bench`, against dossierd
# servers started here in a temporary directory on loopback, and the
# tables of docs/PERFORMANCE.md ("Load" section) refreshed with the
# figures. Never part of `make test` (tests/integration/
# test_bench_smoke.sh is the smoke run).
#
# Usage: bench/load/run.sh [BUILD_DIR]
#   BUILD_DIR  a configured Release build with dossierd, dossier and
#              dossier-bench built (default build-bench); the gRPC
#              baseline (dossier-grpc-server, dossier-grpc-bench: cmake
#              target grpc_baseline) runs beside them when built
# Environment:
#   DURATION        seconds per Get/List/Search scenario (10)
#   MIXED_SECONDS   seconds of the mixed load, for the memory check (600)
#   RECORDS         4 KiB records for Get (10000)
#   REPORTS         Refworld files for the bulk import, List, Search (100000)
#   IMPORTS         imports of them, each into a fresh server (3): the
#                   machine's speed moves from minute to minute, so the
#                   rate reported is their median, with each run's
#   DOC             the file whose Load section is rewritten
#                   (docs/PERFORMANCE.md; "-" writes nothing)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-bench}
duration=${DURATION:-10}
mixed=${MIXED_SECONDS:-600}
records=${RECORDS:-10000}
reports=${REPORTS:-100000}
imports=${IMPORTS:-3}
doc=${DOC:-$root/docs/PERFORMANCE.md}
bin=$build/bin

work=$(mktemp -d /tmp/dossier-bench-XXXXXX)
pids=
cleanup() {
    local pid
    for pid in $pids; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
results=$work/results.txt
: >"$results"

# start_server NAME: dossierd on a free port with data in $work/NAME;
# sets EP and PID.
start_server() {
    "$bin/dossierd" --data "$work/$1" --bind 'tcp://127.0.0.1:*' \
        2>"$work/$1.log" &
    PID=$!
    pids="$pids $PID"
    EP=
    for _ in $(seq 1 200); do
        if [ -s "$work/$1/dossierd.pid" ] &&
            [ "$(sed -n 1p "$work/$1/dossierd.pid")" = "$PID" ]; then
            EP=$(sed -n 2p "$work/$1/dossierd.pid")
            [ -n "$EP" ] && return 0
        fi
        sleep 0.1
    done
    echo "dossierd did not start:" >&2
    cat "$work/$1.log" >&2
    exit 1
}

stop_server() {
    kill "$PID"
    wait "$PID" || true
}

# start_gateway: dossier-gateway in front of the server at $EP, on a free
# loopback port (read from its first log line); sets GPORT and GPID.
start_gateway() {
    "$bin/dossier-gateway" --server "$EP" --listen 127.0.0.1:0 \
        --no-access-log 2>"$work/gateway.log" &
    GPID=$!
    pids="$pids $GPID"
    GPORT=
    for _ in $(seq 1 200); do
        GPORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' \
            "$work/gateway.log")
        [ -n "$GPORT" ] && return 0
        sleep 0.1
    done
    echo "dossier-gateway did not start:" >&2
    cat "$work/gateway.log" >&2
    exit 1
}

stop_gateway() {
    kill "$GPID"
    wait "$GPID" || true
}

# http_bench NAME C METHOD [FORMAT]: wrk (Debian's) POSTing Connect calls
# of METHOD (FORMAT json, the default, or proto) through the gateway at
# concurrency C with keep-alive, as one summary line in dossier-bench's
# form.
http_bench() {
    local name=$1 c=$2 method=$3 format=${4:-json} threads=2
    [ "$c" -lt 2 ] && threads=1
    echo "== $name: wrk -t$threads -c$c -d${duration}s ($method over HTTP)"
    WRK_METHOD=$method WRK_FORMAT=$format WRK_RECORDS=$records \
        WRK_QUERIES=$work/queries.txt \
        wrk -t"$threads" -c"$c" -d"${duration}s" \
        -s "$here/wrk_connect.lua" "http://127.0.0.1:$GPORT" |
        tee "$work/$name.out"
    sed -n "s/^wrkline /summary: label=$name client=http c=$c /p" \
        "$work/$name.out" >>"$results"
    echo "cmd $name WRK_METHOD=$method WRK_FORMAT=$format wrk -t$threads -c$c" \
        "-d${duration}s -s bench/load/wrk_connect.lua http://GATEWAY" \
        >>"$results"
}

# bench NAME ARGS...: one dossier-bench run; its output goes to the
# terminal and its summary line, named, to $results.
bench() {
    local name=$1
    shift
    echo "== $name: dossier-bench $*"
    "$bin/dossier-bench" --endpoint "$EP" --label "$name" "$@" |
        tee "$work/$name.out"
    grep '^summary: ' "$work/$name.out" >>"$results"
    echo "cmd $name dossier-bench --endpoint EP ${*//$PID/PID}" >>"$results"
}

# start_grpc: the gRPC baseline (bench/grpc/) on a free loopback port,
# its LMDB store filled with the records of the dossierd at $EP, the
# same bytes; sets GTARGET and GRPC_PID. Returns 1 when it was not built
# (no libgrpc++-dev: the cmake target grpc_baseline says why).
start_grpc() {
    [ -x "$bin/dossier-grpc-server" ] && [ -x "$bin/dossier-grpc-bench" ] ||
        return 1
    "$bin/dossier-grpc-server" --data "$work/grpc" --load-from "$EP" \
        --records "$records" >"$work/grpc.out" 2>"$work/grpc.log" &
    GRPC_PID=$!
    pids="$pids $GRPC_PID"
    GTARGET=
    for _ in $(seq 1 600); do
        GTARGET=$(sed -n 's/.*listening on \([^,]*\),.*/\1/p' "$work/grpc.out")
        [ -n "$GTARGET" ] && break
        kill -0 "$GRPC_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$GTARGET" ]; then
        echo "dossier-grpc-server did not start:" >&2
        cat "$work/grpc.log" >&2
        exit 1
    fi
    cat "$work/grpc.out"
}

# grpc_bench NAME C: dossier-grpc-bench at concurrency C against the
# gRPC baseline, its summary line to $results.
grpc_bench() {
    local name=$1 c=$2
    echo "== $name: dossier-grpc-bench --concurrency $c"
    "$bin/dossier-grpc-bench" --target "$GTARGET" --records "$records" \
        --concurrency "$c" --duration "$duration" --pid "$GRPC_PID" \
        --label "$name" | tee "$work/$name.out"
    grep '^summary: ' "$work/$name.out" >>"$results"
    echo "cmd $name dossier-grpc-bench --target GRPC --records $records" \
        "--concurrency $c --duration $duration --pid GRPC_PID" >>"$results"
}

echo "info machine load at the start: $(uptime | sed 's/.*load average/load average/')" \
    >>"$results"

# ---- 4 KiB records: Get ----------------------------------------------
start_server get
"$bin/dossier-bench" --endpoint "$EP" --records "$records" --no-floor \
    --duration 1 --label preload | tee "$work/preload.out"
grep '^preload:' "$work/preload.out" | sed 's/^/info /' >>"$results"
# The gRPC baseline serves the same records beside it; each gRPC run
# follows the Dossier run it is compared with, so both see the same
# machine (each dossier-bench run measures its own echo floor first).
grpc=yes
start_grpc || {
    grpc=
    echo "gRPC baseline skipped: dossier-grpc-server not built" \
        "(libgrpc++-dev, protobuf-compiler-grpc; cmake target grpc_baseline)"
    echo "info gRPC baseline skipped: not built" >>"$results"
}
bench get_c1 --records "$records" --no-preload --concurrency 1 \
    --duration "$duration" --mix get=100 --pid "$PID"
[ -z "$grpc" ] || grpc_bench grpc_get_c1 1
bench get_c16 --records "$records" --no-preload --concurrency 16 \
    --duration "$duration" --mix get=100 --pid "$PID"
[ -z "$grpc" ] || grpc_bench grpc_get_c16 16
if [ -n "$grpc" ]; then
    kill "$GRPC_PID"
    wait "$GRPC_PID" || true
fi
# One client thread with 16 calls in flight (dossier_call_start /
# dossier_call_finish) against get_c16's 16 threads with one each.
bench get_pipe_c1x16 --records "$records" --no-preload --concurrency 1 \
    --in-flight 16 --duration "$duration" --mix get=100 --pid "$PID"
# The Python client: get_many (16 in flight) against one get at a time.
echo "== pymany: bench/load/py_many.py EP $records"
PYTHONPATH=$build/python:$root/client/python \
    /usr/bin/python3 "$here/py_many.py" "$EP" "$records" | tee -a "$results"
echo "cmd pymany bench/load/py_many.py EP $records 10000 16" >>"$results"
bench get_raw_c1 --records "$records" --no-preload --concurrency 1 \
    --duration "$duration" --mix get=100 --raw
bench get_raw_c16 --records "$records" --no-preload --concurrency 16 \
    --duration "$duration" --mix get=100 --raw
# The same Gets over HTTP, through dossier-gateway (Connect, JSON).
start_gateway
http_bench http_get_c1 1 Get
http_bench http_get_c16 16 Get
http_bench http_get_proto_c16 16 Get proto
stop_gateway
bench mixed_c16 --records "$records" --no-preload --concurrency 16 \
    --duration "$mixed" --floor-seconds "$duration" \
    --mix get=90,list=5,search=3,put=2 --pid "$PID"
grep -E '^(echo|get|list|search|put|all) ' "$work/mixed_c16.out" |
    sed 's/^/mixedrow /' >>"$results"
stop_server

# ---- Refworld reports: bulk import, List, Search ---------------------
"$bin/dossier-bench" --write-corpus "$work/corpus" --records "$reports" |
    tee "$work/corpus.out"
# Each import into a fresh server; the last one's stays for the rest.
runs_seconds=
for run in $(seq 1 "$imports"); do
    [ "$run" = 1 ] || stop_server
    start_server "reports$run"
    echo "== import $run of $imports: dossier import $work/corpus"
    t0=$(date +%s.%N)
    "$bin/dossier" -s "$EP" --timeout 600000 import "$work/corpus" \
        >"$work/import.out" 2>&1 || {
        tail -20 "$work/import.out"
        exit 1
    }
    t1=$(date +%s.%N)
    tail -3 "$work/import.out"
    runs_seconds=$runs_seconds${runs_seconds:+,}$(echo "$t1 - $t0" | bc -l)
done
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status")
anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$PID/status")
# The index's large merges wait for the writer to be idle (merge_idle_ms):
# List and Search are measured once they are done. Stats tells.
stats_field() {
    "$bin/dossier" -s "$EP" stats --json | /usr/bin/python3 -c '
import json, sys
print(int(json.load(sys.stdin).get(sys.argv[1], 0)))' "$1"
}
segments=$(stats_field indexSegments)
for _ in $(seq 1 3000); do
    [ "$(stats_field indexMergeDue)" = 0 ] && break
    sleep 0.1
done
t2=$(date +%s.%N)
echo "index: $segments segments after the import, $(stats_field indexSegments)" \
    "once merged, $(echo "$t2 - $t1" | bc -l | cut -c1-5) s later"
# And once idle: after a second without work the server gives free heap
# memory back (server/net/loop.c, S_IDLE_TRIM_MS).
sleep 2
idle_anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$PID/status")
echo "import reports=$reports seconds=$(echo "$t1 - $t0" | bc -l)" \
    "runs_seconds=$runs_seconds" \
    "rss_kb=$rss anon_kb=$anon idle_anon_kb=$idle_anon" \
    "segments=$segments merged_segments=$(stats_field indexSegments)" \
    "merge_seconds=$(echo "$t2 - $t1" | bc -l)" | tee -a "$results"
echo "cmd import dossier -s EP --timeout 600000 import DIR" >>"$results"
bench list_c1 --records "$reports" --no-preload --concurrency 1 \
    --duration "$duration" --mix list=100 --pid "$PID"
bench list_c16 --records "$reports" --no-preload --concurrency 16 \
    --duration "$duration" --mix list=100
bench search_c1 --records "$reports" --no-preload --concurrency 1 \
    --duration "$duration" --mix search=100
bench search_c16 --records "$reports" --no-preload --concurrency 16 \
    --duration "$duration" --mix search=100 --pid "$PID"
# Export of every report against the List scan it is made of (the same
# full-view pages of 500, one call at a time, nothing printed).
"$bin/dossier-bench" --endpoint "$EP" --list-scan 500 | tee "$work/scan.out"
scan_seconds=$(sed -n 's/^scan: .*seconds=\([0-9.]*\).*/\1/p' "$work/scan.out")
echo "== export: dossier export > FILE"
t0=$(date +%s.%N)
"$bin/dossier" -s "$EP" --timeout 600000 export >"$work/export.jsonl" \
    2>"$work/export.err" || {
    cat "$work/export.err"
    exit 1
}
t1=$(date +%s.%N)
cat "$work/export.err"
echo "export records=$(grep -c . "$work/export.jsonl")" \
    "scan_seconds=$scan_seconds export_seconds=$(echo "$t1 - $t0" | bc -l)" \
    "bytes=$(stat -c %s "$work/export.jsonl")" | tee -a "$results"
rm -f "$work/export.jsonl"
echo "cmd list_scan dossier-bench --endpoint EP --list-scan 500" >>"$results"
echo "cmd export dossier -s EP --timeout 600000 export > FILE" >>"$results"
# The same searches over HTTP, through dossier-gateway.
"$bin/dossier-bench" --write-queries >"$work/queries.txt"
start_gateway
http_bench http_search_c1 1 Search
http_bench http_search_c16 16 Search
stop_gateway
stop_server

if [ "$doc" != "-" ]; then
    /usr/bin/python3 "$here/perf_doc.py" "$results" "$doc" "$duration" \
        "$mixed" "$records" "$reports"
    echo "updated $doc"
fi
