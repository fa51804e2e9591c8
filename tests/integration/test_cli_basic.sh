#!/bin/bash
# test_cli_basic.sh: the `dossier` CLI against a dossierd started here.
#
# Starts build-*/bin/dossierd on a free port in a temporary directory
# (the endpoint is read from DATA/dossierd.pid), imports
# tests/fixtures/refworld/, and drives every verb: output, --json (parsed
# by Python), exit codes 0/1/2/3. Prints "N passed, M failed"; exits 1 on
# any failure.
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=cli-basic
. "$HERE/../support/clitest.sh"
FIXTURES=${DOSSIER_FIXTURE_DIR:-$HERE/../fixtures}/refworld

start_server data
export DOSSIER_SERVER=$EP

# ---- usage: exit 2, --help on stdout ----------------------------------
run 2 "no verb" "$DOSSIER"
expect "no verb: usage on stderr" '"usage: dossier" in err and out == ""'
run 0 "--help" "$DOSSIER" --help
expect "--help lists the verbs" '"usage: dossier" in out and all(v in out for v in ["import","get","put","delete","list","search","history","changes","stats","health","describe"])'
for verb in import get put delete list search history changes stats health describe; do
    run 0 "$verb --help" "$DOSSIER" "$verb" --help
    expect "$verb --help on stdout" "out.startswith('usage: dossier $verb') and err == ''"
done
run 0 "help list" "$DOSSIER" help list
expect "help list" '"--country" in out'
run 2 "typo" "$DOSSIER" lst
expect "typo suggests list" "\"dossier: 'lst' is not a command. Did you mean 'list'?\" in err"
run 2 "typo histroy" "$DOSSIER" histroy Burma
expect "typo suggests history" "\"Did you mean 'history'?\" in err"
run 2 "no suggestion for nonsense" "$DOSSIER" xyzzyplugh
expect "nonsense: no suggestion" '"is not a command" in err and "Did you mean" not in err'
run 2 "unknown option" "$DOSSIER" list --bogus
expect "unknown option: usage" '"bogus" in err and "usage: dossier list" in err'
run 2 "get without id" "$DOSSIER" get
run 2 "get with two ids" "$DOSSIER" get a b
run 2 "bad year" "$DOSSIER" list --year 20x4
run 2 "reversed year range" "$DOSSIER" list --year 2010-2004
run 2 "bad tier" "$DOSSIER" list --tier 7
run 2 "bad limit" "$DOSSIER" list --limit 0
run 2 "bad timeout" "$DOSSIER" --timeout soon health
run 2 "bad sort" "$DOSSIER" search --sort sideways trafficking
run 2 "bad endpoint" "$DOSSIER" -s 'not-an-endpoint' health
run 2 "import nothing" "$DOSSIER" import

# ---- unreachable: exit 3, within the timeout ---------------------------
# A port held bound and never listened on. How long the call takes is
# test_client_failover's to check (libdossier's deadline); here a hang
# is bounded by timeout(1), whose 124 fails the exit check.
hold_dead_port
PORT=$DEAD_PORT
run 3 "unreachable server" timeout 60 "$DOSSIER" -s "tcp://127.0.0.1:$PORT" --timeout 500 health
expect "unreachable: says so" "'UNAVAILABLE' in err and 'cannot reach tcp://127.0.0.1:$PORT' in err"
run 3 "unreachable get via \$DOSSIER_SERVER" env DOSSIER_SERVER="tcp://127.0.0.1:$PORT" timeout 60 "$DOSSIER" --timeout 300 get x

