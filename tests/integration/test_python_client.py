"""Integration test of the Python client against a live dossierd.

Run by ctest with Debian's /usr/bin/python3 and the environment:
  DOSSIER_BIN_DIR      <build>/bin, holding dossierd
  DOSSIER_PYTHONPATH   <build>/python:<src>/client/python (':'-separated)
  DOSSIER_FIXTURE_DIR  <src>/tests/fixtures (refworld/*.txt are imported)

Each test starts its own dossierd in a fresh temporary data directory,
bound to tcp://127.0.0.1:* (the port the kernel picks is read back from
DATA/dossierd.pid, line 2), and stops it with SIGTERM, expecting exit 0.
By hand:
  DOSSIER_BIN_DIR=build/bin DOSSIER_PYTHONPATH=build/python:client/python \
  DOSSIER_FIXTURE_DIR=tests/fixtures \
      /usr/bin/python3 tests/integration/test_python_client.py -v
"""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

for _entry in reversed(os.environ.get("DOSSIER_PYTHONPATH", "").split(":")):
    if _entry and _entry not in sys.path:
        sys.path.insert(0, _entry)

import zmq  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402

import dossier_client  # noqa: E402
from dossier_client import (  # noqa: E402
    Client, DossierError, report_pb2, reports_pb2, rpc_pb2, tier_name)
from dossier.v1 import options_pb2  # noqa: E402

BIN_DIR = os.environ.get("DOSSIER_BIN_DIR", "")
FIXTURE_DIR = os.environ.get("DOSSIER_FIXTURE_DIR", "")

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
RAW_TIMEOUT_MS = 5000

OK = 0
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
ABORTED = 10
FAILED_PRECONDITION = 9
UNIMPLEMENTED = 12
UNAVAILABLE = 14


COUNTRY_CODES = {"Azerbaijan": "AZE", "Russia": "RUS", "Sweden": "SWE",
                 "Somalia": "SOM", "Burma": "MMR"}


def make_report(rid, country="Azerbaijan", year=2004,
                tier=report_pb2.TIER_2, publisher="United States "
                "Department of State", body=("First paragraph.",
                                             "Second paragraph.")):
    """A complete Report as a client would Put it. Put stores fields as
    given: country_code is the client's to fill, as the importer does."""
    return report_pb2.Report(
        id=rid,
        title="%d Trafficking in Persons Report - %s" % (year, country),
        publisher=publisher,
        author="Office to Monitor and Combat Trafficking in Persons",
        publication_date="%d-06-14" % year,
        cite_as="United States Department of State, %d" % year,
        disclaimer="Not an official document.",
        country=country,
        country_code=COUNTRY_CODES.get(country, ""),
        year=year,
        tier=tier,
        doc_type="Trafficking in Persons Report",
        body=list(body),
        source_url="https://www.refworld.org/docid/%s.html" % rid)


@contextlib.contextmanager
def dead_endpoint():
    """An endpoint on 127.0.0.1 that refuses connections while the block
    runs: its port is held bound (without SO_REUSEADDR, so no server of
    another test can take it) and never listened on."""
    held = socket.socket()
    try:
        held.bind(("127.0.0.1", 0))
        yield "tcp://127.0.0.1:%d" % held.getsockname()[1]
    finally:
        held.close()


class DossierdTestCase(unittest.TestCase):
    """Starts a dossierd per test; self.endpoint and self.client are ready
    in every test method. server_args: more dossierd flags."""

    server_args = ()

    def setUp(self):
        self.assertTrue(BIN_DIR, "DOSSIER_BIN_DIR is not set")
        binary = os.path.join(BIN_DIR, "dossierd")
        self.assertTrue(os.access(binary, os.X_OK),
                        "no dossierd at %s" % binary)
        # ROOT/data is the server's data directory; its log sits beside it.
        self.root = tempfile.mkdtemp(prefix="dossier-pytest-")
        self.data = os.path.join(self.root, "data")
        os.mkdir(self.data)
        self.log_path = os.path.join(self.root, "dossierd.log")
        self.log = open(self.log_path, "wb")
        self.server = subprocess.Popen(
            [binary, "--data", self.data, "--bind", "tcp://127.0.0.1:*"]
            + list(self.server_args),
            stdout=self.log, stderr=subprocess.STDOUT)
        # Cleanups run even when setUp (or a subclass's setUp) fails,
        # unlike tearDown: the server is always stopped and checked.
        self.addCleanup(self._stop_server)
        self.endpoint = self._wait_for_endpoint()
        self.client = Client(self.endpoint, timeout_ms=5000, retries=3)
        self.addCleanup(self.client.close)

    def _wait_for_endpoint(self):
        pid_path = os.path.join(self.data, "dossierd.pid")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                self.fail("dossierd exited with %d before binding:\n%s"
                          % (self.server.returncode, self._server_log()))
            try:
                with open(pid_path) as f:
                    lines = f.read().split("\n")
            except FileNotFoundError:
                lines = []
            # "PID\nENDPOINT\n": the final newline says line 2 is whole.
            if (len(lines) >= 3 and lines[0].strip() == str(self.server.pid)
                    and lines[1].startswith("tcp://")
                    and not lines[1].endswith("*")):
                return lines[1].strip()
            time.sleep(0.02)
        self.fail("dossierd wrote no endpoint to %s within %.0f s:\n%s"
                  % (pid_path, START_TIMEOUT_S, self._server_log()))

    def _server_log(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def _stop_server(self):
        """SIGTERM, then expect exit status 0 within STOP_TIMEOUT_S."""
        code = None
        if self.server.poll() is None:
            # A test may leave the server stopped (SIGSTOP): wake it first.
            self.server.send_signal(signal.SIGCONT)
            self.server.send_signal(signal.SIGTERM)
            try:
                code = self.server.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
                code = "hung (killed)"
        else:
            code = self.server.returncode
        log = self._server_log()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)
        self.assertEqual(code, 0, "dossierd exit status after SIGTERM: %s\n"
                         "server log:\n%s" % (code, log))

    # helpers

    def assertCode(self, code, fn, *args, **kwargs):
        """Calls fn and expects DossierError with this code; returns it."""
        with self.assertRaises(DossierError) as caught:
            fn(*args, **kwargs)
        err = caught.exception
        self.assertEqual(err.code, code, "expected code %d, got %s"
                         % (code, err))
        self.assertTrue(err.message, "an error must carry a message")
        return err

    def raw(self, frames, socket_type=zmq.DEALER):
        """Sends frames on a fresh socket and returns the reply frames."""
        ctx = zmq.Context.instance()
        sock = ctx.socket(socket_type)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, RAW_TIMEOUT_MS)
        try:
            sock.connect(self.endpoint)
            sock.send_multipart(frames)
            return sock.recv_multipart()
        finally:
            sock.close()


