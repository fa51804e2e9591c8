"""dossier-gateway's page serving (gateway/webfiles.c) and its change
events (gateway/events.c), over real HTTP against a real dossierd with a
change feed, both on 127.0.0.1 in a temporary directory.

- GET / and /web/NAME: the types, the ETag and 304, HEAD, 405, and 404
  for every name that would leave the directory or is not a page file.
- GET /events: a write shows up as an "event: change" with the
  ChangeEvent as JSON; at most --events-max-clients streams (then 503);
  Last-Event-ID resumes, and a stream behind the ring gets "event: gap";
  SIGTERM with streams open still ends the gateway at once, status 0.

Run by ctest (DOSSIER_BIN_DIR, DOSSIER_PYTHONPATH); every read has a
socket timeout, every wait a bound.
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

BIN_DIR = os.environ.get("DOSSIER_BIN_DIR", "")
START_TIMEOUT_S = 20
READ_TIMEOUT_S = 20
MAX_CLIENTS = 2
BUFFER = 4


def wait_for(path, pattern, process, what):
    deadline = time.monotonic() + START_TIMEOUT_S
    text = ""
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        found = re.search(pattern, text)
        if found:
            return found
        if process.poll() is not None:
            raise AssertionError("%s exited with %d:\n%s"
                                 % (what, process.returncode, text))
        time.sleep(0.02)
    raise AssertionError("%s wrote no %r:\n%s" % (what, pattern, text))


class Stream:
    """An open GET /events, read line by line with a bounded wait."""

    def __init__(self, port, last_event_id=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port,
                                               timeout=READ_TIMEOUT_S)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", "/events", headers=headers)
        self.response = self.conn.getresponse()

    def next_block(self):
        """The next SSE block (lines up to a blank one) that is not a
        comment, as a dict of field -> value; fails after READ_TIMEOUT_S
        (keep-alive comments do not extend it)."""
        deadline = time.monotonic() + READ_TIMEOUT_S
        while True:
            if time.monotonic() > deadline:
                raise AssertionError("no event in %d s" % READ_TIMEOUT_S)
            fields = {}
            while True:
                line = self.response.readline()
                if not line:
                    raise AssertionError("the event stream ended")
                line = line.decode().rstrip("\n")
                if line == "":
                    break
                if line.startswith(":"):
                    continue
                key, _, value = line.partition(": ")
                fields[key] = value
            if fields:
                return fields

    def close(self):
        self.conn.close()


class GatewayWebTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="dossier-gwweb-")
        cls.web = os.path.join(cls.root, "web")
        os.makedirs(os.path.join(cls.web, "sub"))
        files = {"index.html": b"<!doctype html><title>t</title>\n",
                 "app.js": b"export const x = 1;\n",
                 "sub/deep.css": b"body { color: black; }\n",
                 "notes.exe": b"MZ\n", "noext": b"x\n",
                 ".hidden.js": b"hidden\n"}
        for name, body in files.items():
            with open(os.path.join(cls.web, name), "wb") as f:
                f.write(body)
        with open(os.path.join(cls.root, "secret.txt"), "wb") as f:
            f.write(b"outside the web directory\n")
        os.symlink(os.path.join(cls.root, "secret.txt"),
                   os.path.join(cls.web, "link.txt"))
        cls.files = files
        data = os.path.join(cls.root, "data")
        os.mkdir(data)
        cls.logs = []
        cls.server = cls._spawn("dossierd", [
            os.path.join(BIN_DIR, "dossierd"), "--data", data,
            "--bind", "tcp://127.0.0.1:*", "--feed", "tcp://127.0.0.1:*"])
        feed = wait_for(cls.logs[0][1], r"change feed: publishing committed "
                        r"writes at (tcp://\S+)", cls.server,
                        "dossierd").group(1)
        endpoint = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while endpoint is None and time.monotonic() < deadline:
            try:  # "PID\nENDPOINT\n", written once bound
                with open(os.path.join(data, "dossierd.pid")) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 3 and lines[1].startswith("tcp://"):
                    endpoint = lines[1].strip()
            except FileNotFoundError:
                pass
            if endpoint is None:
                time.sleep(0.02)
        assert endpoint, "dossierd wrote no endpoint"
        cls.endpoint, cls.feed = endpoint, feed
        cls.gateways = []
        cls.gateway, cls.port = cls.start_gateway(
            "--events-buffer", str(BUFFER))
        cls.wait_for_relay(cls.port)

    @classmethod
    def wait_for_relay(cls, port):
        """Writes until a stream of the gateway on port shows a write: its
        subscription to the feed has reached dossierd (a SUB that has just
        connected misses what is published before; bounded tries)."""
        for attempt in range(20):
            stream = Stream(port)
            stream.conn.sock.settimeout(1)
            conn = http.client.HTTPConnection("127.0.0.1", port,
                                              timeout=READ_TIMEOUT_S)
            conn.request("POST", "/dossier.v1.Reports/Put", json.dumps(
                {"report": {"id": "warmup-%d" % attempt, "title": "w"}}),
                {"Content-Type": "application/json"})
            assert conn.getresponse().status == 200
            conn.close()
            try:
                stream.next_block()
                return
            except OSError:  # the timeout: not relayed yet
                pass
            finally:
                stream.close()
        raise AssertionError("the gateway relayed no write in 20 tries")

    @classmethod
    def start_gateway(cls, *extra):
        """Another dossier-gateway on the same dossierd; returns it and
        its port."""
        process = cls._spawn("gateway%d" % len(cls.gateways), [
            os.path.join(BIN_DIR, "dossier-gateway"), "--server",
            cls.endpoint, "--listen", "127.0.0.1:0", "--web", cls.web,
            "--feed", cls.feed] + list(extra))
        cls.gateways.append(process)
        port = int(wait_for(cls.logs[-1][1],
                            r"listening on http://127\.0\.0\.1:(\d+)",
                            process, "dossier-gateway").group(1))
        return process, port

    @classmethod
    def _spawn(cls, name, argv):
        path = os.path.join(cls.root, name + ".log")
        log = open(path, "wb")
        cls.logs.append((log, path))
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    @classmethod
    def tearDownClass(cls):
        """Stops every daemon; each must exit 0 after SIGTERM (under
        ASan, a leak or a bad access makes it fail)."""
        failed = []
        for (process, (log, path)) in zip(cls.gateways + [cls.server],
                                          cls.logs[1:] + cls.logs[:1]):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            log.close()
            if code != 0:
                with open(path, "rb") as f:
                    failed.append("%s exited with %d:\n%s" % (
                        path, code, f.read().decode("utf-8", "replace")))
        shutil.rmtree(cls.root, ignore_errors=True)
        if failed:
            raise AssertionError("\n".join(failed))

    def request(self, method, path, body=None, headers=None, port=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port,
                                          timeout=READ_TIMEOUT_S)
        self.addCleanup(conn.close)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()

    def put(self, id, note=""):
        response, body = self.request(
            "POST", "/dossier.v1.Reports/Put",
            json.dumps({"report": {"id": id, "title": "t", "tierNote": note}}),
            {"Content-Type": "application/json"})
        self.assertEqual(response.status, 200, body)
        return json.loads(body)

    # ---- files ----

    def test_files_with_their_types(self):
        for path, name, kind in (
                ("/", "index.html", "text/html; charset=utf-8"),
                ("/?q=x", "index.html", "text/html; charset=utf-8"),
                ("/web/index.html", "index.html", "text/html; charset=utf-8"),
                ("/web/app.js", "app.js", "text/javascript; charset=utf-8"),
                ("/web/app.js?v=2", "app.js",
                 "text/javascript; charset=utf-8"),
                ("/web/sub/deep.css", "sub/deep.css",
                 "text/css; charset=utf-8")):
            response, body = self.request("GET", path)
            self.assertEqual(response.status, 200, path)
            self.assertEqual(body, self.files[name], path)
            self.assertEqual(response.getheader("Content-Type"), kind, path)
            self.assertEqual(response.getheader("Cache-Control"), "no-cache")
            self.assertEqual(response.getheader("X-Content-Type-Options"),
                             "nosniff")
            self.assertIn("default-src 'self'",
                          response.getheader("Content-Security-Policy"))

    def test_access_log_counts_the_bytes(self):
        response, body = self.request("GET", "/web/app.js?log")
        self.assertEqual(response.status, 200)
        # The line is written before the answer is sent.
        with open(self.logs[1][1], "rb") as f:
            log = f.read().decode("utf-8", "replace")
        self.assertIn("GET /web/app.js?log 200 ok %d " % len(body), log)

    def test_etag_revalidation_and_head(self):
        response, _ = self.request("GET", "/web/app.js")
        etag = response.getheader("ETag")
        self.assertTrue(etag and etag.startswith('"'), etag)
        response, body = self.request("GET", "/web/app.js",
                                      headers={"If-None-Match": etag})
        self.assertEqual((response.status, body), (304, b""))
        response, body = self.request("GET", "/web/app.js",
                                      headers={"If-None-Match": '"other"'})
        self.assertEqual(response.status, 200)
        response, body = self.request("HEAD", "/")
        self.assertEqual((response.status, body), (200, b""))
        self.assertEqual(response.getheader("Content-Length"),
                         str(len(self.files["index.html"])))

    def test_only_get_and_head(self):
        response, _ = self.request("POST", "/", body=b"x")
        self.assertEqual(response.status, 405)
        self.assertEqual(response.getheader("Allow"), "GET, HEAD")

    def test_nothing_outside_or_hidden(self):
        for path in ("/web/../secret.txt", "/web/%2e%2e/secret.txt",
                     "/web/..%2fsecret.txt", "/web/sub/../../secret.txt",
                     "/web/.hidden.js", "/web/link.txt", "/web/missing.js",
                     "/web/noext", "/web/notes.exe", "/web/", "/web//app.js",
                     "/web/sub", "/web/sub/", "/web/a/b/c/d.js",
                     "/web/app.js%00.css", "/web/app%2ejs", "/index.html",
                     "/web\\app.js", "/web/" + "a" * 300 + ".js"):
            response, body = self.request("GET", path)
            self.assertEqual(response.status, 404, path)
            self.assertNotIn(b"outside", body, path)
        # The gateway still serves after all that.
        response, _ = self.request("GET", "/")
        self.assertEqual(response.status, 200)

    # ---- events ----

    def test_a_write_becomes_an_event(self):
        stream = Stream(self.port)
        self.addCleanup(stream.close)
        self.assertEqual(stream.response.status, 200)
        self.assertEqual(stream.response.getheader("Content-Type"),
                         "text/event-stream")
        reply = self.put("ev-1")
        block = stream.next_block()
        self.assertEqual(block["event"], "change")
        event = json.loads(block["data"])
        self.assertEqual(event["id"], "ev-1")
        self.assertEqual(event["version"], reply["version"])
        self.assertEqual(event["operation"], "CHANGE_OPERATION_PUT")
        self.assertRegex(block["id"], r"^[0-9a-f]{16}-[0-9]+$")

    def test_streams_are_bounded(self):
        _, port = self.start_gateway("--events-max-clients",
                                     str(MAX_CLIENTS))
        streams = [Stream(port) for _ in range(MAX_CLIENTS)]
        for s in streams:
            self.addCleanup(s.close)
            self.assertEqual(s.response.status, 200)
        response, body = self.request("GET", "/events", port=port)
        self.assertEqual(response.status, 503, body)
        self.assertEqual(response.getheader("Retry-After"), "10")
        # A closed stream frees its place: the gateway sees the hang-up
        # within a second (bounded wait, one probe stream at a time).
        streams[0].close()
        deadline = time.monotonic() + READ_TIMEOUT_S
        while True:
            probe = Stream(port)
            status = probe.response.status
            probe.close()
            if status == 200 or time.monotonic() > deadline:
                break
        self.assertEqual(status, 200)

    def test_resume_and_gap(self):
        stream = Stream(self.port)
        self.addCleanup(stream.close)
        self.put("ev-first")
        run, _, first = stream.next_block()["id"].partition("-")
        first = int(first)
        # BUFFER + 2 more writes: the ring keeps only the last BUFFER.
        for i in range(BUFFER + 2):
            self.put("ev-ring-%d" % i)
        for _ in range(BUFFER + 2):
            last = stream.next_block()
        last_id = int(last["id"].partition("-")[2])
        self.assertEqual(last_id, first + BUFFER + 2)
        stream.close()
        # Resuming after the first event: events first+1 .. first+2 are
        # gone from the ring; the stream says so, then goes on.
        resumed = Stream(self.port, last_event_id="%s-%d" % (run, first))
        self.addCleanup(resumed.close)
        gap = resumed.next_block()
        self.assertEqual(gap["event"], "gap")
        self.assertEqual(json.loads(gap["data"])["missed"], "2")
        ids = [resumed.next_block()["id"] for _ in range(BUFFER)]
        self.assertEqual(ids, ["%s-%d" % (run, i) for i in
                               range(last_id - BUFFER + 1, last_id + 1)])

    def test_an_id_of_an_earlier_run_is_a_gap_of_unknown_size(self):
        stream = Stream(self.port)
        self.addCleanup(stream.close)
        self.put("ev-run")
        event_id = stream.next_block()["id"]
        stream.close()
        # A second gateway on the same feed stands for this one restarted:
        # its numbers start again, so an id of the first run tells it
        # nothing about what the client missed.
        _, port = self.start_gateway()
        self.wait_for_relay(port)
        other = Stream(port)
        self.addCleanup(other.close)
        self.put("ev-run-2")
        other_id = other.next_block()["id"]
        self.assertNotEqual(other_id.partition("-")[0],
                            event_id.partition("-")[0])
        other.close()
        for stale in (event_id, "12", "garbage", "%s-x" % other_id):
            resumed = Stream(port, last_event_id=stale)
            self.addCleanup(resumed.close)
            gap = resumed.next_block()
            self.assertEqual(gap["event"], "gap", stale)
            self.assertEqual(json.loads(gap["data"]), {"missed": "unknown"})
            self.put("ev-after-" + str(len(stale)))
            change = resumed.next_block()
            self.assertEqual(change["event"], "change")
            resumed.close()
        # One of its own ids resumes with no gap: the changes after it
        # follow.
        resumed = Stream(port, last_event_id=other_id)
        self.addCleanup(resumed.close)
        self.put("ev-own")
        block = resumed.next_block()
        self.assertEqual(block["event"], "change")

    def test_sigterm_with_streams_open(self):
        gateway, port = self.start_gateway()
        stream = Stream(port)
        self.addCleanup(stream.close)
        self.assertEqual(stream.response.status, 200)
        gateway.send_signal(signal.SIGTERM)
        self.assertEqual(gateway.wait(START_TIMEOUT_S), 0)


if __name__ == "__main__":
    unittest.main()
