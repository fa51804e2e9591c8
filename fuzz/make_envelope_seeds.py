#!/usr/bin/env python3
"""Writes the seeds of fuzz_envelope (fuzz/corpus/envelope/): one
serialized dossier.v1.Request per method, payloads from the .proto's text
format encoded with protoc --encode, imports from tests/fixtures.
Needs only python3 and protoc. Run from anywhere: python3 fuzz/make_envelope_seeds.py"""
import os
import subprocess
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = root + "/fuzz/corpus/envelope"
def enc(msg, text):
    return subprocess.run(["protoc", "--encode=dossier.v1." + msg, "-I", root + "/proto",
                           "dossier/v1/reports.proto", "dossier/v1/rpc.proto", "dossier/v1/report.proto"],
                          input=text.encode(), capture_output=True, check=True).stdout
def esc(b):
    return "".join("\\%03o" % c for c in b)
def req(name, method, msg, text, rid=1, deadline=0):
    payload = enc(msg, text) if msg else b""
    t = 'id: %d method: "dossier.v1.Reports/%s" payload: "%s"' % (rid, method, esc(payload))
    if deadline: t += " deadline_ms: %d" % deadline
    t += ' metadata { key: "client" value: "fuzz" }'
    open(os.path.join(out, name), "wb").write(enc("Request", t))
fix = open(root + "/tests/fixtures/refworld/tiernote-inside-parens.txt").read()
fix2 = open(root + "/tests/fixtures/refworld/footnote-sweden1.txt").read()
def q(s): return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
req("get", "Get", "GetRequest", 'id: "tip-aze-2004"')
req("get-missing", "Get", "GetRequest", 'id: "no-such"', deadline=1000)
req("put", "Put", "PutRequest", 'report { id: "fz-1" title: "Fuzz" country: "Azerbaijan" country_code: "AZE" year: 2004 tier: TIER_2 doc_type: "Trafficking in Persons Report" body: "Victims of forced labor." body: "Second paragraph." publisher: "State" }')
req("put-expected", "Put", "PutRequest", 'report { id: "tip-aze-2004" title: "Replaced" year: 2004 } expected_version: 1 create_only: false')
req("delete", "Delete", "DeleteRequest", 'id: "tip-aze-2004" expected_version: 1')
req("list", "List", "ListRequest", 'filter { country: "Azerbaijan" year_min: 2000 year_max: 2010 tier: TIER_2 } page_size: 5 view: REPORT_VIEW_FULL')
req("list-token", "List", "ListRequest", 'page_size: 1 page_token: "abc"')
req("search", "Search", "SearchRequest", 'query: "\\"forced labor\\" -child victims" facets: true page_size: 3 order: SEARCH_ORDER_YEAR')
req("search-filter", "Search", "SearchRequest", 'query: "trafficking" filter { publisher: "United States Department of State" tier: TIER_3 }')
req("history", "History", "HistoryRequest", 'country: "Azerbaijan"')
req("changes", "Changes", "ChangesRequest", 'year: 2008 doc_type: "Trafficking in Persons Report"')
req("stats", "Stats", "StatsRequest", '')
req("health", "Health", "HealthRequest", 'service: "dossier.v1.Reports"')
req("describe", "Describe", "DescribeRequest", '')
req("import-text", "ImportText", "ImportTextRequest", 'text: "%s" filename: "tiernote.txt"' % q(fix))
req("import-batch", "ImportBatch", "ImportBatchRequest", 'documents { text: "%s" id: "batch-1" } documents { text: "%s" source_url: "https://example.org/x" }' % (q(fix), q(fix2)))
req("import-dry-run", "ImportText", "ImportTextRequest", 'text: "%s" dry_run: true' % q(fix2))
req("whoami", "WhoAmI", None, '')
req("audit", "Audit", "AuditRequest", 'user: "anonymous" method: "dossier.v1.Reports/Put"')
req("backup", "Backup", "BackupRequest", 'name: "fuzz-1"')
req("backup-read", "BackupRead", "BackupReadRequest", 'name: "fuzz-1" offset: 0 length: 4096')
req("reload-users", "ReloadUsers", None, '')
req("unknown", "Nope", None, '')