class TestBasics(DossierdTestCase):

    def test_health_and_empty_stats(self):
        health = self.client.health()
        self.assertEqual(health.status, reports_pb2.SERVING_STATUS_SERVING)
        stats = self.client.stats()
        self.assertEqual(stats.records, 0)
        self.assertTrue(stats.server_version)

    def test_get_missing_is_not_found(self):
        err = self.assertCode(NOT_FOUND, self.client.get, "no-such-report")
        self.assertEqual(err.name, "NOT_FOUND")
        self.assertIn("no-such-report", err.message)

    def test_put_then_get(self):
        report = make_report("aze-2004")
        put = self.client.put(report)
        self.assertEqual(put.id, "aze-2004")
        self.assertEqual(put.version, 1)
        self.assertTrue(put.created)

        got = self.client.get("aze-2004")
        self.assertEqual(got.version, 1)
        for field in ("id", "title", "publisher", "author",
                      "publication_date", "cite_as", "disclaimer", "country",
                      "year", "tier", "doc_type", "source_url"):
            self.assertEqual(getattr(got, field), getattr(report, field),
                             field)
        self.assertEqual(list(got.body), list(report.body))
        self.assertTrue(got.created_at)
        self.assertTrue(got.updated_at)
        self.assertTrue(got.created_by)
        self.assertEqual(self.client.stats().records, 1)

    def test_put_versions_and_conflict(self):
        self.client.put(make_report("r1"))
        second = self.client.put(make_report("r1", tier=report_pb2.TIER_1),
                                 expected_version=1)
        self.assertEqual(second.version, 2)
        self.assertFalse(second.created)
        self.assertEqual(self.client.get("r1").tier, report_pb2.TIER_1)

        err = self.assertCode(ABORTED, self.client.put, make_report("r1"),
                              expected_version=1)
        self.assertEqual(err.name, "ABORTED")
        self.assertIn("2", err.message)  # names the current version
        # The refused write changed nothing.
        got = self.client.get("r1")
        self.assertEqual(got.version, 2)
        self.assertEqual(got.tier, report_pb2.TIER_1)

        # A version expected of a record that does not exist: ABORTED too.
        self.assertCode(ABORTED, self.client.put, make_report("r2"),
                        expected_version=3)
        self.assertCode(NOT_FOUND, self.client.get, "r2")

    def test_put_create_only(self):
        self.assertTrue(self.client.put(make_report("c1"),
                                        create_only=True).created)
        self.assertCode(ALREADY_EXISTS, self.client.put, make_report("c1"),
                        create_only=True)
        self.assertEqual(self.client.get("c1").version, 1)

    def test_put_invalid_id(self):
        self.assertCode(INVALID_ARGUMENT, self.client.put,
                        make_report("has a space"))
        self.assertCode(INVALID_ARGUMENT, self.client.put,
                        make_report("x" * 129))
        self.assertEqual(self.client.stats().records, 0)

    def test_delete(self):
        self.client.put(make_report("d1"))
        self.client.put(make_report("d1"))
        self.assertCode(ABORTED, self.client.delete, "d1", expected_version=1)
        deleted = self.client.delete("d1", expected_version=2)
        self.assertEqual(deleted.id, "d1")
        self.assertEqual(deleted.version, 2)
        self.assertCode(NOT_FOUND, self.client.get, "d1")
        self.assertCode(NOT_FOUND, self.client.delete, "d1")
        self.assertEqual(list(self.client.list()), [])


