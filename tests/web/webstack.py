"""What the browser tests (and the screenshot script) run against: a real
dossierd with CURVE and a change feed on 127.0.0.1:* in a temporary
directory, the HTTP front that serves the page and the Connect API, and
a headless Debian chromium driven through chromedriver.

The HTTP front is build/bin/dossier-gateway when the build has it, else
tests/web/connect_bridge.py (a stand-in speaking the same HTTP for as long
as the gateway is not built). Tokens: with the gateway, `dossier token
create NAME --role ROLE`; with the bridge, a token file mapping each
token to a CURVE user of that role."""

import hashlib
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
HERE = os.path.dirname(os.path.abspath(__file__))

for _entry in reversed(os.environ.get("DOSSIER_PYTHONPATH", "").split(":")):
    if _entry and _entry not in sys.path:
        sys.path.insert(0, _entry)


class StackError(Exception):
    pass


def _wait_for_line(path, pattern, process, what):
    """Reads path (a process's log) until pattern matches; returns the
    match. Bounded by START_TIMEOUT_S; fails early if process exits."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        found = re.search(pattern, text)
        if found:
            return found
        if process.poll() is not None:
            raise StackError("%s exited with %d:\n%s"
                             % (what, process.returncode, text))
        time.sleep(0.02)
    raise StackError("%s wrote no %r within %d s:\n%s"
                     % (what, pattern, START_TIMEOUT_S, text))


class WebStack:
    """start() brings everything up; stop() takes it down and checks that
    dossierd exited 0. base_url is the page's address; token(role) a
    bearer token of that role ("reader", "writer", "admin")."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="dossier-web-")
        self.processes = []
        self.tokens = {}
        self.gateway = os.path.join(BIN_DIR, "dossier-gateway")
        self.use_gateway = os.access(self.gateway, os.X_OK)
        # Per-user tokens (issue 16, `dossier token`) let the gateway run
        # with CURVE and each browser be a user of its own role; without
        # them it runs keyless on loopback, where every caller is the
        # anonymous admin and there is no reader to sign in as.
        self.has_tokens = self.use_gateway and subprocess.run(
            [os.path.join(BIN_DIR, "dossier"), "token", "--help"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        self.curve = self.has_tokens or not self.use_gateway
        # The role WhoAmI answers for a token of each role.
        self.roles = {"reader": "reader", "writer": "writer",
                      "admin": "admin"}

    def _spawn(self, name, argv, env=None):
        log_path = os.path.join(self.root, name + ".log")
        log = open(log_path, "wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                   env=env)
        self.processes.append((name, process, log, log_path))
        return process, log_path

    def log(self, name):
        for entry in self.processes:
            if entry[0] == name:
                if not entry[2].closed:
                    entry[2].flush()
                with open(entry[3], "rb") as f:
                    return f.read().decode("utf-8", "replace")
        return ""

    def _keygen(self, name, role):
        subprocess.run([os.path.join(BIN_DIR, "dossier"), "keygen", name,
                        "--role", role, "--dir", self.keys], check=True,
                       stdout=subprocess.DEVNULL)

    def start(self):
        if not BIN_DIR:
            raise StackError("DOSSIER_BIN_DIR is not set")
        self.keys = os.path.join(self.root, "keys")
        self.users = os.path.join(self.root, "users")
        os.mkdir(self.keys)
        os.mkdir(self.users)
        users = [("server", "admin"), ("alice", "reader"), ("bob", "writer"),
                 ("carol", "admin")]
        if self.has_tokens:
            users.append(("gateway", "gateway"))
        for name, role in users:
            self._keygen(name, role)
            if name != "server":
                shutil.copy(os.path.join(self.keys, name + ".key"), self.users)
        data = os.path.join(self.root, "data")
        os.mkdir(data)
        curve = ["--curve-key", os.path.join(self.keys, "server.key_secret"),
                 "--users", self.users] if self.curve else []
        server, log_path = self._spawn("dossierd", [
            os.path.join(BIN_DIR, "dossierd"), "--data", data,
            "--bind", "tcp://127.0.0.1:*", "--feed", "tcp://127.0.0.1:*"]
            + curve)
        self.server = server
        self.endpoint = self._pid_endpoint(os.path.join(data, "dossierd.pid"))
        self.feed = _wait_for_line(
            log_path, r"change feed: publishing committed writes at "
            r"(tcp://\S+)", server, "dossierd").group(1)
        web = os.path.join(SOURCE_DIR, "web")
        server_key = os.path.join(self.keys, "server.key")
        if self.use_gateway:
            self._start_gateway(web, server_key)
        else:
            self._start_bridge(web, server_key)
        return self

    def _pid_endpoint(self, pid_path):
        """The endpoint dossierd writes to DATA/dossierd.pid once bound."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise StackError("dossierd exited with %d:\n%s"
                                 % (self.server.returncode,
                                    self.log("dossierd")))
            try:
                with open(pid_path) as f:
                    lines = f.read().split("\n")
            except FileNotFoundError:
                lines = []
            if len(lines) >= 3 and lines[1].startswith("tcp://"):
                return lines[1].strip()
            time.sleep(0.02)
        raise StackError("dossierd did not start:\n" + self.log("dossierd"))

    def _start_gateway(self, web, server_key):
        keys = []
        if not self.has_tokens:
            self.tokens = {"writer": "", "admin": ""}
            self.roles = {"writer": "admin", "admin": "admin"}
        else:
            keys = ["--server-key", server_key, "--key",
                    os.path.join(self.keys, "gateway.key_secret")]
        for role, user in (("reader", "alice"), ("writer", "bob"),
                           ("admin", "carol")):
            if not self.has_tokens:
                break
            out = subprocess.run(
                [os.path.join(BIN_DIR, "dossier"), "-s", self.endpoint,
                 "--server-key", server_key,
                 "--key", os.path.join(self.keys, "carol.key_secret"),
                 "token", "create", user, "--role", role],
                check=True, stdout=subprocess.PIPE).stdout
            self.tokens[role] = out.decode().strip()
        gateway, log_path = self._spawn("gateway", [
            self.gateway, "--server", self.endpoint, "--feed", self.feed,
            "--listen", "127.0.0.1:0", "--web", web] + keys)
        self.base_url = _wait_for_line(
            log_path, r"(http://127\.0\.0\.1:\d+)", gateway,
            "dossier-gateway").group(1)

    def _start_bridge(self, web, server_key):
        tokens = {}
        for role, user in (("reader", "alice"), ("writer", "bob"),
                           ("admin", "carol")):
            token = hashlib.sha256(os.urandom(16)).hexdigest()
            self.tokens[role] = token
            tokens[token] = os.path.join(self.keys, user + ".key")
        token_file = os.path.join(self.root, "tokens.json")
        with open(token_file, "w") as f:
            json.dump(tokens, f)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.environ.get("DOSSIER_PYTHONPATH", "")
        bridge, log_path = self._spawn("bridge", [
            "/usr/bin/python3", os.path.join(HERE, "connect_bridge.py"),
            "--server", self.endpoint, "--feed", self.feed, "--web", web,
            "--tokens", token_file, "--server-key", server_key,
            "--feed-cert", os.path.join(self.keys, "bob.key")], env=env)
        self.base_url = _wait_for_line(
            log_path, r"listening on (http://127\.0\.0\.1:\d+)", bridge,
            "connect_bridge.py").group(1)

    def headers(self, role="writer"):
        headers = {"Content-Type": "application/json"}
        if self.tokens[role]:
            headers["Authorization"] = "Bearer " + self.tokens[role]
        return headers

    def call(self, method, request, role="writer"):
        """One Connect call over HTTP; returns (HTTP status, decoded
        body)."""
        req = urllib.request.Request(
            self.base_url + "/dossier.v1.Reports/" + method,
            data=json.dumps(request).encode(), method="POST",
            headers=self.headers(role))
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def stop(self):
        """Stops the HTTP front, then dossierd. Returns a list of the
        daemons that did not exit 0 after SIGTERM, with their logs
        (empty when all did; the stand-in bridge is not checked)."""
        failed = []
        for name, process, log, path in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            log.close()
            if code != 0 and name != "bridge":
                with open(path, "rb") as f:
                    failed.append("%s exited with %s:\n%s" % (
                        name, code, f.read().decode("utf-8", "replace")))
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
