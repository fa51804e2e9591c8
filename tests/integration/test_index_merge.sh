#!/bin/bash
# test_index_merge.sh: the full-text index's large merges wait for an idle
# writer (merge_idle_ms), and searches answer the same before and after.
#
# 8,400 generated reports imported in batches of 2,100 make four index
# segments which together cover 8,400 documents, more than a commit merges
# by itself (8,192):
# - with --merge-idle-ms 0 the commit that writes the fourth merges them;
# - with an idle time longer than the test they wait: Stats shows four
#   segments and a merge due, and every search gives the same answer as on
#   the merged index; a backup of that store passes the restore's check;
# - killed (kill -9) while the commit that merges them is held at its
#   flush (the sync_record shim), the store keeps its four segments and
#   the server starts clean;
# - restarted with the default (100 ms), the idle writer merges them: one
#   segment, no merge due, the same answers, a backup that passes the check.
# Prints "N passed, M failed".
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=index-merge
. "$HERE/../support/clitest.sh"

C=$TMP/corpus
"$BIN_DIR/dossier-bench" --write-corpus "$C" --records 8400 >/dev/null ||
    { echo "FAIL: no corpus"; echo "0 passed, 1 failed"; exit 1; }

# stats_field FIELD: a number or flag of Stats as an integer (proto3 JSON
# leaves out zeros and false); "stats failed: ..." when Stats failed, which
# no comparison with a number accepts.
stats_field() {
    "$DOSSIER" stats --json >"$TMP/stats.json" 2>"$TMP/stats.err" ||
        { echo "stats failed: $(cat "$TMP/stats.err")"; return 1; }
    "$PY" -c '
import json, sys
print(int(json.load(open(sys.argv[2])).get(sys.argv[1], 0)))' "$1" "$TMP/stats.json"
}

# answers OUT: the answers of a few searches, whole (hits, ranks, scores,
# snippets, total_hits) but for the records' times, which differ from one
# import to the next, into OUT. Each search must exit 0 and answer one
# JSON line, so that two failed runs never compare equal.
answers() {
    local raw=$1.raw
    : >"$raw"
    answer_one "$raw" "forced labor"
    answer_one "$raw" trafficking
    answer_one "$raw" "sexual exploitation"
    answer_one "$raw" victims --year 2003
    answer_one "$raw" "tier 2 watch list"
    "$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    answer = json.loads(line)
    for hit in answer.get("hits", []):
        for key in ("createdAt", "updatedAt"):
            hit["report"].pop(key, None)
    print(json.dumps(answer, sort_keys=True))' "$raw" >"$1"
    if [ $? -eq 0 ] && [ "$(wc -l <"$1")" -eq 5 ]; then ok; else bad "answers: $(wc -l <"$1") answers of 5 in $1"; fi
}

# answer_one RAW QUERY [ARGS...]: one search, appended to RAW.
answer_one() {
    local raw=$1
    shift
    "$DOSSIER" search "$@" --json >>"$raw" 2>"$TMP/err"
    local code=$?
    if [ "$code" -eq 0 ]; then ok; else bad "search $*: exit $code"; fi
}

# check_backup WHAT: a backup of the store passes the restore's check,
# which compares every record with its postings.
check_backup() {
    rm -rf "$TMP/restored"
    run 0 "$1: backup" "$DOSSIER" backup --json
    local file
    file=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["path"])' "$TMP/out")
    run 0 "$1: the backup passes the check" \
        "$BIN_DIR/dossierd" --restore "$file" --data "$TMP/restored"
    expect "$1: the check counted every report" "'8400' in out + err"
}

# ---- merges at commit -----------------------------------------------------
start_server inline --merge-idle-ms 0
export DOSSIER_SERVER=$EP
run 0 "inline: import" "$DOSSIER" --timeout 120000 import --batch 2100 "$C"
expect "inline: all imported" "'imported 8400' in out"
run 0 "inline: one segment" test "$(stats_field indexSegments)" = 1
run 0 "inline: no merge due" test "$(stats_field indexMergeDue)" = 0
answers "$TMP/merged-at-commit"
run 0 "inline: searches hit" grep -q '"totalHits"' "$TMP/merged-at-commit"

# ---- merges wait for an idle writer ----------------------------------------
start_server waiting --merge-idle-ms 3600000
export DOSSIER_SERVER=$EP
WAITING_PID=${PIDS##* }
run 0 "waiting: import" "$DOSSIER" --timeout 120000 import --batch 2100 "$C"
expect "waiting: all imported" "'imported 8400' in out"
run 0 "waiting: four segments" test "$(stats_field indexSegments)" = 4
run 0 "waiting: a merge due" test "$(stats_field indexMergeDue)" = 1
run 0 "waiting: stats says so" "$DOSSIER" stats
expect "waiting: stats line" "'4 segments, merging when idle' in out"
answers "$TMP/unmerged"
run 0 "waiting: same answers as merged" cmp "$TMP/merged-at-commit" "$TMP/unmerged"
check_backup waiting

# ---- kill -9 in the middle of the merge ------------------------------------
# Under the sync_record shim (tests/support/preload), with merges at
# commit: a Put's commit carries the merge, and the shim holds its flush
# (pages written, meta page not) while the server is killed. Neither the
# Put nor the merge happened; the server starts clean, and merges later.
stop_server "$WAITING_PID"
HOLD=$TMP/hold
export LD_PRELOAD=$BIN_DIR/../tests/libdossier_sync_record.so
export DOSSIER_SYNC_HOLD=$HOLD
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
start_server waiting --merge-idle-ms 0
unset LD_PRELOAD DOSSIER_SYNC_HOLD
KILLED_PID=${PIDS##* }
export DOSSIER_SERVER=$EP
run 0 "killed: four segments before" test "$(stats_field indexSegments)" = 4
: >"$HOLD"
printf '{"id": "merge-killed", "title": "T", "country": "Atlantis", "year": 2020}\n' >"$TMP/killed.json"
"$DOSSIER" --timeout 20000 put "$TMP/killed.json" >"$TMP/killed.out" 2>&1 &
PUT_PID=$!
for _ in $(seq 1 600); do
    [ -e "$HOLD.held" ] && break
    sleep 0.05
done
run 0 "killed: the merge's commit is held at its flush" test -e "$HOLD.held"
kill -KILL "$KILLED_PID"
wait "$KILLED_PID"
code=$?
if [ "$code" -eq 137 ]; then ok; else bad "killed: dossierd exited $code, want 137"; fi
forget_server "$KILLED_PID"
wait "$PUT_PID"
code=$?
if [ "$code" -ne 0 ]; then ok; else bad "killed: the put was acknowledged"; fi
rm -f "$HOLD"

# ---- restarted with the default idle time: the writer merges -----------------
start_server waiting
export DOSSIER_SERVER=$EP
run 1 "idle: the killed put never committed" "$DOSSIER" get merge-killed
segments=
for _ in $(seq 1 200); do
    segments=$(stats_field indexSegments)
    [ "$segments" = 1 ] && break
    sleep 0.1
done
run 0 "idle: merged into one segment (have $segments)" test "$segments" = 1
run 0 "idle: no merge due" test "$(stats_field indexMergeDue)" = 0
answers "$TMP/merged-when-idle"
run 0 "idle: same answers" cmp "$TMP/merged-at-commit" "$TMP/merged-when-idle"
check_backup idle
run 0 "idle: the merge was logged" grep -q 'index merge' "$TMP/waiting.log"

finish "$TMP/waiting.log"