class TestList(DossierdTestCase):

    def setUp(self):
        super().setUp()
        self.rows = [
            ("a-aze-2004", "Azerbaijan", 2004, report_pb2.TIER_2_WATCH_LIST,
             "United States Department of State"),
            ("b-aze-2007", "Azerbaijan", 2007, report_pb2.TIER_2,
             "United States Department of State"),
            ("c-rus-2008", "Russia", 2008, report_pb2.TIER_2_WATCH_LIST,
             "United States Department of State"),
            ("d-swe-2010", "Sweden", 2010, report_pb2.TIER_1,
             "United States Department of State"),
            ("e-som-2017", "Somalia", 2017, report_pb2.SPECIAL_CASE,
             "United States Department of State"),
            ("f-mmr-2013", "Burma", 2013, report_pb2.TIER_UNSPECIFIED,
             "Human Rights Watch"),
            ("g-aze-2010", "Azerbaijan", 2010, report_pb2.TIER_2_WATCH_LIST,
             "United States Department of State"),
        ]
        for rid, country, year, tier, publisher in self.rows:
            self.client.put(make_report(rid, country, year, tier, publisher))

    def ids(self, **kwargs):
        return [r.id for r in self.client.list(**kwargs)]

    def test_all_in_id_order(self):
        self.assertEqual(self.ids(), sorted(r[0] for r in self.rows))

    def test_filters(self):
        self.assertEqual(self.ids(country="Azerbaijan"),
                         ["a-aze-2004", "b-aze-2007", "g-aze-2010"])
        self.assertEqual(self.ids(country="AZE"),
                         ["a-aze-2004", "b-aze-2007", "g-aze-2010"])
        self.assertEqual(self.ids(country="Myanmar"), ["f-mmr-2013"])
        self.assertEqual(self.ids(year=2010), ["d-swe-2010", "g-aze-2010"])
        self.assertEqual(self.ids(year=(2008, 2013)),
                         ["c-rus-2008", "d-swe-2010", "f-mmr-2013",
                          "g-aze-2010"])
        self.assertEqual(self.ids(year=(2013, None)),
                         ["e-som-2017", "f-mmr-2013"])
        self.assertEqual(self.ids(year=(None, 2004)), ["a-aze-2004"])
        self.assertEqual(self.ids(tier="TIER_2_WATCH_LIST"),
                         ["a-aze-2004", "c-rus-2008", "g-aze-2010"])
        self.assertEqual(self.ids(tier=report_pb2.SPECIAL_CASE),
                         ["e-som-2017"])
        self.assertEqual(self.ids(publisher="human rights watch"),
                         ["f-mmr-2013"])
        self.assertEqual(self.ids(country="Azerbaijan", year=(2005, 0),
                                  tier="TIER_2_WATCH_LIST"), ["g-aze-2010"])
        self.assertEqual(self.ids(country="Sweden", year=2004), [])
        # Tiers as people write them, and read them back (issue 21).
        self.assertEqual(self.ids(tier="Tier 2 Watch List"),
                         ["a-aze-2004", "c-rus-2008", "g-aze-2010"])
        self.assertEqual(self.ids(tier="special case"), ["e-som-2017"])
        with self.assertRaises(ValueError) as caught:
            self.ids(tier="Tier 9")
        self.assertIn("'Tier 2 Watch List'", str(caught.exception))
        # The document type, any case, in list, search and export_rows.
        fiw = make_report("h-aze-fiw", "Azerbaijan", 2010,
                          report_pb2.TIER_UNSPECIFIED)
        fiw.doc_type = "Freedom in the World"
        self.client.put(fiw)
        self.assertEqual(self.ids(doc_type="freedom in the WORLD"),
                         ["h-aze-fiw"])
        self.assertEqual(self.ids(doc_type="Trafficking in Persons Report",
                                  country="AZE", year=2010), ["g-aze-2010"])
        self.assertEqual(self.ids(doc_type="Freedom"), [])
        found = self.client.search("paragraph", doc_type="Freedom in the "
                                   "World", facets=True)
        self.assertEqual([h.report.id for h in found.hits], ["h-aze-fiw"])
        facet = [f for f in found.facets if f.field == "doc_type"]
        self.assertEqual([(c.value, c.count) for c in facet[0].counts],
                         [("Freedom in the World", 1)])
        self.assertEqual([r["id"] for r in self.client.export_rows(
            ("id",), doc_type="FREEDOM IN THE WORLD")], ["h-aze-fiw"])
        summary = next(self.client.list(country="Somalia"))
        self.assertEqual(tier_name(summary.tier), "Special Case")
        self.assertEqual(tier_name(report_pb2.TIER_2_WATCH_LIST),
                         "Tier 2 Watch List")

    def test_views(self):
        summary = next(self.client.list(country="Sweden"))
        self.assertEqual(summary.id, "d-swe-2010")
        self.assertEqual(summary.country, "Sweden")
        self.assertEqual(summary.year, 2010)
        self.assertEqual(summary.tier, report_pb2.TIER_1)
        self.assertEqual(summary.version, 1)
        self.assertEqual(len(summary.body), 0)
        self.assertEqual(summary.cite_as, "")
        self.assertEqual(summary.disclaimer, "")
        full = next(self.client.list(country="Sweden", full=True))
        self.assertEqual(list(full.body),
                         ["First paragraph.", "Second paragraph."])
        self.assertTrue(full.cite_as)
        self.assertEqual(full, self.client.get("d-swe-2010"))

    def test_pagination(self):
        seen = []
        token = ""
        pages = 0
        while pages < 10:
            page = self.client.list_page(page_size=3, page_token=token)
            pages += 1
            self.assertLessEqual(len(page.reports), 3)
            seen.extend(r.id for r in page.reports)
            if not page.next_page_token:
                break
            self.assertEqual(len(page.reports), 3)
            token = page.next_page_token
        self.assertEqual(pages, 3)
        self.assertEqual(seen, sorted(r[0] for r in self.rows))

        # The generator follows the tokens the same way, with filters.
        self.assertEqual(self.ids(page_size=1, country="AZE"),
                         ["a-aze-2004", "b-aze-2007", "g-aze-2010"])
        self.assertEqual(self.ids(page_size=2), seen)

    def test_pagination_sees_writes_between_pages(self):
        first = self.client.list_page(page_size=2)
        self.assertEqual([r.id for r in first.reports],
                         ["a-aze-2004", "b-aze-2007"])
        self.client.delete("c-rus-2008")
        self.client.put(make_report("zz-late"))
        rest = []
        token = first.next_page_token
        for _ in range(10):
            page = self.client.list_page(page_size=2, page_token=token)
            rest.extend(r.id for r in page.reports)
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(rest, ["d-swe-2010", "e-som-2017", "f-mmr-2013",
                                "g-aze-2010", "zz-late"])

    def test_bad_page_size_and_token(self):
        self.assertCode(INVALID_ARGUMENT, self.client.list_page,
                        page_size=100000)
        self.assertCode(INVALID_ARGUMENT, self.client.list_page,
                        page_token="\x01not a token")


TIER_NAMES = {
    "": report_pb2.TIER_UNSPECIFIED,
    "Tier 1": report_pb2.TIER_1,
    "Tier 2": report_pb2.TIER_2,
    "Tier 2 Watch List": report_pb2.TIER_2_WATCH_LIST,
    "Tier 3": report_pb2.TIER_3,
    "Special Case": report_pb2.SPECIAL_CASE,
}


