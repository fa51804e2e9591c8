#!/bin/bash
# test_audit_users.sh: the audit log and the change feed with two (three)
# CURVE users, against a dossierd with CURVE and --feed started here.
#
# bob (writer) writes, alice (reader) is refused a write and the audit
# log, root (admin) reads the log: each entry names the right user, the
# refused calls included; created_by/updated_by follow who wrote. The
# feed admits a subscriber with a user's keys and gives nothing to an
# unknown key or a plain-text subscriber. Prints "N passed, M failed";
# exits 1 on any failure.
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=audit-users
. "$HERE/../support/clitest.sh"

K=$TMP/keys
U=$TMP/users
mkdir -p "$K" "$U"
for spec in server: alice:reader bob:writer root:admin; do
    name=${spec%%:*}
    role=${spec#*:}
    if [ -n "$role" ]; then
        "$DOSSIER" keygen "$name" --role "$role" --dir "$K" >/dev/null || exit 1
        cp "$K/$name.key" "$U/"
    else
        "$DOSSIER" keygen "$name" --dir "$K" >/dev/null || exit 1
    fi
done
"$DOSSIER" keygen mallory --dir "$TMP" >/dev/null || exit 1
# The feed binds a port the server picks; its log says which.
"$BIN_DIR/dossierd" --data "$TMP/data" --bind 'tcp://127.0.0.1:*' \
    --curve-key "$K/server.key_secret" --users "$U" --feed 'tcp://127.0.0.1:*' \
    2>"$TMP/server.log" &
PIDS="$PIDS $!"
watch_server $! "$TMP/server.log"
EP=
for _ in $(seq 1 100); do
    if [ -s "$TMP/data/dossierd.pid" ]; then
        EP=$(sed -n 2p "$TMP/data/dossierd.pid")
        [ -n "$EP" ] && break
    fi
    sleep 0.05
done
# The feed is bound before the pid file is written.
FEED=$(sed -n 's/.*change feed: publishing committed writes at \(tcp:[^ ]*\).*/\1/p' "$TMP/server.log")
if [ -z "$EP" ] || [ -z "$FEED" ]; then
    echo "FAIL: dossierd did not start (endpoint '$EP', feed '$FEED')"
    cat "$TMP/server.log"
    exit 1
fi
export DOSSIER_SERVER=$EP DOSSIER_SERVER_KEY=$K/server.key
as() {
    local user=$1
    shift
    DOSSIER_KEY=$K/$user.key_secret "$DOSSIER" "$@"
}

# ---- subscribers: root (admitted), mallory (unknown), plain ------------
DOSSIER_KEY=$K/root.key_secret "$DOSSIER" watch --feed "$FEED" --json >"$TMP/watch-root" 2>&1 &
ROOT_WATCH=$!
PIDS="$PIDS $ROOT_WATCH"
DOSSIER_KEY=$TMP/mallory.key_secret "$DOSSIER" watch --feed "$FEED" >"$TMP/watch-mallory" 2>&1 &
MALLORY_WATCH=$!
PIDS="$PIDS $!"
env -u DOSSIER_SERVER_KEY "$DOSSIER" watch --feed "$FEED" >"$TMP/watch-plain" 2>&1 &
PLAIN_WATCH=$!
PIDS="$PIDS $!"

cat >"$TMP/warm.json" <<'JSON'
{"id": "warm-up", "title": "warm"}
JSON
for _ in $(seq 1 50); do
    as bob put "$TMP/warm.json" >/dev/null 2>&1
    sleep 0.1
    [ -s "$TMP/watch-root" ] && break
done
if [ -s "$TMP/watch-root" ]; then ok; else bad "root's watch saw nothing"; fi

# ---- writes by bob, refusals for alice ----------------------------------
cat >"$TMP/r.json" <<'JSON'
{"id": "user-1", "title": "By bob", "countryCode": "AZE", "year": 2004}
JSON
run 0 "bob puts" as bob put "$TMP/r.json"
run 1 "alice may not put" as alice put "$TMP/r.json"
expect "alice refused" "'PERMISSION_DENIED' in err"
run 1 "alice may not read the audit log" as alice audit
expect "alice refused audit" "'PERMISSION_DENIED' in err"
cat >"$TMP/retitle.py" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["title"] = "Edited by root"
json.dump(doc, open(sys.argv[1], "w"))
PY
run 0 "root edits" env EDITOR="$PY $TMP/retitle.py" DOSSIER_KEY="$K/root.key_secret" "$DOSSIER" edit user-1
run 0 "get" as alice get --json user-1
expect "created by bob, updated by root" 'js[0]["createdBy"] == "bob" and js[0]["updatedBy"] == "root" and js[0]["version"] == "2" and js[0]["title"] == "Edited by root"'

# ---- the audit log names each user --------------------------------------
run 0 "root reads the audit log" as root audit --json --limit 1000
expect "bob's put" 'any(e["user"] == "bob" and e["method"].endswith("/Put") and e["ids"] == ["user-1"] and e.get("code", 0) == 0 for e in js)'
expect "alice's refused put" 'any(e["user"] == "alice" and e["method"].endswith("/Put") and e.get("code") == 7 and "needs role writer" in e["message"] for e in js)'
expect "alice's refused audit" 'any(e["user"] == "alice" and e["method"].endswith("/Audit") and e.get("code") == 7 for e in js)'
expect "root's edit" 'any(e["user"] == "root" and e["ids"] == ["user-1"] and e.get("code", 0) == 0 for e in js)'
expect "only these users" 'set(e["user"] for e in js) == {"alice", "bob", "root"}'
run 0 "audit --user alice" as root audit --json --user alice
expect "alice's entries only" 'len(js) == 2 and all(e["user"] == "alice" for e in js)'
# A refused import is said once and ends the import, not once per file.
mkdir -p "$TMP/docs"
for f in "$HERE"/../fixtures/refworld/tip*.txt; do cp "$f" "$TMP/docs/"; done
run 1 "alice may not import" as alice import --batch 2 "$TMP/docs"
expect "refusal said once" "err.count('PERMISSION_DENIED') == 1 and 'needs role writer' in err"

# ---- the feed: root saw the changes, the others nothing -----------------
for _ in $(seq 1 30); do
    grep -q '"version":"2"' "$TMP/watch-root" && grep -q '"user-1"' "$TMP/watch-root" && break
    sleep 0.1
done
cp "$TMP/watch-root" "$TMP/out"
: >"$TMP/err"
expect "root's feed: user-1 v1 by bob, v2 by root" '[(e["version"], e["user"]) for e in js if e["id"] == "user-1"] == [("1", "bob"), ("2", "root")]'
# The others got no change, and were told why instead of waiting forever
# (each ends by itself: refused, or no handshake within --timeout).
wait "$MALLORY_WATCH"
rc=$?
if [ "$rc" -eq 1 ]; then ok; else bad "mallory's watch exited $rc, want 1"; fi
wait "$PLAIN_WATCH"
rc=$?
if [ "$rc" -eq 1 ]; then ok; else bad "the plain watch exited $rc, want 1"; fi
if grep -q 'user-1\|warm-up' "$TMP/watch-mallory"; then bad "an unknown key got the feed: $(head -3 "$TMP/watch-mallory")"; else ok; fi
if grep -q 'user-1\|warm-up' "$TMP/watch-plain"; then bad "a plain subscriber got the feed: $(head -3 "$TMP/watch-plain")"; else ok; fi
if grep -q "refused your key" "$TMP/watch-mallory" && grep -q "dossier users reload" "$TMP/watch-mallory"; then ok; else bad "mallory's watch did not say the feed refused the key: $(cat "$TMP/watch-mallory")"; fi
if grep -q "handshake with the feed at $FEED failed" "$TMP/watch-plain" && grep -q "give --server-key" "$TMP/watch-plain"; then ok; else bad "the plain watch did not say it needs keys: $(cat "$TMP/watch-plain")"; fi
kill -INT "$ROOT_WATCH"
wait "$ROOT_WATCH"
rc=$?
if [ "$rc" -eq 0 ]; then ok; else bad "root's watch exited $rc on SIGINT"; fi

finish "$TMP/server.log"