# ---- import --dry-run: local, no server --------------------------------
run 0 "dry-run one file" env DOSSIER_SERVER=tcp://127.0.0.1:1 "$DOSSIER" import --dry-run --json "$FIXTURES/tip-2004-azerbaijan.txt"
expect "dry-run JSON" 'len(js) == 1 and js[0]["id"] == "tip-2004-aze" and js[0]["year"] == 2004 and js[0]["tier"] == "TIER_2_WATCH_LIST" and js[0]["countryCode"] == "AZE"'
printf ' \n\t\n' >"$TMP/junk.txt"
run 1 "dry-run with a bad file" "$DOSSIER" import --dry-run --json "$TMP/junk.txt" "$FIXTURES/tip2008-russia-uppercase.txt"
expect "dry-run bad file named once, good one parsed" "err.startswith('$TMP/junk.txt: the file holds only blank lines') and err.count('junk.txt') == 1 and len(js) == 1 and js[0]['countryCode'] == 'RUS'"
run 0 "dry-run readable" "$DOSSIER" import --dry-run "$FIXTURES/tip-2004-azerbaijan.txt"
expect "dry-run record" '"id:          tip-2004-aze" in out and "Tier 2 Watch List" in out and max(len(l) for l in out.splitlines()) <= 250'
expect "dry-run body wrapped at 78" 'all(len(l) <= 78 for l in out.split("\n\n", 1)[1].splitlines())'

# How many fixture documents the parser rejects: the import must agree.
n_txt=$(find "$FIXTURES" -name '*.txt' | wc -l)
"$DOSSIER" import --dry-run --json "$FIXTURES" >"$TMP/dry.json" 2>"$TMP/dry.err"
n_parsed=$(wc -l <"$TMP/dry.json")
n_rejected=$((n_txt - n_parsed))
if [ "$n_parsed" -gt 10 ]; then ok; else bad "dry-run of $FIXTURES parsed only $n_parsed of $n_txt"; fi

# ---- import ------------------------------------------------------------
want_exit=0
[ "$n_rejected" -gt 0 ] && want_exit=1
run $want_exit "import fixtures" "$DOSSIER" import --batch 7 "$FIXTURES"
expect "import summary" "'imported $n_parsed (created $n_parsed, updated 0, unchanged 0), failed $n_rejected' in out"
expect "import names each failure" "len([l for l in err.splitlines() if l.startswith('$FIXTURES/') and ': warning: ' not in l]) == $n_rejected"
run $want_exit "import again" "$DOSSIER" import "$FIXTURES"
expect "re-import unchanged" "'imported $n_parsed (created 0, updated 0, unchanged $n_parsed), failed $n_rejected' in out"
# What the server stored is what the local parser read.
run 0 "list --all --full" "$DOSSIER" list --all --full --json
cp "$TMP/dry.json" "$TMP/err"
expect "import agrees with dry-run" 'sorted((r["id"], r.get("title"), r.get("countryCode"), r.get("year"), r.get("tier"), len(r.get("body", []))) for r in js) == sorted((r["id"], r.get("title"), r.get("countryCode"), r.get("year"), r.get("tier"), len(r.get("body", []))) for r in map(json.loads, err.splitlines()))'
run 1 "import a missing file" "$DOSSIER" import "$TMP/does-not-exist.txt"
expect "missing file named" "'does-not-exist.txt' in err and 'failed 1' in out"

# A server that takes small messages only: batches are sized to the limit
# its Health reply gives, and a document too big alone fails by itself,
# unsent.
MAIN_EP=$EP
start_server small --max-message-bytes 24K --max-page-size 5
"$PY" -c 'print("Not a report. " * 3000)' >"$TMP/huge.txt"
run 1 "import into a small server" "$DOSSIER" -s "$EP" import "$FIXTURES" "$TMP/huge.txt"
expect "small server: batches split" "'imported $n_parsed (created $n_parsed, updated 0, unchanged 0), failed $((n_rejected + 1))' in out and 'huge.txt: larger than the server accepts in one request' in err"
# Its pages are small too: list and search ask for less until it agrees.
run 0 "list --all, small pages" "$DOSSIER" -s "$EP" list --all --json
expect "list --all, small pages: every record" "len(js) == $n_parsed and len(set(r['id'] for r in js)) == $n_parsed"
run 0 "list, small pages" "$DOSSIER" -s "$EP" list --limit 12 --json
expect "list --limit 12, small pages" 'len(js) == 12'
EP=$MAIN_EP

