#!/usr/bin/env bash
# web/countries.js (the country names the search page completes) is what
# web/gen_countries.py writes from common/country.c, the server's table:
# a country added there and not regenerated here fails.
set -euo pipefail
root=${DOSSIER_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! diff -u "$root/web/countries.js" \
        <(/usr/bin/python3 "$root/web/gen_countries.py"); then
    echo "web/countries.js is stale: run" \
        "/usr/bin/python3 web/gen_countries.py > web/countries.js" >&2
    exit 1
fi
echo "web/countries.js matches common/country.c"
