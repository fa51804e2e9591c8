#!/bin/bash
# test_messages.sh: the messages a person reads (issue 21). Each check
# reads what the CLI prints after a mistake a new user makes: a mistyped
# name gets the nearest right one ("did you mean"), a refusal says it in
# the words the user typed (the field or flag, the character, what is
# allowed), never an internal message path or folded key. Starts its own
# dossierd in a temporary directory. Prints "N passed, M failed".
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=messages
. "$HERE/../support/clitest.sh"
FIXTURES=${DOSSIER_FIXTURE_DIR:-$HERE/../fixtures}/refworld
SRC=${DOSSIER_SOURCE_DIR:-$HERE/../..}

start_server data
export DOSSIER_SERVER=$EP
run 0 "import a report" "$DOSSIER" import "$FIXTURES/tip-2004-azerbaijan.txt"

# ---- did you mean: options, countries, methods --------------------------
run 2 "list --contry" "$DOSSIER" list --contry Azerbaijan
expect "--contry suggests --country" "\"unknown option '--contry'. Did you mean '--country'?\" in err"
run 2 "--sever before the verb" "$DOSSIER" --sever "$EP" health
expect "--sever suggests --server" "\"Did you mean '--server'?\" in err"
run 2 "an ambiguous prefix" "$DOSSIER" list --se x
expect "ambiguous prefix names the candidates" "\"'--se' is ambiguous: --server, --server-key\" in err"
run 2 "--nothing-like-it" "$DOSSIER" list --zzzzzz
expect "far option: no suggestion" "\"unknown option '--zzzzzz'\" in err and 'Did you mean' not in err"
run 2 "a missing value" "$DOSSIER" list --country
expect "a missing value is named" "\"option '--country' needs a value\" in err"

run 0 "list --country Azerbijan" "$DOSSIER" list --country Azerbijan
expect "list suggests the country" "'no reports match' in err and 'Did you mean \"Azerbaijan\"?' in err"
run 0 "list --country Atlantis" "$DOSSIER" list --country Atlantis
expect "no suggestion when none is near" "'no reports match' in err and 'Did you mean' not in err"
run 1 "history Azerbijan" "$DOSSIER" history Azerbijan
expect "history suggests, no folded key" "'did you mean Azerbaijan?' in err and '~' not in err and '\"Azerbijan\"' in err"
run 1 "history Sweden" "$DOSSIER" history Sweden
expect "history names a known country plainly" "'for Sweden (SWE)' in err"
run 1 "history of nothing" "$DOSSIER" history ""
expect "history: an empty country, in plain words" "'the country is empty' in err and 'HistoryRequest' not in err"
run 0 "search in Azerbijan" "$DOSSIER" search --country Azerbijan trafficking
expect "search suggests the country" "'0 matches' in out and 'Did you mean \"Azerbaijan\"?' in err"

run 0 "search --facets" "$DOSSIER" search --facets trafficking
expect "facets show tiers as list does" "'by tier:' in out and 'Tier 2 WL (1)' in out and 'TIER_' not in out"

run 1 "audit --method Pt" "$DOSSIER" audit --method Pt
expect "audit names the method meant" "'\"Pt\" is not a method of dossier.v1.Reports; did you mean Put?' in err"
expect "audit prints no table before failing" "out == ''"
run 1 "audit --method Frobnicate" "$DOSSIER" audit --method Frobnicate
expect "an unknown method, no suggestion" "'is not a method' in err and 'did you mean' not in err"
run 0 "audit --method put" "$DOSSIER" audit --method Put
expect "a right method still lists" "'SEQ' in out"

run 1 "delete a missing report" "$DOSSIER" delete nothere
run 0 "the audit table" "$DOSSIER" audit
expect "audit messages line up under MESSAGE" "(lambda ls: any('no report nothere' in l for l in ls) and all(l.index('no report') == ls[0].index('MESSAGE') for l in ls if 'no report' in l))(out.splitlines())"

# ---- refusals in the user's words ---------------------------------------
run 1 "audit --since yesterday" "$DOSSIER" audit --since yesterday
expect "since in plain words" "'since \"yesterday\" is not a date or time' in err and 'AuditRequest' not in err"
run 1 "get a bad id" "$DOSSIER" get 'abc def'
expect "id: the character and what is allowed" "'id \"abc\" has a space at position 4' in err and 'A-Z a-z' in err and 'GetRequest' not in err"
run 1 "get --json of a missing report" "$DOSSIER" get --json nothere
expect "--json: the failure as JSON for scripts" "__import__('json').loads(err) == {'code': 5, 'message': 'no report nothere'} and out == ''"
run 1 "get of a missing report" "$DOSSIER" get nothere
expect "text: the sentence first, the code after" "err == 'dossier: no report nothere (NOT_FOUND)\\n'"
run 1 "backup with a path" "$DOSSIER" backup 'ab/cd'
expect "backup name: the slash" "'backup name \"ab\" has' in err and \"'/' at position 3\" in err and 'BackupRequest' not in err"
printf '{"id": "x y", "title": "T", "country": "Chad", "year": 2004}\n' >"$TMP/bad-id.json"
run 1 "put a report whose id has a blank" "$DOSSIER" put "$TMP/bad-id.json"
expect "put: the report's id" "\"the report's id \\\"x\\\" has a space at position 2\" in err and 'PutRequest' not in err"

# ---- changes: a word that is no year, a year with nothing before it ------
run 2 "changes abc" "$DOSSIER" changes abc
expect "changes abc: not a year" "\"'abc' is not a year\" in err and 'exactly one' not in err"
run 0 "changes 2004, nothing in 2003" "$DOSSIER" changes 2004
expect "changes: nothing to compare with" "'no records for 2003, the year before 2004' in err and 'different from the year before' not in err"
run 0 "changes 1999, nothing at all" "$DOSSIER" changes 1999
expect "changes: no records for the year" "'no records for 1999' in err"

