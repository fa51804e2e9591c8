"""Integration test of dossier-gateway: a real dossierd and a real gateway
on free loopback ports, called over HTTP with http.client.

Run by ctest with Debian's /usr/bin/python3 and the environment:
  DOSSIER_BIN_DIR      <build>/bin, holding dossierd, dossier-gateway, dossier
  DOSSIER_PYTHONPATH   <build>/python:<src>/client/python
  DOSSIER_FIXTURE_DIR  <src>/tests/fixtures

dossierd binds tcp://127.0.0.1:* and writes its endpoint to DATA/dossierd.pid;
the gateway listens on 127.0.0.1:0 and says the port it got in its first
log line ("dossier-gateway: listening on http://127.0.0.1:PORT ..."),
which the test reads. Both are stopped with SIGTERM and must exit 0.
By hand:
  DOSSIER_BIN_DIR=build/bin DOSSIER_PYTHONPATH=build/python:client/python \\
  DOSSIER_FIXTURE_DIR=tests/fixtures \\
      /usr/bin/python3 tests/integration/test_gateway.py -v
"""

import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

for _entry in reversed(os.environ.get("DOSSIER_PYTHONPATH", "").split(":")):
    if _entry and _entry not in sys.path:
        sys.path.insert(0, _entry)

from google.protobuf import json_format  # noqa: E402

from dossier_client import report_pb2, reports_pb2  # noqa: E402

BIN_DIR = os.environ.get("DOSSIER_BIN_DIR", "")
FIXTURE_DIR = os.environ.get("DOSSIER_FIXTURE_DIR", "")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
SERVICE = "dossier.v1.Reports"
REPORTS = reports_pb2.DESCRIPTOR.services_by_name["Reports"]


