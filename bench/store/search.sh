#!/bin/bash
# search.sh: runs dossier-bench-search, the SQLite FTS5 baseline and the
# Xapian baseline (Debian's python3-xapian, default BM25) on the same
# synthetic corpus and queries, top 10, and prints each figure with its
# ratio to FTS5, then the same for Xapian (for latencies: FTS5 time / Dossier time, so 3.0 means Dossier is
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
# Before the figures, the engines' answers are compared query by query:
# each must match as many documents as Dossier for every query (else the
# script fails), and the share of Dossier's top 10 each returns is
# printed (the three rank with different BM25 variants).
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
mkdir "$work/store" "$work/fts5" "$work/xapian"

"$build/bin/dossier-bench-search" --docs "$docs" --seed "$seed" \
    --batch "$batch" --rounds "$rounds" --dir "$work/store" \
    --corpus "$work/corpus.jsonl" --queries "$work/queries.tsv" \
    --answers "$work/dossier.answers" >"$work/dossier.txt"
/usr/bin/python3 "$here/fts5_baseline.py" "$work/corpus.jsonl" \
    "$work/queries.tsv" --batch "$batch" --rounds "$rounds" \
    --dir "$work/fts5" --answers "$work/fts5.answers" >"$work/fts5.txt"
/usr/bin/python3 "$here/xapian_baseline.py" "$work/corpus.jsonl" \
    "$work/queries.tsv" --batch "$batch" --rounds "$rounds" \
    --dir "$work/xapian" --answers "$work/xapian.answers" >"$work/xapian.txt"

/usr/bin/python3 - "$work" <<'PY'
import sys
def answers(path):
    out = {}
    for line in open(path):
        kind, number, total, ids = line.rstrip("\n").split("\t")
        out[(kind, int(number))] = (int(total), ids.split(",") if ids else [])
    return out
ours = answers(sys.argv[1] + "/dossier.answers")
failed = False
for engine in ("fts5", "xapian"):
    theirs = answers(sys.argv[1] + "/%s.answers" % engine)
    differ = [(q, ours[q][0], theirs.get(q, (None,))[0]) for q in sorted(ours)
              if theirs.get(q, (None,))[0] != ours[q][0]]
    shared = [len(set(ours[q][1]) & set(theirs[q][1])) /
              max(1, len(ours[q][1])) for q in ours if q in theirs]
    print("%s: the same number of matches as Dossier for %d of %d queries; "
          "%.0f%% of Dossier's top 10 in its top 10 on average" % (
              engine, len(ours) - len(differ), len(ours),
              100.0 * sum(shared) / max(1, len(shared))))
    for q, a, b in differ[:5]:
        print("  %s #%d: dossier %s, %s %s" % (q[0], q[1], a, engine, b))
    failed = failed or bool(differ)
sys.exit(1 if failed else 0)
PY

/usr/bin/python3 - "$work/dossier.txt" "$work/fts5.txt" "$work/xapian.txt" <<'PY'
import sys
def read(path):
    out = {}
    for line in open(path):
        k, v = line.split(None, 1)
        out[k] = v.strip()
    return out
d, f = read(sys.argv[1]), read(sys.argv[2])
print("docs: %s (%.1f MB of text)" % (d["docs"], int(d["text_bytes"]) / 1e6))
print("%-26s %11s %11s %7s   %11s %11s %7s" % (
    "figure", "dossier", "fts5", "ratio", "dossier cpu", "fts5 cpu",
    "ratio"))
# KIND_estimated: the same queries with estimate_total_hits set; FTS5
# and Xapian run them once, so both Dossier rows compare with that.
base = ["one_term", "three_terms", "phrase", "excluded", "filtered"]
kinds = [k + e for k in base for e in ["", "_estimated"]]
for kind in kinds:
    fkind = kind.replace("_estimated", "")
    for p in ["p50", "p99"]:
        k = "%s_%s_ms" % (kind, p)
        c = "%s_%s_cpu_ms" % (kind, p)
        dv, fv = float(d[k]), float(f["%s_%s_ms" % (fkind, p)])
        dc, fc = float(d[c]), float(f["%s_%s_cpu_ms" % (fkind, p)])
        print("%-26s %9.3fms %9.3fms %6.1fx   %9.3fms %9.3fms %6.1fx" % (
            k[:-3], dv, fv, fv / dv, dc, fc, fc / max(dc, 1e-6)))
dv, fv = float(d["load_docs_per_second"]), float(f["load_docs_per_second"])
dc, fc = float(d["load_cpu_seconds"]), float(f["load_cpu_seconds"])
print("%-26s %9.0f/s %9.0f/s %6.2fx   %10.1fs %10.1fs %6.2fx" % (
    "load rate", dv, fv, dv / fv, dc, fc, fc / dc))
dv, fv = int(d["index_bytes"]), int(f["index_bytes"])
print("%-26s %9.1fMB %9.1fMB %6.2fx" % ("index size", dv / 1e6, fv / 1e6,
                                        dv / fv))
dv, fv = int(d["store_bytes"]), int(f["store_bytes"])
print("%-26s %9.1fMB %9.1fMB %6.2fx" % ("whole store", dv / 1e6, fv / 1e6,
                                        dv / fv))
x = read(sys.argv[3])
print()
print("%-26s %11s %11s %7s   %11s %11s %7s" % (
    "figure", "dossier", "xapian", "ratio", "dossier cpu", "xapian cpu",
    "ratio"))
for kind in kinds:
    xkind = kind.replace("_estimated", "")
    for p in ["p50", "p99"]:
        k = "%s_%s_ms" % (kind, p)
        c = "%s_%s_cpu_ms" % (kind, p)
        dv, xv = float(d[k]), float(x["%s_%s_ms" % (xkind, p)])
        dc, xc = float(d[c]), float(x["%s_%s_cpu_ms" % (xkind, p)])
        print("%-26s %9.3fms %9.3fms %6.1fx   %9.3fms %9.3fms %6.1fx" % (
            k[:-3], dv, xv, xv / dv, dc, xc, xc / max(dc, 1e-6)))
dv, xv = float(d["load_docs_per_second"]), float(x["load_docs_per_second"])
dc, xc = float(d["load_cpu_seconds"]), float(x["load_cpu_seconds"])
print("%-26s %9.0f/s %9.0f/s %6.2fx   %10.1fs %10.1fs %6.2fx" % (
    "load rate", dv, xv, dv / xv, dc, xc, xc / dc))
dv, xv = int(d["index_bytes"]), int(x["index_bytes"])
print("%-26s %9.1fMB %9.1fMB %6.2fx" % ("index size", dv / 1e6, xv / 1e6,
                                        dv / xv))
for kind in kinds:
    print("%s average total_hits (dossier): %s" % (kind,
          d[kind + "_avg_total_hits"]))
for k in [b + "_estimated" for b in base]:
    print("%s: %s of 40 queries estimated; estimate - exact: %s%% on "
          "average, %s%% in absolute value; queries whose hits differ from "
          "the exact path's: %s" % (k, d[k + "_estimated_queries"],
                                    d[k + "_error_pct"],
                                    d[k + "_abs_error_pct"],
                                    d[k + "_hits_differ"]))
PY
