#!/usr/bin/python3
"""Takes the screenshots of docs/screenshots/ with the browser tests'
setup (tests/web/webstack.py): a real dossierd and gateway holding the
sample reports and the parser's fixtures, headless chromium.

    DOSSIER_BIN_DIR=build/bin DOSSIER_PYTHONPATH=build/python:client/python \\
    DOSSIER_SOURCE_DIR=. /usr/bin/python3 tests/web/screenshots.py
"""

import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from webstack import (SOURCE_DIR, WebStack, phone_width,  # noqa: E402
                      start_browser)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

OUT = os.path.join(SOURCE_DIR, "docs", "screenshots")
DIRS = [os.path.join(SOURCE_DIR, "deploy", "samples"),
        os.path.join(SOURCE_DIR, "tests", "fixtures", "refworld")]
# A few years of one country (2004 and 2007 are samples; no 2006), so
# the chart has steps and a gap.
HISTORY = [(2001, "TIER_2"), (2002, "TIER_2"), (2003, "TIER_3"),
           (2005, "TIER_2_WATCH_LIST"), (2008, "TIER_2_WATCH_LIST"), (2009, "TIER_2_WATCH_LIST"),
           (2010, "TIER_2")]


def load(stack):
    for folder in DIRS:
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".txt"):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                stack.call("ImportText", {
                    "content": base64.b64encode(f.read()).decode(),
                    "filename": name})
    for year, tier in HISTORY:
        stack.call("Put", {"report": {
            "id": "tip-%d-aze" % year, "country": "Azerbaijan",
            "countryCode": "AZE", "year": year, "tier": tier,
            "title": "Trafficking in Persons Report %d - Azerbaijan" % year,
            "docType": "Trafficking in Persons Report",
            "publisher": "United States Department of State",
            "body": ["An example record for the screenshots."]}})


def shoot(browser, stack, fragment, name, ready):
    browser.execute_script("location.hash = arguments[0]", fragment)
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(
        "return document.getElementById('main').dataset.route"
        " === location.hash"))
    WebDriverWait(browser, 20).until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, ready)))
    path = os.path.join(OUT, name + ".png")
    browser.save_screenshot(path)
    print(path)


def main():
    os.makedirs(OUT, exist_ok=True)
    stack = WebStack().start()
    browser = None
    try:
        load(stack)
        for width, height, suffix in ((1280, 860, ""), (390, 844, "-phone")):
            browser = start_browser(max(width, 500), height)
            if width < 500:
                phone_width(browser, width, height)
            browser.get(stack.base_url + "/")
            WebDriverWait(browser, 20).until(lambda d: d.find_element(
                By.CSS_SELECTOR, "body[data-ready]"))
            browser.find_element(By.ID, "token").send_keys(
                stack.tokens["writer"])
            browser.find_element(
                By.CSS_SELECTOR, "#login button[type=submit]").click()
            WebDriverWait(browser, 20).until(EC.text_to_be_present_in_element(
                (By.ID, "whoami"), "(writer)"))
            shoot(browser, stack, '#/search?q=%22forced+labor%22',
                  "search" + suffix, "li.hit")
            if suffix:
                browser.quit()
                browser = None
                continue
            shoot(browser, stack, "#/report/tip-2004-aze", "report",
                  "article.report")
            shoot(browser, stack, "#/country/AZE", "country",
                  "svg.tier-chart")
            shoot(browser, stack, "#/changes/2003", "changes",
                  "table.changes")
            browser.execute_script("location.hash = '#/import'")
            chooser = WebDriverWait(browser, 20).until(
                EC.presence_of_element_located((By.ID, "files")))
            fixtures = DIRS[1]
            chooser.send_keys("\n".join(os.path.join(fixtures, name) for name
                                        in ("crlf-lineends-ghana.txt",
                                            "notes.txt",
                                            "tip-2004-azerbaijan.txt")))
            WebDriverWait(browser, 20).until(lambda d: d.find_element(
                By.ID, "import-progress").get_attribute("value") == "3")
            path = os.path.join(OUT, "import.png")
            browser.save_screenshot(path)
            print(path)
            browser.quit()
            browser = None
    finally:
        if browser is not None:
            browser.quit()
        stack.stop()
        stack.cleanup()


main()
