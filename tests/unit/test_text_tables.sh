#!/bin/bash
# test_text_tables.sh: common/text_tables.h is what common/gen_text_tables.py
# writes from the Unicode data installed here (Debian's unicode-data), byte
# for byte: the checked-in tables have not been edited by hand and still
# match their generator. A new unicode-data release fails this test on
# purpose (the header names the version): regenerate, and read the diff
# before committing, since the full-text index on disk depends on the
# tables. Exits 1 on a difference or a missing input.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
UCD=/usr/share/unicode
if [ ! -r "$UCD/UnicodeData.txt" ]; then
    echo "test_text_tables: no $UCD/UnicodeData.txt;" \
        "install unicode-data (deploy/install-deps.sh)" >&2
    exit 1
fi
TMP=$(mktemp -d /tmp/dossier-text-tables-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

if ! /usr/bin/python3 "$ROOT/common/gen_text_tables.py" --ucd "$UCD" \
    -o "$TMP/text_tables.h"; then
    echo "test_text_tables: the generator failed" >&2
    exit 1
fi
if ! cmp "$ROOT/common/text_tables.h" "$TMP/text_tables.h"; then
    diff -u "$ROOT/common/text_tables.h" "$TMP/text_tables.h" | head -40
    echo "test_text_tables: common/text_tables.h differs from what" \
        "common/gen_text_tables.py writes from $UCD" >&2
    exit 1
fi
echo "test_text_tables: common/text_tables.h matches its generator"
