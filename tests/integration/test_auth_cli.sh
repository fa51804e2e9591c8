#!/bin/bash
# test_auth_cli.sh: `dossier keygen`, `dossier whoami` and where the CLI
# finds its CURVE keys (flags > environment > ~/.config/dossier/config),
# against a dossierd with CURVE started here on a free loopback port.
# Prints "N passed, M failed"; exits 1 on any failure.
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=auth-cli
. "$HERE/../support/clitest.sh"

# has NAME FILE TEXT: FILE contains TEXT.
has() {
    if grep -qF -- "$3" "$2"; then
        pass=$((pass + 1))
    else
        bad "$1: '$3' not in $2"
    fi
}

# ---- keygen ----
K=$TMP/keys
U=$TMP/users
mkdir -p "$K" "$U"
run 0 "keygen server" "$DOSSIER" keygen server --dir "$K"
run 0 "keygen alice" "$DOSSIER" keygen alice --dir "$K"
has "keygen prints the key" "$TMP/out" "public key "
# A --dir that does not exist yet is made, private: it holds a secret.
run 0 "keygen into a new dir" "$DOSSIER" keygen carol --dir "$TMP/new/keys"
if [ "$(stat -c %a "$TMP/new/keys")" = 700 ] && [ -f "$TMP/new/keys/carol.key_secret" ]; then
    pass=$((pass + 1))
else
    bad "keygen into a new dir: $TMP/new/keys is not a 0700 directory with the key"
fi
run 1 "keygen into a file" "$DOSSIER" keygen dave --dir "$TMP/new/keys/carol.key"
run 0 "keygen bob" "$DOSSIER" keygen bob --role writer --dir "$K"
run 0 "keygen root" "$DOSSIER" keygen root --role admin --dir "$K"
mode=$(stat -c %a "$K/alice.key_secret")
if [ "$mode" = 600 ]; then pass=$((pass + 1)); else bad "secret mode $mode, want 600"; fi
has "public has name" "$K/bob.key" 'name = "bob"'
has "public has role" "$K/bob.key" 'role = "writer"'
has "default role reader" "$K/alice.key" 'role = "reader"'
if grep -q secret-key "$K/bob.key"; then bad "public file holds the secret key"; else pass=$((pass + 1)); fi
has "secret file has it" "$K/bob.key_secret" "secret-key = "
run 1 "keygen refuses to overwrite" "$DOSSIER" keygen alice --dir "$K"
has "says --force" "$TMP/err" "--force"
run 2 "keygen bad role" "$DOSSIER" keygen carol --role root --dir "$K"
run 2 "keygen bad name" "$DOSSIER" keygen ../evil --dir "$K"
run 2 "keygen no name" "$DOSSIER" keygen --dir "$K"
# A link where the secret goes (dangling, to a file of someone else's
# choosing) is never written through: refused without --force, replaced
# by a file of its own with it.
target=$TMP/elsewhere/stolen
mkdir -p "$TMP/elsewhere"
ln -s "$target" "$K/erin.key_secret"
run 1 "keygen refuses a dangling link" "$DOSSIER" keygen erin --dir "$K"
if [ -e "$target" ]; then bad "keygen wrote through a dangling link"; else pass=$((pass + 1)); fi
run 0 "keygen --force over a link" "$DOSSIER" keygen erin --force --dir "$K"
if [ -e "$target" ] || [ -L "$K/erin.key_secret" ] ||
    [ "$(stat -c %a "$K/erin.key_secret")" != 600 ]; then
    bad "keygen --force: wrote through the link, or left it, or mode not 600"
else
    pass=$((pass + 1))
fi
# --force over a secret someone made readable: the new one is a new file,
# 0600 from birth (never the old one rewritten in place).
chmod 0644 "$K/erin.key_secret"
before=$(stat -c %i "$K/erin.key_secret")
run 0 "keygen --force over a 0644 secret" "$DOSSIER" keygen erin --force --dir "$K"
if [ "$(stat -c %i "$K/erin.key_secret")" = "$before" ] ||
    [ "$(stat -c %a "$K/erin.key_secret")" != 600 ]; then
    bad "keygen --force rewrote the old secret in place, or not 0600"
else
    pass=$((pass + 1))
fi
if ls -A "$K" | grep -q '^\.keygen-'; then bad "keygen left its work directory"; else pass=$((pass + 1)); fi
cp "$K/alice.key" "$K/bob.key" "$K/root.key" "$U/"