# ---- get ---------------------------------------------------------------
run 0 "get" "$DOSSIER" get tip-2004-aze
expect "get record" '"title:       U.S. Department of State 2004 Trafficking in Persons Report - Azerbaijan" in out and "country:     Azerbaijan (AZE)" in out'
run 0 "get --json" "$DOSSIER" --json get tip-2004-aze
expect "get JSON" 'len(js) == 1 and js[0]["id"] == "tip-2004-aze" and js[0]["version"] == "1" and len(js[0]["body"]) >= 3'
run 0 "get -s" env -u DOSSIER_SERVER "$DOSSIER" -s "$EP" get tip-2004-aze --json
expect "-s after the verb" 'js[0]["id"] == "tip-2004-aze"'
run 1 "get missing" "$DOSSIER" get no-such-report
expect "NOT_FOUND message: the sentence, then the code" 'err.startswith("dossier: no report no-such-report") and err.rstrip().endswith("(NOT_FOUND)")'

# ---- list --------------------------------------------------------------
n_records=$n_parsed
run 0 "list --all --json" "$DOSSIER" list --all --json
expect "list --all: every record" "len(js) == $n_records and [r['id'] for r in js] == sorted(r['id'] for r in js)"
run 0 "list --limit 3" "$DOSSIER" list --limit 3 --json
expect "list --limit 3" 'len(js) == 3'
run 0 "list --country" "$DOSSIER" list --country Azerbaijan --json
expect "list --country" 'len(js) >= 2 and all(r["countryCode"] == "AZE" for r in js)'
run 0 "list --year" "$DOSSIER" list --year 2004 --json
expect "list --year" 'len(js) >= 1 and all(r["year"] == 2004 for r in js)'
run 0 "list --year range" "$DOSSIER" list --year 2004-2008 --json
expect "list --year range" 'len(js) >= 3 and all(2004 <= r["year"] <= 2008 for r in js)'
run 0 "list --tier" "$DOSSIER" list --tier 2wl --json
expect "list --tier" 'len(js) >= 1 and all(r["tier"] == "TIER_2_WATCH_LIST" for r in js)'
run 0 "list --publisher" "$DOSSIER" list --publisher 'united states department of state' --json
expect "list --publisher" 'len(js) >= 1 and all(r["publisher"] == "United States Department of State" for r in js)'
run 0 "list table" env COLUMNS=60 "$DOSSIER" list --country AZE
expect "table header and width" 'out.splitlines()[0].split() == ["ID","YEAR","COUNTRY","TIER","TITLE"] and "tip-2004-aze" in out and all(len(l) <= 60 for l in out.splitlines())'

# ---- put: optimistic concurrency ---------------------------------------
"$DOSSIER" get tip-2004-aze --json >"$TMP/rec.json"
"$PY" - "$TMP/rec.json" <<'EOF'
import json, sys
r = json.loads(open(sys.argv[1]).read())
r["title"] = "Edited title"
open(sys.argv[1], "w").write(json.dumps(r))
EOF
run 0 "put an edit" "$DOSSIER" put "$TMP/rec.json"
expect "put says updated" '"tip-2004-aze updated, version 2" in out'
run 1 "put the same stale edit" "$DOSSIER" put "$TMP/rec.json"
expect "stale put is ABORTED" '"(ABORTED)" in err'
run 0 "put --force" "$DOSSIER" put --force "$TMP/rec.json"
run 0 "get after put" "$DOSSIER" get tip-2004-aze --json
expect "edit stored" 'js[0]["title"] == "Edited title" and js[0]["version"] == "3"'
printf '{"id": "x", "year": "soon"}' >"$TMP/bad.json"
run 1 "put bad JSON" "$DOSSIER" put "$TMP/bad.json"
expect "bad JSON explained" '"bad.json" in err and "year" in err'
run 0 "put --create-only new" "$DOSSIER" put --create-only - <<<'{"id": "cli-new", "title": "Made here", "country": "Atlantis", "year": 2021}'
run 1 "put --create-only existing" "$DOSSIER" put --create-only - <<<'{"id": "cli-new", "title": "Again"}'
expect "ALREADY_EXISTS" '"ALREADY_EXISTS" in err'

