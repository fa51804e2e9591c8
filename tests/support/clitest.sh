# clitest.sh: what the shell tests of the CLI share. Source it after
# setting NAME (names the temporary directory):
#     NAME=cli-basic; . "$(dirname "$0")/../support/clitest.sh"
# It needs $DOSSIER_BIN_DIR (set by ctest) and gives:
#   $DOSSIER, $BIN_DIR, $PY, $TMP (removed at exit), pass/fail counters;
#   ok, bad MSG, run WANT_EXIT NAME CMD..., expect NAME PYTHON-EXPR,
#   hold_dead_port (sets DEAD_PORT), start_server DIRNAME [ARGS...] (sets EP), watch_server PID
#   LOG, stop_server PID, forget_server PID, skip REASON, finish LOGNAME.
# Servers started here, and any pid added to $PIDS, are stopped at exit.
# Every server started with start_server (or registered with
# watch_server) is checked by finish, or by stop_server: it must exit 0
# after SIGTERM, and its log must hold no sanitizer report, so that a
# leak or an error at shutdown fails the test.
set -u

BIN_DIR=${DOSSIER_BIN_DIR:?DOSSIER_BIN_DIR must name the directory of dossier and dossierd}
DOSSIER=$BIN_DIR/dossier
PY=/usr/bin/python3
pass=0
fail=0
skipped= # the reasons given to skip, one a line
TMP=$(mktemp -d "/tmp/dossier-${NAME:-test}-XXXXXX")
PIDS=
SERVERS= # "pid:log" of each server finish checks

