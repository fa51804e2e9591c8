#!/bin/bash
# test_data_inout.sh: data in and out (issue 19), against dossierd servers
# started here.
#
# - Any text imports: the body-only and untitled fixtures of each series
#   (HRR, FIW, UNHCR) get their series, country and year where the text
#   states them, and a warning naming the fields it does not give; the
#   override flags set fields and name the record; binary, empty and blank
#   files are refused with the reason, the file named once.
# - `import --json` of a dump: PutBatch, a failed line named by its
#   number while the others are stored, "unchanged" for an identical dump.
# - Record history: versions through import, Put (import --json) and
#   delete; `log`, `get --version`, `diff` (fields and paragraphs); the
#   history of a deleted record; all of it across backup and restore;
#   --history-keep bounds it.
# - `export --format csv`: RFC 4180 quoting of commas, quotes, line breaks
#   and non-ASCII text, read back by Python's csv module; --fields,
#   --doc-type, --bom.
# - `export` across many pages of a server with a small max_page_size:
#   every record once, in order (the next page is prefetched).
# Prints "N passed, M failed"; exits 1 on any failure.
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=data-inout
. "$HERE/../support/clitest.sh"
FIXTURES=${DOSSIER_FIXTURE_DIR:-$HERE/../fixtures}/refworld

start_server data --backup-dir "$TMP/backups"
SERVER_PID=$(sed -n 1p "$TMP/data/dossierd.pid")
export DOSSIER_SERVER=$EP

# ---- any text imports ---------------------------------------------------
run 0 "import the body-only HRR" "$DOSSIER" import "$FIXTURES/hrr-body-only-eritrea.txt"
expect "HRR: created, missing fields named with their flags" "'created 1' in out and 'hrr-body-only-eritrea.txt: warning: no title, year, publisher, publication_date in the text (give --title, --year, --publisher)' in err"
run 0 "get the HRR" "$DOSSIER" --json get hrr-eri-986fad1cda0a
expect "HRR: series and country from the text, no tier, file name as title" "js[0]['docType'] == 'Country Reports on Human Rights Practices' and js[0]['countryCode'] == 'ERI' and 'tier' not in js[0] and 'year' not in js[0] and js[0]['title'] == 'hrr-body-only-eritrea'"

run 0 "import the FIW chapter from Country Scores" "$DOSSIER" import "$FIXTURES/fh-fiw-scores-tunisia.txt"
run 0 "get the FIW chapter" "$DOSSIER" --json get fh-fiw-2023-tun
expect "FIW: series, country, year from the text" "js[0]['docType'] == 'Freedom in the World' and js[0]['countryCode'] == 'TUN' and js[0]['year'] == 2023"
run 0 "import the FIW chapter from its ratings" "$DOSSIER" import "$FIXTURES/fh-fiw-ratings-sweden.txt"
expect "FIW ratings: stored under its series and country" "'created 1' in out"

run 0 "import the UNHCR guidelines" "$DOSSIER" import "$FIXTURES/unhcr-eligibility-afghanistan.txt"
run 0 "list the UNHCR guidelines" "$DOSSIER" --json list --country Afghanistan
expect "UNHCR: its first line is the title, series and country read" "len(js) == 1 and js[0]['title'].startswith('UNHCR Eligibility Guidelines for Assessing') and js[0]['docType'] == 'UNHCR Eligibility Guidelines' and js[0]['id'].startswith('unhcr-eg-afg-')"
run 0 "import the UNHCR position paper" "$DOSSIER" import "$FIXTURES/unhcr-position-returns-somalia.txt"
run 0 "list Somalia" "$DOSSIER" --json list --country Somalia
expect "UNHCR position paper under Somalia" "any(r['docType'] == 'UNHCR Position Paper' for r in js)"

printf 'Meeting notes\n\nWe talked about the reports.\n' >"$TMP/notes.txt"
run 0 "plain notes import" "$DOSSIER" import "$TMP/notes.txt"
expect "notes: imported, every missing field named" "'created 1' in out and 'no title, country, year, doc_type, publisher, publication_date in the text' in err"