class TestImport(DossierdTestCase):

    def expected(self):
        """Rows of refworld/EXPECTED-extra.tsv (the parser's fixtures and
        what a correct import reads from each), as dicts."""
        self.assertTrue(FIXTURE_DIR, "DOSSIER_FIXTURE_DIR is not set")
        path = os.path.join(FIXTURE_DIR, "refworld", "EXPECTED-extra.tsv")
        with open(path, encoding="utf-8") as f:
            lines = [line.rstrip("\n").split("\t") for line in f if line.strip()]
        header, rows = lines[0], lines[1:]
        self.assertTrue(rows, "no fixture rows in %s" % path)
        return [dict(zip(header, row)) for row in rows]

    def read(self, name):
        with open(os.path.join(FIXTURE_DIR, "refworld", name), "rb") as f:
            return f.read()

    def fixtures(self):
        return [row["file"] for row in self.expected()
                if row["status"] == "ok"]

    def test_import_created_then_unchanged(self):
        ids = set()
        accepted = 0
        for row in self.expected():
            name = row["file"]
            data = self.read(name)
            if row["status"] != "ok":
                self.assertCode(INVALID_ARGUMENT, self.client.import_text,
                                data, filename=name)
                continue
            accepted += 1
            first = self.client.import_text(data, filename=name)
            self.assertEqual(first.outcome,
                             reports_pb2.IMPORT_OUTCOME_CREATED, name)
            self.assertEqual(first.version, 1, name)
            self.assertEqual(first.id, row["id"], name)
            self.assertNotIn(first.id, ids, "%s: id collides" % name)
            ids.add(first.id)

            stored = self.client.get(first.id)
            self.assertEqual(stored.version, 1, name)
            self.assertEqual(stored.country, row["country"], name)
            self.assertEqual(stored.country_code, row["country_code"], name)
            self.assertEqual(stored.year, int(row["year"] or 0), name)
            self.assertEqual(stored.tier, TIER_NAMES[row["tier"]], name)
            self.assertEqual(stored.doc_type, row["doc_type"], name)
            # The bytes went as they are (ImportTextRequest.content), UTF-16
            # and Windows-1252 files too: the server hashed the file.
            self.assertEqual(stored.source_sha256, row["source_sha256"], name)
            self.assertEqual(stored.source_sha256,
                             hashlib.sha256(data).hexdigest(), name)

            again = self.client.import_text(data, filename=name)
            self.assertEqual(again.outcome,
                             reports_pb2.IMPORT_OUTCOME_UNCHANGED, name)
            self.assertEqual(again.id, first.id, name)
            self.assertEqual(again.version, 1, name)
            self.assertEqual(self.client.get(first.id).version, 1, name)

        self.assertGreater(accepted, 0)
        self.assertEqual(self.client.stats().records, len(ids))
        self.assertEqual(sorted(r.id for r in self.client.list()),
                         sorted(ids))

    def test_import_batch(self):
        rows = self.expected()
        docs = [{"text": self.read(r["file"]), "filename": r["file"]}
                for r in rows]
        result = self.client.import_batch(docs)
        self.assertEqual(len(result.results), len(rows))
        for row, res in zip(rows, result.results):
            if row["status"] == "ok":
                self.assertEqual(res.code, OK, "%s: %s"
                                 % (row["file"], res.message))
                self.assertEqual(res.response.id, row["id"])
                self.assertEqual(res.response.outcome,
                                 reports_pb2.IMPORT_OUTCOME_CREATED)
            else:
                self.assertEqual(res.code, INVALID_ARGUMENT, row["file"])
                self.assertTrue(res.message)
        self.assertEqual(self.client.stats().records,
                         sum(r["status"] == "ok" for r in rows))

    def test_import_changed_text_updates(self):
        text = self.read(self.fixtures()[0]).decode("utf-8", "replace")
        first = self.client.import_text(text, id="fixed-id")
        self.assertEqual(first.id, "fixed-id")
        second = self.client.import_text(text + "\nOne more paragraph.\n",
                                         id="fixed-id")
        self.assertEqual(second.outcome, reports_pb2.IMPORT_OUTCOME_UPDATED)
        self.assertEqual(second.version, 2)

    def test_dry_run_stores_nothing(self):
        text = self.read(self.fixtures()[0])
        parsed = self.client.import_text(text, filename="x.txt",
                                         dry_run=True)
        self.assertEqual(parsed.outcome, reports_pb2.IMPORT_OUTCOME_PARSED)
        self.assertEqual(parsed.report.id, parsed.id)
        self.assertTrue(parsed.report.country)
        self.assertCode(NOT_FOUND, self.client.get, parsed.id)
        self.assertEqual(self.client.stats().records, 0)

    def test_not_a_document(self):
        self.assertCode(INVALID_ARGUMENT, self.client.import_text, "",
                        filename="empty.txt")
        self.assertEqual(self.client.stats().records, 0)


class TestDataInOut(DossierdTestCase):
    """PutBatch, a record's versions, and the CSV rows (issue 19)."""

    def test_put_batch_and_versions(self):
        a = make_report("py-a")
        bad = make_report("bad id")
        resp = self.client.put_batch([a, bad])
        self.assertEqual([r.code for r in resp.results], [0, INVALID_ARGUMENT])
        self.assertEqual(resp.results[0].outcome,
                         reports_pb2.IMPORT_OUTCOME_CREATED)
        again = self.client.put_batch([a])
        self.assertEqual(again.results[0].outcome,
                         reports_pb2.IMPORT_OUTCOME_UNCHANGED)
        a.title = "Revised"
        self.client.put_batch([a])
        self.client.delete("py-a")
        versions = list(self.client.list_versions("py-a", page_size=1))
        self.assertEqual([v.version for v in versions], [3, 2, 1])
        self.assertTrue(versions[0].deleted)
        self.assertEqual(self.client.get("py-a", version=2).title, "Revised")
        self.assertCode(NOT_FOUND, self.client.get, "py-a")

    def test_export_rows(self):
        report = make_report("py-csv", country="Chad", year=2010,
                             tier=report_pb2.TIER_2_WATCH_LIST,
                             body=("One, \"quoted\"", "Two\nlines é"))
        report.country_code = "TCD"
        self.client.put(report)
        self.client.put(report_pb2.Report(id="py-csv-2", title="Other",
                                          doc_type="Other"))
        rows = list(self.client.export_rows(
            fields=("id", "year", "tier", "body"),
            doc_type="trafficking in persons report"))
        self.assertEqual(rows, [{"id": "py-csv", "year": "2010",
                                 "tier": "Tier 2 Watch List",
                                 "body": "One, \"quoted\"\n\nTwo\nlines é"}])
        rows = list(self.client.export_rows())
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[1]["year"], "")
        self.assertEqual(list(rows[0]), list(dossier_client.EXPORT_FIELDS))
        with self.assertRaises(ValueError):
            list(self.client.export_rows(fields=("id", "titel")))
        try:
            import pandas  # noqa: F401
        except ImportError:
            with self.assertRaises(ImportError):
                self.client.export_dataframe()
        else:
            frame = self.client.export_dataframe(fields=("id", "year"))
            self.assertEqual(list(frame["id"]), ["py-csv", "py-csv-2"])