cleanup() {
    local pid
    for pid in $PIDS; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

ok() {
    pass=$((pass + 1))
}

bad() {
    fail=$((fail + 1))
    echo "FAIL: $*"
    if [ -s "$TMP/out" ]; then sed 's/^/    stdout: /' "$TMP/out" | head -15; fi
    if [ -s "$TMP/err" ]; then sed 's/^/    stderr: /' "$TMP/err" | head -15; fi
}

# skip REASON: a case that cannot run here. finish then exits 77, which
# ctest reports as Skipped (SKIP_RETURN_CODE), unless something failed:
# a skipped case never reads as a pass.
skip() {
    skipped="$skipped$*
"
    echo "SKIP: $*"
}

# run WANT_EXIT NAME CMD...: runs CMD with stdout in $TMP/out and stderr
# in $TMP/err, and checks its exit code.
run() {
    local want=$1 name=$2
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    if grep -q 'Sanitizer' "$TMP/err"; then
        bad "$name: a sanitizer complained"
    elif [ "$got" -eq "$want" ]; then
        ok
    else
        bad "$name: exit $got, want $want"
    fi
}

# expect NAME PYTHON-EXPR: evaluates a Python expression over
# out (stdout text), err (stderr text) and js (stdout's JSON lines).
expect() {
    local name=$1 expr=$2
    if "$PY" - "$TMP/out" "$TMP/err" "$expr" <<'PYEOF'
import json, sys
out = open(sys.argv[1], encoding="utf-8", errors="replace").read()
err = open(sys.argv[2], encoding="utf-8", errors="replace").read()
try:
    js = [json.loads(line) for line in out.splitlines() if line.strip()]
except ValueError:
    js = None
try:
    sys.exit(0 if eval(sys.argv[3]) else 1)
except (LookupError, TypeError, ValueError) as e:
    print("    (%s: %s)" % (type(e).__name__, e))
    sys.exit(1)
PYEOF
    then ok; else bad "$name: $expr"; fi
}

# hold_dead_port: sets DEAD_PORT to a port on 127.0.0.1 that refuses
# connections until the test ends: a process here holds it bound (without
# SO_REUSEADDR, so no server can take it) and never listens on it.
hold_dead_port() {
    coproc DEAD_PORT_HOLDER {
        "$PY" -c 'import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
sys.stdin.read()'
    }
    PIDS="$PIDS $DEAD_PORT_HOLDER_PID"
    read -r DEAD_PORT <&"${DEAD_PORT_HOLDER[0]}"
}

# start_server DIRNAME [ARGS...]: starts dossierd on a free port with data
# in $TMP/DIRNAME and its log in $TMP/DIRNAME.log; sets EP to its real
# endpoint (from the pid file) and adds its pid to PIDS.
start_server() {
    local name=$1
    shift
    "$BIN_DIR/dossierd" --data "$TMP/$name" --bind 'tcp://127.0.0.1:*' "$@" \
        2>"$TMP/$name.log" &
    local pid=$!
    PIDS="$PIDS $pid"
    SERVERS="$SERVERS $pid:$TMP/$name.log"
    EP=
    for _ in $(seq 1 100); do
        if [ -s "$TMP/$name/dossierd.pid" ] &&
            [ "$(sed -n 1p "$TMP/$name/dossierd.pid")" = "$pid" ]; then
            EP=$(sed -n 2p "$TMP/$name/dossierd.pid")
            [ -n "$EP" ] && return 0
        fi
        sleep 0.1
    done
    echo "FAIL: dossierd did not start; its log:"
    cat "$TMP/$name.log"
    echo "0 passed, 1 failed"
    exit 1
}

# start_gateway NAME [ARGS...]: starts dossier-gateway in front of the
# server at $EP on a free loopback port, its log in $TMP/NAME.log; sets GW
# to its base URL (from its first log line, "listening on http://...")
# and has finish check it as it checks servers.
start_gateway() {
    local name=$1
    shift
    "$BIN_DIR/dossier-gateway" --server "$EP" --listen 127.0.0.1:0 "$@" \
        2>"$TMP/$name.log" &
    local pid=$!
    PIDS="$PIDS $pid"
    SERVERS="$SERVERS $pid:$TMP/$name.log"
    GW=
    for _ in $(seq 1 100); do
        GW=$(sed -n 's|.*listening on \(http://[0-9.]*:[0-9]*\).*|\1|p' \
            "$TMP/$name.log" | head -1)
        [ -n "$GW" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL: dossier-gateway did not start; its log:"
    cat "$TMP/$name.log"
    echo "0 passed, 1 failed"
    exit 1
}

# watch_server PID LOG: has finish check a server the test started
# itself (exit 0 after SIGTERM, no sanitizer report in LOG).
watch_server() {
    SERVERS="$SERVERS $1:$2"
}

# stop_server PID: stops that server now (SIGTERM, waiting at most 60 s,
# then SIGKILL) and checks it as finish would; it is then not checked
# again.
stop_server() {
    local entry keep=
    for entry in $SERVERS; do
        if [ "${entry%%:*}" = "$1" ]; then
            s_check_server "${entry%%:*}" "${entry#*:}"
        else
            keep="$keep $entry"
        fi
    done
    SERVERS=$keep
}

# forget_server PID: finish no longer checks that server: one the test
# killed on purpose (kill -9) and whose end it checked itself.
forget_server() {
    local entry keep=
    for entry in $SERVERS; do
        [ "${entry%%:*}" = "$1" ] || keep="$keep $entry"
    done
    SERVERS=$keep
}

# s_check_server PID LOG: the one check of a server's end.
s_check_server() {
    local pid=$1 log=$2 code
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 600); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null
            bad "dossierd ($log) did not stop within 60 s of SIGTERM"
        fi
    fi
    wait "$pid" 2>/dev/null
    code=$?
    # 127: already reaped by the test itself (which then checked it).
    if [ "$code" -ne 0 ] && [ "$code" -ne 127 ]; then
        bad "dossierd ($log) exited $code, want 0"
        tail -20 "$log"
    else
        ok
    fi
    if grep -qE 'Sanitizer|runtime error:' "$log" 2>/dev/null; then
        bad "dossierd ($log): a sanitizer report"
        grep -E -A12 'Sanitizer|runtime error:' "$log" | head -40
    else
        ok
    fi
}

# finish LOG: checks every server still registered (see above), prints
# the summary line; on failure the tail of LOG too.
finish() {
    local entry
    for entry in $SERVERS; do
        s_check_server "${entry%%:*}" "${entry#*:}"
    done
    SERVERS=
    echo "$pass passed, $fail failed"
    if [ "$fail" -ne 0 ]; then
        echo "---- $1 ----"
        tail -30 "$1"
        exit 1
    fi
    if [ -n "$skipped" ]; then
        printf 'skipped:\n%s' "$skipped"
        exit 77
    fi
    exit 0
}