# The override flags: fields over the text, and the id they give.
run 0 "import with every override" "$DOSSIER" import --title "Country Reports on Human Rights Practices 2022 - Eritrea" --publisher "United States Department of State" --source-url "https://www.state.gov/reports/eritrea" "$FIXTURES/hrr-body-only-eritrea.txt"
expect "overrides: no field missing but the date" "'created 1' in out and 'no publication_date in the text' in err"
run 0 "get the overridden record" "$DOSSIER" --json get hrr-2022-eri
expect "overrides: title, year, publisher, source URL" "js[0]['year'] == 2022 and js[0]['publisher'] == 'United States Department of State' and js[0]['sourceUrl'] == 'https://www.state.gov/reports/eritrea'"
mkdir -p "$TMP/dir"
cp "$FIXTURES/hrr-body-only-eritrea.txt" "$FIXTURES/fh-fiw-ratings-sweden.txt" "$TMP/dir/"
run 0 "--country --year --doc-type for a directory" "$DOSSIER" import --country Chad --year 2019 --doc-type "Freedom in the World" --publisher "Freedom House" "$TMP/dir"
run 0 "list Chad 2019" "$DOSSIER" --json list --country TCD --year 2019
expect "both files under the given fields, one id (the last wins)" "len(js) == 1 and js[0]['id'] == 'fh-fiw-2019-tcd' and js[0]['publisher'] == 'Freedom House'"
# The document type as a filter of list, search and export (the server's
# ReportFilter.doc_type, any case), and a facet of search.
run 0 "list --doc-type" "$DOSSIER" --json list --doc-type "freedom in the WORLD"
FIW_IDS="['fh-fiw-2019-tcd', 'fh-fiw-2023-tun', 'fh-fiw-swe-521e82c53488']"
expect "list --doc-type: the FIW records only" "sorted(r['id'] for r in js) == $FIW_IDS"
run 0 "search, no filter" "$DOSSIER" --json search --limit 50 rights
expect "search: hits of several types" "len(set(h['report']['docType'] for h in js[0]['hits'])) >= 2"
run 0 "search --doc-type" "$DOSSIER" --json search --doc-type "Freedom in the World" --facets --limit 50 rights
expect "search --doc-type: the FIW hits only, its facet one type" "sorted(h['report']['id'] for h in js[0]['hits']) == $FIW_IDS and [f['counts'] for f in js[0]['facets'] if f['field'] == 'doc_type'] == [[{'value': 'Freedom in the World', 'count': '3'}]]"
run 0 "search --facets in words" "$DOSSIER" search --facets rights
expect "the document type facet, named for people" "'by document type:' in out and 'Freedom in the World (3)' in out"
run 0 "search --doc-type of no record" "$DOSSIER" search --doc-type "Freedom in the Wor" rights
expect "none found" "'0 matches' in out"
run 0 "export --doc-type" "$DOSSIER" export --doc-type "FREEDOM IN THE WORLD"
expect "export --doc-type: the FIW records" "sorted(r['id'] for r in js) == $FIW_IDS"
run 2 "--title with a directory" "$DOSSIER" import --title X "$TMP/dir"
expect "--title names one document" "'--title and --source-url name one document' in err"
run 2 "--year out of range" "$DOSSIER" import --year 1492 "$TMP/notes.txt"

# Refused: not text, empty, blank; the reason said once, the file named once.
printf '' >"$TMP/empty.txt"
printf '  \n\n\t\n' >"$TMP/blank.txt"
run 1 "binary, empty and blank refused" "$DOSSIER" import "$FIXTURES/binary.bin" "$TMP/empty.txt" "$TMP/blank.txt"
expect "each refusal says why, naming its file once" "'failed 3' in out and 'binary.bin: INVALID_ARGUMENT: not text but binary data' in err and 'empty.txt: INVALID_ARGUMENT: the file is empty' in err and 'blank.txt: INVALID_ARGUMENT: the file holds only blank lines' in err and err.count('empty.txt') == 1 and err.count('binary.bin') == 1"