class TestWire(DossierdTestCase):

    def test_unknown_method(self):
        response = self.client.call_raw("dossier.v1.Reports/Frobnicate",
                                        b"", idempotent=True)
        self.assertEqual(response.code, UNIMPLEMENTED, response.message)
        self.assertIn("Frobnicate", response.message)
        self.assertEqual(response.payload, b"")
        other = self.client.call_raw("no.such.Service/Get", b"",
                                     idempotent=True)
        self.assertEqual(other.code, UNIMPLEMENTED, other.message)

    def test_bad_payload(self):
        # 0xff is not a valid protobuf tag: the GetRequest does not decode.
        response = self.client.call_raw("dossier.v1.Reports/Get",
                                        b"\xff\xff\xff", idempotent=True)
        self.assertEqual(response.code, INVALID_ARGUMENT, response.message)

    def test_garbage_frame(self):
        frames = self.raw([b"", b"\xff\xfe garbage, not a Request"])
        self.assertEqual(len(frames), 2)
        self.assertEqual(frames[0], b"")
        response = rpc_pb2.Response()
        response.ParseFromString(frames[1])
        self.assertEqual(response.code, INVALID_ARGUMENT)
        self.assertEqual(response.id, 0)
        self.assertTrue(response.message)
        # The server is still serving.
        self.assertEqual(self.client.health().status,
                         reports_pb2.SERVING_STATUS_SERVING)

    def test_dealer_framing_errors(self):
        body = rpc_pb2.Request(id=3, method="dossier.v1.Reports/Health")
        body = body.SerializeToString()
        cases = [([body], "delimiter"),            # no empty frame
                 ([b"", b""], "empty"),            # no body
                 ([b"", body, body], "frames")]    # two bodies
        for frames, word in cases:
            reply = self.raw(frames)
            self.assertEqual(len(reply), 2)
            self.assertEqual(reply[0], b"")
            response = rpc_pb2.Response.FromString(reply[1])
            self.assertEqual(response.code, INVALID_ARGUMENT, word)
            self.assertEqual(response.id, 0)
            self.assertIn(word, response.message)
        empty_method = self.client.call_raw("", b"", idempotent=True)
        self.assertEqual(empty_method.code, INVALID_ARGUMENT)
        self.assertEqual(self.client.health().status,
                         reports_pb2.SERVING_STATUS_SERVING)

    def test_health_service_names(self):
        self.assertEqual(self.client.health("dossier.v1.Reports").status,
                         reports_pb2.SERVING_STATUS_SERVING)
        self.assertCode(NOT_FOUND, self.client.health, "grpc.health.v1")

    def test_req_socket(self):
        self.client.put(make_report("via-req"))
        request = rpc_pb2.Request(
            id=77, method="dossier.v1.Reports/Get",
            payload=reports_pb2.GetRequest(id="via-req").SerializeToString())
        frames = self.raw([request.SerializeToString()], zmq.REQ)
        self.assertEqual(len(frames), 1)
        response = rpc_pb2.Response()
        response.ParseFromString(frames[0])
        self.assertEqual(response.id, 77)
        self.assertEqual(response.code, OK, response.message)
        report = report_pb2.Report()
        report.ParseFromString(response.payload)
        self.assertEqual(report.id, "via-req")

    def test_pipelined_dealer_replies_match_ids(self):
        for i in range(5):
            self.client.put(make_report("p%d" % i))
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, RAW_TIMEOUT_MS)
        try:
            sock.connect(self.endpoint)
            wanted = {}
            for i in range(5):
                rid = 1000 + i
                wanted[rid] = "p%d" % i
                request = rpc_pb2.Request(
                    id=rid, method="dossier.v1.Reports/Get",
                    payload=reports_pb2.GetRequest(
                        id="p%d" % i).SerializeToString())
                sock.send_multipart([b"", request.SerializeToString()])
            for _ in range(5):
                frames = sock.recv_multipart()
                response = rpc_pb2.Response()
                response.ParseFromString(frames[-1])
                self.assertEqual(response.code, OK, response.message)
                report = report_pb2.Report()
                report.ParseFromString(response.payload)
                self.assertEqual(report.id, wanted.pop(response.id))
            self.assertEqual(wanted, {})
        finally:
            sock.close()

    def test_describe(self):
        fds = self.client.describe()
        self.assertIsInstance(fds, descriptor_pb2.FileDescriptorSet)
        files = {f.name: f for f in fds.file}
        for name in ("dossier/v1/reports.proto", "dossier/v1/report.proto",
                     "dossier/v1/rpc.proto"):
            self.assertIn(name, files)
        services = [s for s in files["dossier/v1/reports.proto"].service
                    if s.name == "Reports"]
        self.assertEqual(len(services), 1)
        methods = {m.name: m for m in services[0].method}
        local = reports_pb2.DESCRIPTOR.services_by_name["Reports"]
        self.assertEqual(sorted(methods), sorted(m.name for m in
                                                 local.methods))
        # The first twelve methods, and at least Audit after them (more
        # are added at the end of the service, never in between).
        self.assertGreaterEqual(len(methods), 13)
        self.assertIn("Audit", methods)
        for m in local.methods:
            self.assertEqual(methods[m.name].input_type,
                             "." + m.input_type.full_name)
            self.assertEqual(methods[m.name].output_type,
                             "." + m.output_type.full_name)
        # Each method's facts travel with it: the role it needs and
        # whether a client may resend it (options.proto).
        self.assertIn("dossier/v1/options.proto", files)
        levels = descriptor_pb2.MethodOptions
        put = methods["Put"].options
        self.assertEqual(put.idempotency_level, levels.IDEMPOTENT)
        self.assertEqual(put.Extensions[options_pb2.required_role],
                         options_pb2.ROLE_WRITER)
        self.assertEqual(methods["Get"].options.idempotency_level,
                         levels.NO_SIDE_EFFECTS)
        backup = methods["Backup"].options
        self.assertTrue(backup.HasField("idempotency_level"))
        self.assertEqual(backup.idempotency_level, levels.IDEMPOTENCY_UNKNOWN)
        self.assertEqual(backup.Extensions[options_pb2.required_role],
                         options_pb2.ROLE_ADMIN)
        for name, method in methods.items():
            self.assertNotEqual(
                method.options.Extensions[options_pb2.required_role],
                options_pb2.ROLE_UNSPECIFIED, name)

    def test_timeout_retry_and_recovery(self):
        self.client.put(make_report("t1"))
        slow = Client(self.endpoint, timeout_ms=200, retries=1)
        try:
            self.server.send_signal(signal.SIGSTOP)
            try:
                started = time.monotonic()
                err = self.assertCode(UNAVAILABLE, slow.get, "t1")
                elapsed = time.monotonic() - started
                self.assertIn("2 attempts", err.message)
                # Two timeouts waited (a lower bound cannot flake; how
                # fast is bench/'s business).
                self.assertGreaterEqual(elapsed, 0.35)
                # A write is retried too, with its idempotency key.
                err = self.assertCode(UNAVAILABLE, slow.put,
                                      make_report("t2"))
                self.assertIn("2 attempts", err.message)
            finally:
                self.server.send_signal(signal.SIGCONT)
            # The reopened socket works again once the server is back.
            self.assertEqual(slow.get("t1").id, "t1")
        finally:
            slow.close()

    def waking_client(self, **kwargs):
        """A Client that wakes the (SIGSTOPped) server when it gives up on
        an attempt and reopens its socket, and counts those retries in
        its .reopened: a retry that happens on an event, not a timer."""
        server = self.server

        class WakingClient(Client):
            reopened = 0

            def _reopen(self):
                self.reopened += 1
                server.send_signal(signal.SIGCONT)
                Client._reopen(self)

        return WakingClient(self.endpoint, **kwargs)

    def test_retry_succeeds_when_server_wakes(self):
        self.client.put(make_report("w1"))
        slow = self.waking_client(timeout_ms=300, retries=4)
        try:
            self.server.send_signal(signal.SIGSTOP)
            try:
                self.assertEqual(slow.get("w1").id, "w1")
            finally:
                self.server.send_signal(signal.SIGCONT)
            self.assertGreaterEqual(slow.reopened, 1)
        finally:
            slow.close()

    def test_write_retry_applied_once(self):
        # The slow client's connection is up (a Health) before the server
        # freezes, so the first attempt lands in the frozen server's
        # socket buffer; the server wakes when the client gives up on it,
        # so the second attempt, with the same key, comes after it. With
        # create_only a second application would be ALREADY_EXISTS: OK at
        # version 1 is the reply replayed from the key.
        slow = self.waking_client(timeout_ms=2000, retries=1)
        try:
            slow.health()
            self.server.send_signal(signal.SIGSTOP)
            try:
                put = slow.put(make_report("once-1"), create_only=True)
            finally:
                self.server.send_signal(signal.SIGCONT)
            self.assertEqual(slow.reopened, 1)
            self.assertEqual(put.version, 1)
        finally:
            slow.close()
        self.assertEqual(self.client.get("once-1").version, 1)

    def test_aborted_carries_current_version(self):
        self.client.put(make_report("cv-1"))
        self.client.put(make_report("cv-1"))
        err = self.assertCode(ABORTED, self.client.put, make_report("cv-1"),
                              expected_version=1)
        self.assertEqual(err.current_version, 2)
        self.assertIn("is at version 2", err.message)

    def test_audit(self):
        self.client.put(make_report("au-1"))
        self.assertCode(NOT_FOUND, self.client.delete, "au-missing")
        entries = [e for e in self.client.audit(page_size=1)
                   if "au-1" in e.ids or "au-missing" in e.ids]
        self.assertEqual([(e.method.split("/")[1], e.code, e.user)
                          for e in entries],
                         [("Put", 0, "anonymous"),
                          ("Delete", NOT_FOUND, "anonymous")])
        self.assertTrue(all(a.seq < b.seq for a, b in
                            zip(entries, entries[1:])))
        self.assertEqual(
            len(list(self.client.audit(method="Delete", user="nobody"))), 0)
        self.assertCode(INVALID_ARGUMENT, lambda: list(
            self.client.audit(since="last week")))

    def test_unreachable(self):
        with dead_endpoint() as endpoint:
            gone = Client(endpoint, timeout_ms=100, retries=1)
            try:
                self.assertCode(UNAVAILABLE, gone.health)
            finally:
                gone.close()

    def test_reload_users_without_curve(self):
        err = self.assertCode(FAILED_PRECONDITION, self.client.reload_users)
        self.assertIn("without CURVE", err.message)

    def test_example_export_jsonl(self):
        """client/python/examples/export_jsonl.py, as its docstring runs
        it: every record as a JSON line, --summary without bodies, exit
        2 on bad usage and 3 when no server answers."""
        script = os.path.join(os.path.dirname(dossier_client.__file__),
                              "examples", "export_jsonl.py")
        for rid in ("ex-1", "ex-2", "ex-3"):
            self.client.put(make_report(rid))

        def run(*args):
            return subprocess.run([sys.executable, script] + list(args),
                                  capture_output=True, text=True,
                                  timeout=60, env=os.environ.copy())

        done = run(self.endpoint)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = [json.loads(line) for line in done.stdout.splitlines()]
        self.assertEqual([r["id"] for r in lines], ["ex-1", "ex-2", "ex-3"])
        self.assertEqual(lines[0]["body"], list(make_report("ex-1").body))
        self.assertEqual(lines[0]["version"], "1")
        self.assertIn("export_jsonl: 3 records", done.stderr)
        summary = run(self.endpoint, "--summary")
        self.assertEqual(summary.returncode, 0, summary.stderr)
        lines = [json.loads(line) for line in summary.stdout.splitlines()]
        self.assertEqual(len(lines), 3)
        self.assertTrue(all("body" not in r for r in lines))
        self.assertEqual(run("--sideways").returncode, 2)
        with dead_endpoint() as endpoint:
            unreachable = run(endpoint)
        self.assertEqual(unreachable.returncode, 3, unreachable.stderr)


