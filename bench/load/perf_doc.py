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
        elif line.startswith("pymany "):
            extra["pymany"] = dict(p.split("=", 1) for p in line[7:].split())
        elif line.startswith("export "):
            extra["export"] = dict(p.split("=", 1) for p in line[7:].split())
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


def client_name(r):
    if r["client"] == "libdossier" and int(r.get("in_flight", "1")) > 1:
        return "libdossier, %s in flight" % r["in_flight"]
    return r["client"]


def met(ok):
    return "**met**" if ok else "**not met**"


def cpu(r):
    v = float(r.get("server_cpu_us_per_op", "-1"))
    return v if v >= 0 else None


def grpc_section(runs):
    """Dossier beside the gRPC baseline and the ZeroMQ echo, one run."""
    c1, c16 = runs.get("get_c1"), runs.get("get_c16")
    g1, g16 = runs.get("grpc_get_c1"), runs.get("grpc_get_c16")
    if not (c1 and c16):
        return []
    out = ["", "### Beside gRPC and the ZeroMQ echo", ""]
    if not (g1 and g16):
        out += ["The gRPC baseline did not run (dossier-grpc-server is "
                "built only with Debian's libgrpc++-dev and "
                "protobuf-compiler-grpc): no gRPC figure."]
    else:
        out += ["gRPC C++ %s: dossier-grpc-server (bench/grpc/, the "
                "callback API) serves the same %s records from LMDB, the "
                "bytes dossierd stores (a packed Report, copied into a "
                "`bytes` field, not decoded); dossier-grpc-bench calls it "
                "through the generated synchronous stub, one channel (TCP "
                "connection) per thread, one call in flight each. Each "
                "gRPC row ran right after the Dossier row it is set "
                "against. Server CPU per Get is the server's utime + stime "
                "(/proc/PID/stat) over the load divided by the calls; a "
                "busy machine moves it less than the rates." % (
                    g1.get("grpc", "1.51"),
                    format(int(g1["records"]), ","))]
        out += ["", "| c | Dossier ops/s | gRPC ops/s | echo ops/s "
                "| Dossier/gRPC | Dossier p50 us | gRPC p50 us | echo p50 us "
                "| Dossier CPU us/Get | gRPC CPU us/Get | echo CPU us "
                "| CPU Dossier/gRPC |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for c, d, g in (("1", c1, g1), ("16", c16, g16)):
            dc, gc = cpu(d), cpu(g)
            ec = float(d.get("floor_cpu_us_per_op", "-1"))
            out.append("| %s | %s | %s | %s | %.2fx | %s | %s | %s | %s | %s "
                       "| %s | %s |" % (
                           c, f(d["ops_s"]), f(g["ops_s"]),
                           f(d["floor_ops_s"]),
                           float(d["ops_s"]) / float(g["ops_s"]),
                           d["p50_us"], g["p50_us"], d["floor_p50_us"],
                           "%.1f" % dc if dc is not None else "-",
                           "%.1f" % gc if gc is not None else "-",
                           "%.1f" % ec if ec >= 0 else "-",
                           "%.2fx" % (dc / gc) if dc and gc else "-"))
        out += ["", "echo: the ZeroMQ ROUTER echo of the Dossier row's own "
                "dossier-bench run (its floor, measured seconds before), "
                "4,096 B each way; its CPU is the echo process's per round "
                "trip."]
    out += ["", "Against the targets of issue 20, from this run:", ""]
    if g1 and g16:
        for c, d, g in (("c1", c1, g1), ("c16", c16, g16)):
            dc, gc = cpu(d), cpu(g)
            if dc is not None and gc:
                out.append("- Server CPU per Get at %s: Dossier %.1f us, "
                           "gRPC %.1f us = %.2fx (target at most 0.5x): "
                           "%s." % (c, dc, gc, dc / gc, met(dc <= 0.5 * gc)))
    out.append("- Get at c16: %s ops/s = %.2fx the ZeroMQ echo floor of "
               "the same dossier-bench run (%s ops/s; target at least "
               "1.0x): %s." % (f(c16["ops_s"]), float(c16["ratio_ops"]),
                               f(c16["floor_ops_s"]),
                               met(float(c16["ratio_ops"]) >= 1.0)))
    out.append("- Get at c1: p50 %s us = %.2fx the echo round trip (%s us; "
               "target at most 1.1x): %s." % (
                   c1["p50_us"], float(c1["ratio_p50"]),
                   c1["floor_p50_us"], met(float(c1["ratio_p50"]) <= 1.1)))
    return out


def pymany_text(extra):
    m = extra.get("pymany")
    if not m:
        return []
    seq, many = float(m["seq_s"]), float(m["many_s"])
    n = int(m["calls"])
    return ["", "The Python client, one thread (bench/load/py_many.py, best "
            "of three rounds of the same %s random ids): `get_many(ids, "
            "in_flight=%s)` %.2f s (%.0f Gets/s) against one `get` at a "
            "time %.2f s (%.0f Gets/s): %.2fx as fast." % (
                format(n, ","), m["in_flight"], many, n / many, seq,
                n / seq, seq / many)]


def pipeline_section(runs, extra):
    """One thread with 16 calls in flight against 16 threads."""
    p, c16 = runs.get("get_pipe_c1x16"), runs.get("get_c16")
    if not (p and c16):
        py = pymany_text(extra)
        return ["", "### Many calls in flight"] + py if py else []
    ratio = float(p["ops_s"]) / float(c16["ops_s"])
    pc, tc = cpu(p), cpu(c16)
    cpu_text = ""
    if pc is not None and tc is not None:
        cpu_text = (" Server CPU per Get: %.1f us pipelined, %.1f us with "
                    "16 threads." % (pc, tc))
    return ["", "### Many calls in flight", "",
            "get_pipe_c1x16: one client thread, one libdossier client, "
            "16 Gets in flight (dossier_call_start / dossier_call_finish, "
            "`dossier-bench --in-flight 16`) against get_c16's 16 threads "
            "with one call each: %s against %s ops/s = %.2fx (target at "
            "least 1.0x): %s; p50 %s us against %s us.%s" % (
                f(p["ops_s"]), f(c16["ops_s"]), ratio, met(ratio >= 1.0),
                p["p50_us"], c16["p50_us"], cpu_text)] + pymany_text(extra)


def export_section(extra):
    """dossier export against the List scan it is made of."""
    e = extra.get("export")
    if not e:
        return []
    n = int(e["records"])
    scan, exp = float(e["scan_seconds"]), float(e["export_seconds"])
    text = ("`dossier export > FILE` of the %s reports (proto3 JSON lines, "
            "%.0f MB) against the List scan it is made of (`dossier-bench "
            "--list-scan 500`: the same full-view pages of 500 in the same "
            "order, following page tokens, each decoded, nothing printed): "
            "%.2f s (%.0f reports/s) against %.2f s (%.0f reports/s), "
            "%.2fx the scan's time." % (
                format(n, ","), int(e["bytes"]) / 1e6, exp, n / exp, scan,
                n / scan, exp / scan))
    return ["", "### Export", "", text]


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
    for name in ["get_c1", "grpc_get_c1", "get_c16", "grpc_get_c16",
                 "get_pipe_c1x16", "get_raw_c1", "get_raw_c16"]:
        r = runs.get(name)
        if not r:
            continue
        floor = float(r.get("floor_ops_s", 0)) > 0
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | "
                   "%s | %s | %s |" % (
                       name, client_name(r), r["c"], f(r["ops_s"]),
                       r["p50_us"], r["p90_us"], r["p99_us"], r["max_us"],
                       f(r["floor_ops_s"]) if floor else "-",
                       r["floor_p50_us"] if floor else "-",
                       f(r["ratio_ops"], "%.2fx") if floor else "-",
                       f(r["ratio_p50"], "%.2fx") if floor else "-",
                       r["errors"]))
    out += grpc_section(runs)
    out += pipeline_section(runs, extra)
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
    out += export_section(extra)
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