# ---- import --json: PutBatch ---------------------------------------------
run 0 "export the store" "$DOSSIER" export
cp "$TMP/out" "$TMP/dump.jsonl"
n_dump=$(grep -c . "$TMP/dump.jsonl")
start_server restore-json
EP2=$EP
run 0 "import --json into an empty server" "$DOSSIER" -s "$EP2" import --json "$TMP/dump.jsonl"
expect "every record created" "'imported $n_dump (created $n_dump, updated 0, unchanged 0), failed 0' in out"
run 0 "import --json of the same dump" "$DOSSIER" -s "$EP2" import --json "$TMP/dump.jsonl"
expect "an identical dump is unchanged, no version bumped" "'imported $n_dump (created 0, updated 0, unchanged $n_dump), failed 0' in out"
run 0 "versions after two restores" "$DOSSIER" -s "$EP2" --json get hrr-2022-eri
expect "still version 1" "js[0]['version'] == '1'"
{
    echo '{"id": "json-good-1", "title": "Good one"}'
    echo '{"id": "bad id!", "title": "Refused by the server"}'
    echo '{"id": "json-good-2", "title": "Good two", "yaer": 2004}'
    echo '{"id": "json-good-3", "title": "Good three", "year": 2004}'
    echo '{"id": "json-bad-year", "year": 99999}'
} >"$TMP/mixed.jsonl"
run 1 "a dump with bad lines" "$DOSSIER" -s "$EP2" import --json "$TMP/mixed.jsonl"
expect "bad lines named by number, the good ones stored" "'imported 2 (created 2, updated 0, unchanged 0), failed 3' in out and 'mixed.jsonl:2: bad id!:' in err and 'mixed.jsonl:3:' in err and 'mixed.jsonl:5: json-bad-year:' in err"
run 0 "a good record of the mixed dump" "$DOSSIER" -s "$EP2" --json get json-good-3
expect "stored whole" "js[0]['year'] == 2004"

# ---- import --json into a server that accepts less ---------------------
# --max-message-bytes 64K: Health says so, and the CLI cuts its PutBatch
# calls to fit, rather than sending all 320 KB at once for the server to
# drop.
start_server small-json --max-message-bytes 64K
/usr/bin/python3 -c '
import json
for i in range(40):
    print(json.dumps({"id": "big-%d" % i, "title": "Big %d" % i,
                      "body": ["word%d " % i * 1000]}))' >"$TMP/big.jsonl"
run 0 "import --json into the 64K server" "$DOSSIER" -s "$EP" import --json "$TMP/big.jsonl"
expect "every record of the 320 KB dump created" "'imported 40 (created 40, updated 0, unchanged 0), failed 0' in out"
run 0 "stats of the 64K server" "$DOSSIER" -s "$EP" stats --json
expect "several PutBatch calls, each under the limit" "sum(int(r.get('count', 0)) for r in js[0].get('requests', []) if r['method'].endswith('/PutBatch')) >= 5"