class TestMany(DossierdTestCase):
    """Pipelined reads: call_many and get_many keep several calls on the
    wire and give the results in the order asked."""

    def setUp(self):
        super().setUp()
        self.ids = ["many-%03d" % i for i in range(60)]
        reply = self.client.put_batch(
            [make_report(rid, year=2000 + i % 20)
             for i, rid in enumerate(self.ids)])
        self.assertTrue(all(r.code == OK for r in reply.results))

    def spying_client(self, wake=False, **kwargs):
        """A Client that logs each request sent and reply read on its
        real socket ("send"/"recv" in .events); with wake, it also wakes
        a SIGSTOPped server when it gives up on an attempt (.reopened)."""
        server = self.server

        class SpyingClient(Client):
            def __init__(self, *args, **kw):
                self.events = []
                self.reopened = 0
                Client.__init__(self, *args, **kw)

            def _send(self, request):
                self.events.append("send")
                Client._send(self, request)

            def _recv(self, flags=0):
                response = Client._recv(self, flags)
                if response is not None:
                    self.events.append("recv")
                return response

            def _reopen(self):
                self.reopened += 1
                if wake:
                    server.send_signal(signal.SIGCONT)
                Client._reopen(self)

        client = SpyingClient(self.endpoint, **kwargs)
        self.addCleanup(client.close)
        return client

    def test_results_in_the_order_asked(self):
        wanted = list(reversed(self.ids)) + self.ids[:5] + self.ids[:5]
        reports = self.client.get_many(wanted, in_flight=16)
        self.assertEqual([r.id for r in reports], wanted)
        for r in reports:
            self.assertEqual(r.year, 2000 + int(r.id[5:]) % 20)
            self.assertEqual(list(r.body),
                             ["First paragraph.", "Second paragraph."])
        self.assertEqual(self.client.get_many([]), [])

    def test_calls_in_flight(self):
        spy = self.spying_client()
        self.assertEqual(len(spy.get_many(self.ids, in_flight=16)), 60)
        # 16 requests out before the first reply is read, never more than
        # 16 unanswered, every reply read.
        self.assertEqual(spy.events[:17], ["send"] * 16 + ["recv"])
        out, most = 0, 0
        for event in spy.events:
            out += 1 if event == "send" else -1
            most = max(most, out)
        self.assertEqual(most, 16)
        self.assertEqual(spy.events.count("send"), 60)
        self.assertEqual(spy.events.count("recv"), 60)
        # One in flight: each reply read before the next request.
        spy.events.clear()
        spy.get_many(self.ids[:10], in_flight=1)
        self.assertEqual(spy.events, ["send", "recv"] * 10)

    def test_missing(self):
        wanted = ["many-001", "many-none", "many-002"]
        err = self.assertCode(NOT_FOUND, self.client.get_many, wanted)
        self.assertIn("many-none", err.message)
        found = self.client.get_many(wanted, missing_ok=True)
        self.assertEqual([r and r.id for r in found],
                         ["many-001", None, "many-002"])
        # The client goes on after an error, replies still due dropped.
        self.assertEqual(self.client.get("many-003").id, "many-003")

    def test_other_reads_and_refusals(self):
        pages = list(self.client.call_many(
            "List", [reports_pb2.ListRequest(
                filter=reports_pb2.ReportFilter(year_min=y, year_max=y))
                for y in (2001, 2002, 2019)],
            reports_pb2.ListResponse, in_flight=3))
        self.assertEqual([[r.id for r in p.reports] for p in pages],
                         [["many-001", "many-021", "many-041"],
                          ["many-002", "many-022", "many-042"],
                          ["many-019", "many-039", "many-059"]])
        with self.assertRaises(ValueError):
            list(self.client.call_many("Put", [], reports_pb2.PutResponse))
        with self.assertRaises(ValueError):
            self.client.get_many(self.ids, in_flight=0)

    def test_unanswered_calls_sent_again(self):
        # The server freezes with 8 Gets in its socket buffer; the client
        # gives up on them, wakes it, and sends every unanswered one
        # again on a fresh socket (reads only): all 20 come back.
        slow = self.spying_client(wake=True, timeout_ms=300, retries=4)
        slow.health()
        self.server.send_signal(signal.SIGSTOP)
        try:
            reports = slow.get_many(self.ids[:20], in_flight=8)
        finally:
            self.server.send_signal(signal.SIGCONT)
        self.assertEqual([r.id for r in reports], self.ids[:20])
        self.assertGreaterEqual(slow.reopened, 1)
        self.assertGreater(slow.events.count("send"), 20)

    def test_unreachable(self):
        with dead_endpoint() as endpoint:
            gone = Client(endpoint, timeout_ms=100, retries=1)
            try:
                err = self.assertCode(UNAVAILABLE, gone.get_many,
                                      ["a", "b", "c"])
                self.assertIn("2 attempts", err.message)
            finally:
                gone.close()


