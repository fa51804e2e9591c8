#!/usr/bin/python3
"""fts5_load.py: SQLite FTS5's load of a Dossier dump, the baseline of
the JSON import rate (bench/load/json_import.sh).

Reads a dump (`dossier export`, one proto3 JSON Report per line) and
loads every record into a fresh SQLite database, as a store that keeps
the records and a full-text index of them would: a table of the records
(id, the JSON as stored) and an FTS5 index over title and body (unicode61,
diacritics removed, as Dossier folds them), in transactions of --batch
records, each committed durably (synchronous FULL, SQLite's default).
The JSON is parsed here as `dossier import --json` parses it. Prints
"records N", "seconds S" and "rate R" (records per second).

Usage: fts5_load.py DUMP [--batch B] [--dir DIR]
"""
import argparse
import json
import os
import sqlite3
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()

    workdir = args.dir or tempfile.mkdtemp(prefix="dossier-fts5-load-")
    path = os.path.join(workdir, "fts5-load.db")
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE records(id TEXT PRIMARY KEY, json TEXT)")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, "
               "content='', tokenize = 'unicode61 remove_diacritics 2')")
    t0 = time.perf_counter()
    n = 0
    batch = []

    def flush():
        db.execute("BEGIN")
        for rowid, (rid, text, title, body) in batch:
            db.execute("INSERT OR REPLACE INTO records(rowid, id, json) "
                       "VALUES (?, ?, ?)", (rowid, rid, text))
            db.execute("INSERT INTO docs(rowid, title, body) "
                       "VALUES (?, ?, ?)", (rowid, title, body))
        db.execute("COMMIT")
        batch.clear()

    with open(args.dump, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            n += 1
            batch.append((n, (d["id"], line, d.get("title", ""),
                              "\n".join(d.get("body", [])))))
            if len(batch) >= args.batch:
                flush()
    if batch:
        flush()
    seconds = time.perf_counter() - t0
    db.close()
    print("records %d" % n)
    print("seconds %.3f" % seconds)
    print("rate %.0f" % (n / seconds if seconds > 0 else 0))
    if not args.dir:
        os.unlink(path)
        os.rmdir(workdir)


if __name__ == "__main__":
    main()
