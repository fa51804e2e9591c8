"""The Python client against a dossierd with CURVE.

Run by ctest with Debian's /usr/bin/python3 and DOSSIER_BIN_DIR,
DOSSIER_PYTHONPATH as for test_python_client.py. Keys are made with
`dossier keygen` (czmq certificates) and read back with
dossier_client.load_certificate; the server runs with --curve-key and
--users on tcp://127.0.0.1:* in a temporary directory.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

for _entry in reversed(os.environ.get("DOSSIER_PYTHONPATH", "").split(":")):
    if _entry and _entry not in sys.path:
        sys.path.insert(0, _entry)

from dossier_client import (  # noqa: E402
    Client, DossierError, load_certificate, report_pb2, reports_pb2)

BIN_DIR = os.environ.get("DOSSIER_BIN_DIR", "")
PERMISSION_DENIED = 7
UNAVAILABLE = 14
UNAUTHENTICATED = 16
WHOAMI = "dossier.v1.Reports/WhoAmI"


class CurveServer(unittest.TestCase):

    def setUp(self):
        self.assertTrue(BIN_DIR, "DOSSIER_BIN_DIR is not set")
        self.root = tempfile.mkdtemp(prefix="dossier-pyauth-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.keys = os.path.join(self.root, "keys")
        self.users = os.path.join(self.root, "users")
        os.mkdir(self.keys)
        os.mkdir(self.users)
        for name, role in (("server", "admin"), ("alice", "reader"),
                           ("bob", "writer"), ("mallory", "admin"),
                           ("root", "admin"), ("gw", "gateway")):
            subprocess.run([os.path.join(BIN_DIR, "dossier"), "keygen", name,
                            "--role", role, "--dir", self.keys],
                           check=True, stdout=subprocess.DEVNULL)
        for name in ("alice", "bob", "root", "gw"):
            shutil.copy(os.path.join(self.keys, name + ".key"), self.users)
        data = os.path.join(self.root, "data")
        self.log_path = os.path.join(self.root, "dossierd.log")
        self.log = open(self.log_path, "wb")
        self.server = subprocess.Popen(
            [os.path.join(BIN_DIR, "dossierd"), "--data", data,
             "--bind", "tcp://127.0.0.1:*",
             "--curve-key", os.path.join(self.keys, "server.key_secret"),
             "--users", self.users],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.addCleanup(self._stop)
        self.endpoint = self._endpoint(os.path.join(data, "dossierd.pid"))
        self.server_key, _ = load_certificate(
            os.path.join(self.keys, "server.key"))

    def _endpoint(self, pid_path):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.assertIsNone(self.server.poll(), self._server_log())
            try:
                with open(pid_path) as f:
                    lines = f.read().split("\n")
            except FileNotFoundError:
                lines = []
            if len(lines) >= 3 and lines[1].startswith("tcp://"):
                return lines[1]
            time.sleep(0.02)
        self.fail("dossierd did not start:\n" + self._server_log())

    def _server_log(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _stop(self):
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        log = self._server_log()
        self.log.close()
        self.assertEqual(self.server.returncode, 0, log)

    def client(self, name, timeout_ms=5000, retries=1):
        public, secret = load_certificate(
            os.path.join(self.keys, name + ".key_secret"))
        self.assertIsNotNone(secret)
        c = Client(self.endpoint, timeout_ms=timeout_ms, retries=retries,
                   server_key=self.server_key, public_key=public,
                   secret_key=secret)
        self.addCleanup(c.close)
        return c

    def test_whoami_and_roles(self):
        alice = self.client("alice")
        who = alice.whoami()
        self.assertEqual((who.name, who.role, who.security),
                         ("alice", "reader", "curve"))
        public, _ = load_certificate(os.path.join(self.keys, "alice.key"))
        self.assertEqual(who.public_key, public.decode())
        report = report_pb2.Report(id="py-auth-1", title="T",
                                   country="Atlantis", year=2020)
        with self.assertRaises(DossierError) as caught:
            alice.put(report)
        self.assertEqual(caught.exception.code, PERMISSION_DENIED)
        self.assertIn("needs role writer; alice has role reader",
                      str(caught.exception))
        bob = self.client("bob")
        bob.put(report)
        got = alice.get("py-auth-1")
        self.assertEqual((got.created_by, got.updated_by), ("bob", "bob"))

    def test_unknown_key_and_plain_client_shut_out(self):
        mallory = self.client("mallory", timeout_ms=500, retries=0)
        with self.assertRaises(DossierError) as caught:
            mallory.health()
        self.assertEqual(caught.exception.code, UNAVAILABLE)
        plain = Client(self.endpoint, timeout_ms=500, retries=0)
        self.addCleanup(plain.close)
        with self.assertRaises(DossierError) as caught:
            plain.health()
        self.assertEqual(caught.exception.code, UNAVAILABLE)
        # Still serving the others.
        self.assertEqual(self.client("bob").whoami().name, "bob")

    def test_api_tokens(self):
        root = self.client("root")
        made = root.create_token("py-web", role="writer")
        self.assertTrue(made.secret.startswith("dossier_%s_" % made.token.id))
        self.assertEqual((made.token.name, made.token.role,
                          made.token.created_by), ("py-web", "writer", "root"))
        listed = [t for t in root.list_tokens() if t.id == made.token.id]
        self.assertEqual(len(listed), 1)
        self.assertNotIn(made.secret, str(root.list_tokens()))
        # The gateway's key forwards it: the token's name and role.
        gw = self.client("gw")
        bearer = {"authorization": "Bearer " + made.secret}
        response = gw.call_raw(WHOAMI, metadata=bearer)
        self.assertEqual(response.code, 0, response.message)
        who = reports_pb2.WhoAmIResponse.FromString(response.payload)
        self.assertEqual((who.name, who.role, who.via, who.token_id),
                         ("py-web", "writer", "gw", made.token.id))
        # Alone, the gateway gets Health and nothing else.
        self.assertEqual(gw.health().max_message_bytes > 0, True)
        with self.assertRaises(DossierError) as caught:
            gw.whoami()
        self.assertEqual(caught.exception.code, PERMISSION_DENIED)
        # On bob's own connection a token is refused, not ignored.
        response = self.client("bob").call_raw(WHOAMI, metadata=bearer)
        self.assertEqual(response.code, PERMISSION_DENIED)
        revoked = root.revoke_token(made.token.id)
        self.assertTrue(revoked.revoked_at)
        response = gw.call_raw(WHOAMI, metadata=bearer)
        self.assertEqual(response.code, UNAUTHENTICATED, response.message)
        with self.assertRaises(DossierError) as caught:
            self.client("bob").create_token("nope")
        self.assertEqual(caught.exception.code, PERMISSION_DENIED)

    def test_key_arguments_checked(self):
        with self.assertRaises(ValueError):
            Client(self.endpoint, server_key=self.server_key)
        with self.assertRaises(ValueError):
            Client(self.endpoint, server_key=b"short", public_key=b"x" * 40,
                   secret_key=b"y" * 40)
        with self.assertRaises(ValueError):
            load_certificate(os.path.join(self.root, "dossierd.log"))


if __name__ == "__main__":
    unittest.main()
