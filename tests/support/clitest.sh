# clitest.sh: what the shell tests of the CLI share. Source it after
# setting NAME (names the temporary directory):
#     NAME=cli-basic; . "$(dirname "$0")/../support/clitest.sh"
# It needs $DOSSIER_BIN_DIR (set by ctest) and gives:
#   $DOSSIER, $BIN_DIR, $PY, $TMP (removed at exit), pass/fail counters;
#   ok, bad MSG, run WANT_EXIT NAME CMD..., expect NAME PYTHON-EXPR,
#   free_port, start_server DIRNAME [ARGS...] (sets EP), finish LOGNAME.
# Servers started here, and any pid added to $PIDS, are stopped at exit.
set -u

BIN_DIR=${DOSSIER_BIN_DIR:?DOSSIER_BIN_DIR must name the directory of dossier and dossierd}
DOSSIER=$BIN_DIR/dossier
PY=/usr/bin/python3
pass=0
fail=0
TMP=$(mktemp -d "/tmp/dossier-${NAME:-test}-XXXXXX")
PIDS=

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

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
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

# finish LOG: prints the summary line; on failure the tail of LOG too.
finish() {
    echo "$pass passed, $fail failed"
    if [ "$fail" -ne 0 ]; then
        echo "---- $1 ----"
        tail -30 "$1"
        exit 1
    fi
    exit 0
}