# ---- a server with CURVE ----
"$BIN_DIR/dossierd" --data "$TMP/data" --bind 'tcp://127.0.0.1:*' \
    --curve-key "$K/server.key_secret" --users "$U" 2>"$TMP/server.log" &
SERVER=$!
PIDS="$PIDS $SERVER"
watch_server "$SERVER" "$TMP/server.log"
EP=
for _ in $(seq 1 100); do
    if [ -s "$TMP/data/dossierd.pid" ]; then
        EP=$(sed -n 2p "$TMP/data/dossierd.pid")
        [ -n "$EP" ] && break
    fi
    sleep 0.05
done
if [ -z "$EP" ]; then
    echo "FAIL: dossierd did not start"; cat "$TMP/server.log"; exit 1
fi
has "log names the mode" "$TMP/server.log" "security: CURVE, 3 users from $U"
SK=$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$K/server.key")

run 0 "whoami with flags" "$DOSSIER" -s "$EP" --server-key "$K/server.key" --key "$K/alice.key_secret" whoami
has "whoami name" "$TMP/out" "alice"
has "whoami role" "$TMP/out" "reader"
run 0 "whoami Z85 server key, flags after the verb" "$DOSSIER" whoami -s "$EP" --server-key "$SK" --key "$K/bob.key_secret" --json
has "whoami json" "$TMP/out" '"role":"writer"'
run 0 "whoami from env" env DOSSIER_SERVER="$EP" DOSSIER_SERVER_KEY="$SK" DOSSIER_KEY="$K/root.key_secret" "$DOSSIER" whoami
has "env user" "$TMP/out" "root"
# The config file, under XDG_CONFIG_HOME.
mkdir -p "$TMP/xdg/dossier"
printf 'client\n    server = %s\n    server_key = %s\n    key = %s\n' \
    "$EP" "$K/server.key" "$K/alice.key_secret" >"$TMP/xdg/dossier/config"
run 0 "whoami from config file" env XDG_CONFIG_HOME="$TMP/xdg" "$DOSSIER" whoami
has "file user" "$TMP/out" "alice"
run 0 "env beats file" env XDG_CONFIG_HOME="$TMP/xdg" DOSSIER_KEY="$K/bob.key_secret" "$DOSSIER" whoami
has "env user over file" "$TMP/out" "bob"
run 0 "flag beats env" env XDG_CONFIG_HOME="$TMP/xdg" DOSSIER_KEY="$K/bob.key_secret" "$DOSSIER" --key "$K/root.key_secret" whoami
has "flag user over env" "$TMP/out" "root"

# Roles through the CLI.
printf '{"id":"cli-auth-1","title":"T","country":"Atlantis","year":2020}\n' >"$TMP/r.json"
run 1 "reader cannot put" env XDG_CONFIG_HOME="$TMP/xdg" "$DOSSIER" put "$TMP/r.json"
has "denial names the role" "$TMP/err" "dossier: method dossier.v1.Reports/Put needs role writer; alice has role reader (PERMISSION_DENIED)"
run 0 "writer can put" env XDG_CONFIG_HOME="$TMP/xdg" "$DOSSIER" --key "$K/bob.key_secret" put "$TMP/r.json"
run 0 "get shows the writer" env XDG_CONFIG_HOME="$TMP/xdg" "$DOSSIER" get --json cli-auth-1
has "created_by" "$TMP/out" '"createdBy":"bob"'

# Mistakes.
# (czmq reads NAME.key_secret when it sits beside NAME.key, so a lone copy.)
mkdir -p "$TMP/lone" && cp "$K/alice.key" "$TMP/lone/"
run 2 "public certificate as --key" "$DOSSIER" -s "$EP" --server-key "$SK" --key "$TMP/lone/alice.key" whoami
has "says secret" "$TMP/err" "no secret key"
run 2 "only one key" "$DOSSIER" -s "$EP" --key "$K/alice.key_secret" whoami
run 2 "missing key file" "$DOSSIER" -s "$EP" --server-key "$SK" --key "$TMP/nope" whoami
run 3 "no CURVE: unreachable" "$DOSSIER" -s "$EP" --timeout 500 whoami
"$DOSSIER" keygen mallory --dir "$TMP" >/dev/null
run 1 "unknown key: refused" "$DOSSIER" -s "$EP" --server-key "$SK" --key "$TMP/mallory.key_secret" --timeout 1000 whoami
has "unauthenticated" "$TMP/err" "UNAUTHENTICATED"

stop_server "$SERVER"
PIDS=
if grep -q ' ERROR ' "$TMP/server.log"; then bad "server logged an error"; cat "$TMP/server.log"; else pass=$((pass + 1)); fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
