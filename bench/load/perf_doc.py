#!/usr/bin/python3
"""perf_doc.py: writes the figures of bench/load/run.sh into docs/PERFORMANCE.md.

Usage: perf_doc.py RESULTS DOC DURATION MIXED_SECONDS RECORDS REPORTS

RESULTS holds the "summary: key=value ..." lines of dossier-bench, an
"import ..." line and "cmd NAME ..." lines. The part of DOC between the
markers below is replaced (appended at the end when the markers are
missing); the rest of DOC is left as it is.
"""
import datetime
import os
import platform
import subprocess
import sys

BEGIN = ("<!-- bench/load/run.sh: begin (generated; edit "
         "bench/load/perf_doc.py) -->")
END = "<!-- bench/load/run.sh: end -->"

# Reference figures of the project's Performance issue (same kind of
# machine): gRPC C++ unary Get at c16, the figure Get must beat 2.5x.
GRPC_C16 = 10000


def parse(path):
    runs, cmds, extra = {}, {}, {}
    for line in open(path):
        line = line.strip()
        if line.startswith("summary: "):
            kv = dict(p.split("=", 1) for p in line[9:].split())
            runs[kv["label"]] = kv
        elif line.startswith("cmd "):
            _, name, cmd = line.split(" ", 2)
            cmds[name] = cmd
        elif line.startswith("import "):
            extra["import"] = dict(p.split("=", 1) for p in line[7:].split())
        elif line.startswith("mixedrow "):
            extra.setdefault("mixed_rows", []).append(line[9:])
        elif line.startswith("info "):
            extra.setdefault("info", []).append(line[5:])
    return runs, cmds, extra


def machine():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(
                                    __file__))).stdout.strip()
    except OSError:
        commit = "?"
    load = os.getloadavg()[0]
    return ("nproc %d, %s, kernel %s, %s, HEAD %s when the run ended, "
            "load average %.1f "
            "at the end" % (os.cpu_count(), model, platform.release(),
                            datetime.datetime.now(datetime.timezone.utc)
                            .strftime("%Y-%m-%d %H:%M UTC"), commit, load))


def f(v, fmt="%.0f"):
    return fmt % float(v)


def http_section(runs):
    """The HTTP rows (dossier-gateway, wrk) beside the direct ones."""
    pairs = [("http_get_c1", "get_c1"), ("http_get_c16", "get_c16"),
             ("http_get_proto_c16", "get_c16"),
             ("http_search_c1", "search_c1"),
             ("http_search_c16", "search_c16")]
    rows = []
    for http, direct in pairs:
        h, d = runs.get(http), runs.get(direct)
        if not h:
            continue
        ratio = added = "-"
        if d:
            ratio = "%.2fx" % (float(h["ops_s"]) / float(d["ops_s"]))
            added = "%.0f" % (float(h["p50_us"]) - float(d["p50_us"]))
        rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            http, h["c"], f(h["ops_s"]), h["p50_us"], h["p90_us"],
            h["p99_us"], h["max_us"], h["errors"], ratio, added))
    if not rows:
        return []
    return ["", "### Over HTTP: dossier-gateway", "",
            "The same Get and Search calls as Connect unary POSTs in JSON "
            "(http_get_proto: binary protobuf) "
            "through dossier-gateway, with keep-alive, from Debian's `wrk` "
            "(bench/load/wrk_connect.lua), beside the direct libdossier "
            "rows of the same run (Search: the queries dossier-bench "
            "draws, `--write-queries`). Targets: Get at c16 at least 0.5x "
            "the direct rate; added p50 under 100 us.", "",
            "| scenario | c | ops/s | p50 us | p90 us | p99 us | max us "
            "| errors | ops/direct | added p50 us |",
            "|---|---|---|---|---|---|---|---|---|---|"] + rows


