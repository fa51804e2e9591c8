#!/usr/bin/python3
"""xapian_baseline.py: the Xapian baseline of dossier-bench-search.

Loads the corpus that dossier-bench-search wrote (--corpus, JSON lines)
into a fresh Xapian database (Debian's python3-xapian: terms from
xapian.TermGenerator with positions, no stemming, as Dossier does not
stem; title and body indexed together), committed in batches like the
store's, then runs the same queries (--queries) top 10 with Xapian's
default weighting (BM25) and prints the same "key value" lines as the C
benchmark.

The queries are built as Xapian queries from Dossier's syntax (the
second column): words ANDed, "a phrase" as OP_PHRASE, -word as
OP_AND_NOT; the filtered ones get boolean terms for the country and the
year (OP_FILTER, so they weigh nothing). Timed queries ask Xapian for
its own estimate of the match count (get_mset(0, 10)), as an
application would; --answers FILE writes, apart from the timing, the
exact number of matches (checkatleast every document) and the top 10
ids of every query, for search.sh to compare.

Usage: xapian_baseline.py CORPUS QUERIES [--batch B] [--rounds R]
                          [--dir DIR] [--answers FILE]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import xapian

KINDS = ["one_term", "three_terms", "phrase", "excluded", "filtered"]


def country_term(country):
    return "XC" + country.encode("utf-8").hex()


def words(text):
    """The terms TermGenerator makes of text (lower case, no stemming)."""
    doc = xapian.Document()
    gen = xapian.TermGenerator()
    gen.set_document(doc)
    gen.index_text(text)
    return [t.term.decode("utf-8") for t in doc.termlist()]


def build_query(ours, country, ymin, ymax):
    """Dossier's query syntax, as a Xapian query."""
    parts = []
    excluded = []
    rest = ours
    while '"' in rest:
        before, _, after = rest.partition('"')
        phrase, _, rest = after.partition('"')
        rest = before + " " + rest
        gen = xapian.TermGenerator()
        doc = xapian.Document()
        gen.set_document(doc)
        gen.index_text(phrase)
        positions = sorted((p, t.term) for t in doc.termlist()
                           for p in t.positer)
        parts.append(xapian.Query(xapian.Query.OP_PHRASE,
                                  [t for _, t in positions]))
    for word in rest.split():
        target = excluded if word.startswith("-") else parts
        for term in words(word.lstrip("-")):
            target.append(xapian.Query(term))
    query = xapian.Query(xapian.Query.OP_AND, parts)
    if excluded:
        query = xapian.Query(xapian.Query.OP_AND_NOT, query,
                             xapian.Query(xapian.Query.OP_OR, excluded))
    if country:
        years = xapian.Query(xapian.Query.OP_OR,
                             ["XY%d" % y for y in range(ymin, ymax + 1)])
        where = xapian.Query(xapian.Query.OP_AND,
                             [xapian.Query(country_term(country)), years])
        query = xapian.Query(xapian.Query.OP_FILTER, query, where)
    return query


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f))
               for d, _, files in os.walk(path) for f in files)


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
    queries = {k: [] for k in KINDS}
    with open(args.queries, encoding="utf-8") as f:
        for line in f:
            kind, ours, _fts5, country, ymin, ymax = \
                line.rstrip("\n").split("\t")
            queries[kind].append(build_query(ours, country, int(ymin),
                                             int(ymax)))

    workdir = args.dir or tempfile.mkdtemp(prefix="dossier-xapian-")
    path = os.path.join(workdir, "xapian.db")
    shutil.rmtree(path, ignore_errors=True)
    db = xapian.WritableDatabase(path, xapian.DB_CREATE_OR_OVERWRITE)
    gen = xapian.TermGenerator()
    print("docs %d" % len(docs))
    t0 = time.perf_counter()
    c0 = time.process_time()
    for i, d in enumerate(docs):
        doc = xapian.Document()
        gen.set_document(doc)
        # A phrase never spans the title and the body, nor two
        # paragraphs, in Dossier: a gap in the positions keeps it so.
        gen.index_text(d["title"])
        for paragraph in d["body"]:
            gen.increase_termpos()
            gen.index_text(paragraph)
        doc.add_boolean_term(country_term(d["country"]))
        doc.add_boolean_term("XY%d" % d["year"])
        doc.set_data(d["id"])
        db.add_document(doc)
        if (i + 1) % args.batch == 0:
            db.commit()
    db.commit()
    load = time.perf_counter() - t0
    print("load_seconds %.3f" % load)
    print("load_cpu_seconds %.3f" % (time.process_time() - c0))
    print("load_docs_per_second %.0f" % (len(docs) / load))
    db.close()

    db = xapian.Database(path)
    enquire = xapian.Enquire(db)  # BM25Weight by default
    if args.answers:
        everything = db.get_doccount()
        with open(args.answers, "w", encoding="utf-8") as out:
            for kind in KINDS:
                for number, query in enumerate(queries[kind]):
                    enquire.set_query(query)
                    mset = enquire.get_mset(0, 10, everything)
                    ids = [m.document.get_data().decode("utf-8")
                           for m in mset]
                    out.write("%s\t%d\t%d\t%s\n" % (
                        kind, number, mset.get_matches_estimated(),
                        ",".join(ids)))
    for kind in KINDS:
        times = []
        cpu = []
        for rnd in range(args.rounds + 1):
            for query in queries[kind]:
                start = time.perf_counter()
                start_cpu = time.process_time()
                enquire.set_query(query)
                mset = enquire.get_mset(0, 10)
                ids = [m.document.get_data() for m in mset]
                took = time.perf_counter() - start
                took_cpu = time.process_time() - start_cpu
                del ids
                if rnd > 0:
                    times.append(took)
                    cpu.append(took_cpu)
        times.sort()
        cpu.sort()
        n = len(times)
        p99 = min(n - 1, int(n * 0.99))
        print("%s_p50_ms %.4f" % (kind, times[n // 2] * 1e3))
        print("%s_p99_ms %.4f" % (kind, times[p99] * 1e3))
        print("%s_p50_cpu_ms %.4f" % (kind, cpu[n // 2] * 1e3))
        print("%s_p99_cpu_ms %.4f" % (kind, cpu[p99] * 1e3))
    db.close()
    size = dir_bytes(path)
    # Xapian keeps no separate copy of the text: the whole database is
    # its index (document data holds the id only).
    print("index_bytes %d" % size)
    print("store_bytes %d" % size)
    if not args.dir:
        shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
