"""dossierd's own ZAP handler: only the users table admits, and no file a
user wrote can crash the server (issue 15).

Run by ctest with Debian's /usr/bin/python3 and DOSSIER_BIN_DIR,
DOSSIER_PYTHONPATH as for test_auth_python.py. Each test prepares a
users directory (certificates from `dossier keygen`, some edited the way
a user or an editor would), starts a dossierd with CURVE and a change
feed on tcp://127.0.0.1:* in a temporary directory, and checks who can
call and subscribe. Every wait is a bounded poll; waits for something
NOT to happen are bounded too and assert nothing about speed.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import zmq

for _entry in reversed(os.environ.get("DOSSIER_PYTHONPATH", "").split(":")):
    if _entry and _entry not in sys.path:
        sys.path.insert(0, _entry)

from dossier_client import (  # noqa: E402
    Client, DossierError, load_certificate, report_pb2)

BIN_DIR = os.environ.get("DOSSIER_BIN_DIR", "")
UNAVAILABLE = 14
TOPIC = b"dossier.v1.change"
REFUSED_MS = 1500  # how long a refused client waits for its (no) reply


class ZapServer(unittest.TestCase):

    def setUp(self):
        self.assertTrue(BIN_DIR, "DOSSIER_BIN_DIR is not set")
        self.root = tempfile.mkdtemp(prefix="dossier-zap-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.keys = os.path.join(self.root, "keys")
        self.users = os.path.join(self.root, "users")
        os.mkdir(self.keys)
        os.mkdir(self.users)
        for name, role in (("server", "admin"), ("alice", "reader"),
                           ("bob", "writer"), ("root", "admin"),
                           ("mallory", "admin")):
            self.keygen(name, role)
        for name in ("alice", "bob", "root"):
            shutil.copy(self.key_file(name), self.users)
        self.server = None
        self.context = zmq.Context()
        self.addCleanup(self.context.destroy, 0)

    # ---- keys and files ----

    def keygen(self, name, role):
        subprocess.run([os.path.join(BIN_DIR, "dossier"), "keygen", name,
                        "--role", role, "--dir", self.keys],
                       check=True, stdout=subprocess.DEVNULL)

    def key_file(self, name):
        return os.path.join(self.keys, name + ".key")

    def write_user_file(self, file, name, text_edit):
        """Writes name's public certificate, edited by text_edit (bytes ->
        bytes), as users/file."""
        with open(self.key_file(name), "rb") as f:
            text = f.read()
        with open(os.path.join(self.users, file), "wb") as f:
            f.write(text_edit(text))

    # ---- the server ----

    def start(self, *extra):
        data = os.path.join(self.root, "data")
        self.log_path = os.path.join(self.root, "dossierd.log")
        self.log = open(self.log_path, "wb")
        self.server = subprocess.Popen(
            [os.path.join(BIN_DIR, "dossierd"), "--data", data,
             "--bind", "tcp://127.0.0.1:*", "--feed", "tcp://127.0.0.1:*",
             "--curve-key", os.path.join(self.keys, "server.key_secret"),
             "--users", self.users] + list(extra),
            stdout=self.log, stderr=subprocess.STDOUT)
        self.addCleanup(self._stop)
        self.endpoint = self._endpoint(os.path.join(data, "dossierd.pid"))
        found = re.search(r"change feed: publishing committed writes at "
                          r"(tcp://\S+)", self.server_log())
        self.assertIsNotNone(found, self.server_log())
        self.feed = found.group(1)
        self.server_key, _ = load_certificate(
            os.path.join(self.keys, "server.key"))

    def _endpoint(self, pid_path):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.assertIsNone(self.server.poll(), self.server_log())
            try:
                with open(pid_path) as f:
                    lines = f.read().split("\n")
            except FileNotFoundError:
                lines = []
            if len(lines) >= 3 and lines[1].startswith("tcp://"):
                return lines[1]
            time.sleep(0.02)
        self.fail("dossierd did not start:\n" + self.server_log())

    def server_log(self):
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
        log = self.server_log()
        self.log.close()
        self.assertEqual(self.server.returncode, 0, log)

    def assert_serving(self):
        self.assertIsNone(self.server.poll(), self.server_log())
        self.assertEqual(self.client("bob").whoami().name, "bob")

    # ---- clients ----

    def client(self, name, timeout_ms=5000, retries=1):
        public, secret = load_certificate(
            os.path.join(self.keys, name + ".key_secret"))
        c = Client(self.endpoint, timeout_ms=timeout_ms, retries=retries,
                   server_key=self.server_key, public_key=public,
                   secret_key=secret)
        self.addCleanup(c.close)
        return c

    def assert_refused(self, name):
        """name's key gets no answer: its handshake is refused."""
        with self.assertRaises(DossierError) as caught:
            self.client(name, timeout_ms=REFUSED_MS, retries=0).health()
        self.assertEqual(caught.exception.code, UNAVAILABLE)

    def subscriber(self, name):
        public, secret = load_certificate(
            os.path.join(self.keys, name + ".key_secret"))
        sub = self.context.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.curve_serverkey = self.server_key
        sub.curve_publickey = public
        sub.curve_secretkey = secret
        sub.setsockopt(zmq.SUBSCRIBE, TOPIC)
        sub.connect(self.feed)
        return sub

    def put(self, writer, id):
        writer.put(report_pb2.Report(id=id, title="T", country="Atlantis",
                                     year=2020))

    def wait_event(self, writer, sub, prefix, limit=100):
        """Writes prefix-0, prefix-1, ... until sub receives an event of
        one of them (a subscription takes effect some time after the
        connection); returns the ids written."""
        written = []
        for i in range(limit):
            id = "%s-%d" % (prefix, i)
            self.put(writer, id)
            written.append(id)
            while sub.poll(100):
                frames = sub.recv_multipart()
                if len(frames) == 2 and prefix.encode() in frames[1]:
                    return written
        self.fail("no change event of %s reached the subscriber after %d "
                  "writes" % (prefix, limit))

    def received(self, sub, wait_ms):
        """The events sub receives within wait_ms."""
        events = []
        end = time.monotonic() + wait_ms / 1000
        while True:
            left = int((end - time.monotonic()) * 1000)
            if left <= 0 or not sub.poll(left):
                return events
            events.append(sub.recv_multipart())

    # ---- files that crashed czmq's zauth ----

    def test_long_metadata_value(self):
        # A 3,000-byte comment overflowed zauth's 512-byte metadata
        # buffer: SIGABRT at alice's connection.
        comment = b'    comment = "' + b"A" * 3000 + b'"\n'
        self.write_user_file("alice.key", "alice",
                             lambda t: t.replace(b"metadata\n",
                                                 b"metadata\n" + comment))
        self.start()
        who = self.client("alice").whoami()
        self.assertEqual((who.name, who.role), ("alice", "reader"))
        self.assert_serving()

    def test_duplicate_key_files(self):
        # zcertstore_insert asserted on a second file with the same key.
        shutil.copy(os.path.join(self.users, "alice.key"),
                    os.path.join(self.users, "alice.key.bak"))
        self.start()
        log = self.server_log()
        self.assertIn("alice.key.bak (alice): its key is already the key of "
                      "user alice in %s/alice.key" % self.users, log)
        self.assertEqual(self.client("alice").whoami().name, "alice")
        # The same while running, then reloaded: an editor's backup.
        shutil.copy(os.path.join(self.users, "bob.key"),
                    os.path.join(self.users, "bob.key~"))
        self.assertEqual(self.client("root").reload_users(), 3)
        self.assertIn("bob.key~ (bob): its key is already the key of user "
                      "bob in %s/bob.key" % self.users, self.server_log())
        self.assert_serving()
        self.assertEqual(self.client("alice").whoami().name, "alice")

    # ---- what zauth admitted and the table did not ----

    def test_roleless_certificate_cannot_connect_or_subscribe(self):
        self.write_user_file("mallory.key", "mallory",
                             lambda t: re.sub(rb'    role = "admin"\n', b"",
                                              t))
        self.start()
        self.assert_refused("mallory")
        mallory = self.subscriber("mallory")
        bob_sub = self.subscriber("bob")
        bob = self.client("bob")
        self.wait_event(bob, bob_sub, "roleless")
        self.wait_event(bob, bob_sub, "roleless-more")
        self.assertEqual(self.received(mallory, 500), [])
        self.assertIn("mallory): metadata 'role' is missing",
                      self.server_log())
        self.assert_serving()

    def test_certificate_in_subfolder_not_admitted(self):
        os.mkdir(os.path.join(self.users, "old"))
        shutil.copy(self.key_file("mallory"),
                    os.path.join(self.users, "old", "mallory.key"))
        self.start()
        self.assert_refused("mallory")
        self.assert_serving()

    def test_duplicate_name_skipped(self):
        # zz- sorts after bob.key: bob's own file is the one admitted.
        self.write_user_file("zz-bob.key", "mallory",
                             lambda t: t.replace(b'name = "mallory"',
                                                 b'name = "bob"'))
        self.start()
        self.assert_refused("mallory")
        self.assertIn("zz-bob.key: the name bob is already the name of the "
                      "user in %s/bob.key" % self.users, self.server_log())
        self.assert_serving()

    def test_bad_names_skipped(self):
        self.keygen("eve", "writer")
        self.write_user_file("mallory.key", "mallory",
                             lambda t: t.replace(b'name = "mallory"',
                                                 b'name = "mal\xfflory"'))
        self.write_user_file("eve.key", "eve",
                             lambda t: t.replace(b'name = "eve"',
                                                 b'name = "e\x1b[2Jve"'))
        self.start()
        self.assert_refused("mallory")
        self.assert_refused("eve")
        log = self.server_log()
        for file in ("mallory.key", "eve.key"):
            self.assertIn("%s/%s: metadata 'name' is missing, or not 1 to 63 "
                          "bytes of UTF-8 without control characters"
                          % (self.users, file), log)
        self.assert_serving()

    # ---- revocation and handshakes ----

    def test_revoked_user_loses_the_feed(self):
        self.start()
        alice = self.subscriber("alice")
        bob_sub = self.subscriber("bob")
        root = self.client("root")
        self.wait_event(root, alice, "before")
        self.wait_event(root, bob_sub, "before-bob")
        os.unlink(os.path.join(self.users, "alice.key"))
        self.assertEqual(root.reload_users(), 2)
        # bob (re)subscribes by himself and gets the later events.
        after = self.wait_event(root, bob_sub, "after")
        after += self.wait_event(root, bob_sub, "after-more")
        got = [e for e in self.received(alice, 500)
               if any(id.encode() in e[-1] for id in after)]
        self.assertEqual(got, [])
        self.assertIn("users: 1 keys are no longer admitted",
                      self.server_log())
        self.assert_serving()

    def test_silent_connection_dropped_after_handshake_timeout(self):
        self.start("--handshake-timeout-ms", "300")
        for endpoint in (self.endpoint, self.feed):
            host, port = endpoint[len("tcp://"):].rsplit(":", 1)
            with socket.create_connection((host, int(port)), 10) as raw:
                # Sends nothing; the server must hang up by itself (libzmq
                # would wait 30 s by default; give up after 20).
                raw.settimeout(20)
                closed = False
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    try:
                        if raw.recv(4096) == b"":
                            closed = True
                            break
                    except ConnectionResetError:
                        closed = True
                        break
                    except socket.timeout:
                        break
                self.assertTrue(closed, "%s kept a silent connection open"
                                % endpoint)
        self.assert_serving()


if __name__ == "__main__":
    unittest.main()
