#!/usr/bin/python3
"""Dumps every record of a Dossier server as JSON lines on stdout.

Usage: export_jsonl.py [ENDPOINT] [--summary]

ENDPOINT defaults to tcp://127.0.0.1:7531. Each line is one
dossier.v1.Report in the proto3 JSON mapping (lowerCamelCase names, enums
by name, 64-bit integers as strings, defaults omitted), the same shape the
dossier CLI prints with --json. --summary exports the summary view (no
body, citation or disclaimer) instead of every field.

Run with Debian's /usr/bin/python3 (python3-zmq, python3-protobuf) and
the generated messages on the path, e.g.
    PYTHONPATH=build/python:client/python \
        /usr/bin/python3 client/python/examples/export_jsonl.py
(DOSSIER_PYTHONPATH, ':'-separated, is honoured too.)
"""

import os
import sys

# dossier_client.py lives one directory up.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _entry in reversed(os.environ.get("DOSSIER_PYTHONPATH", "").split(":")):
    if _entry and _entry not in sys.path:
        sys.path.insert(0, _entry)

from google.protobuf import json_format  # noqa: E402

from dossier_client import DEFAULT_ENDPOINT, Client, DossierError  # noqa


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = [a for a in argv[1:] if a.startswith("--")]
    if len(args) > 1 or any(f not in ("--summary", "--help") for f in flags):
        sys.stderr.write("usage: export_jsonl.py [ENDPOINT] [--summary]\n")
        return 2
    if "--help" in flags:
        sys.stdout.write(__doc__)
        return 0
    endpoint = args[0] if args else DEFAULT_ENDPOINT
    count = 0
    try:
        with Client(endpoint) as client:
            for report in client.list(page_size=200,
                                      full="--summary" not in flags):
                line = json_format.MessageToJson(report, indent=None,
                                                 sort_keys=False)
                sys.stdout.write(line + "\n")
                count += 1
    except DossierError as exc:
        sys.stderr.write("export_jsonl: %s\n" % exc)
        return 3 if exc.code in (4, 14) else 1
    sys.stderr.write("export_jsonl: %d records\n" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
