#!/bin/bash
# test_readme.sh: the command blocks of README.md and of
# client/python/README.md, run as a reader would run them, so that the
# docs cannot drift from the programs (issue 21).
#
# Each ```sh block runs under `bash -e -o pipefail` (any failing command
# fails the test), each ```python block under /usr/bin/python3, in README
# order, in a scratch directory that looks like the source tree (deploy/,
# client/ and build/ link to the real ones), against a dossierd started
# here, with a dossier-gateway in front of it: DOSSIER_SERVER names it,
# and the default endpoints written in a block (tcp://127.0.0.1:7531,
# http://127.0.0.1:8080) are replaced by theirs. EDITOR=true
# stands in for a person at `dossier edit`. A block whose first line is
# "# not run by test_readme: WHY" (or "// ...") is skipped (and must say why); the ```c
# block is test_readme_c.sh's. Prints "N passed, M failed".
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=readme
. "$HERE/../support/clitest.sh"
SRC=${DOSSIER_SOURCE_DIR:-$HERE/../..}
BUILD=$(cd "$BIN_DIR/.." && pwd)

start_server data
start_gateway gateway
WORK=$TMP/work
mkdir -p "$WORK" "$TMP/home"
ln -s "$SRC/deploy" "$WORK/deploy"
ln -s "$SRC/client" "$WORK/client"
ln -s "$BUILD" "$WORK/build"

# Splits the READMEs into $TMP/blocks/FILE-NN.LANG (skipped ones as
# .skip), in the order given.
"$PY" - "$TMP/blocks" "$EP" "$GW" "$SRC/README.md" "$SRC/client/python/README.md" <<'PYEOF'
import os, re, sys
out, endpoint, gateway = sys.argv[1:4]
os.makedirs(out)
blocks = []
for f, readme in enumerate(sys.argv[4:]):
    found = re.findall(r"^```(\w+)\n(.*?)^```", open(readme).read(),
                       re.S | re.M)
    blocks += [("%d-%02d" % (f, n), lang, body)
               for n, (lang, body) in enumerate(found)]
for n, lang, body in blocks:
    first = body.splitlines()[0] if body.strip() else ""
    if first.startswith(("# not run by test_readme:",
                         "// not run by test_readme:")):
        if len(first.split(":", 1)[1].strip()) < 5:
            sys.exit("block %s is skipped without saying why" % n)
        lang = "skip"
    body = body.replace("tcp://127.0.0.1:7531", endpoint)
    body = body.replace("http://127.0.0.1:8080", gateway)
    open(os.path.join(out, "%s.%s" % (n, lang)), "w").write(body)
PYEOF

ran=0
for block in "$TMP"/blocks/*; do
    name=$(basename "$block")
    case "$name" in
    *.sh)
        run 0 "README block $name (sh)" env -C "$WORK" HOME="$TMP/home" \
            DOSSIER_SERVER="$EP" EDITOR=true bash -e -o pipefail "$block"
        ran=$((ran + 1))
        ;;
    *.python)
        run 0 "README block $name (python)" env -C "$WORK" HOME="$TMP/home" \
            "$PY" "$block"
        ran=$((ran + 1))
        ;;
    *.skip | *.c) ;;
    *)
        bad "README block $name: a language this test cannot run; mark it" \
            "'# not run by test_readme: WHY'"
        ;;
    esac
done
# README.md's tour and Python example, the Python README's example.
if [ "$ran" -ge 3 ]; then ok; else bad "ran $ran README blocks, want 3 or more"; fi

finish "$TMP/data.log"