# ---- record history ------------------------------------------------------
cat >"$TMP/v1.jsonl" <<'JSON'
{"id": "hist-1", "title": "Report, first", "country": "Chad", "year": 2004, "body": ["Opening.", "Middle one.", "Middle two.", "Middle three.", "Closing."]}
JSON
cat >"$TMP/v2.jsonl" <<'JSON'
{"id": "hist-1", "title": "Report, revised", "country": "Chad", "year": 2005, "body": ["Opening.", "A new paragraph.", "Middle one.", "Middle two.", "Middle three."]}
JSON
run 0 "history: version 1 by import --json" "$DOSSIER" import --json "$TMP/v1.jsonl"
run 0 "history: version 2 by put" "$DOSSIER" put --force "$TMP/v2.jsonl"
# By text import: a revised page replaces the record; each version keeps
# the SHA-256 of its text.
printf 'Notes on Chad\n\nFirst text.\n' >"$TMP/chad.txt"
run 0 "history: text import" "$DOSSIER" import --country Chad --year 2001 "$TMP/chad.txt"
sha1=$(sha256sum "$TMP/chad.txt" | cut -c1-12)
printf 'Notes on Chad\n\nFirst text.\n\nA revision.\n' >"$TMP/chad.txt"
run 0 "history: text import of the revised page" "$DOSSIER" import --country Chad --year 2001 "$TMP/chad.txt"
expect "updated" "'updated 1' in out"
sha2=$(sha256sum "$TMP/chad.txt" | cut -c1-12)
run 0 "log of the imported page" "$DOSSIER" log refworld-2001-tcd
expect "two versions, each with its text's SHA-256" "out.splitlines()[1].split()[:1] == ['2'] and '$sha2' in out.splitlines()[1] and '$sha1' in out.splitlines()[2]"
run 0 "diff of the imported page" "$DOSSIER" diff refworld-2001-tcd
expect "the paragraph added, the hash changed" "'+ A revision.' in out and 'source_sha256: ' in out"
run 0 "log of hist-1" "$DOSSIER" log hist-1
expect "log: newest first, the current marked" "out.splitlines()[0].startswith('VERSION') and out.splitlines()[1].startswith('2 ') and 'Report, revised  (current)' in out.splitlines()[1] and out.splitlines()[2].startswith('1 ') and 'anonymous' in out"
run 0 "diff of hist-1" "$DOSSIER" diff hist-1
expect "diff: fields and paragraphs" "'--- hist-1 version 1' in out and '+++ hist-1 version 2' in out and 'title: \"Report, first\" -> \"Report, revised\"' in out and 'year: \"2004\" -> \"2005\"' in out and 'body: 1 paragraph removed, 1 added, 4 unchanged' in out and '+ A new paragraph.' in out and '- Closing.' in out and '  Opening.' in out"
run 0 "diff with versions given" "$DOSSIER" diff hist-1 1 2
expect "the same diff" "'+ A new paragraph.' in out"
run 0 "get --version 1" "$DOSSIER" --json get --version 1 hist-1
expect "the old version whole" "js[0]['title'] == 'Report, first' and len(js[0]['body']) == 5 and js[0]['version'] == '1'"
run 1 "get a version not kept" "$DOSSIER" get --version 7 hist-1
expect "says which and where to look" "'has no version 7 kept' in err and 'dossier log hist-1' in err"
run 0 "delete hist-1" "$DOSSIER" delete hist-1
run 1 "get the deleted record" "$DOSSIER" get hist-1
expect "says it was deleted and how to read its history" "'it was deleted (version 3)' in err and 'dossier log hist-1' in err"
run 0 "log of the deleted record" "$DOSSIER" --json log hist-1
expect "log: the deletion, then the versions" "[v['version'] for v in js] == ['3', '2', '1'] and js[0].get('deleted') is True and not any(v.get('current') for v in js)"
run 0 "get a version of the deleted record" "$DOSSIER" --json get --version 2 hist-1
expect "readable after the delete" "js[0]['title'] == 'Report, revised'"
run 0 "hist-1 put again" "$DOSSIER" import --json "$TMP/v1.jsonl"
run 0 "get hist-1 again" "$DOSSIER" --json get hist-1
expect "numbered on after its deletion" "js[0]['version'] == '4'"
run 0 "diff across the delete" "$DOSSIER" diff hist-1 2 4
expect "version 2 against 4" "'+ Closing.' in out and '- A new paragraph.' in out"
run 1 "diff of a deletion" "$DOSSIER" diff hist-1 3
expect "the deletion has no content" "'is its deletion' in err"
run 2 "diff with a bad version" "$DOSSIER" diff hist-1 x
run 1 "log of an id never seen" "$DOSSIER" log never-was
expect "not found" "'no report never-was, and no history of one' in err"

# History survives backup and restore.
run 0 "backup" "$DOSSIER" backup --fetch "$TMP/store.mdb" history.mdb
"$BIN_DIR/dossierd" --restore "$TMP/store.mdb" --data "$TMP/restored" >"$TMP/out" 2>"$TMP/err"
if [ $? -eq 0 ]; then ok; else bad "restore"; fi
start_server restored
EP3=$EP
run 0 "log after restore" "$DOSSIER" -s "$EP3" --json log hist-1
expect "the history restored" "[v['version'] for v in js] == ['4', '3', '2', '1'] and js[1].get('deleted') is True"
run 0 "an old version after restore" "$DOSSIER" -s "$EP3" --json get --version 2 hist-1
expect "its content" "js[0]['title'] == 'Report, revised'"

# --history-keep bounds the versions kept.
start_server keep2 --history-keep 2
EP4=$EP
for n in 1 2 3 4 5; do
    echo "{\"id\": \"kept\", \"title\": \"take $n\"}" >"$TMP/k.jsonl"
    "$DOSSIER" -s "$EP4" import --json "$TMP/k.jsonl" >/dev/null
done
run 0 "log with --history-keep 2" "$DOSSIER" -s "$EP4" --json log kept
expect "the current version and the two before it" "[v['version'] for v in js] == ['5', '4', '3']"
run 1 "an old version dropped" "$DOSSIER" -s "$EP4" get --version 2 kept