class TestQueries(DossierdTestCase):

    def setUp(self):
        super().setUp()
        tiers = [(2004, report_pb2.TIER_2_WATCH_LIST),
                 (2005, report_pb2.TIER_2),
                 (2006, report_pb2.TIER_3),
                 (2007, report_pb2.TIER_3)]
        for year, tier in tiers:
            self.client.put(make_report(
                "aze-%d" % year, "Azerbaijan", year, tier,
                body=("Forced labor in construction, year %d." % year,)))
        self.client.put(make_report("swe-2005", "Sweden", 2005,
                                    report_pb2.TIER_1,
                                    body=("Sex trafficking of women.",)))
        self.client.put(make_report("swe-2006", "Sweden", 2006,
                                    report_pb2.TIER_1,
                                    body=("Sex trafficking of women.",)))

    def test_history(self):
        history = self.client.history("AZE")
        self.assertEqual(history.country_code, "AZE")
        self.assertEqual([(e.year, e.tier, e.report_id)
                          for e in history.entries],
                         [(2004, report_pb2.TIER_2_WATCH_LIST, "aze-2004"),
                          (2005, report_pb2.TIER_2, "aze-2005"),
                          (2006, report_pb2.TIER_3, "aze-2006"),
                          (2007, report_pb2.TIER_3, "aze-2007")])
        self.assertCode(NOT_FOUND, self.client.history, "Norway")

    def test_changes(self):
        changes = self.client.changes(2005)
        self.assertEqual(changes.year, 2005)
        self.assertEqual([(c.country, c.previous, c.current, c.move)
                          for c in changes.changes],
                         [("Azerbaijan", report_pb2.TIER_2_WATCH_LIST,
                           report_pb2.TIER_2, reports_pb2.TIER_MOVE_UPGRADE)])
        down = self.client.changes(2006).changes
        self.assertEqual([(c.country, c.move) for c in down],
                         [("Azerbaijan", reports_pb2.TIER_MOVE_DOWNGRADE)])
        self.assertEqual(list(self.client.changes(2007).changes), [])

    def test_search(self):
        result = self.client.search("forced labor")
        self.assertEqual(result.total_hits, 4)
        self.assertEqual(sorted(h.report.id for h in result.hits),
                         ["aze-2004", "aze-2005", "aze-2006", "aze-2007"])
        for hit in result.hits:
            self.assertGreater(hit.score, 0)
            self.assertIn("[", hit.snippet)
        by_year = self.client.search("forced labor",
                                     order="SEARCH_ORDER_YEAR")
        self.assertEqual([h.report.year for h in by_year.hits],
                         [2007, 2006, 2005, 2004])
        self.assertEqual(self.client.search("trafficking",
                                            country="Sweden").total_hits, 2)
        self.assertEqual(self.client.search("labor -construction")
                         .total_hits, 0)
        self.assertEqual(self.client.search("zebra").total_hits, 0)

    def test_search_pages_and_facets(self):
        seen = []
        token = ""
        for _ in range(10):
            page = self.client.search("forced labor", page_size=3,
                                      page_token=token,
                                      order="SEARCH_ORDER_YEAR", facets=True)
            self.assertEqual(page.total_hits, 4)
            seen.extend(h.report.id for h in page.hits)
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(seen, ["aze-2007", "aze-2006", "aze-2005",
                                "aze-2004"])
        facets = {f.field: {c.value: c.count for c in f.counts}
                  for f in page.facets}
        self.assertEqual(facets, {
            "year": {"2004": 1, "2005": 1, "2006": 1, "2007": 1},
            "tier": {"TIER_3": 2, "TIER_2": 1, "TIER_2_WATCH_LIST": 1},
            "country": {"AZE": 4},
            "publisher": {"United States Department of State": 4},
            "doc_type": {"Trafficking in Persons Report": 4}})
        tiers = [f for f in page.facets if f.field == "tier"][0]
        self.assertEqual(tiers.counts[0].value, "TIER_3")  # most frequent
        self.assertCode(INVALID_ARGUMENT, self.client.search, "forced labor",
                        page_token=token or "bogus", country="Sweden")
        self.assertCode(INVALID_ARGUMENT, self.client.search, "")
        self.assertCode(INVALID_ARGUMENT, self.client.search, "-labor")

    def test_stats_counts(self):
        stats = self.client.stats()
        self.assertEqual(stats.records, 6)
        by_year = {c.year: c.count for c in stats.by_year}
        self.assertEqual(by_year, {2004: 1, 2005: 2, 2006: 2, 2007: 1})
        by_tier = {c.tier: c.count for c in stats.by_tier}
        self.assertEqual(by_tier[report_pb2.TIER_3], 2)
        self.assertEqual(by_tier[report_pb2.TIER_1], 2)


