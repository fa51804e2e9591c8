#!/bin/bash
# test_edit_cli.sh: `dossier edit`, `dossier audit` and `dossier watch`
# against a dossierd started here with a change feed.
#
# edit runs with EDITOR set to scripts: a change is stored with the
# version read; no change and a failing editor write nothing; a record
# changed meanwhile (by the "editor" itself) is a conflict that names the
# current version and keeps the edit in a file that `put --force` can
# store; bad JSON and a changed id are refused with the edit kept. audit
# shows each write (table and --json, filters); watch prints each
# committed change in order, nothing for a failed write, and exits 0 on
# SIGINT. Prints "N passed, M failed"; exits 1 on any failure.
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=edit-cli
. "$HERE/../support/clitest.sh"
FIXTURES=${DOSSIER_FIXTURE_DIR:-$HERE/../fixtures}/refworld

start_server data --feed "ipc://$TMP/feed"
export DOSSIER_SERVER=$EP
FEED="ipc://$TMP/feed"

for verb in edit audit watch; do
    run 0 "$verb --help" "$DOSSIER" "$verb" --help
    expect "$verb --help on stdout" "out.startswith('usage: dossier $verb') and err == ''"
done
run 2 "edit without id" "$DOSSIER" edit
run 2 "watch without feed" env -u DOSSIER_FEED "$DOSSIER" watch
run 2 "audit bad limit" "$DOSSIER" audit --limit 0

cat >"$TMP/r1.json" <<'JSON'
{"id": "edit-1", "title": "Original title", "country": "Azerbaijan",
 "countryCode": "AZE", "year": 2004, "tier": "TIER_2"}
JSON

# ---- watch: subscribe first, warm up until the feed reaches us ---------
"$DOSSIER" watch --feed "$FEED" --json >"$TMP/watch.out" 2>"$TMP/watch.err" &
WATCH_PID=$!
cat >"$TMP/warm.json" <<'JSON'
{"id": "warm-up", "title": "warm"}
JSON
for _ in $(seq 1 50); do
    "$DOSSIER" put "$TMP/warm.json" >/dev/null 2>&1
    sleep 0.1
    [ -s "$TMP/watch.out" ] && break
done
if [ -s "$TMP/watch.out" ]; then ok; else bad "watch saw no warm-up change"; fi
sleep 0.3
warm_lines=$(wc -l <"$TMP/watch.out")

run 0 "put edit-1" "$DOSSIER" put "$TMP/r1.json"

# ---- edit: a change is stored with the version read --------------------
cat >"$TMP/retitle.py" <<'PY'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
doc["title"] = "Edited title"
json.dump(doc, open(path, "w"), indent=2)
PY
run 0 "edit" env EDITOR="$PY $TMP/retitle.py" "$DOSSIER" edit edit-1
expect "edit: stored" "'edit-1 updated, version 2' in out"
run 0 "get after edit" "$DOSSIER" get --json edit-1
expect "edit: title and version" 'js[0]["title"] == "Edited title" and js[0]["version"] == "2" and js[0]["updatedBy"] == "anonymous"'
expect "edit: temp file removed" "not __import__('glob').glob('$TMP/tmp/dossier-edit-*')"

mkdir -p "$TMP/tmp"
export TMPDIR="$TMP/tmp"
run 0 "edit without change" env EDITOR=true "$DOSSIER" edit edit-1
expect "edit: unchanged" "'edit-1 unchanged (version 2)' in out"
run 1 "edit with a failing editor" env EDITOR=false "$DOSSIER" edit edit-1
expect "failing editor: nothing written" "'editor exited with 1' in err"
run 1 "edit a missing record" env EDITOR=true "$DOSSIER" edit no-such-record
expect "missing record: NOT_FOUND" "'NOT_FOUND' in err"
expect "no temp files left" "not __import__('os').listdir('$TMP/tmp')"

# ---- edit: a conflict names the current version, keeps the edit --------
cat >"$TMP/conflict.sh" <<SH
#!/bin/bash
# Someone else writes the record while "the editor" is open.
"$DOSSIER" put --force "$TMP/r1.json" >/dev/null || exit 9
"$DOSSIER" put --force "$TMP/r1.json" >/dev/null || exit 9
"$PY" "$TMP/retitle.py" "\$1"
SH
chmod +x "$TMP/conflict.sh"
run 1 "edit conflict" env EDITOR="$TMP/conflict.sh" "$DOSSIER" edit edit-1
expect "conflict: current version named" "'conflict' in err and 'now at version 4' in err and 'from version 2' in err"
kept=$("$PY" -c 'import re,sys; m=re.search(r"kept in (\S+)", open(sys.argv[1]).read()); print(m.group(1) if m else "")' "$TMP/err")
if [ -n "$kept" ] && [ -f "$kept" ] && grep -q "Edited title" "$kept"; then ok; else bad "conflict: edit not kept ($kept)"; fi
run 0 "get after conflict" "$DOSSIER" get --json edit-1
expect "conflict: nothing written" 'js[0]["title"] == "Original title" and js[0]["version"] == "4"'
run 0 "put the kept edit" "$DOSSIER" put --force "$kept"
expect "kept edit stored" "'edit-1 updated, version 5' in out"
rm -f "$kept"