# ---- JSON: field names, enum values as people write them ----------------
printf '{"id": "chad-2004", "title": "T", "country": "Chad", "yaer": 2004}\n' >"$TMP/yaer.json"
run 1 "put with a mistyped field" "$DOSSIER" put "$TMP/yaer.json"
expect "field: did you mean" "'yaer: no such field' in err and 'did you mean \"year\"?' in err"
printf '{"id": "chad-2004", "title": "T", "country": "Chad", "year": 2004, "tier": "Tier 9"}\n' >"$TMP/tier9.json"
run 1 "put with a tier that is none" "$DOSSIER" put "$TMP/tier9.json"
expect "tier: the values allowed" "'\"Tier 9\" is not a value' in err and 'use one of TIER_1, TIER_2, TIER_2_WATCH_LIST, TIER_3, SPECIAL_CASE' in err"
printf '{"id": "chad-2004", "title": "T", "country": "Chad", "year": 2004, "tier": "Tier 2 Watch List"}\n' >"$TMP/tier2wl.json"
run 0 "put with a tier as written" "$DOSSIER" put "$TMP/tier2wl.json"
run 0 "get it back" "$DOSSIER" get --json chad-2004
expect "the tier as the display name said" "js[0]['tier'] == 'TIER_2_WATCH_LIST'"

printf '{"id": "jl-1", "title": "one"}\n{"id": "jl-2", "title": "two"}\n{"id": "jl-3", "ti\n' >"$TMP/bad.jsonl"
run 1 "import --json of a broken line" "$DOSSIER" import --json "$TMP/bad.jsonl"
expect "one line number, and the column" "'bad.jsonl:3: invalid JSON at column' in err and 'at line 1' not in err"

run 0 "import -v" "$DOSSIER" import -v "$FIXTURES/tip2010-sweden-noauthor.txt"
expect "import -v: sizes in units" "'requests of up to 16 MiB: batches of at most ' in err and 'MiB' in err.split('batches of at most ')[1].split(chr(10))[0]"
run 0 "import --help" "$DOSSIER" import --help
expect "import --help: one batch default" "(lambda ds: len(ds) >= 2 and len(set(ds)) == 1)(__import__('re').findall(r'default\s+(\d+)', out))"

# ---- docs/PROTOCOL.md: Put derives country_code from a known country ------
printf '{"id": "civ-put", "title": "T", "country": "Ivory Coast", "year": 2004}\n' >"$TMP/civ.json"
run 0 "put a report with a country variant" "$DOSSIER" put "$TMP/civ.json"
run 0 "get it" "$DOSSIER" get --json civ-put
expect "Put filled in the code, as PROTOCOL.md says" "js[0]['countryCode'] == 'CIV'"
run 0 "PROTOCOL.md says so" grep -q "Put\` fills in its ISO 3166-1 alpha-3" "$SRC/docs/PROTOCOL.md"

# ---- config files and dossierd's flags ----------------------------------
D=$BIN_DIR/dossierd
printf 'server\n    worker = 3\n' >"$TMP/worker.conf"
run 2 "dossierd: a mistyped setting" "$D" --config "$TMP/worker.conf"
expect "setting: did you mean" "'unknown setting server/worker; did you mean workers?' in err"
run 2 "dossierd --wokers" "$D" --wokers 3
expect "flag: did you mean" "'unknown option --wokers; did you mean --workers?' in err"
run 2 "dossierd --workers without a value" "$D" --workers
expect "flag: missing value" "'--workers needs a value' in err"
printf 'server\n    workers = 3\n  bind = tcp://127.0.0.1:*\n' >"$TMP/indent.conf"
run 2 "dossierd: a badly indented line" "$D" --config "$TMP/indent.conf"
expect "indentation: the line and the rule, no czmq line" "'line 3: it is indented by 2 spaces' in err and '(zconfig)' not in err + out"
printf 'server\n    wor!kers = 3\n' >"$TMP/syntax.conf"
run 2 "dossierd: a line czmq cannot parse" "$D" --config "$TMP/syntax.conf"
expect "syntax: our message only" "'is not valid zconfig' in err and '(zconfig)' not in err + out"

mkdir -p "$TMP/xdg/dossier"
printf 'client\n    sever = %s\n' "$EP" >"$TMP/xdg/dossier/config"
run 2 "client config: a mistyped key" env XDG_CONFIG_HOME="$TMP/xdg" "$DOSSIER" health
expect "client key: did you mean" "'unknown setting client/sever; did you mean server?' in err"
printf 'client\n\tserver = %s\n' "$EP" >"$TMP/xdg/dossier/config"
run 2 "client config: a tab" env XDG_CONFIG_HOME="$TMP/xdg" "$DOSSIER" health
expect "client config: the line and the rule" "'config: line 2: a tab in its indentation' in err"
printf 'client\n    ser!ver = %s\n' "$EP" >"$TMP/xdg/dossier/config"
run 2 "client config: czmq cannot parse it" env XDG_CONFIG_HOME="$TMP/xdg" "$DOSSIER" health
expect "client syntax: our message only" "'not a zconfig file' in err and '(zconfig)' not in err + out"
printf 'client\n    server = %s\n' "$EP" >"$TMP/xdg/dossier/config"
run 0 "client config: a good one" env -u DOSSIER_SERVER XDG_CONFIG_HOME="$TMP/xdg" "$DOSSIER" health

finish "$TMP/data.log"