class TestLimits(DossierdTestCase):

    server_args = ("--max-message-bytes", "4M", "--workers", "1")

    def test_oversized_message_gets_no_reply(self):
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.connect(self.endpoint)
            big = rpc_pb2.Request(id=1, method="dossier.v1.Reports/Health",
                                  payload=b"x" * (5 * 1024 * 1024))
            sock.send_multipart([b"", big.SerializeToString()])
            self.assertEqual(sock.poll(500, zmq.POLLIN), 0,
                             "a message over --max-message-bytes must be "
                             "dropped, not answered")
        finally:
            sock.close()
        # The server goes on serving, this client and a new connection.
        self.assertEqual(self.client.health().status,
                         reports_pb2.SERVING_STATUS_SERVING)
        just_under = "y" * (3 * 1024 * 1024)
        self.client.put(make_report("near-limit", body=(just_under,)))
        self.assertEqual(self.client.get("near-limit").body[0], just_under)

    def test_deadline_passes_while_queued(self):
        # One worker, busy parsing a batch of ~1.5 MiB (about 20 ms here);
        # a List queued behind it with a 1 ms deadline expires before it
        # starts.
        doc = self.read_fixture()
        copies = max(1, (1536 * 1024) // len(doc))
        batch = reports_pb2.ImportBatchRequest()
        for i in range(copies):
            batch.documents.add(text=doc, id="copy-%d" % i, dry_run=True)
        listing = reports_pb2.ListRequest()
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, RAW_TIMEOUT_MS)
        try:
            sock.connect(self.endpoint)
            for rid, method, message, deadline in (
                    (1, "ImportBatch", batch, 0),
                    (2, "List", listing, 1)):
                request = rpc_pb2.Request(
                    id=rid, method="dossier.v1.Reports/" + method,
                    payload=message.SerializeToString(),
                    deadline_ms=deadline)
                sock.send_multipart([b"", request.SerializeToString()])
            codes = {}
            for _ in range(2):
                response = rpc_pb2.Response.FromString(
                    sock.recv_multipart()[-1])
                codes[response.id] = (response.code, response.message)
        finally:
            sock.close()
        self.assertEqual(codes[1][0], OK, codes[1][1])
        self.assertEqual(codes[2][0], DEADLINE_EXCEEDED, codes[2][1])
        self.assertIn("deadline", codes[2][1])

    def read_fixture(self):
        path = os.path.join(FIXTURE_DIR, "refworld", "tip-2004-azerbaijan.txt")
        with open(path, encoding="utf-8") as f:
            return f.read()


class TestResend(unittest.TestCase):
    """The client resends only what reports.proto allows: a silent ROUTER
    (it reads requests and never answers) counts each method's attempts.
    The rules are written out here by hand, so that a proto edit that
    loosens one fails this test."""

    RULES = {"Put": "W", "Get": "R", "Delete": "W", "List": "R",
             "ImportText": "W", "ImportBatch": "W", "PutBatch": "W",
             "ListVersions": "R", "History": "R",
             "Changes": "R", "Search": "R", "Stats": "R", "Health": "R",
             "Describe": "R", "Audit": "R", "Backup": "N",
             "BackupRead": "R", "ReloadUsers": "W", "WhoAmI": "R",
             "CreateToken": "N", "ListTokens": "R", "RevokeToken": "W",
             "ClusterStatus": "R"}
    RETRIES = 2

    def test_resend_follows_the_proto(self):
        service = reports_pb2.DESCRIPTOR.services_by_name["Reports"]
        self.assertEqual(sorted(m.name for m in service.methods),
                         sorted(self.RULES))
        context = zmq.Context.instance()
        peer = context.socket(zmq.ROUTER)
        peer.setsockopt(zmq.LINGER, 0)
        port = peer.bind_to_random_port("tcp://127.0.0.1")
        try:
            for method in service.methods:
                rule = self.RULES[method.name]
                client = Client("tcp://127.0.0.1:%d" % port, timeout_ms=150,
                                retries=self.RETRIES)
                try:
                    with self.assertRaises(DossierError):
                        client.call(method.name, b"", report_pb2.Report)
                finally:
                    client.close()
                # Every attempt the rule allows is waited for (2 s each,
                # a loaded machine is slow to connect a fresh socket);
                # then 300 ms more catch one attempt too many.
                want = 1 if rule == "N" else self.RETRIES + 1
                requests = []
                while peer.poll(2000 if len(requests) < want else 300):
                    requests.append(rpc_pb2.Request.FromString(
                        peer.recv_multipart()[-1]))
                self.assertEqual(len(requests), want, method.name)
                keys = {r.metadata.get("idempotency-key", "")
                        for r in requests}
                if rule == "R":
                    self.assertEqual(keys, {""}, method.name)
                if rule == "W":
                    self.assertEqual(len(keys), 1, method.name)
                    self.assertEqual(len(keys.pop()), 32, method.name)
        finally:
            peer.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
