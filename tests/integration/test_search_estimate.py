"""Integration test of estimated phrase counts (SearchRequest
estimate_total_hits, SearchResponse total_hits_estimated) against a live
dossierd: through the Python client and through `dossier search`.

Run by ctest like test_python_client.py (same environment, whose server
fixture it reuses). By hand:
  DOSSIER_BIN_DIR=build/bin DOSSIER_PYTHONPATH=build/python:client/python \
  DOSSIER_FIXTURE_DIR=tests/fixtures \
      /usr/bin/python3 tests/integration/test_search_estimate.py -v
"""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_python_client import (  # noqa: E402
    BIN_DIR, DossierdTestCase, make_report)

CLI_TIMEOUT_S = 30
DOCS = 40


class SearchEstimateTest(DossierdTestCase):
    """DOCS reports each holding "forced" and "labor"; the first
    PHRASED of them also hold "forced labor" in a row. Later reports are
    longer, so they score lower: once the first ten hits are found, the
    later candidates cannot enter the page and, with the flag, are not
    checked."""

    PHRASED = 25

    def setUp(self):
        super().setUp()
        for i in range(DOCS):
            filler = " ".join(["word%d" % j for j in range(i * 3)])
            if i < self.PHRASED:
                text = "forced labor in farms %s" % filler
            else:
                text = "labor that is forced %s" % filler
            self.client.put(make_report("est-%02d" % i, year=2001 + i % 20,
                                        body=(text, "Second paragraph.")))

    def hits(self, response):
        return [(h.report.id, h.score) for h in response.hits]

    def test_estimated_total_same_hits(self):
        exact = self.client.search('"forced labor"')
        self.assertEqual(exact.total_hits, self.PHRASED)
        self.assertFalse(exact.total_hits_estimated)
        est = self.client.search('"forced labor"', estimate_total_hits=True)
        self.assertTrue(est.total_hits_estimated)
        self.assertEqual(self.hits(est), self.hits(exact))
        # The candidates hold both words: at most DOCS, at least the
        # hits found.
        self.assertGreaterEqual(est.total_hits, len(est.hits))
        self.assertLessEqual(est.total_hits, DOCS)
        # Page 2 the same either way, with either token.
        page2 = self.client.search('"forced labor"',
                                   page_token=exact.next_page_token)
        page2_est = self.client.search('"forced labor"',
                                       page_token=est.next_page_token,
                                       estimate_total_hits=True)
        self.assertEqual(len(page2.hits), 10)
        self.assertEqual(self.hits(page2_est), self.hits(page2))

    def test_facets_and_plain_terms_stay_exact(self):
        faceted = self.client.search('"forced labor"', facets=True,
                                     estimate_total_hits=True)
        self.assertFalse(faceted.total_hits_estimated)
        self.assertEqual(faceted.total_hits, self.PHRASED)
        years = [f for f in faceted.facets if f.field == "year"][0]
        self.assertEqual(sum(c.count for c in years.counts), self.PHRASED)
        terms = self.client.search("forced labor", estimate_total_hits=True)
        self.assertFalse(terms.total_hits_estimated)
        self.assertEqual(terms.total_hits, DOCS)
        few = self.client.search('"forced labor"', page_size=50,
                                 estimate_total_hits=True)
        # Fewer candidates than the page: all checked, so exact.
        self.assertFalse(few.total_hits_estimated)
        self.assertEqual(few.total_hits, self.PHRASED)

    def cli(self, *args):
        proc = subprocess.run(
            [os.path.join(BIN_DIR, "dossier"), "--server", self.endpoint]
            + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            timeout=CLI_TIMEOUT_S)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        return proc.stdout.decode()

    def test_cli_prints_about(self):
        est = self.client.search('"forced labor"', estimate_total_hits=True)
        out = self.cli("search", '"forced labor"')
        first = out.split("\n", 1)[0]
        self.assertEqual(first, "about %d matches" % est.total_hits)
        ranks = re.findall(r"^\d+\. (est-\d+) ", out, re.M)
        self.assertEqual(ranks, [h.report.id for h in est.hits])
        out = self.cli("search", "--facets", '"forced labor"')
        self.assertEqual(out.split("\n", 1)[0],
                         "%d matches" % self.PHRASED)
        out = self.cli("search", "forced", "labor")
        self.assertEqual(out.split("\n", 1)[0], "%d matches" % DOCS)


if __name__ == "__main__":
    unittest.main(verbosity=2)
