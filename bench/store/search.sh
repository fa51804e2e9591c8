#!/bin/bash
# search.sh: runs dossier-bench-search and the SQLite FTS5 baseline on the
# same synthetic corpus and queries, and prints each figure with its ratio
# to FTS5 (for latencies: FTS5 time / Dossier time, so 3.0 means Dossier is
# three times faster; for load rate: Dossier / FTS5; for index size:
# Dossier / FTS5, so below 1.0 means smaller). The right-hand columns give
# the same figures in CPU time (per query; for the load, the CPU seconds,
# ratio FTS5 / Dossier): CPU time far below wall time means the process
# was waiting, for the disk or for a busy machine's other processes.
#
# Usage: bench/store/search.sh [DOCS] [BUILD_DIR]
#   DOCS       number of reports (default 4000)
#   BUILD_DIR  a configured build directory (default build-bench, created
#              with -DCMAKE_BUILD_TYPE=Release)
# Environment: ROUNDS (default 5), BATCH (default 1000), SEED.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
docs=${1:-4000}
build=${2:-$root/build-bench}
rounds=${ROUNDS:-5}
batch=${BATCH:-1000}
seed=${SEED:-20260101}

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target dossier-bench-search >/dev/null

work=$(mktemp -d /tmp/dossier-search-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/store" "$work/fts5"

"$build/bin/dossier-bench-search" --docs "$docs" --seed "$seed" \
    --batch "$batch" --rounds "$rounds" --dir "$work/store" \
    --corpus "$work/corpus.jsonl" --queries "$work/queries.tsv" \
    >"$work/dossier.txt"
/usr/bin/python3 "$here/fts5_baseline.py" "$work/corpus.jsonl" \
    "$work/queries.tsv" --batch "$batch" --rounds "$rounds" \
    --dir "$work/fts5" >"$work/fts5.txt"

/usr/bin/python3 - "$work/dossier.txt" "$work/fts5.txt" <<'PY'
import sys
def read(path):
    out = {}
    for line in open(path):
        k, v = line.split(None, 1)
        out[k] = v.strip()
    return out
d, f = read(sys.argv[1]), read(sys.argv[2])
print("docs: %s (%.1f MB of text)" % (d["docs"], int(d["text_bytes"]) / 1e6))
print("%-22s %11s %11s %7s   %11s %11s %7s" % (
    "figure", "dossier", "fts5", "ratio", "dossier cpu", "fts5 cpu",
    "ratio"))
# phrase_estimated: the phrases with estimate_total_hits set; FTS5 runs
# them once (as "phrase"), so both Dossier rows compare with that.
kinds = ["one_term", "three_terms", "phrase", "phrase_estimated", "excluded",
         "filtered"]
for kind in kinds:
    fkind = "phrase" if kind == "phrase_estimated" else kind
    for p in ["p50", "p99"]:
        k = "%s_%s_ms" % (kind, p)
        c = "%s_%s_cpu_ms" % (kind, p)
        dv, fv = float(d[k]), float(f["%s_%s_ms" % (fkind, p)])
        dc, fc = float(d[c]), float(f["%s_%s_cpu_ms" % (fkind, p)])
        print("%-22s %9.3fms %9.3fms %6.1fx   %9.3fms %9.3fms %6.1fx" % (
            k[:-3], dv, fv, fv / dv, dc, fc, fc / max(dc, 1e-6)))
dv, fv = float(d["load_docs_per_second"]), float(f["load_docs_per_second"])
dc, fc = float(d["load_cpu_seconds"]), float(f["load_cpu_seconds"])
print("%-22s %9.0f/s %9.0f/s %6.2fx   %10.1fs %10.1fs %6.2fx" % (
    "load rate", dv, fv, dv / fv, dc, fc, fc / dc))
dv, fv = int(d["index_bytes"]), int(f["index_bytes"])
print("%-22s %9.1fMB %9.1fMB %6.2fx" % ("index size", dv / 1e6, fv / 1e6,
                                        dv / fv))
dv, fv = int(d["store_bytes"]), int(f["store_bytes"])
print("%-22s %9.1fMB %9.1fMB %6.2fx" % ("whole store", dv / 1e6, fv / 1e6,
                                        dv / fv))
for kind in kinds:
    print("%s average total_hits (dossier): %s" % (kind,
          d[kind + "_avg_total_hits"]))
k = "phrase_estimated"
print("%s: %s of 40 queries estimated; estimate - exact: %s%% on average, "
      "%s%% in absolute value; queries whose hits differ from the exact "
      "path's: %s" % (k, d[k + "_estimated_queries"], d[k + "_error_pct"],
                      d[k + "_abs_error_pct"], d[k + "_hits_differ"]))
PY
