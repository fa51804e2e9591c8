#!/bin/bash
# test_import_read.sh: how `dossier import` walks and reads its files.
#
# Against a dossierd started here: batches split by bytes (S_BATCH_BYTES,
# 12 MiB, or under a smaller server's limit, which Health tells) with the file that did not fit carried over to the next batch,
# read once and applied in order; a symbolic link to a *.txt imported; an
# empty file, a dangling link, a link to a directory and a file without
# read permission (as root too: see NOCAP) each named as failed; a /proc file and a
# pipe (stdin) read whole; and, under strace, at most 4 system calls per
# regular file (open, fstat, read, close). Prints "N passed, M failed".
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=import-read
. "$HERE/../support/clitest.sh"
FIXTURES=${DOSSIER_FIXTURE_DIR:-$HERE/../fixtures}/refworld

# make_big OUT YEAR MARK: a valid Refworld document of about 5 MiB, id
# tip-YEAR-aze, whose body repeats MARK.
make_big() {
    "$PY" - "$FIXTURES/tip-2004-azerbaijan.txt" "$@" <<'EOF'
import sys
src, out, year, mark = sys.argv[1:5]
text = open(src, encoding="utf-8").read().replace("2004", year)
head, tail = text.rsplit("Search Refworld", 1)
para = (mark + " about prevention efforts in the year. ") * 50
with open(out, "w", encoding="utf-8") as f:
    f.write(head)
    for _ in range(5 * 1024 * 1024 // len(para)):
        f.write(para + "\n\n")
    f.write("Search Refworld" + tail)
EOF
}

# import_batches: ImportBatch calls the server has answered so far.
import_batches() {
    "$DOSSIER" stats --json | "$PY" -c '
import json, sys
print(sum(int(r.get("count", 0)) for r in json.load(sys.stdin).get("requests", [])
          if r["method"].endswith("/ImportBatch")))'
}

start_server data
export DOSSIER_SERVER=$EP

# ---- the corpus ---------------------------------------------------------
# Sorted: a1 a2 a3 a4 dangling dirlink empty link noread sub/s. a1 and a2
# (10 MiB) fill the first batch; a3 would make it 15 MiB, so it starts the
# second. a3 has a1's id: applied after it, it must win.
C=$TMP/corpus
mkdir -p "$C/sub" "$TMP/elsewhere/dir"
make_big "$C/a1.txt" 2001 FIRSTMARK
make_big "$C/a2.txt" 2002 SECONDMARK
make_big "$C/a3.txt" 2001 THIRDMARK
cp "$FIXTURES/tip-2004-azerbaijan.txt" "$C/a4.txt"
cp "$FIXTURES/tip2008-russia-uppercase.txt" "$TMP/elsewhere/russia.txt"
ln -s "$TMP/elsewhere/russia.txt" "$C/link.txt"
ln -s "$TMP/elsewhere/nothing.txt" "$C/dangling.txt"
ln -s "$TMP/elsewhere/dir" "$C/dirlink.txt"
ln -s "$TMP/elsewhere/dir" "$C/sublink"
: >"$C/empty.txt"
cp "$FIXTURES/tip-2004-azerbaijan.txt" "$C/.hidden.txt"
cp "$FIXTURES/tip-2004-azerbaijan.txt" "$C/notes.md"
cp "$FIXTURES/tip-2004-azerbaijan.txt" "$TMP/elsewhere/dir/inside.txt"
cp "$FIXTURES/bom-tier3-burma.txt" "$C/sub/s.txt"
# A file without read permission. Root reads it anyway (CAP_DAC_OVERRIDE),
# so as root (how CI runs) the CLI's walks of the corpus run without the
# two capabilities that bypass file modes: the file is then unreadable
# for it too.
cp "$FIXTURES/tip-2004-azerbaijan.txt" "$C/noread.txt"
chmod 000 "$C/noread.txt"
n_failed=4
NOCAP=()
if [ "$(id -u)" -eq 0 ]; then
    NOCAP=(setpriv --inh-caps=-dac_override,-dac_read_search
        --bounding-set=-dac_override,-dac_read_search)
    if ! "${NOCAP[@]}" true 2>/dev/null; then
        skip "setpriv cannot drop CAP_DAC_OVERRIDE here: the unreadable-file case"
        rm -f "$C/noread.txt"
        n_failed=3
        NOCAP=()
    fi
fi

# ---- dry run: what is walked and how each failure reads ----------------
run 1 "dry-run the corpus" "${NOCAP[@]}" "$DOSSIER" import --dry-run --json "$C"
expect "dry-run: the link and sub/ read, hidden, *.md and links' directories not" "sorted(r['id'] for r in js) == ['tip-2001-aze', 'tip-2001-aze', 'tip-2002-aze', 'tip-2004-aze', 'tip-2006-mmr', 'tip-2008-rus'] and '.hidden' not in err and 'notes.md' not in err and 'inside.txt' not in err"
expect "dry-run: dangling link" "'$C/dangling.txt: No such file or directory' in err"
expect "dry-run: link to a directory" "'$C/dirlink.txt: Is a directory' in err"
expect "dry-run: empty file" "'$C/empty.txt: ' in err and 'empty' in err"
if [ "$n_failed" -eq 4 ]; then
    expect "dry-run: unreadable" "'$C/noread.txt: Permission denied' in err"
fi

# ---- import: two batches, the third big file carried to the second -----
before=$(import_batches)
run 1 "import the corpus" "${NOCAP[@]}" "$DOSSIER" import -v "$C"
expect "import summary" "'imported 6 (created 5, updated 1, unchanged 0), failed $n_failed' in out"
expect "import names the failures" "all(('$C/' + n + ': ') in err for n in ['dangling.txt', 'dirlink.txt', 'empty.txt']) and len([l for l in err.splitlines() if l.startswith('$C/') and ': warning: ' not in l]) == $n_failed"
after=$(import_batches)
if [ $((after - before)) -eq 2 ]; then ok; else bad "import: $((after - before)) ImportBatch calls, want 2 (10 MiB, then the rest)"; fi
run 0 "get the id of a1 and a3" "$DOSSIER" get --json tip-2001-aze
expect "a3, carried to the next batch, applied after a1" "'THIRDMARK' in json.dumps(js) and 'FIRSTMARK' not in json.dumps(js) and js[0]['version'] == '2'"
run 0 "the link's target stored" "$DOSSIER" get --json tip-2008-rus
run 0 "sub/ walked" "$DOSSIER" get --json tip-2006-mmr
run 0 "stats" "$DOSSIER" stats --json
expect "five records" "int(js[0]['records']) == 5"

# --batch and bytes together: a1 a2 | a3 a4 big5 (3 files, 10 MiB) with
# --batch 3; a1 a2 | a3 a4 | big5 with --batch 2.
B=$TMP/bytes
mkdir -p "$B"
cp "$C/a1.txt" "$C/a2.txt" "$C/a3.txt" "$C/a4.txt" "$B/"
make_big "$B/big5.txt" 2005 FIFTHMARK
for spec in "3 2" "2 3" "1 5"; do
    set -- $spec
    before=$(import_batches)
    run 0 "import --batch $1" "$DOSSIER" import --batch "$1" "$B"
    expect "import --batch $1: every file" "out.startswith('imported 5 (') and 'failed 0' in out"
    after=$(import_batches)
    if [ $((after - before)) -eq "$2" ]; then ok; else bad "import --batch $1: $((after - before)) ImportBatch calls, want $2"; fi
    run 0 "import --batch $1: a3 still wins" "$DOSSIER" get --json tip-2001-aze
    expect "import --batch $1: a3 applied last" "'THIRDMARK' in json.dumps(js)"
done

# ---- a server that accepts less: batches sized to what it says ---------
# --max-message-bytes 6M: Health says so, and the CLI keeps each batch's
# text under it (a1 | a2 | a3 a4 | big5), rather than sending 10 MiB that
# the server would drop (then halves).
export DOSSIER_SERVER=
start_server limited --max-message-bytes 6M
SMALL=$EP
run 0 "health of the 6M server" "$DOSSIER" -s "$SMALL" health --json
expect "health says its limit" "int(js[0]['maxMessageBytes']) == 6 * 1024 * 1024"
run 0 "import into the 6M server" "$DOSSIER" -s "$SMALL" import -v "$B"
expect "import into the 6M server: every file" "out.startswith('imported 5 (') and 'failed 0' in out"
expect "import into the 6M server: batches sized to it" "'the server accepts requests of up to 6 MiB: batches of at most 5.2 MiB\\n' in err"
run 0 "stats of the 6M server" "$DOSSIER" -s "$SMALL" stats --json
expect "four ImportBatch calls, none dropped" "sum(int(r.get('count', 0)) for r in js[0].get('requests', []) if r['method'].endswith('/ImportBatch')) == 4"
export DOSSIER_SERVER=$(sed -n 2p "$TMP/data/dossierd.pid")

# ---- not regular files --------------------------------------------------
run 0 "a /proc file (st_size 0) is read" "$DOSSIER" import --dry-run /proc/version
expect "a /proc file: its text, not empty" "'/proc/version: ' in err and 'no title' in err and 'empty' not in err"
# A pipe bigger than the first 64 KiB read: stdin grows its buffer.
"$PY" -c 'import json; print(json.dumps({"id": "pipe-big", "title": "Piped", "country": "Atlantis", "year": 2020, "body": ["x" * 1000 + " %d" % i for i in range(300)]}))' >"$TMP/big.json"
run 0 "put - from a pipe of 300 KB" bash -c "cat '$TMP/big.json' | '$DOSSIER' put --create-only -"
run 0 "get the piped record" "$DOSSIER" get --json pipe-big
expect "the piped record whole" "len(js[0]['body']) == 300 and js[0]['body'][-1].endswith(' 299')"
run 0 "put /dev/stdin from a file" bash -c "'$DOSSIER' put --force /dev/stdin <'$TMP/big.json'"

# ---- system calls per regular file --------------------------------------
if strace -f -o /dev/null true 2>/dev/null; then
    S=$TMP/small
    "$BIN_DIR/dossier-bench" --write-corpus "$S" --records 40 >/dev/null
    # LeakSanitizer cannot run under ptrace; the runs above check leaks.
    run 0 "import under strace" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -y -o "$TMP/strace.txt" "$DOSSIER" import "$S"
    "$PY" - "$S" "$TMP/strace.txt" >"$TMP/out" 2>"$TMP/err" <<'EOF'
import os, re, sys
d, trace = sys.argv[1], open(sys.argv[2], encoding="utf-8", errors="replace").read()
paths = sorted(os.path.join(d, n) for n in os.listdir(d))
# A call another thread interrupted is printed twice ("<unfinished ...>",
# then "<... openat resumed>"): count it once, by its first line.
lines = [l for l in trace.splitlines() if " resumed>" not in l]
counts = {p: sum(1 for l in lines if re.search(re.escape(p) + '[">]', l)) for p in paths}
print(len(paths), max(counts.values()), min(counts.values()))
calls = [re.sub(r"^\d+ +", "", l).split("(")[0] for l in lines if re.search(re.escape(paths[0]) + '[">]', l)]
print(" ".join(calls))
EOF
    expect "at most 4 system calls per file: open, fstat, read, close" "out.split()[:3] == ['40', '4', '4'] and out.splitlines()[1].split()[0] in ('openat', 'open') and out.splitlines()[1].split()[-1] == 'close'"
else
    skip "strace cannot trace here: the system-call count"
fi

finish "$TMP/data.log"