def wait_for(what, check, process, log_path):
    """Polls check() (bounded) until it returns something; fails the test
    when the process exits first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        if process.poll() is not None:
            raise AssertionError("%s exited with %d:\n%s" % (
                what, process.returncode, read(log_path)))
        time.sleep(0.02)
    raise AssertionError("%s not ready in %.0f s:\n%s" % (
        what, START_TIMEOUT_S, read(log_path)))


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


class Daemon:
    """A dossierd or dossier-gateway started for a test, its stderr in a
    file; stop() expects exit 0 after SIGTERM."""

    def __init__(self, root, name, argv):
        self.name = name
        self.log_path = os.path.join(root, name + ".log")
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(argv, stdout=self.log,
                                        stderr=subprocess.STDOUT)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                code = "hung (killed)"
        else:
            code = self.process.returncode
        self.log.close()
        if code != 0:
            raise AssertionError("%s exit status after SIGTERM: %s\n%s" % (
                self.name, code, read(self.log_path)))


def start_dossierd(root, *args, name="dossierd"):
    data = os.path.join(root, name + "-data")
    d = Daemon(root, name, [os.path.join(BIN_DIR, "dossierd"), "--data", data,
                            "--bind", "tcp://127.0.0.1:*"] + list(args))

    def endpoint():
        try:
            with open(os.path.join(data, "dossierd.pid")) as f:
                lines = f.read().split("\n")
        except FileNotFoundError:
            return None
        if (len(lines) >= 3 and lines[0].strip() == str(d.process.pid)
                and lines[1].startswith("tcp://")
                and not lines[1].endswith("*")):
            return lines[1].strip()
        return None
    d.endpoint = wait_for("dossierd", endpoint, d.process, d.log_path)
    return d


def start_gateway(root, server, *args, name="gateway"):
    g = Daemon(root, name, [os.path.join(BIN_DIR, "dossier-gateway"),
                            "--server", server, "--listen", "127.0.0.1:0"]
               + list(args))

    def port():
        m = re.search(r"listening on https?://127\.0\.0\.1:(\d+)",
                      read(g.log_path))
        return int(m.group(1)) if m else None
    g.port = wait_for("dossier-gateway", port, g.process, g.log_path)
    return g


class Reply:
    def __init__(self, response):
        self.status = response.status
        self.headers = response.headers
        self.body = response.read()

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class GatewayCase(unittest.TestCase):
    """One dossierd and one gateway for the class; server_args and
    gateway_args add flags."""

    server_args = ()
    gateway_args = ()

    @classmethod
    def setUpClass(cls):
        assert BIN_DIR, "DOSSIER_BIN_DIR is not set"
        cls.root = tempfile.mkdtemp(prefix="dossier-gwtest-")
        cls.daemons = []
        try:
            cls.server = start_dossierd(cls.root, *cls.server_args)
            cls.daemons.append(cls.server)
            cls.gateway = start_gateway(cls.root, cls.server.endpoint,
                                        *cls.gateway_args)
            cls.daemons.append(cls.gateway)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        errors = []
        for d in reversed(cls.daemons):
            try:
                d.stop()
            except AssertionError as e:
                errors.append(str(e))
        shutil.rmtree(cls.root, ignore_errors=True)
        if errors:
            raise AssertionError("\n".join(errors))

    def request(self, verb, path, body=None, headers=None, port=None):
        conn = http.client.HTTPConnection("127.0.0.1",
                                          port or self.gateway.port,
                                          timeout=30)
        try:
            conn.request(verb, path, body=body, headers=headers or {})
            return Reply(conn.getresponse())
        finally:
            conn.close()

    def post_json(self, method, message, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        body = message if isinstance(message, (bytes, str)) else \
            json.dumps(message)
        return self.request("POST", "/%s/%s" % (SERVICE, method), body, h)

    def post_proto(self, method, message, headers=None):
        h = {"Content-Type": "application/proto"}
        h.update(headers or {})
        return self.request("POST", "/%s/%s" % (SERVICE, method),
                            message.SerializeToString(), h)

    def assertConnectError(self, reply, status, code):
        self.assertEqual(reply.status, status, reply.body)
        self.assertEqual(reply.headers["Content-Type"], "application/json")
        error = reply.json()
        self.assertEqual(error["code"], code, error)
        return error


def message_class(descriptor):
    """The generated class of a message of report.proto or reports.proto."""
    module = report_pb2 if descriptor.file.name.endswith("/report.proto") \
        else reports_pb2
    return getattr(module, descriptor.name)


def make_report(rid, year=2019, tier="TIER_2"):
    return {"id": rid, "title": "%d Trafficking in Persons Report" % year,
            "country": "Azerbaijan", "countryCode": "AZE", "year": year,
            "tier": tier, "docType": "Trafficking in Persons Report",
            "publisher": "United States Department of State",
            "body": ["Forced labor in the fisheries.", "Second paragraph."]}


def refworld_text():
    path = os.path.join(FIXTURE_DIR, "refworld",
                        "ai2010-cote-divoire-accents.txt")
    with open(path, encoding="utf-8") as f:
        return f.read()


class EveryMethod(GatewayCase):
    """Every method of the service over HTTP, in JSON and in binary."""

    def call_both(self, method, request_json, status=200):
        """Calls method in JSON and in binary; returns both replies'
        messages, checked to be the method's response type."""
        out_type = reports_pb2.DESCRIPTOR.services_by_name["Reports"] \
            .methods_by_name[method].output_type
        in_type = REPORTS.methods_by_name[method].input_type
        in_cls = message_class(in_type)
        out_cls = message_class(out_type)
        replies = []
        r = self.post_json(method, request_json)
        self.assertEqual(r.status, status, (method, r.body))
        self.assertEqual(r.headers["Content-Type"], "application/json")
        replies.append(json_format.Parse(r.body, out_cls()))
        binary = json_format.ParseDict(request_json, in_cls())
        r = self.post_proto(method, binary)
        self.assertEqual(r.status, status, (method, r.body))
        self.assertEqual(r.headers["Content-Type"], "application/proto")
        replies.append(out_cls.FromString(r.body))
        return replies

    def test_every_method(self):
        covered = set()

        def call(method, request, **kw):
            covered.add(method)
            return self.call_both(method, request, **kw)

        put_j, put_b = call("Put", {"report": make_report("gw-put")})
        self.assertEqual(put_j.version, 1)
        self.assertEqual(put_b.version, 2)  # the second Put replaced it
        for got in call("Get", {"id": "gw-put"}):
            self.assertEqual(got.country, "Azerbaijan")
            self.assertEqual(list(got.body)[0],
                             "Forced labor in the fisheries.")
        for got in call("List", {"filter": {"country": "AZE"}}):
            self.assertEqual([r.id for r in got.reports], ["gw-put"])
        text = refworld_text()
        imported = call("ImportText", {"text": text, "id": "gw-import"})
        self.assertEqual(imported[0].id, "gw-import")
        batch = call("ImportBatch", {"documents": [
            {"text": text, "id": "gw-batch"}]})
        for got in batch:
            self.assertEqual(len(got.results), 1)
            self.assertEqual(got.results[0].code, 0, got.results[0].message)
        for got in call("PutBatch", {"reports": [make_report("gw-pb")],
                                     "skipUnchanged": True}):
            self.assertEqual([r.code for r in got.results], [0])
        for got in call("ListVersions", {"id": "gw-put"}):
            self.assertEqual([v.version for v in got.versions], [2, 1])
        for got in call("History", {"country": "Azerbaijan"}):
            self.assertEqual([e.year for e in got.entries], [2019])
        call("Changes", {"year": 2019})
        for got in call("Search", {"query": "fisheries"}):
            self.assertIn("gw-put", [h.report.id for h in got.hits])
        for got in call("Stats", {}):
            self.assertGreaterEqual(got.records, 3)
        for got in call("Health", {}):
            self.assertEqual(got.status, reports_pb2.SERVING_STATUS_SERVING)
        for got in call("Describe", {}):
            self.assertGreater(len(got.file_descriptor_set), 100)
        call("Audit", {})
        for got in call("WhoAmI", {}):
            self.assertEqual(got.name, "anonymous")
        backups = call("Backup", {})
        for got in call("BackupRead", {"name": backups[0].name,
                                       "length": 16}):
            self.assertEqual(len(got.data), 16)
        # Without CURVE there is no users table to reload.
        r = self.post_json("ReloadUsers", {})
        self.assertConnectError(r, 400, "failed_precondition")
        covered.add("ReloadUsers")
        # A standalone server is no cluster node.
        r = self.post_json("ClusterStatus", {})
        self.assertConnectError(r, 400, "failed_precondition")
        covered.add("ClusterStatus")
        made = call("CreateToken", {"name": "every-method", "role": "reader"})
        for got in made:
            self.assertTrue(got.secret.startswith("dossier_"), got.secret)
        for got in call("ListTokens", {}):
            self.assertEqual(len(got.tokens), 2)
        for got in call("RevokeToken", {"id": made[0].token.id}):
            self.assertEqual(got.token.id, made[0].token.id)
        covered.add("Delete")
        r = self.post_json("Delete", {"id": "gw-put"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["id"], "gw-put")
        r = self.post_proto("Delete", reports_pb2.DeleteRequest(
            id="gw-import"))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(reports_pb2.DeleteResponse.FromString(r.body).id,
                         "gw-import")
        self.assertEqual(covered, set(REPORTS.methods_by_name),
                         "a method of the service has no case here")


class Errors(GatewayCase):
    """Every code the server (or the gateway) can produce, with Connect's
    HTTP status."""

    # Longer than the HTTP client's 30 s: a Connect-Timeout-Ms the gateway
    # ignored would show as the client's timeout, not as 504.
    gateway_args = ("--timeout-ms", "60000")

    def setUp(self):
        r = self.post_json("Put", {"report": make_report("err-1")})
        self.assertIn(r.status, (200,))

    def test_server_codes(self):
        self.assertConnectError(self.post_json("Get", {"id": "no spaces"}),
                                400, "invalid_argument")
        self.assertConnectError(self.post_json("Get", {"id": "err-none"}),
                                404, "not_found")
        self.assertConnectError(
            self.post_json("Put", {"report": make_report("err-1"),
                                   "createOnly": True}),
            409, "already_exists")
        self.assertConnectError(self.post_json("ReloadUsers", {}), 400,
                                "failed_precondition")
        backup = self.post_json("Backup", {}).json()
        self.assertConnectError(
            self.post_json("BackupRead", {"name": backup["name"],
                                          "offset": "999999999999"}),
            400, "out_of_range")

    def test_consistency_header(self):
        # Forwarded as metadata: dossierd checks it (standalone, strong
        # is a plain read).
        r = self.post_json("Get", {"id": "err-1"}, {"Consistency": "strong"})
        self.assertEqual(r.status, 200)
        self.assertConnectError(
            self.post_json("Get", {"id": "err-1"}, {"Consistency": "bogus"}),
            400, "invalid_argument")

    def test_aborted_carries_current_version(self):
        current = self.post_json("Get", {"id": "err-1"}).json()["version"]
        r = self.post_json("Put", {"report": make_report("err-1"),
                                   "expectedVersion": "999"})
        error = self.assertConnectError(r, 409, "aborted")
        self.assertEqual(r.headers["Dossier-Current-Version"], current)
        detail = error["details"][0]
        self.assertEqual(detail["type"], "google.protobuf.UInt64Value")
        from google.protobuf import wrappers_pb2
        raw = base64.b64decode(detail["value"] + "=" * (-len(detail["value"])
                                                        % 4))
        self.assertEqual(wrappers_pb2.UInt64Value.FromString(raw).value,
                         int(current))

    def test_deadline_exceeded(self):
        # dossierd frozen: the call is sent and no reply comes before the
        # caller's Connect-Timeout-Ms.
        self.server.process.send_signal(signal.SIGSTOP)
        try:
            r = self.post_json("Get", {"id": "err-1"},
                               {"Connect-Timeout-Ms": "300"})
        finally:
            self.server.process.send_signal(signal.SIGCONT)
        self.assertConnectError(r, 504, "deadline_exceeded")
        self.assertEqual(self.post_json("Get", {"id": "err-1"}).status, 200)

    def test_gateway_codes(self):
        r = self.post_json("Get", {"id": "err-1"},
                           {"Content-Encoding": "gzip"})
        self.assertConnectError(r, 501, "unimplemented")
        self.assertEqual(r.headers["Accept-Encoding"], "identity")


class Readers(GatewayCase):
    """dossierd's anonymous callers are readers: writes are refused."""

    server_args = ("--anonymous-role", "reader")

    def test_permission_denied(self):
        self.assertConnectError(
            self.post_json("Put", {"report": make_report("ro-1")}), 403,
            "permission_denied")
        self.assertEqual(self.post_json("Get", {"id": "ro-1"}).status, 404)


class Get(GatewayCase):
    """Connect GET for NO_SIDE_EFFECTS methods."""

    def setUp(self):
        self.assertEqual(
            self.post_json("Put", {"report": make_report("get-1")}).status,
            200)

    def get(self, method, query, headers=None):
        return self.request("GET", "/%s/%s?%s" % (
            SERVICE, method, urllib.parse.urlencode(query)),
            headers=headers)

    def test_get_json_and_proto(self):
        r = self.get("Get", {"encoding": "json", "message": '{"id":"get-1"}',
                             "connect": "v1"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["id"], "get-1")
        self.assertIn("max-age=0", r.headers["Cache-Control"])
        etag = r.headers["ETag"]
        again = self.get("Get", {"encoding": "json",
                                 "message": '{"id":"get-1"}'},
                         {"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b"")
        message = reports_pb2.SearchRequest(query="fisheries")
        r = self.get("Search", {
            "encoding": "proto", "base64": "1",
            "message": base64.urlsafe_b64encode(
                message.SerializeToString()).decode().rstrip("=")})
        self.assertEqual(r.status, 200, r.body)
        hits = reports_pb2.SearchResponse.FromString(r.body).hits
        self.assertEqual([h.report.id for h in hits], ["get-1"])
        r = self.get("List", {"encoding": "json", "message": "{}"})
        self.assertEqual(r.status, 200, r.body)

    def test_get_refused_for_writes_and_bad_queries(self):
        r = self.get("Put", {"encoding": "json", "message": "{}"})
        self.assertConnectError(r, 405, "unimplemented")
        self.assertEqual(r.headers["Allow"], "POST")
        self.assertConnectError(self.get("Get", {"message": "{}"}), 400,
                                "invalid_argument")
        self.assertConnectError(self.get("Get", {"encoding": "json"}), 400,
                                "invalid_argument")
        self.assertConnectError(
            self.get("Get", {"encoding": "json", "message": "{}",
                             "compression": "gzip"}), 501, "unimplemented")
        self.assertConnectError(
            self.get("Get", {"encoding": "proto", "base64": "1",
                             "message": "!!!"}), 400, "invalid_argument")


class BadRequests(GatewayCase):
    """Bad requests get a Connect error; the gateway keeps serving."""

    gateway_args = ("--max-body-bytes", "4096")

    def tearDown(self):
        r = self.request("GET", "/healthz")
        self.assertEqual(r.status, 200, r.body)

    def test_bad_bodies(self):
        error = self.assertConnectError(self.post_json("Get", b"{\"id\":"),
                                        400, "invalid_argument")
        self.assertIn("JSON", error["message"])
        error = self.assertConnectError(
            self.post_json("Get", {"id": "x", "nope": 1}), 400,
            "invalid_argument")
        self.assertIn("nope", error["message"])
        self.assertConnectError(
            self.request("POST", "/%s/Get" % SERVICE, b"\xff\xff\xff",
                         {"Content-Type": "application/proto"}),
            400, "invalid_argument")

    def test_bad_headers(self):
        r = self.request("POST", "/%s/Get" % SERVICE, b"{}",
                         {"Content-Type": "text/plain"})
        self.assertConnectError(r, 415, "unimplemented")
        self.assertIn("application/proto", r.headers["Accept-Post"])
        for bad in ("soon", "-1", "12345678901", ""):
            self.assertConnectError(
                self.post_json("Get", {"id": "x"},
                               {"Connect-Timeout-Ms": bad}),
                400, "invalid_argument")
        self.assertConnectError(
            self.post_json("Get", {"id": "x"},
                           {"Connect-Protocol-Version": "2"}),
            400, "invalid_argument")

    def test_bad_paths_and_verbs(self):
        self.assertConnectError(self.post_json("NoSuchMethod", {}), 404,
                                "unimplemented")
        self.assertConnectError(
            self.request("POST", "/other.Service/Get", b"{}",
                         {"Content-Type": "application/json"}),
            404, "unimplemented")
        r = self.request("PUT", "/%s/Get" % SERVICE, b"{}",
                         {"Content-Type": "application/json"})
        self.assertConnectError(r, 405, "unimplemented")
        self.assertEqual(r.headers["Allow"], "GET, POST")

    def test_oversize(self):
        big = {"report": make_report("big")}
        big["report"]["body"] = ["x" * 5000]
        self.assertConnectError(self.post_json("Put", big), 429,
                                "resource_exhausted")
        # Without a Content-Length (chunked), the limit holds as it reads.
        conn = http.client.HTTPConnection("127.0.0.1", self.gateway.port,
                                          timeout=30)
        try:
            conn.request("POST", "/%s/Put" % SERVICE,
                         body=iter([b"{" + b" " * 3000, b" " * 3000 + b"}"]),
                         headers={"Content-Type": "application/json"},
                         encode_chunked=True)
            r = Reply(conn.getresponse())
        finally:
            conn.close()
        self.assertConnectError(r, 429, "resource_exhausted")

    def test_metrics(self):
        self.post_json("Get", {"id": "nothing-here"})
        r = self.request("GET", "/metrics")
        self.assertEqual(r.status, 200)
        text = r.body.decode()
        self.assertIn('dossier_gateway_requests_total{method="Get",'
                      'code="not_found"}', text)
        self.assertRegex(text, r'dossier_gateway_request_duration_seconds_'
                         r'count\{method="Get"\} [1-9]')
        self.assertIn("dossier_gateway_in_flight_requests 1", text)


class Curve(GatewayCase):
    """A dossierd with CURVE and a gateway with its own key: HTTP callers
    must bring a token; without one the gateway answers 401 itself."""

    gateway_role = "gateway"

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="dossier-gwtest-")
        cls.daemons = []
        keys = os.path.join(cls.root, "keys")
        users = os.path.join(cls.root, "users")
        os.mkdir(users)
        dossier = os.path.join(BIN_DIR, "dossier")
        for name, role in (("server", "admin"), ("gateway", cls.gateway_role),
                           ("admin", "admin")):
            subprocess.run([dossier, "keygen", "--role", role, "--dir", keys,
                            name], check=True, capture_output=True,
                           timeout=30)
        for name in ("gateway", "admin"):
            shutil.copy(os.path.join(keys, name + ".key"), users)
        cls.keys = keys
        try:
            cls.server = start_dossierd(
                cls.root, "--curve-key",
                os.path.join(keys, "server.key_secret"), "--users", users)
            cls.daemons.append(cls.server)
            cls.gateway = start_gateway(
                cls.root, cls.server.endpoint, "--server-key",
                os.path.join(keys, "server.key"), "--key",
                os.path.join(keys, "gateway.key_secret"))
            cls.daemons.append(cls.gateway)
        except Exception:
            cls.tearDownClass()
            raise

    def test_no_token_is_401(self):
        error = self.assertConnectError(self.post_json("Get", {"id": "x"}),
                                        401, "unauthenticated")
        self.assertIn("Authorization", error["message"])
        r = self.request("GET", "/%s/Get?encoding=json&message=%%7B%%7D"
                         % SERVICE)
        self.assertConnectError(r, 401, "unauthenticated")
        # /healthz needs no token: dossierd answers the gateway's key.
        self.assertEqual(self.request("GET", "/healthz").status, 200)

    def admin(self, *args):
        """The dossier CLI as the admin user, straight to dossierd."""
        run = subprocess.run(
            [os.path.join(BIN_DIR, "dossier"), "-s", self.server.endpoint,
             "--server-key", os.path.join(self.keys, "server.key"),
             "--key", os.path.join(self.keys, "admin.key_secret")]
            + list(args), capture_output=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        return run.stdout.decode().strip()

    def test_tokens_over_http(self):
        writer = self.admin("token", "create", "web-writer", "--role",
                            "writer")
        reader = self.admin("token", "create", "web-reader", "--role",
                            "reader")
        as_writer = {"Authorization": "Bearer " + writer}
        as_reader = {"Authorization": "Bearer " + reader}
        r = self.post_json("Put", {"report": make_report("tok-1")}, as_writer)
        self.assertEqual(r.status, 200, r.body)
        r = self.post_json("Get", {"id": "tok-1"}, as_reader)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["createdBy"], "web-writer")
        self.assertConnectError(
            self.post_json("Put", {"report": make_report("tok-2")},
                           as_reader), 403, "permission_denied")
        self.assertConnectError(
            self.post_json("Get", {"id": "tok-1"},
                           {"Authorization": "Bearer dossier_nope_nope"}),
            401, "unauthenticated")
        # Revoked: refused from the next request on.
        self.admin("token", "revoke", writer.split("_")[1])
        self.assertConnectError(
            self.post_json("Get", {"id": "tok-1"}, as_writer), 401,
            "unauthenticated")
        self.assertEqual(self.post_json("Get", {"id": "tok-1"},
                                        as_reader).status, 200)

    def test_token_expires(self):
        admin = self.admin("token", "create", "web-admin", "--role", "admin")
        r = self.post_json("CreateToken", {"name": "brief", "role": "reader",
                                           "expiresInSeconds": "1"},
                           {"Authorization": "Bearer " + admin})
        self.assertEqual(r.status, 200, r.body)
        brief = {"Authorization": "Bearer " + r.json()["secret"]}
        # Works until it expires, then is refused (asked until it is,
        # bounded).
        for _ in range(200):
            r = self.post_json("WhoAmI", {}, brief)
            if r.status != 200:
                break
            self.assertEqual(r.json()["name"], "brief")
            time.sleep(0.05)
        self.assertConnectError(r, 401, "unauthenticated")


class Limits(GatewayCase):
    """Slow clients are cut off; connections past the limit are refused."""

    gateway_args = ("--connection-timeout-s", "1", "--max-connections", "3")

    def test_slow_client_is_closed(self):
        with socket.create_connection(("127.0.0.1", self.gateway.port),
                                      timeout=30) as s:
            s.sendall(b"POST /dossier.v1.Reports/Get HTTP/1.1\r\nHost: x\r\n")
            # Headers never finished: the gateway closes the connection
            # after a second of silence (recv then sees the end).
            data = s.recv(4096)
            self.assertTrue(data == b"" or data.startswith(b"HTTP/1.1 408"),
                            data)

    def test_connection_limit(self):
        """Past max_connections a new connection is closed at once, with
        no answer; once one closes, connections are served again."""
        held = [socket.create_connection(("127.0.0.1", self.gateway.port),
                                         timeout=30) for _ in range(3)]
        for h in held:  # each is accepted and has its thread
            h.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(h.recv(4096).startswith(b"HTTP/1.1 200"))
        with socket.create_connection(("127.0.0.1", self.gateway.port),
                                      timeout=30) as s:
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                data = s.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            self.assertEqual(data, b"", "served past max_connections")
        for h in held:
            h.close()
        # The gateway notices the closes on its own threads: ask until it
        # has (bounded).
        for _ in range(200):
            try:
                if self.request("GET", "/healthz").status == 200:
                    break
            except (ConnectionResetError, http.client.RemoteDisconnected):
                time.sleep(0.05)
        else:
            self.fail("no connection served after the limit")
        self.assertIn("connection limit", read(self.gateway.log_path))


class Lifecycle(unittest.TestCase):
    """Start-up refusals, /healthz with dossierd down, TLS."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="dossier-gwtest-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def test_plain_http_on_network_address_refused(self):
        run = subprocess.run(
            [os.path.join(BIN_DIR, "dossier-gateway"), "--listen",
             "0.0.0.0:0"], capture_output=True, timeout=30)
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn(b"refusing plain HTTP", run.stderr)
        run = subprocess.run(
            [os.path.join(BIN_DIR, "dossier-gateway"), "--listen",
             "127.0.0.1:0", "--tls-cert", "/nonexistent"],
            capture_output=True, timeout=30)
        self.assertEqual(run.returncode, 2, run.stderr)

    def test_config_file_is_strict(self):
        path = os.path.join(self.root, "gateway.conf")
        with open(path, "w") as f:
            f.write("gateway\n    listen = 127.0.0.1:0\n    colour = blue\n")
        run = subprocess.run(
            [os.path.join(BIN_DIR, "dossier-gateway"), "--config", path],
            capture_output=True, timeout=30)
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn(b"unknown setting gateway/colour", run.stderr)

    def test_healthz_follows_dossierd(self):
        server = start_dossierd(self.root)
        gateway = start_gateway(self.root, server.endpoint)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", gateway.port,
                                              timeout=30)
            conn.request("GET", "/healthz")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()
            server.stop()
            conn = http.client.HTTPConnection("127.0.0.1", gateway.port,
                                              timeout=30)
            conn.request("GET", "/healthz")
            r = Reply(conn.getresponse())
            self.assertEqual(r.status, 503, r.body)
            self.assertEqual(r.json()["status"], "NOT_SERVING")
            conn.request("POST", "/%s/Get" % SERVICE, body=b'{"id":"x"}',
                         headers={"Content-Type": "application/json",
                                  "Connect-Timeout-Ms": "500"})
            r = Reply(conn.getresponse())
            conn.close()
            self.assertEqual(r.status, 503, r.body)
            self.assertEqual(r.json()["code"], "unavailable")
        finally:
            gateway.stop()
            if server.process.poll() is None:
                server.stop()

    def test_tls(self):
        cert = os.path.join(self.root, "cert.pem")
        key = os.path.join(self.root, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                        "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        server = start_dossierd(self.root)
        gateway = start_gateway(self.root, server.endpoint, "--tls-cert",
                                cert, "--tls-key", key)
        try:
            context = ssl.create_default_context(cafile=cert)
            context.check_hostname = False
            conn = http.client.HTTPSConnection("127.0.0.1", gateway.port,
                                               context=context, timeout=30)
            conn.request("POST", "/%s/Health" % SERVICE, body=b"{}",
                         headers={"Content-Type": "application/json"})
            r = Reply(conn.getresponse())
            conn.close()
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["status"], "SERVING_STATUS_SERVING")
            # Plain HTTP to the TLS port is not served.
            with socket.create_connection(("127.0.0.1", gateway.port),
                                          timeout=30) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertNotIn(b"SERVING", s.recv(4096))
        finally:
            gateway.stop()
            server.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
