#!/bin/bash
# search_callgrind.sh: instructions per search, by query kind, under
# valgrind's callgrind: repeatable on a busy machine, where wall and CPU
# times are not. Runs dossier-bench-search --rounds 1 (the same corpus and
# queries as search.sh) with collection only inside store_search and a
# profile dumped after each call, then prints each kind's mean and median
# instructions over its timed round (40 queries; the warm-up round is
# left out).
#
# Usage: bench/store/search_callgrind.sh [DOCS] [BUILD_DIR]
#   DOCS       number of reports (default 4000)
#   BUILD_DIR  a configured build directory (default build)
# To compare two commits, build each and run this with each BUILD_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
docs=${1:-4000}
build=${2:-$root/build}
cmake --build "$build" -j2 --target dossier-bench-search >/dev/null
work=$(mktemp -d /tmp/dossier-search-callgrind-XXXXXX)
trap 'rm -rf "$work"' EXIT
valgrind --tool=callgrind --collect-atstart=no --toggle-collect=store_search \
    --dump-after=store_search --callgrind-out-file="$work/cg.out" \
    "$build/bin/dossier-bench-search" --docs "$docs" --rounds 1 \
    --dir "$work/store" >"$work/bench.txt" 2>"$work/valgrind.txt"
/usr/bin/python3 - "$work" <<'PY'
import glob, sys
work = sys.argv[1]
files = sorted(glob.glob(work + "/cg.out.*"),
               key=lambda f: int(f.rsplit(".", 1)[1]))
costs = []
for f in files:
    for line in open(f):
        if line.startswith("totals:") or line.startswith("summary:"):
            costs.append(int(line.split()[1]))
            break
# bench_search.c's order: each kind, warm-up round then one timed round
# of 40 queries; then each kind again with an estimated count.
base = ["one_term", "three_terms", "phrase", "excluded", "filtered"]
kinds = base + [k + "_estimated" for k in base]
if len(costs) != 80 * len(kinds):
    sys.exit("expected %d searches, profiled %d" % (80 * len(kinds),
                                                    len(costs)))
print("%-22s %12s %12s" % ("kind", "mean Ir", "median Ir"))
for i, k in enumerate(kinds):
    timed = sorted(costs[i * 80 + 40:(i + 1) * 80])
    print("%-22s %12.0f %12d" % (k, sum(timed) / len(timed),
                                 timed[len(timed) // 2]))
PY
