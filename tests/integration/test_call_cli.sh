#!/bin/bash
# test_call_cli.sh: `dossier call` and `dossier describe METHOD` against
# a dossierd started here. call takes its request and reply types from
# the server's Describe (common/dynpb.h), not from the CLI's compiled
# descriptors: Put, Get, List and Search in JSON (argument and stdin),
# a mistyped method (exit 2, with a suggestion), bad JSON (exit 2), a
# server refusal (NOT_FOUND: exit 1, as the other verbs), and describe
# Get's fields and options. Prints "N passed, M failed"; exits 1 on any
# failure.
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=call-cli
. "$HERE/../support/clitest.sh"

start_server data
export DOSSIER_SERVER=$EP

run 0 "call --help" "$DOSSIER" call --help
expect "call --help on stdout" "out.startswith('usage: dossier call') and err == ''"
run 0 "dossier --help lists call" "$DOSSIER" --help
expect "call in the verb list" "'  call ' in out"
run 2 "call without a method" "$DOSSIER" call
run 2 "call with three operands" "$DOSSIER" call Get '{}' extra

# ---- Put, Get, List, Search ------------------------------------------
run 0 "call Put" "$DOSSIER" --json call Put '{"report": {"id": "call-1",
  "title": "Azerbaijan report", "country": "Azerbaijan", "countryCode": "AZE",
  "year": 2004, "tier": "TIER_2_WATCH_LIST",
  "body": ["Azerbaijan is a source of trafficked caviar smugglers."]},
  "create_only": true}'
expect "Put reply" "js == [{'id': 'call-1', 'version': '1', 'created': True}]"

run 0 "call Get" "$DOSSIER" --json call Get '{"id": "call-1"}'
expect "Get reply: every field as stored" "len(js) == 1 and js[0]['id'] == 'call-1' and js[0]['tier'] == 'TIER_2_WATCH_LIST' and js[0]['year'] == 2004 and js[0]['version'] == '1' and js[0]['body'] == ['Azerbaijan is a source of trafficked caviar smugglers.'] and js[0]['countryCode'] == 'AZE'"
# Without --json: the same reply, indented.
run 0 "call Get, indented" "$DOSSIER" call dossier.v1.Reports/Get '{"id": "call-1"}'
expect "indented JSON" "out.startswith('{\n  \"id\": \"call-1\"') and json.loads(out)['title'] == 'Azerbaijan report'"

echo '{"filter": {"country": "AZE"}, "pageSize": 10}' >"$TMP/list.json"
run 0 "call List (stdin)" "$DOSSIER" --json call List <"$TMP/list.json"
expect "List reply" "len(js) == 1 and [r['id'] for r in js[0]['reports']] == ['call-1'] and 'body' not in js[0]['reports'][0]"
run 0 "call List (- is stdin)" "$DOSSIER" --json call Reports/List - <"$TMP/list.json"
expect "List reply again" "[r['id'] for r in js[0]['reports']] == ['call-1']"

run 0 "call Search" "$DOSSIER" --json call Search '{"query": "caviar", "facets": true}'
expect "Search reply" "js[0]['totalHits'] == '1' and js[0]['hits'][0]['report']['id'] == 'call-1' and '[' in js[0]['hits'][0]['snippet'] and any(f['field'] == 'tier' for f in js[0]['facets'])"

# The reply agrees with the compiled verb's.
run 0 "get --json" "$DOSSIER" get --json call-1
cp "$TMP/out" "$TMP/get.out"
run 0 "call Get --json again" "$DOSSIER" --json call Get '{"id": "call-1"}'
if cmp -s "$TMP/out" "$TMP/get.out"; then ok; else bad "call Get and get --json print different JSON"; fi

# ---- errors ----------------------------------------------------------
run 1 "call Get of a missing id" "$DOSSIER" call Get '{"id": "no-such"}'
expect "NOT_FOUND as the other verbs say it" "err.startswith('dossier: no report no-such') and err.rstrip().endswith('(NOT_FOUND)') and out == ''"
run 1 "call Put create_only again" "$DOSSIER" call Put '{"report": {"id": "call-1"}, "createOnly": true}'
expect "ALREADY_EXISTS" "err.startswith('dossier: ') and err.rstrip().endswith('(ALREADY_EXISTS)')"
run 2 "call a mistyped method" "$DOSSIER" call Gett '{"id": "call-1"}'
expect "suggestion" "\"no method 'Gett'; did you mean 'Get'?\" in err and out == ''"
run 2 "call an unknown method" "$DOSSIER" call Frobnicate '{}'
expect "no suggestion" "\"no method 'Frobnicate'\" in err and 'dossier describe' in err"
run 2 "call with bad JSON" "$DOSSIER" call Get '{"id": '
expect "bad JSON" "'the request is not a dossier.v1.GetRequest' in err and out == ''"
run 2 "call with an unknown field" "$DOSSIER" call Get '{"idd": "x"}'
expect "unknown field" "'no such field' in err and 'idd' in err"
run 2 "call with a wrong type" "$DOSSIER" call List '{"pageSize": "many"}'
expect "wrong type named" "'pageSize' in err"
run 2 "call with bad JSON on stdin" "$DOSSIER" call Get </dev/null
run 1 "call Get: the server's INVALID_ARGUMENT" "$DOSSIER" call Get '{}'
expect "server refusal" "err.startswith('dossier: ') and err.rstrip().endswith('(INVALID_ARGUMENT)')"
hold_dead_port
run 3 "call an unreachable server" "$DOSSIER" --timeout 300 -s "tcp://127.0.0.1:$DEAD_PORT" call Get '{"id": "x"}'

# ---- describe METHOD -------------------------------------------------
run 0 "describe" "$DOSSIER" describe
expect "the listing is kept" "'dossier.v1.Reports' in out and 'Get' in out and 'GetRequest -> Report' in out"
run 0 "describe Get" "$DOSSIER" describe Get
expect "describe Get: the method and its options" "out.startswith('rpc dossier.v1.Reports/Get(dossier.v1.GetRequest) returns (dossier.v1.Report)\n') and 'option idempotency_level = NO_SIDE_EFFECTS;' in out and 'option (dossier.v1.required_role) = ROLE_READER;' in out"
expect "describe Get: the request's fields" "'message dossier.v1.GetRequest {\n  string id = 1;\n  uint64 version = 2;\n}' in out"
expect "describe Get: the reply's fields, enum values" "'  repeated string body = 14;' in out and '  dossier.v1.Tier tier = 12;' in out and '  uint64 version = 17;' in out and 'enum dossier.v1.Tier {' in out and '  TIER_2_WATCH_LIST = 3;' in out"
run 0 "describe Search" "$DOSSIER" describe Search
expect "nested messages shown once" "out.count('message dossier.v1.Report {') == 1 and 'message dossier.v1.SearchHit {' in out and '  repeated dossier.v1.Facet facets = 4;' in out and 'enum dossier.v1.SearchOrder {' in out"
run 0 "describe Put" "$DOSSIER" describe Reports/Put
expect "describe Put: a writer's IDEMPOTENT method" "'option idempotency_level = IDEMPOTENT;' in out and 'ROLE_WRITER' in out"
run 2 "describe a mistyped method" "$DOSSIER" describe Serch
expect "describe suggests" "\"did you mean 'Search'?\" in err"
run 2 "describe --json METHOD" "$DOSSIER" describe --json Get

finish "$TMP/data.log"
