#!/bin/bash
# test_token_cli.sh: `dossier token create|list|revoke` against a dossierd
# with CURVE started here (root an admin, alice a writer, gw a gateway
# made by `dossier keygen --role gateway`).
#
# create prints the token alone (one line, its shape) on stdout and the
# shown-once note on stderr; list shows id, name, role, created, expires
# and status (active, revoked), and --json one Token per line with no
# secret; revoke answers and the token shows revoked; the exit codes: 0
# done, 1 refused (a writer, an unknown id, a bad role), 2 usage, 3 no
# server. Prints "N passed, M failed"; exits 1 on any failure.
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=token-cli
. "$HERE/../support/clitest.sh"

K=$TMP/keys
U=$TMP/users
mkdir -p "$K" "$U"
"$DOSSIER" keygen server --dir "$K" >/dev/null || exit 1
for spec in root:admin alice:writer gw:gateway; do
    "$DOSSIER" keygen "${spec%%:*}" --role "${spec#*:}" --dir "$K" \
        >/dev/null || exit 1
    cp "$K/${spec%%:*}.key" "$U/"
done
run 0 "keygen --role gateway writes the role" grep -q 'role = "gateway"' "$U/gw.key"
run 2 "keygen --role bogus" "$DOSSIER" keygen x --role bogus --dir "$TMP"

start_server data --curve-key "$K/server.key_secret" --users "$U"
export DOSSIER_SERVER=$EP DOSSIER_SERVER_KEY=$K/server.key
as() {
    local user=$1
    shift
    DOSSIER_KEY=$K/$user.key_secret "$DOSSIER" "$@"
}

# ---- create ----------------------------------------------------------
run 0 "token create" as root token create web-writer --role writer
expect "create: stdout is the token alone, one line" \
    "__import__('re').fullmatch(r'dossier_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\n', out)"
expect "create: the note on stderr" "'shown this once' in err and 'role writer' in err"
TOKEN=$(cat "$TMP/out")
ID=$(echo "$TOKEN" | cut -c9-20)
run 0 "token create --expires" as root token create brief --expires 2
expect "create --expires: one line" "len(out.splitlines()) == 1"
expect "create --expires: says when" "'expires 20' in err"
run 0 "token create --json" as root token create scripted --json
expect "create --json: the response" \
    "len(js) == 1 and js[0]['secret'].startswith('dossier_') and js[0]['token']['role'] == 'reader'"
run 1 "a writer may not create" as alice token create sneaky
expect "refusal names the role" "'PERMISSION_DENIED' in err and 'admin' in err"
run 1 "a gateway alone may not create" as gw token create sneaky
run 1 "unknown role" as root token create x --role superuser
expect "unknown role: said" "'INVALID_ARGUMENT' in err and 'superuser' in err"
run 2 "create without a name" as root token create
run 2 "create with two names" as root token create a b
run 2 "--expires 0" as root token create x --expires 0
run 2 "--expires words" as root token create x --expires soon

# ---- list ------------------------------------------------------------
run 0 "token list" as root token list
expect "list: the header" \
    "out.splitlines()[0].split() == ['ID', 'NAME', 'ROLE', 'CREATED', 'EXPIRES', 'STATUS']"
expect "list: web-writer active, never expires" \
    "any(l.split()[:3] == ['$ID', 'web-writer', 'writer'] and l.split()[-2:] == ['never', 'active'] for l in out.splitlines())"
expect "list: brief expires" \
    "any(l.split()[1] == 'brief' and l.split()[-2] != 'never' for l in out.splitlines()[1:])"
expect "list: no secret" "'$TOKEN'[21:] not in out"
run 0 "token list --json" as root token list --json
expect "list --json: a Token per line, no secret" \
    "len(js) == 3 and all('secret' not in t for t in js) and {t['name'] for t in js} == {'web-writer', 'brief', 'scripted'}"
run 1 "a writer may not list" as alice token list
run 2 "list takes no argument" as root token list extra

# ---- revoke ----------------------------------------------------------
run 0 "token revoke" as root token revoke "$ID"
expect "revoke: says so" "out.startswith('revoked token $ID (web-writer) at 20')"
run 0 "token revoke again" as root token revoke "$ID"
run 0 "token list after revoke" as root token list
expect "list: web-writer revoked" \
    "any(l.split()[0] == '$ID' and l.split()[-1] == 'revoked' for l in out.splitlines())"
run 1 "revoke an unknown id" as root token revoke 000000000000
expect "unknown id: NOT_FOUND" "'NOT_FOUND' in err"
run 1 "a writer may not revoke" as alice token revoke "$ID"
run 2 "revoke without an id" as root token revoke

# ---- the verb itself -------------------------------------------------
run 2 "token alone" as root token
expect "token alone: names the subcommands" "'create, list or revoke' in err"
run 2 "unknown subcommand" as root token rotate
run 0 "token --help" as root token --help
expect "token --help: the three" "'token create' in out and 'token list' in out and 'token revoke' in out"
run 0 "token create --help" as root token create --help
expect "create --help: the options" "'--role' in out and '--expires DAYS' in out"
run 0 "dossier --help lists token" "$DOSSIER" --help
expect "dossier --help: token" "any(l.split()[:1] == ['token'] for l in out.splitlines())"
run 0 "audit names the token" as root audit --method CreateToken
expect "audit: the id, no secret" "'$ID' in out and '$TOKEN'[21:] not in out"

# ---- no server -------------------------------------------------------
hold_dead_port
run 3 "no server" as root -s "tcp://127.0.0.1:$DEAD_PORT" --timeout 300 token list

finish "$TMP/data.log"
