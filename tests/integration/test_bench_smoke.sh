#!/bin/bash
# test_bench_smoke.sh: a smoke run of dossier-bench (bench/load/dossier_bench.c)
# against a dossierd started here on a free port in a temporary directory:
# a tiny corpus preloaded through ImportBatch, one second of a mixed load
# through libdossier and one through raw DEALER sockets, each with its
# echo floor, one with Gets pipelined (--in-flight), and the List scan
# (--list-scan). Checks that each run exits 0, prints its summary line
# with no failed request, and that --write-corpus writes Refworld files
# the CLI imports. Not a benchmark: the figures are not checked.
# Prints "N passed, M failed"; exits 1 on any failure.
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=bench-smoke
. "$HERE/../support/clitest.sh"
BENCH=$BIN_DIR/dossier-bench

check() { # check NAME CONDITION-EXIT-CODE
    if [ "$2" -eq 0 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $1"
        sed 's/^/    /' "$TMP/out" | tail -20
    fi
}

if [ ! -x "$BENCH" ]; then
    echo "FAIL: $BENCH is missing"
    echo "0 passed, 1 failed"
    exit 1
fi

start_server data
SERVER_PID=$(sed -n 1p "$TMP/data/dossierd.pid")

# A summary line with errors=0 and ops above 0.
summary_ok() {
    grep -Eq '^summary: .* ops=[1-9][0-9]* .* errors=0 ' "$TMP/out"
}

timeout 60 "$BENCH" --endpoint "$EP" --records 50 --record-size 1024 \
    --concurrency 2 --duration 1 --floor-seconds 0.5 \
    --mix get=70,list=10,search=10,put=10 --pid "$SERVER_PID" \
    >"$TMP/out" 2>&1
check "libdossier run exits 0" $?
summary_ok
check "libdossier run prints its summary with no error" $?
grep -q '^ratio to the echo floor' "$TMP/out"
check "libdossier run prints ratios to the echo floor" $?
grep -Eq 'rss_kb_after=[1-9]' "$TMP/out"
check "the server's resident size is reported" $?

timeout 60 "$BENCH" --endpoint "$EP" --records 50 --record-size 1024 \
    --no-preload --raw --concurrency 2 --duration 1 --floor-seconds 0.5 \
    --mix get=70,list=10,search=10,put=10 >"$TMP/out" 2>&1
check "raw run exits 0" $?
summary_ok
check "raw run prints its summary with no error" $?

"$BENCH" --mix bogus=1 >"$TMP/out" 2>&1
[ $? -eq 2 ]
check "a bad --mix is a usage error (exit 2)" $?

# One client thread with 4 Gets in flight (pipelined), the server's CPU
# time per call reported.
timeout 60 "$BENCH" --endpoint "$EP" --records 50 --record-size 1024 \
    --no-preload --concurrency 1 --in-flight 4 --duration 1 \
    --floor-seconds 0.5 --mix get=100 --pid "$SERVER_PID" >"$TMP/out" 2>&1
check "pipelined run exits 0" $?
summary_ok && grep -Eq '^summary: .* in_flight=4 ' "$TMP/out"
check "pipelined run prints its summary with no error" $?
grep -Eq 'server_cpu_s=[0-9]+\.[0-9]+ server_cpu_us_per_op=[0-9]' "$TMP/out"
check "the server's CPU per call is reported" $?
grep -Eq 'floor_cpu_us_per_op=[0-9]' "$TMP/out"
check "the echo process's CPU per round trip is reported" $?
"$BENCH" --in-flight 4 --raw >"$TMP/out" 2>&1
[ $? -eq 2 ]
check "--in-flight with --raw is a usage error (exit 2)" $?

# The List scan under `dossier export`: every record, pages of 7.
timeout 60 "$BENCH" --endpoint "$EP" --list-scan 7 >"$TMP/out" 2>&1
check "--list-scan exits 0" $?
grep -Eq '^scan: records=50 pages=8 page_size=7 ' "$TMP/out"
check "--list-scan reads the 50 records in 8 pages" $?

timeout 60 "$BENCH" --write-corpus "$TMP/corpus" --records 20 >"$TMP/out" 2>&1
check "--write-corpus exits 0" $?
[ "$(ls "$TMP/corpus" | wc -l)" -eq 20 ]
check "--write-corpus writes 20 files" $?
if [ -x "$BIN_DIR/dossier" ]; then
    timeout 60 "$BIN_DIR/dossier" -s "$EP" import "$TMP/corpus" \
        >"$TMP/out" 2>&1
    check "the CLI imports the generated files" $?
fi

if grep -q 'Sanitizer' "$TMP/data.log"; then
    fail=$((fail + 1))
    echo "FAIL: a sanitizer complained in dossierd"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
