#!/bin/bash
# test_messages_curve.sh: what a person is told when keys are the
# problem (issue 21): no keys against a CURVE server, a key the server
# does not know yet (and `dossier users reload`, which fixes that), a
# watch that cannot subscribe (it ends, within --timeout, saying why),
# and `keygen server`, which makes the server's pair without a role.
# Starts its own dossierd with CURVE. Prints "N passed, M failed".
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=messages-curve
. "$HERE/../support/clitest.sh"

K=$TMP/keys
U=$TMP/users
mkdir -p "$K" "$U"
run 0 "keygen server" "$DOSSIER" keygen server --dir "$K"
expect "the server's pair: for clients and --curve-key" "'give it to the clients' in out and '--curve-key' in out and 'users directory,' not in out"
if grep -q '^ *role' "$K/server.key"; then bad "keygen server wrote a role"; else ok; fi
run 0 "keygen root" "$DOSSIER" keygen root --role admin --dir "$K"
expect "a user's pair: users directory, then reload" "'users directory' in out and 'dossier users reload' in out"
run 0 "keygen carol" "$DOSSIER" keygen carol --dir "$K"
run 2 "--for-server with a role" "$DOSSIER" keygen x --for-server --role admin --dir "$K"
cp "$K/root.key" "$U/"

# The feed binds a port the server picks; its log says which (it is
# bound before the pid file start_server waits for is written).
start_server data --curve-key "$K/server.key_secret" --users "$U" --feed 'tcp://127.0.0.1:*'
FEED=$(sed -n 's/.*change feed: publishing committed writes at \(tcp:[^ ]*\).*/\1/p' "$TMP/data.log")
[ -n "$FEED" ] || bad "the server's log names no change feed endpoint"
SK="$K/server.key"

run 3 "no keys against a CURVE server" "$DOSSIER" -s "$EP" --timeout 500 whoami
expect "no keys: the hint says to give them" "'no reply in 500 ms' in err and 'give --server-key' in err and err.index('cannot reach') < err.index('hint:')"
run 1 "carol, not yet in the users directory" "$DOSSIER" -s "$EP" --server-key "$SK" --key "$K/carol.key_secret" --timeout 2000 whoami
expect "unknown key: the hint says to reload" "'(UNAUTHENTICATED)' in err and 'dossier users reload' in err"
run 1 "watch with carol's key" "$DOSSIER" -s "$EP" --server-key "$SK" --key "$K/carol.key_secret" --timeout 3000 watch --feed "$FEED"
expect "watch ends: the feed refused the key" "'refused your key' in err and 'dossier users reload' in err"
cp "$K/carol.key" "$U/"
run 0 "users reload" "$DOSSIER" -s "$EP" --server-key "$SK" --key "$K/root.key_secret" users reload
expect "users reload says how many" "out == 'reloaded the users: 2 users\\n'"
run 0 "carol, after the reload" "$DOSSIER" -s "$EP" --server-key "$SK" --key "$K/carol.key_secret" whoami
expect "carol is a reader now" "'carol' in out and 'reader' in out"
run 1 "carol may not reload" "$DOSSIER" -s "$EP" --server-key "$SK" --key "$K/carol.key_secret" users reload
expect "reload needs admin" "'needs role admin' in err"
run 2 "users without reload" "$DOSSIER" users frobnicate
expect "users says what it does" "\"'frobnicate' is not something users does\" in err"

# A feed with nothing behind it: watch ends after --timeout, saying so.
hold_dead_port
NOFEED="tcp://127.0.0.1:$DEAD_PORT"
run 3 "watch a feed nobody serves" "$DOSSIER" --timeout 300 watch --feed "$NOFEED"
expect "watch: no answer within the timeout" "'no answer from the feed at $NOFEED within 300 ms' in err"

finish "$TMP/data.log"