def section(runs, cmds, extra, duration, mixed, records, reports):
    out = [BEGIN, "", "## Load", "",
           "Written by `make bench` (bench/load/run.sh, "
           "bench/load/perf_doc.py); "
           "every figure below comes from one run of it.", "",
           "Machine: " + machine() + ".", "",
           "Each `dossier-bench` run first measures its floor: a raw "
           "ZeroMQ ROUTER echo server in a child process and as many "
           "DEALER clients as the run has, echoing the record size "
           "(4,096 B) both ways; the ratios are to that floor, measured "
           "seconds before. Latencies are per call, from log-linear "
           "histograms (about 1.6% precision).", "",
           "### Get, %s records of 4 KiB" % format(int(records), ","), "",
           "| scenario | client | c | ops/s | p50 us | p90 us | p99 us "
           "| max us | floor ops/s | floor p50 us | ops/floor | p50/floor "
           "| errors |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in ["get_c1", "get_c16", "get_raw_c1", "get_raw_c16"]:
        r = runs.get(name)
        if not r:
            continue
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | "
                   "%sx | %sx | %s |" % (
                       name, r["client"], r["c"], f(r["ops_s"]),
                       r["p50_us"], r["p90_us"], r["p99_us"], r["max_us"],
                       f(r["floor_ops_s"]), r["floor_p50_us"],
                       f(r["ratio_ops"], "%.2f"), f(r["ratio_p50"], "%.2f"),
                       r["errors"]))
    c16, c1 = runs.get("get_c16"), runs.get("get_c1")
    if c16 and c1:
        out += ["", "Against the targets (libdossier): Get at c16 %s ops/s "
                "= %.1fx the gRPC reference (%s, target 2.5x) and %.2fx the "
                "echo floor (target 0.9x); Get at c1 p50 %s us = %.2fx the "
                "echo round trip (target at most 1.2x)." % (
                    f(c16["ops_s"]), float(c16["ops_s"]) / GRPC_C16,
                    format(GRPC_C16, ","), float(c16["ratio_ops"]),
                    c1["p50_us"], float(c1["ratio_p50"]))]
    out += http_section(runs)
    out += ["", "### Bulk import, List and Search, %s reports" %
            format(int(reports), ","), ""]
    imp = extra.get("import")
    if imp:
        n = int(imp["reports"])
        # One run per fresh server (IMPORTS in bench/load/run.sh): the median
        # rate, and each run's.
        secs = [float(x) for x in
                (imp.get("runs_seconds") or imp["seconds"]).split(",")]
        rates = [n / x for x in secs]
        median = sorted(rates)[len(rates) // 2]
        if len(secs) > 1:
            timing = ("%d runs, each into a fresh server: %s s, so %s "
                      "reports/s; median **%.0f reports/s**" % (
                          len(secs), ", ".join("%.1f" % x for x in secs),
                          " / ".join(f(r) for r in rates), median))
        else:
            timing = "%.1f s, **%.0f reports/s**" % (secs[0], median)
        out += ["`dossier import DIR` of %s generated Refworld text files "
                "(about 4.5 KB each, indexed for search, each batch "
                "committed durably): %s. Server resident size after the "
                "last, at %s reports: %.1f MiB (anonymous part, heap and "
                "stacks: %.1f MiB; %.1f MiB after 2 s idle, once the "
                "server has given free heap memory back)."
                % (format(n, ","), timing, format(n, ","),
                   int(imp["rss_kb"]) / 1024,
                   int(imp.get("anon_kb", "0") or 0) / 1024,
                   int(imp.get("idle_anon_kb", "0") or 0) / 1024), ""]
        if "merge_seconds" in imp:
            out += ["The last import left its index in %s segments; the "
                    "server merged them into %s once idle, %.1f s after the "
                    "import ended (merge_idle_ms; the reports were "
                    "searchable throughout). List and Search below ran "
                    "after that." % (imp["segments"], imp["merged_segments"],
                                     float(imp["merge_seconds"])), ""]
    out += ["| scenario | c | ops/s | p50 us | p90 us | p99 us | max us "
            "| errors |", "|---|---|---|---|---|---|---|---|"]
    for name in ["list_c1", "list_c16", "search_c1", "search_c16"]:
        r = runs.get(name)
        if r:
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                name, r["c"], f(r["ops_s"]), r["p50_us"], r["p90_us"],
                r["p99_us"], r["max_us"], r["errors"]))
    out += ["", "List is one page of 100 summaries of one year; Search is "
            "three terms drawn from ranks 5 to 2,000 of the corpus "
            "vocabulary, top 10."]
    m = runs.get("mixed_c16")
    if m:
        anon = ""
        if int(m.get("anon_kb_before", "-1")) >= 0:
            anon = (" Its anonymous part (RssAnon: heap and stacks, without "
                    "the LMDB map's file pages): %.1f MiB before, %.1f MiB "
                    "after." % (int(m["anon_kb_before"]) / 1024,
                                int(m["anon_kb_after"]) / 1024))
        out += ["", "### Mixed load and memory", "",
                "get=90,list=5,search=3,put=2 at c16 for %s s on the "
                "%s records: %s ops/s, p50 %s us, p99 %s us, %s errors. "
                "Server resident size %.1f MiB before, %.1f MiB after "
                "(resident size counts the pages of the LMDB map that "
                "were read, so it grows with the part of the store "
                "touched, not only with the heap).%s" % (
                    f(m["seconds"]), format(int(records), ","),
                    f(m["ops_s"]), m["p50_us"], m["p99_us"], m["errors"],
                    int(m["rss_kb_before"]) / 1024,
                    int(m["rss_kb_after"]) / 1024, anon)]
        rows = extra.get("mixed_rows")
        if rows:
            out += ["", "| op | count | ops/s | p50 us | p90 us | p99 us "
                    "| max us | errors |", "|---|---|---|---|---|---|---|---|"]
            for row in rows:
                out.append("| " + " | ".join(row.split()) + " |")
    imports = len((extra.get("import") or {}).get("runs_seconds", "x")
                  .split(","))
    out += ["", "### Commands", "", "```",
            "make bench        # DURATION=%s MIXED_SECONDS=%s RECORDS=%s "
            "REPORTS=%s IMPORTS=%d" % (duration, mixed, records, reports,
                                       imports)]
    for line in extra.get("info", []):
        out.append("# " + line)
    for name, cmd in cmds.items():
        out.append("%-12s %s" % (name + ":", cmd))
    out += ["```", "", END]
    return "\n".join(out) + "\n"


def main():
    results, doc, duration, mixed, records, reports = sys.argv[1:7]
    runs, cmds, extra = parse(results)
    text = section(runs, cmds, extra, duration, mixed, records, reports)
    old = open(doc).read() if os.path.exists(doc) else "# Performance\n"
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        new = head + text + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    with open(doc + ".tmp", "w") as out:
        out.write(new)
    os.replace(doc + ".tmp", doc)


if __name__ == "__main__":
    main()
