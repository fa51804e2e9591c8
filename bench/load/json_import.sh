#!/bin/bash
# json_import.sh: the JSON import rate (`dossier import --json`, PutBatch)
# beside SQLite FTS5's load of the same records, measured in the same run.
# Writes REPORTS Refworld files (dossier-bench --write-corpus), imports
# them as text into one server and exports them (the dump), then, RUNS
# times: times `dossier import --json DUMP` into a fresh server, and
# bench/load/fts5_load.py DUMP; prints each run's rates and their ratio,
# the CPU time each side spent per record (server and client for us, the
# one process for FTS5: a figure the machine's other load moves less
# than the rates), and a summary line "json_import ..." (the median run
# by ratio). Part of `make bench`; never of `make test`.
#
# Usage: bench/load/json_import.sh [BUILD_DIR]
# Environment: REPORTS (100000), RUNS (2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-bench}
reports=${REPORTS:-100000}
runs=${RUNS:-2}
bin=$build/bin

work=$(mktemp -d /tmp/dossier-json-bench-XXXXXX)
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

"$bin/dossier-bench" --write-corpus "$work/corpus" --records "$reports" \
    >/dev/null
start_server source
"$bin/dossier" -s "$EP" --timeout 600000 import "$work/corpus" >/dev/null
"$bin/dossier" -s "$EP" --timeout 600000 export >"$work/dump.jsonl"
stop_server
rm -rf "$work/corpus" "$work/source"
records=$(wc -l <"$work/dump.jsonl")
echo "dump: $records records, $(du -m "$work/dump.jsonl" | cut -f1) MiB"

# cpu_us SECONDS: microseconds per record.
cpu_us() {
    echo "$1 * 1000000 / $records" | bc -l | xargs printf '%.0f'
}
rates=
for run in $(seq 1 "$runs"); do
    start_server "json$run"
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$work/client.time" \
        "$bin/dossier" -s "$EP" --timeout 600000 import --json \
        "$work/dump.jsonl" >"$work/import.out" 2>&1 || {
        tail -20 "$work/import.out"
        exit 1
    }
    t1=$(date +%s.%N)
    server_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' \
        "/proc/$PID/stat")
    client_cpu=$(awk '{print $1 + $2}' "$work/client.time")
    stop_server
    rm -rf "$work/json$run"
    ours=$(echo "$records / ($t1 - $t0)" | bc -l)
    theirs=$(/usr/bin/time -f '%U %S' -o "$work/fts5.time" \
        /usr/bin/python3 "$here/fts5_load.py" "$work/dump.jsonl" \
        --dir "$work" | awk '/^rate / {print $2}')
    fts5_cpu=$(awk '{print $1 + $2}' "$work/fts5.time")
    ratio=$(echo "$ours / $theirs" | bc -l)
    printf 'run %d: dossier import --json %.0f records/s (%s), FTS5 load %.0f records/s, ratio %.2f\n' \
        "$run" "$ours" "$(tail -1 "$work/import.out")" "$theirs" "$ratio"
    printf 'run %d: CPU per record: dossierd %s us + dossier %s us; FTS5 (Python, json.loads included) %s us\n' \
        "$run" "$(cpu_us "$server_cpu")" "$(cpu_us "$client_cpu")" \
        "$(cpu_us "$fts5_cpu")"
    rates="$rates$ours $theirs $ratio"$'\n'
done
# The median run by ratio (of two: the lower).
median=$(printf '%s' "$rates" | sort -n -k3 | sed -n "$(((runs + 1) / 2))p")
printf 'json_import records=%d rate=%.0f fts5_rate=%.0f ratio=%.2f runs=%d\n' \
    "$records" $median "$runs"
