#!/usr/bin/python3
"""fts5_baseline.py: the SQLite FTS5 baseline of dossier-bench-search.

Loads the corpus that dossier-bench-search wrote (--corpus, JSON lines)
into a fresh SQLite database with an FTS5 table (unicode61 tokenizer with
diacritics removed, as Dossier folds them), in batches committed like the
store's, then runs the same queries (--queries) top 10 by bm25() with a
snippet, and prints the same "key value" lines as the C benchmark.

The filtered queries filter inside MATCH, as FTS5 is meant to: each row
has an indexed column "facets" holding a token for its country and one
for its year, and the query ANDs a column filter on them (facets : (c...
AND (y2003 OR y2004 OR y2005))), so FTS5 intersects posting lists
instead of scoring every match and filtering after (what UNINDEXED
columns in WHERE did). The column's bm25 weight is 0, so the ranking is
title and body as before.

--answers FILE writes, for every query, the number of matching documents
(counted apart from the timing) and the top 10 ids, as
dossier-bench-search --answers does, for search.sh to compare.

Usage: fts5_baseline.py CORPUS QUERIES [--batch B] [--rounds R] [--dir DIR]
                        [--answers FILE]
"""
import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time

KINDS = ["one_term", "three_terms", "phrase", "excluded", "filtered"]
PARAGRAPH_BREAK = "zqxparagraphbreakzqx"


def country_token(country):
    """One token naming a country whatever its words ("Papua New Guinea"
    must not match "Guinea"): c and its name's UTF-8 in hex."""
    return "c" + country.encode("utf-8").hex()


def facets(country, year):
    """The facets column of a row: its country's token and its year's."""
    return "%s y%d" % (country_token(country), year)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("queries")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--answers", default=None)
    args = ap.parse_args()

    with open(args.corpus, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    rows = [(d["id"], d["title"], ("\n%s\n" % PARAGRAPH_BREAK).join(d["body"]),
             facets(d["country"], d["year"])) for d in docs]
    queries = {k: [] for k in KINDS}
    with open(args.queries, encoding="utf-8") as f:
        for line in f:
            kind, _ours, fts5, country, ymin, ymax = \
                line.rstrip("\n").split("\t")
            if country:
                years = " OR ".join("y%d" % y for y in
                                    range(int(ymin), int(ymax) + 1))
                fts5 = "(%s) AND facets : (%s AND (%s))" % (
                    fts5, country_token(country), years)
            queries[kind].append(fts5)

    workdir = args.dir or tempfile.mkdtemp(prefix="dossier-fts5-")
    path = os.path.join(workdir, "fts5.db")
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, "
               "body, facets, "
               "tokenize = 'unicode61 remove_diacritics 2')")
    # Ranked by title and body only: the facets column weighs nothing.
    db.execute("INSERT INTO docs(docs, rank) "
               "VALUES ('rank', 'bm25(1.0, 1.0, 1.0, 0.0)')")
    print("docs %d" % len(rows))
    t0 = time.perf_counter()
    c0 = time.process_time()
    for i in range(0, len(rows), args.batch):
        db.execute("BEGIN")
        db.executemany("INSERT INTO docs(id, title, body, facets) "
                       "VALUES (?, ?, ?, ?)", rows[i:i + args.batch])
        db.execute("COMMIT")
    load = time.perf_counter() - t0
    print("load_seconds %.3f" % load)
    print("load_cpu_seconds %.3f" % (time.process_time() - c0))
    print("load_docs_per_second %.0f" % (len(rows) / load))

    top = ("SELECT id, rank, snippet(docs, 2, '[', ']', '...', 30) "
           "FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10")
    if args.answers:
        with open(args.answers, "w", encoding="utf-8") as out:
            for kind in KINDS:
                for number, fts5 in enumerate(queries[kind]):
                    total = db.execute("SELECT count(*) FROM docs WHERE docs "
                                       "MATCH ?", (fts5,)).fetchone()[0]
                    ids = [r[0] for r in db.execute(top, (fts5,))]
                    out.write("%s\t%d\t%d\t%s\n" % (kind, number, total,
                                                     ",".join(ids)))
    for kind in KINDS:
        times = []
        cpu = []
        for rnd in range(args.rounds + 1):
            for fts5 in queries[kind]:
                start = time.perf_counter()
                start_cpu = time.process_time()
                db.execute(top, (fts5,)).fetchall()
                took = time.perf_counter() - start
                took_cpu = time.process_time() - start_cpu
                if rnd > 0:
                    times.append(took)
                    cpu.append(took_cpu)
        times.sort()
        cpu.sort()
        n = len(times)
        p99 = min(n - 1, int(n * 0.99))
        print("%s_p50_ms %.4f" % (kind, times[n // 2] * 1e3))
        print("%s_p99_ms %.4f" % (kind, times[p99] * 1e3))
        # CPU time, as the C benchmark reports it: not inflated by other
        # processes on a busy machine.
        print("%s_p50_cpu_ms %.4f" % (kind, cpu[n // 2] * 1e3))
        print("%s_p99_cpu_ms %.4f" % (kind, cpu[p99] * 1e3))

    # The index proper: FTS5's shadow tables, not the stored text (the
    # facets tokens are in it, as Dossier's filter indexes are in its).
    index = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name IN "
                       "('docs_data', 'docs_idx', 'docs_docsize', "
                       "'docs_config')").fetchone()[0]
    total = db.execute("SELECT sum(pgsize) FROM dbstat").fetchone()[0]
    print("index_bytes %d" % index)
    print("store_bytes %d" % total)
    db.close()
    if not args.dir:
        os.unlink(path)
        os.rmdir(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