# ---- edit: bad JSON and a changed id are refused, edit kept ------------
cat >"$TMP/garble.sh" <<'SH'
#!/bin/bash
printf '{"id": "edit-1", "title": ' >"$1"
SH
chmod +x "$TMP/garble.sh"
run 1 "edit to bad JSON" env EDITOR="$TMP/garble.sh" "$DOSSIER" edit edit-1
expect "bad JSON: kept" "'nothing was written' in err and 'kept in $TMP/tmp/dossier-edit-' in err"
cat >"$TMP/reid.py" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["id"] = "edit-2"
json.dump(doc, open(sys.argv[1], "w"))
PY
run 1 "edit changing the id" env EDITOR="$PY $TMP/reid.py" "$DOSSIER" edit edit-1
expect "changed id: refused" "'changes the id' in err"
rm -f "$TMP"/tmp/dossier-edit-*
run 0 "version unchanged" "$DOSSIER" get --json edit-1
expect "version still 5" 'js[0]["version"] == "5"'

# ---- a failed write and a delete, for the feed -------------------------
run 1 "stale put" "$DOSSIER" delete --expected-version 1 edit-1
expect "stale delete: ABORTED, current version named" "'ABORTED' in err and 'is at version 5' in err"
run 0 "delete" "$DOSSIER" delete edit-1

# ---- watch: every committed change, in order ---------------------------
want=$((warm_lines + 6)) # put, edit, 2 conflicting puts, kept edit, delete
for _ in $(seq 1 50); do
    [ "$(wc -l <"$TMP/watch.out")" -ge "$want" ] && break
    sleep 0.1
done
kill -INT "$WATCH_PID"
wait "$WATCH_PID"
watch_rc=$?
if [ "$watch_rc" -eq 0 ]; then ok; else bad "watch exited $watch_rc on SIGINT"; fi
cp "$TMP/watch.out" "$TMP/out"
: >"$TMP/err"
expect "watch: changes of edit-1 in order" '[(e["id"], e["version"], e["operation"]) for e in js if e["id"] == "edit-1"] == [("edit-1", "1", "CHANGE_OPERATION_PUT"), ("edit-1", "2", "CHANGE_OPERATION_PUT"), ("edit-1", "3", "CHANGE_OPERATION_PUT"), ("edit-1", "4", "CHANGE_OPERATION_PUT"), ("edit-1", "5", "CHANGE_OPERATION_PUT"), ("edit-1", "5", "CHANGE_OPERATION_DELETE")]'
expect "watch: seq increases" 'all(int(a["seq"]) < int(b["seq"]) for a, b in zip(js, js[1:]))'

# ---- watch: readable lines, --count ------------------------------------
"$DOSSIER" watch --feed "$FEED" --count 1 >"$TMP/watch2.out" 2>&1 &
WATCH_PID=$!
for _ in $(seq 1 50); do
    "$DOSSIER" put "$TMP/warm.json" >/dev/null 2>&1
    sleep 0.1
    kill -0 "$WATCH_PID" 2>/dev/null || break
done
# Bounded: a watch that saw nothing (no write committed) is stopped, not
# waited for until ctest's timeout.
if kill -0 "$WATCH_PID" 2>/dev/null; then
    kill -INT "$WATCH_PID"
    bad "watch --count 1 saw no change in 50 puts"
fi
wait "$WATCH_PID"
watch_rc=$?
cp "$TMP/watch2.out" "$TMP/out"
if [ "$watch_rc" -eq 0 ]; then ok; else bad "watch --count 1 exited $watch_rc"; fi
expect "watch line" 'len(out.splitlines()) == 1 and " anonymous PUT warm-up v" in out'

# ---- audit ---------------------------------------------------------------
# An id that would forge a row (a newline) and drive the terminal (ESC): the
# Put is refused, and the audit table shows its id escaped, on one line.
printf '%s\n' '{"id": "forged\n999 2030-01-01T00:00:00Z root Put OK x\u001b[2J", "title": "t"}' >"$TMP/forged.json"
run 1 "put a forged id" "$DOSSIER" put "$TMP/forged.json"
run 0 "audit" "$DOSSIER" audit --limit 1000
expect "audit escapes what callers sent" '"\\x0a999 2030" in out and "\\x1b[2J" in out and "\x1b" not in out and not any(l.startswith("999 ") for l in out.splitlines())'
run 0 "audit" "$DOSSIER" audit --limit 1000
expect "audit table" 'out.splitlines()[0].split()[:5] == ["SEQ", "TIME", "USER", "METHOD", "CODE"] and any(" Delete " in l and "ABORTED" in l and "edit-1" in l for l in out.splitlines())'
run 0 "audit --json" "$DOSSIER" audit --json --method Delete
expect "audit --json: deletes" 'len(js) == 2 and [e.get("code", 0) for e in js] == [10, 0] and all(e["user"] == "anonymous" and e["ids"] == ["edit-1"] for e in js)'
run 0 "audit --json keeps the id as sent" "$DOSSIER" audit --json --method Put
expect "audit --json: the forged id, raw in JSON" 'any(e["ids"] == ["forged\n999 2030-01-01T00:00:00Z root Put OK x\x1b[2J"] for e in js)'
run 0 "audit --limit" "$DOSSIER" audit --json --limit 3
expect "audit --limit 3" 'len(js) == 3 and [int(e["seq"]) for e in js] == [1, 2, 3]'
run 0 "audit --user nobody" "$DOSSIER" audit --json --user nobody
expect "audit other user: none" 'js == []'
run 0 "audit --since future" "$DOSSIER" audit --json --since 2999-01-01
expect "audit future: none" 'js == []'
run 1 "audit bad since" "$DOSSIER" audit --since yesterday
expect "audit bad since: said" "'INVALID_ARGUMENT' in err and 'since' in err"

finish "$TMP/data.log"
