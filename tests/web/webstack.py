"""What the browser tests (and the screenshot script) run against, all on
127.0.0.1 in a temporary directory: a real dossierd with CURVE and its
change feed, dossier-gateway in front of it with its own CURVE key (a
user of role gateway) serving the page from web/, a reader's, a
writer's and an admin's API token (`dossier token create`), and a
headless Debian chromium driven through chromedriver."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN_DIR = os.environ.get("DOSSIER_BIN_DIR", "")
SOURCE_DIR = os.environ.get("DOSSIER_SOURCE_DIR", "")
START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 20


class StackError(Exception):
    pass


def _wait_for(what, process, read, log):
    """Calls read() until it returns something; bounded by
    START_TIMEOUT_S, and fails at once if process exits."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        found = read()
        if found:
            return found
        if process.poll() is not None:
            raise StackError("%s exited with %d:\n%s"
                             % (what, process.returncode, log()))
        time.sleep(0.02)
    raise StackError("%s did not start within %d s:\n%s"
                     % (what, START_TIMEOUT_S, log()))


class WebStack:
    """start() brings everything up; stop() takes it down. base_url is the
    page's address; tokens[role] a bearer token of that role ("reader",
    "writer", "admin")."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="dossier-web-")
        self.processes = {}
        self.tokens = {}

    def _bin(self, name):
        return os.path.join(BIN_DIR, name)

    def _spawn(self, name, argv):
        path = os.path.join(self.root, name + ".log")
        log = open(path, "wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = (process, log, path)
        return process

    def log(self, name):
        with open(self.processes[name][2], "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _log_match(self, name, pattern):
        found = re.search(pattern, self.log(name))
        return found.group(1) if found else None

    def _pid_endpoint(self, pid_path):
        try:  # "PID\nENDPOINT\n", written once bound
            with open(pid_path) as f:
                lines = f.read().split("\n")
        except FileNotFoundError:
            return None
        if len(lines) >= 3 and lines[1].startswith("tcp://"):
            return lines[1].strip()
        return None

    def start(self):
        if not BIN_DIR or not SOURCE_DIR:
            raise StackError("DOSSIER_BIN_DIR and DOSSIER_SOURCE_DIR must "
                             "be set")
        keys = os.path.join(self.root, "keys")
        users = os.path.join(self.root, "users")
        os.mkdir(keys)
        os.mkdir(users)
        for name, role in (("server", "admin"), ("gateway", "gateway"),
                           ("carol", "admin")):
            subprocess.run([self._bin("dossier"), "keygen", name, "--role",
                            role, "--dir", keys], check=True,
                           stdout=subprocess.DEVNULL)
            if name != "server":
                shutil.copy(os.path.join(keys, name + ".key"), users)
        data = os.path.join(self.root, "data")
        os.mkdir(data)
        server = self._spawn("dossierd", [
            self._bin("dossierd"), "--data", data,
            "--bind", "tcp://127.0.0.1:*", "--feed", "tcp://127.0.0.1:*",
            "--curve-key", os.path.join(keys, "server.key_secret"),
            "--users", users])
        self.endpoint = _wait_for(
            "dossierd", server,
            lambda: self._pid_endpoint(os.path.join(data, "dossierd.pid")),
            lambda: self.log("dossierd"))
        self.feed = _wait_for(
            "dossierd", server,
            lambda: self._log_match("dossierd", r"change feed: publishing "
                                    r"committed writes at (tcp://\S+)"),
            lambda: self.log("dossierd"))
        server_key = os.path.join(keys, "server.key")
        for role, user in (("reader", "alice"), ("writer", "bob"),
                           ("admin", "carol")):
            self.tokens[role] = subprocess.run(
                [self._bin("dossier"), "-s", self.endpoint,
                 "--server-key", server_key,
                 "--key", os.path.join(keys, "carol.key_secret"),
                 "token", "create", user, "--role", role],
                check=True, stdout=subprocess.PIPE).stdout.decode().strip()
        gateway = self._spawn("gateway", [
            self._bin("dossier-gateway"), "--server", self.endpoint,
            "--feed", self.feed, "--listen", "127.0.0.1:0",
            "--server-key", server_key,
            "--key", os.path.join(keys, "gateway.key_secret"),
            "--web", os.path.join(SOURCE_DIR, "web")])
        self.base_url = _wait_for(
            "dossier-gateway", gateway,
            lambda: self._log_match("gateway", r"listening on "
                                    r"(http://127\.0\.0\.1:\d+)"),
            lambda: self.log("gateway"))
        return self

    def call(self, method, request, role="writer"):
        """One Connect call over HTTP with a token of role; returns
        (HTTP status, decoded body)."""
        req = urllib.request.Request(
            self.base_url + "/dossier.v1.Reports/" + method,
            data=json.dumps(request).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": "Bearer " + self.tokens[role]})
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def stop(self):
        """Stops the gateway, then dossierd. Returns the daemons that did
        not exit 0 after SIGTERM, with their logs (empty when all did)."""
        failed = []
        for name in ("gateway", "dossierd"):
            if name not in self.processes:
                continue
            process, log, _ = self.processes[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            log.close()
            if code != 0:
                failed.append("%s exited with %s:\n%s"
                              % (name, code, self.log(name)))
        return failed

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def start_browser(width=1280, height=900):
    """A headless Debian chromium through chromedriver, its console log
    kept for get_log("browser")."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=%d,%d"
                % (width, height), "--lang=en-US"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path="/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=options)


def phone_width(browser, width=390, height=844):
    """Makes the page's viewport a phone's (headless chromium's window
    is at least 500 pixels wide, so through device metrics)."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1,
        "mobile": True})
