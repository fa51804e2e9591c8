#!/usr/bin/python3
"""py_many.py: the Python client's pipelined Gets (get_many) against one
Get at a time, one client, one thread, on the records dossier-bench
preloaded ("bench-0000000" ..), for bench/load/run.sh.

Usage: py_many.py ENDPOINT RECORDS [CALLS] [IN_FLIGHT]

Prints "pymany calls=N in_flight=K seq_s=S many_s=S" (each the best of
three rounds, the same ids in the same order), and checks that both
ways returned the same reports. Needs <build>/python and client/python on
PYTHONPATH (run.sh sets it).
"""
import random
import sys
import time

from dossier_client import Client


def main(argv):
    endpoint, records = argv[1], int(argv[2])
    calls = int(argv[3]) if len(argv) > 3 else 10000
    in_flight = int(argv[4]) if len(argv) > 4 else 16
    rng = random.Random(20260101)
    ids = ["bench-%07d" % rng.randrange(records) for _ in range(calls)]
    seq_s, many_s = [], []
    with Client(endpoint, timeout_ms=30000) as client:
        client.health()
        for _ in range(3):
            t0 = time.perf_counter()
            one = [client.get(i) for i in ids]
            seq_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            many = client.get_many(ids, in_flight=in_flight)
            many_s.append(time.perf_counter() - t0)
            if [r.SerializeToString() for r in one] != \
                    [r.SerializeToString() for r in many]:
                sys.stderr.write("py_many: get_many and get differ\n")
                return 1
    print("pymany calls=%d in_flight=%d seq_s=%.3f many_s=%.3f" % (
        calls, in_flight, min(seq_s), min(many_s)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
