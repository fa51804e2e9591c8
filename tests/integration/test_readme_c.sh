#!/bin/bash
# test_readme_c.sh: the C library as its docs describe it (issue 21).
# Extracts the ```c block of README.md, builds it with nothing but
# `pkg-config --cflags --libs dossier` (from the build tree, then from a
# `cmake --install` into a temporary prefix) and runs it against a
# dossierd started here. The install must also hold the generated headers
# beside dossier.h, the man pages of dossier and dossierd (rendered by
# groff without a warning) and the document the systemd unit's
# Documentation= names. Prints "N passed, M failed".
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=readme-c
. "$HERE/../support/clitest.sh"
SRC=${DOSSIER_SOURCE_DIR:-$HERE/../..}
BUILD=$(cd "$BIN_DIR/.." && pwd)
FIXTURES=${DOSSIER_FIXTURE_DIR:-$HERE/../fixtures}/refworld

# The block, as the README shows it.
"$PY" - "$SRC/README.md" "$TMP/example.c" <<'PYEOF'
import re, sys
blocks = re.findall(r"^```c\n(.*?)^```", open(sys.argv[1]).read(), re.S | re.M)
if len(blocks) != 1:
    sys.exit("README.md has %d ```c blocks, want 1" % len(blocks))
open(sys.argv[2], "w").write(blocks[0])
PYEOF
if [ -s "$TMP/example.c" ]; then ok; else bad "no C example in README.md"; fi

# A sanitized build's library needs its runtime in the program too; that
# is the build's choice, not a flag the docs should have to mention.
EXTRA=
if ldd "$BUILD/lib/libdossier.so" | grep -q libasan; then
    EXTRA="-fsanitize=address,undefined"
fi

start_server data
run 0 "import the report the example reads" "$DOSSIER" -s "$EP" import "$FIXTURES/tip-2004-azerbaijan.txt"

# ---- from the build tree -------------------------------------------------
export PKG_CONFIG_PATH=$BUILD/lib/pkgconfig
run 0 "pkg-config from the build tree" pkg-config --cflags --libs dossier
FLAGS=$(cat "$TMP/out")
run 0 "build the example (build tree)" cc -Wall -Wextra -Werror $EXTRA "$TMP/example.c" $FLAGS -o "$TMP/example-build"
run 0 "run it (build tree)" "$TMP/example-build" "$EP"
expect "it prints the report, then the country's list" "out.splitlines()[0].startswith('tip-2004-aze: ') and '(2004)' in out.splitlines()[0] and '2004 tip-2004-aze' in out.splitlines()[1:]"

# ---- after cmake --install -------------------------------------------------
PREFIX=$TMP/prefix
run 0 "cmake --install" cmake --install "$BUILD" --prefix "$PREFIX"
PC=$(find "$PREFIX" -name dossier.pc | head -1)
if [ -n "$PC" ]; then ok; else bad "no dossier.pc installed"; fi
export PKG_CONFIG_PATH=$(dirname "$PC")
run 0 "pkg-config after install" pkg-config --cflags --libs dossier
FLAGS=$(cat "$TMP/out")
expect "flags name the install, not the build" "'$BUILD' not in out and '$PREFIX' in out"
for h in dossier.h status.h dossier/v1/report.pb-c.h dossier/v1/reports.pb-c.h dossier/v1/rpc.pb-c.h; do
    if [ -f "$PREFIX/include/dossier/$h" ]; then ok; else bad "not installed: include/dossier/$h"; fi
done
run 0 "build the example (installed)" cc -Wall -Wextra -Werror $EXTRA "$TMP/example.c" $FLAGS -o "$TMP/example-installed"
LIBDIR=$(pkg-config --variable=libdir dossier)
run 0 "run it (installed)" env LD_LIBRARY_PATH="$LIBDIR" "$TMP/example-installed" "$EP"
expect "the installed build prints the same" "'2004 tip-2004-aze' in out.splitlines()"
if ldd "$TMP/example-installed" | grep libdossier | grep -q "$BUILD"; then
    bad "the installed example links the build tree's library"
else
    ok
fi

for page in dossier dossierd; do
    man1=$PREFIX/share/man/man1/$page.1
    run 0 "man page $page.1 renders" groff -man -Tutf8 -ww "$man1"
    expect "$page.1: no warning, its help text inside" "err == '' and 'usage: $page' in out"
done
run 0 "dossier.1 has every verb" groff -man -Tutf8 "$PREFIX/share/man/man1/dossier.1"
expect "dossier.1 holds each verb's --help" "all(('usage: dossier %s' % v) in out for v in ['import', 'list', 'users', 'watch', 'audit'])"

# The unit says Documentation=file:///usr/local/share/doc/...: the same
# path under the prefix it was installed to.
doc=$(sed -n 's|^Documentation=file:///usr/local/||p' "$SRC/deploy/dossierd.service")
if [ -n "$doc" ] && [ -f "$PREFIX/$doc" ]; then ok; else bad "the unit's Documentation ($doc) is not installed"; fi

finish "$TMP/data.log"