# ---- delete ------------------------------------------------------------
run 1 "delete stale" "$DOSSIER" delete --expected-version 7 cli-new
expect "delete stale ABORTED" '"ABORTED" in err'
run 0 "delete" "$DOSSIER" delete --expected-version 1 cli-new
expect "delete says" '"deleted cli-new" in out'
run 1 "get deleted" "$DOSSIER" get cli-new
run 1 "delete again" "$DOSSIER" delete cli-new
expect "delete again NOT_FOUND" '"NOT_FOUND" in err'

# ---- history, changes, stats, health, describe, search -----------------
run 0 "history" "$DOSSIER" history Azerbaijan --json
expect "history JSON" 'js[0]["countryCode"] == "AZE" and [e["year"] for e in js[0]["entries"]] == sorted(e["year"] for e in js[0]["entries"]) and len(js[0]["entries"]) >= 2'
run 0 "history table" "$DOSSIER" history AZE
expect "history table" '"Azerbaijan (AZE)" in out and "2004  Tier 2 WL" in out'
run 0 "changes" "$DOSSIER" changes 2007 --json
expect "changes JSON" 'len(js) == 1 and js[0].get("year") == 2007'
# Nothing to show is said on stderr, not as a bare table header.
run 0 "changes, none" "$DOSSIER" changes 1990
expect "changes, none: said" 'out == "" and "no records for 1990" in err'
run 0 "changes, no move" "$DOSSIER" changes 2008
expect "changes, no move: said" 'out == "" and "no country" in err and "2008" in err'
run 0 "list, no match" "$DOSSIER" list --country Lemuria
expect "list, no match: said" 'out == "" and "no reports match" in err'
run 0 "list, no match, --json" "$DOSSIER" list --country Lemuria --json
expect "list, no match, --json: nothing" 'out == "" and err == ""'
run 2 "changes without year" "$DOSSIER" changes
run 0 "stats" "$DOSSIER" stats --json
expect "stats records" "int(js[0]['records']) == $n_records"
run 0 "stats readable" "$DOSSIER" stats
expect "stats readable" '"records:" in out'
run 0 "health" "$DOSSIER" health
expect "health SERVING" 'out.strip() == "SERVING"'
run 0 "describe" "$DOSSIER" describe
expect "describe lists methods" '"dossier.v1.Reports" in out and all(m in out for m in ["Get ", "ImportBatch", "Describe"]) and "GetRequest -> Report" in out'
run 0 "describe --json" "$DOSSIER" describe --json
expect "describe JSON" 'any(s["name"] == "Reports" for f in js[0]["file"] for s in f.get("service", []))'
run 0 "search JSON" "$DOSSIER" search --json trafficking
expect "search JSON" 'len(js) >= 1 and int(js[0].get("totalHits", 0)) >= 1'
run 0 "search filtered" "$DOSSIER" search --country AZE --limit 1 --json trafficking
expect "search filtered" 'len(js) == 1 and len(js[0]["hits"]) == 1 and js[0]["hits"][0]["report"]["countryCode"] == "AZE"'
run 0 "search readable" "$DOSSIER" search --facets --limit 2 trafficking
expect "search readable" '" matches" in out.splitlines()[0] and out.count("(score ") == 2 and "by year:" in out'

finish "$TMP/data.log"
