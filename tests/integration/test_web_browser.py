"""The analysts' web page (web/) in a real browser: Debian's chromium,
headless, through chromedriver and python3-selenium, against a real
dossierd (CURVE, change feed) and the HTTP front that serves the page and
the Connect API (tests/web/webstack.py), loaded with the sample reports
of deploy/samples. Every wait is bounded (WebDriverWait); no sleeps.
After each test the browser's console must hold no error but the HTTP
statuses that test provoked on purpose
(the page's first load, before signing in, is 401).

Run by ctest (DOSSIER_BIN_DIR, DOSSIER_PYTHONPATH, DOSSIER_SOURCE_DIR);
by hand:
  DOSSIER_BIN_DIR=build/bin DOSSIER_PYTHONPATH=build/python:client/python \
  DOSSIER_SOURCE_DIR=. /usr/bin/python3 tests/integration/test_web_browser.py -v
"""

import base64
import hashlib
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "web"))

from webstack import (SOURCE_DIR, WebStack, phone_width,  # noqa: E402
                      start_browser)

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT_S = 60  # a bound, not a pace: a loaded 2-core machine is slow
PAGED = 12
SAMPLES = os.path.join(SOURCE_DIR, "deploy", "samples")
FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "refworld")


def sample_files():
    return sorted(os.path.join(SAMPLES, f) for f in os.listdir(SAMPLES)
                  if f.endswith(".txt"))


class WebPageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.stack = WebStack()
        try:
            cls.stack.start()
            for path in sample_files():
                with open(path, "rb") as f:
                    content = base64.b64encode(f.read()).decode()
                status, body = cls.stack.call("ImportText", {
                    "content": content,
                    "filename": os.path.basename(path)})
                assert status == 200, (path, status, body)
            # A third Azerbaijan year, next to 2004: the chart has a step
            # (2004 -> 2005) and a gap (no 2006).
            status, body = cls.stack.call("Put", {"report": {
                "id": "tip-2005-aze-web", "title": "Azerbaijan 2005 (test)",
                "country": "Azerbaijan", "countryCode": "AZE", "year": 2005,
                "tier": "TIER_3", "docType": "Trafficking in Persons Report",
                "publisher": "United States Department of State",
                "body": ["Written by the browser test."]}})
            assert status == 200, (status, body)
            # Twelve reports of one word, years 2001 to 2012: more than a
            # page of hits.
            for i in range(PAGED):
                status, body = cls.stack.call("Put", {"report": {
                    "id": "paged-%02d" % i, "title": "Paged %d" % i,
                    "year": 2001 + i, "body": ["zanzibarite %d" % i]}})
                assert status == 200, (status, body)
            cls.browser = start_browser()
        except BaseException:
            cls.stack.stop()
            cls.stack.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        failed = cls.stack.stop()
        cls.stack.cleanup()
        if failed:
            raise AssertionError("\n".join(failed))

    def setUp(self):
        self.wait = WebDriverWait(self.browser, WAIT_S)
        self.allowed_statuses = {401}  # the first load, before signing in
        self.browser.get_log("browser")  # drop what earlier tests left
        self.addCleanup(self.check_console)

    # ---- helpers ----

    def check_console(self):
        """Fails on any console error of the test but the HTTP statuses
        it expected (a failed fetch shows as "Failed to load resource:
        the server responded with a status of N")."""
        errors = []
        for entry in self.browser.get_log("browser"):
            if entry["level"] not in ("SEVERE", "ERROR"):
                continue
            message = entry["message"]
            if any("status of %d" % s in message
                   for s in self.allowed_statuses):
                continue
            errors.append(message)
        self.assertEqual(errors, [], "browser console errors")

    def open(self, fragment="#/", role="writer"):
        """Loads the page, signs in with a token of role through the login
        field, and shows fragment."""
        self.browser.get(self.stack.base_url + "/")
        self.wait.until(lambda d: d.find_element(
            By.CSS_SELECTOR, "body[data-ready]"))
        # The token is kept for the tab: an earlier test's is still
        # there; Sign out drops it.
        logout = self.browser.find_element(By.ID, "logout")
        if logout.is_displayed():
            logout.click()
        self.wait.until(EC.text_to_be_present_in_element(
            (By.ID, "whoami"), "not signed in"))
        field = self.browser.find_element(By.ID, "token")
        field.send_keys(self.stack.tokens[role])
        self.browser.find_element(
            By.CSS_SELECTOR, "#login button[type=submit]").click()
        self.wait.until(EC.text_to_be_present_in_element(
            (By.ID, "whoami"), "(%s)" % role))
        self.go(fragment)

    def go(self, fragment):
        """Shows fragment and waits until the page has drawn it."""
        self.browser.execute_script("location.hash = arguments[0]", fragment)
        self.wait.until(lambda d: d.execute_script(
            "return document.getElementById('main').dataset.route"
            " === location.hash"))

    def heading(self, text):
        self.wait.until(EC.text_to_be_present_in_element(
            (By.CSS_SELECTOR, "main h1"), text))

    def hits(self):
        return self.browser.find_elements(By.CSS_SELECTOR, "li.hit")

    # ---- the tests ----

    def test_search_shows_hits_with_highlighted_snippets(self):
        self.open("#/")
        box = self.wait.until(EC.element_to_be_clickable((By.ID, "f-q")))
        box.send_keys('"forced labor"')
        self.browser.find_element(
            By.CSS_SELECTOR, "form.search button[type=submit]").click()
        self.wait.until(EC.presence_of_element_located((By.ID, "total")))
        hits = self.hits()
        self.assertGreater(len(hits), 0)
        marks = self.browser.find_elements(By.CSS_SELECTOR, "li.hit mark")
        self.assertGreater(len(marks), 0, "no highlighted term")
        for mark in marks:
            self.assertIn(mark.text.lower(), ("forced", "labor"))
        # The search is in the URL: a link to it shows the same hits.
        self.assertIn("q=%22forced+labor%22", self.browser.current_url)

    def test_sort_paging_and_the_url(self):
        self.open("#/search?q=zanzibarite&order=year")
        self.wait.until(EC.text_to_be_present_in_element(
            (By.ID, "total"), "%d reports" % PAGED))
        years = [hit.find_element(By.CSS_SELECTOR, "h3").text
                 for hit in self.hits()]
        self.assertEqual(years, ["Paged %d" % i
                                 for i in range(PAGED - 1, PAGED - 11, -1)])
        self.browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
        self.wait.until(EC.url_contains("page=2"))
        self.wait.until(lambda d: len(self.hits()) == PAGED - 10)
        self.assertEqual([h.find_element(By.CSS_SELECTOR, "h3").text
                          for h in self.hits()], ["Paged 1", "Paged 0"])
        self.assertEqual(self.browser.find_element(
            By.CSS_SELECTOR, "ol.hits").get_attribute("start"), "11")
        self.assertEqual(self.browser.find_elements(
            By.CSS_SELECTOR, "a[rel=next]"), [])
        # The link alone (a fresh load, no page tokens in memory) shows
        # the same page.
        url = self.browser.current_url
        self.browser.get("about:blank")
        self.browser.get(url)
        self.wait.until(lambda d: d.find_element(
            By.CSS_SELECTOR, "body[data-ready]"))
        self.wait.until(lambda d: len(self.hits()) == PAGED - 10)
        self.browser.find_element(By.CSS_SELECTOR, "a[rel=prev]").click()
        self.wait.until(lambda d: len(self.hits()) == 10)
        self.assertEqual(self.browser.find_element(
            By.ID, "f-order").get_attribute("value"), "year")

    def test_country_completion_from_the_iso_table(self):
        self.open("#/")
        options = self.browser.execute_script(
            "return [...document.querySelectorAll('#countries option')]"
            ".map(o => o.value)")
        self.assertGreaterEqual(len(options), 249)
        self.assertIn("Côte d'Ivoire", options)
        self.assertIn("Azerbaijan", options)
        self.assertEqual(self.browser.find_element(
            By.ID, "f-country").get_attribute("list"), "countries")

    def test_facet_click_filters(self):
        self.open("#/search?q=trafficking")
        link = self.wait.until(EC.element_to_be_clickable((
            By.CSS_SELECTOR, '.facet[data-field=country] a[data-value=AZE]')))
        expected = int(link.find_element(By.CSS_SELECTOR, ".count")
                       .text.strip(" ()"))
        before = int(self.browser.find_element(By.ID, "total")
                     .text.split()[0])
        self.assertLess(expected, before, "the facet would filter nothing")
        link.click()
        self.wait.until(EC.url_contains("country=AZE"))
        self.wait.until(EC.text_to_be_present_in_element(
            (By.ID, "total"), "%d report" % expected))
        hits = self.hits()
        self.assertEqual(len(hits), expected)
        for hit in hits:
            self.assertIn("Azerbaijan", hit.find_element(
                By.CSS_SELECTOR, ".meta").text)
        # The filter shows as a chip that removes it.
        chip = self.browser.find_element(By.CSS_SELECTOR, ".chips a")
        self.assertIn("AZE", chip.text)
        self.assertNotIn("null", self.browser.find_element(
            By.CSS_SELECTOR, ".results").text)

    def test_document_type_facet_and_filter(self):
        self.open("#/search?q=government")
        links = self.wait.until(lambda d: d.find_elements(
            By.CSS_SELECTOR, ".facet[data-field=doc_type] a"))
        total = int(self.browser.find_element(By.ID, "total")
                    .text.split()[0])
        counts = {a.get_attribute("data-value"):
                  int(a.find_element(By.CSS_SELECTOR, ".count")
                      .text.strip(" ()")) for a in links}
        self.assertEqual(sum(counts.values()), total, counts)
        self.assertEqual(len(counts), 3, counts)  # TIP, HRR, HRW
        value = "Country Reports on Human Rights Practices"
        self.browser.find_element(
            By.CSS_SELECTOR, ".facet[data-field=doc_type] a[data-value='%s']"
            % value).click()
        self.wait.until(EC.url_contains("type=Country"))
        self.wait.until(EC.text_to_be_present_in_element(
            (By.ID, "total"), "%d report" % counts[value]))
        self.assertEqual([h.get_attribute("data-id") for h in self.hits()],
                         ["hrr-2004-eri"])
        self.assertEqual(self.browser.find_element(By.ID, "f-type")
                         .get_attribute("value"), value)
        chip = self.browser.find_element(By.CSS_SELECTOR, ".chips a")
        self.assertIn("document type", chip.text)
        # Without a query, the filter lists (List) that type's reports.
        self.go("#/search?type=world%20report")
        self.wait.until(lambda d: [h.get_attribute("data-id")
                                   for h in self.hits()] == ["hrw-wr-2013-mmr"])

    def test_open_report(self):
        self.open("#/search?q=azerbaijan&country=AZE&from=2004&to=2004")
        link = self.wait.until(EC.element_to_be_clickable(
            (By.CSS_SELECTOR, "li.hit h3 a")))
        title = link.text
        link.click()
        self.wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "article.report[data-id='tip-2004-aze']")))
        self.heading(title)
        # Focus moved to the new page's heading (where a screen reader
        # starts reading).
        self.assertEqual(self.browser.switch_to.active_element.tag_name,
                         "h1")
        paragraphs = self.browser.find_elements(By.CSS_SELECTOR,
                                                "section.body p")
        self.assertGreater(len(paragraphs), 3)
        with open(os.path.join(SAMPLES, "tip-2004-azerbaijan.txt"),
                  "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(self.browser.find_element(
            By.CSS_SELECTOR, ".provenance code.sha").text, digest)

    def test_country_chart_has_one_point_per_report_year(self):
        self.open("#/country/AZE")
        self.wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "svg.tier-chart")))
        points = self.browser.find_elements(By.CSS_SELECTOR,
                                            "svg.tier-chart .point")
        years = sorted(int(p.get_attribute("data-year")) for p in points)
        self.assertEqual(years, [2004, 2005, 2007])
        tiers = {int(p.get_attribute("data-year")):
                 p.get_attribute("data-tier") for p in points}
        self.assertEqual(tiers[2005], "TIER_3")
        # Two runs of years (2004-2005, 2007): the line has a gap.
        path = self.browser.find_element(
            By.CSS_SELECTOR, "svg.tier-chart path.step").get_attribute("d")
        self.assertEqual(path.count("M"), 2, path)
        # Tier 1 is the top row: a Tier 3 point sits below a Tier 2 one.
        y = {int(p.get_attribute("data-year")): float(p.find_element(
            By.TAG_NAME, "circle").get_attribute("cy")) for p in points}
        self.assertGreater(y[2005], y[2004])
        listed = self.browser.find_elements(By.CSS_SELECTOR,
                                            ".country-page li.hit")
        self.assertEqual(len(listed), 3)

    def test_import_files(self):
        self.open("#/import")
        chooser = self.wait.until(EC.presence_of_element_located(
            (By.ID, "files")))
        good = os.path.join(FIXTURES, "crlf-lineends-ghana.txt")
        # Plain notes without a Refworld header import too (issue 19);
        # what is not text at all is refused with the reason.
        notes = os.path.join(FIXTURES, "notes.txt")
        binary = os.path.join(self.stack.root, "scan.txt")
        with open(binary, "wb") as f:
            f.write(bytes(range(256)) * 16)
        chooser.send_keys(good + "\n" + notes + "\n" + binary)
        self.wait.until(lambda d: d.find_element(
            By.ID, "import-progress").get_attribute("value") == "3")
        rows = {r.get_attribute("data-file"): r for r in
                self.browser.find_elements(By.CSS_SELECTOR,
                                           ".import-results tbody tr")}
        self.assertEqual(rows["crlf-lineends-ghana.txt"]
                         .get_attribute("data-outcome"), "created")
        self.assertEqual(rows["notes.txt"].get_attribute("data-outcome"),
                         "created")
        self.assertEqual(rows["scan.txt"].get_attribute("data-outcome"),
                         "failed")
        self.assertIn("not text but binary data", rows["scan.txt"].text)
        self.allowed_statuses.add(400)  # scan.txt's invalid_argument
        # The same file again is unchanged.
        chooser.send_keys(good)
        self.wait.until(lambda d: d.find_element(
            By.CSS_SELECTOR, ".import-results tbody tr")
            .get_attribute("data-outcome") == "unchanged")

    def test_edit_with_a_conflict_shows_what_changed(self):
        status, before = self.stack.call("Get", {"id": "tip-2010-swe"})
        self.assertEqual(status, 200, before)
        self.open("#/report/tip-2010-swe")
        self.wait.until(EC.element_to_be_clickable((By.ID, "edit"))).click()
        note = self.wait.until(EC.presence_of_element_located(
            (By.ID, "e-tierNote")))
        note.clear()
        note.send_keys("edited in the browser")
        # Someone else writes the report meanwhile.
        theirs = dict(before)
        theirs["title"] = "Sweden, retitled by another writer"
        status, reply = self.stack.call("Put", {
            "report": theirs, "expectedVersion": before["version"]})
        self.assertEqual(status, 200, reply)
        self.browser.find_element(By.ID, "save").click()
        self.allowed_statuses.add(409)  # the aborted Put, on purpose
        conflict = self.wait.until(EC.presence_of_element_located(
            (By.ID, "conflict")))
        row = conflict.find_element(By.CSS_SELECTOR, "tr[data-field=title]")
        self.assertIn(before["title"], row.find_element(
            By.CSS_SELECTOR, "td.old").text)
        self.assertIn("retitled by another writer", row.find_element(
            By.CSS_SELECTOR, "td.new").text)
        # The edit was kept; saving again goes over their version.
        self.assertEqual(note.get_attribute("value"), "edited in the browser")
        self.browser.find_element(By.ID, "save").click()
        version = int(before["version"]) + 2
        self.wait.until(EC.presence_of_element_located((
            By.CSS_SELECTOR, "article.report[data-version='%d']" % version)))
        status, after = self.stack.call("Get", {"id": "tip-2010-swe"})
        self.assertEqual(after["tierNote"], "edited in the browser")
        self.assertEqual(int(after["version"]), version)

    def test_reader_sees_no_write_controls(self):
        self.open("#/report/tip-2004-aze", role="reader")
        self.wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "article.report")))
        for selector in ("#edit", "#delete", "#delete-dialog",
                         ".write-controls"):
            self.assertEqual(self.browser.find_elements(
                By.CSS_SELECTOR, selector), [], selector)
        self.assertFalse(self.browser.find_element(
            By.ID, "nav-import").is_displayed())
        self.go("#/import")
        self.heading("Import reports")
        self.assertEqual(self.browser.find_elements(By.ID, "files"), [])

    def test_live_notice_when_a_shown_report_changes(self):
        self.open("#/report/tip-2008-rus")
        self.wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "article.report")))
        self.wait.until(lambda d: d.find_element(
            By.CSS_SELECTOR, "body[data-live=on]"))
        status, report = self.stack.call("Get", {"id": "tip-2008-rus"})
        report["tierNote"] = "changed while shown"
        status, reply = self.stack.call("Put", {"report": report})
        self.assertEqual(status, 200, reply)
        notice = self.wait.until(EC.visibility_of_element_located(
            (By.ID, "live")))
        self.assertIn("tip-2008-rus", notice.text)

    def test_delete_asks_first(self):
        status, reply = self.stack.call("Put", {"report": {
            "id": "web-delete-me", "title": "To be deleted"}})
        self.assertEqual(status, 200, reply)
        self.open("#/report/web-delete-me")
        self.wait.until(EC.element_to_be_clickable((By.ID, "delete"))).click()
        dialog = self.wait.until(EC.visibility_of_element_located(
            (By.ID, "delete-dialog")))
        dialog.find_element(By.CSS_SELECTOR, "button[value=cancel]").click()
        self.assertEqual(self.stack.call("Get", {"id": "web-delete-me"})[0],
                         200)
        self.browser.find_element(By.ID, "delete").click()
        self.wait.until(EC.element_to_be_clickable(
            (By.ID, "confirm-delete"))).click()
        self.wait.until(EC.url_contains("deleted=web-delete-me"))
        self.wait.until(EC.text_to_be_present_in_element(
            (By.CSS_SELECTOR, "p.notice"), "web-delete-me was deleted"))
        self.assertEqual(self.stack.call("Get", {"id": "web-delete-me"})[0],
                         404)

    def test_phone_width_has_no_sideways_scroll(self):
        phone_width(self.browser)
        self.addCleanup(self.browser.execute_cdp_cmd,
                        "Emulation.clearDeviceMetricsOverride", {})
        for fragment, ready in (("#/search?q=trafficking", "li.hit"),
                                ("#/report/tip-2004-aze", "article.report"),
                                ("#/country/AZE", "svg.tier-chart"),
                                ("#/changes/2005", "table.changes")):
            if fragment.startswith("#/search"):
                self.open(fragment)
            else:
                self.go(fragment)
            self.wait.until(EC.presence_of_element_located(
                (By.CSS_SELECTOR, ready)))
            overflow = self.browser.execute_script(
                "return document.documentElement.scrollWidth"
                " - document.documentElement.clientWidth")
            self.assertLessEqual(overflow, 0, fragment)

    def test_events_need_a_valid_token(self):
        # Not the browser: the gateway's /events with CURVE on.
        import urllib.error
        import urllib.request
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            request = urllib.request.Request(self.stack.base_url + "/events",
                                             headers=headers)
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=WAIT_S)
            self.assertEqual(caught.exception.code, 401, headers)
        request = urllib.request.Request(
            self.stack.base_url + "/events", headers={
                "Authorization": "Bearer " + self.stack.tokens["reader"]})
        with urllib.request.urlopen(request, timeout=WAIT_S) as response:
            self.assertEqual(response.status, 200)
            self.assertEqual(response.headers["Content-Type"],
                             "text/event-stream")
            self.assertEqual(response.readline(), b": connected\n")

    UNLABELLED = """
        return [...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden'
                && e.labels.length === 0 && !e.getAttribute('aria-label'))
            .map(e => e.id || e.name || e.outerHTML)"""

    def test_every_control_has_a_label(self):
        self.open("#/search?q=trafficking")
        self.wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "li.hit")))
        self.assertEqual(self.browser.execute_script(self.UNLABELLED), [])
        self.go("#/report/tip-2004-aze")
        self.wait.until(EC.element_to_be_clickable((By.ID, "edit"))).click()
        self.wait.until(EC.presence_of_element_located((By.ID, "e-title")))
        self.assertEqual(self.browser.execute_script(self.UNLABELLED), [])
        self.go("#/import")
        self.wait.until(EC.presence_of_element_located((By.ID, "files")))
        self.assertEqual(self.browser.execute_script(self.UNLABELLED), [])

    def test_changes_page(self):
        self.open("#/changes/2005")
        self.heading("Tier changes in 2005")
        row = self.wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "table.changes tbody tr")))
        self.assertIn("Azerbaijan", row.text)
        self.assertIn("down", row.text)


if __name__ == "__main__":
    try:
        unittest.main()
    except TimeoutException as exc:  # print the cause, not just a stack
        sys.exit("timed out: %s" % exc)