# ---- export --format csv -------------------------------------------------
cat >"$TMP/csv.jsonl" <<'JSON'
{"id": "csv-1", "title": "Commas, \"quotes\" and more", "country": "Côte d'Ivoire", "year": 2020, "tier": "TIER_2_WATCH_LIST", "docType": "CSV Test", "body": ["Line one\nline two", "Ünïcödé — “quoted”, too", "CR\r\nLF"]}
{"id": "csv-2", "title": "Plain", "country": "Chad", "docType": "CSV Test"}
JSON
run 0 "import the CSV records" "$DOSSIER" import --json "$TMP/csv.jsonl"
run 0 "export csv with body" "$DOSSIER" export --format csv --doc-type "csv test" --fields id,title,country,country_code,year,tier,body
cp "$TMP/out" "$TMP/export.csv"
# (expect reads text with Python's newline translation: bytes here)
expect_bytes() {
    if "$PY" -c 'import sys; b = open(sys.argv[1], "rb").read(); sys.exit(0 if eval(sys.argv[2]) else 1)' "$2" "$3"; then ok; else bad "$1: $3"; fi
}
expect_bytes "RFC 4180: header, CRLF rows, quotes doubled, UTF-8" "$TMP/export.csv" "b.startswith(b'id,title,country,country_code,year,tier,body\r\n') and b'\r\ncsv-1,\"Commas, \"\"quotes\"\" and more\",C\xc3\xb4te d' in b and b'\"Line one\nline two\n\n' in b and b.endswith(b',,\r\n')"
"$PY" - "$TMP/export.csv" >"$TMP/out" 2>"$TMP/err" <<'PYEOF'
import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
print(json.dumps(rows))
PYEOF
expect "read back by csv: every value exact" "len(js[0]) == 2 and js[0][0]['title'] == 'Commas, \"quotes\" and more' and js[0][0]['country'] == \"Côte d'Ivoire\" and js[0][0]['country_code'] == 'CIV' and js[0][0]['year'] == '2020' and js[0][0]['tier'] == 'Tier 2 Watch List' and js[0][0]['body'] == 'Line one\nline two\n\nÜnïcödé — “quoted”, too\n\nCR\r\nLF' and js[0][1]['year'] == '' and js[0][1]['tier'] == '' and js[0][1]['body'] == ''"
run 0 "export csv default columns, --bom" "$DOSSIER" export --format csv --bom --country Chad
cp "$TMP/out" "$TMP/bom.csv"
expect_bytes "BOM, the default header" "$TMP/bom.csv" "b.startswith(b'\xef\xbb\xbfid,title,country,country_code,year,tier,doc_type,publisher,author,publication_date,last_updated,source_url,version,updated_at\r\n')"
run 2 "export csv with an unknown field" "$DOSSIER" export --format csv --fields id,titel
expect "names the field" "\"'titel' is not a field of a report\" in err"
run 2 "export --format xml" "$DOSSIER" export --format xml
run 2 "--fields without csv" "$DOSSIER" export --fields id

# ---- export across many pages (the next page prefetched) ----------------
# A server whose max_page_size is 7: export halves its page of 500 down to
# 7 and follows 9 page tokens, asking for each page while it writes the
# one before (a pipelined call). Every record comes once, in List's order.
start_server pages --max-page-size 7
EP5=$EP
"$PY" -c 'import json
for i in range(60):
    print(json.dumps({"id": "page-%03d" % i, "title": "Page %d" % i, "country": "Chad", "year": 2001 + i % 20, "body": ["Paragraph of record %d." % i]}))' >"$TMP/pages.jsonl"
run 0 "import 60 records" "$DOSSIER" -s "$EP5" import --json "$TMP/pages.jsonl"
run 0 "export them, 7 at a time" "$DOSSIER" -s "$EP5" export
expect "all 60 once, in order, bodies whole" "[r['id'] for r in js] == ['page-%03d' % i for i in range(60)] and all(r['body'] == ['Paragraph of record %d.' % int(r['id'][5:])] for r in js) and 'exported 60 records' in err"
run 0 "export with a filter across pages" "$DOSSIER" -s "$EP5" export --year 2003-2005 --format csv --fields id,year
expect "the 9 of 2003-2005, once each" "out.splitlines()[1:] == ['page-%03d,%d' % (i, 2001 + i % 20) for i in range(60) if 2003 <= 2001 + i % 20 <= 2005] and 'exported 9 records' in err"

finish "$TMP/data.log"
