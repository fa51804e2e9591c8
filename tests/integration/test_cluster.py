"""A three-node dossierd cluster on loopback (issue 18, first slice).

Run by ctest with Debian's /usr/bin/python3 and the environment of the
other Python tests (DOSSIER_BIN_DIR, DOSSIER_PYTHONPATH,
DOSSIER_FIXTURE_DIR). Three real
dossierd processes, each with its own data directory under one temporary
directory, its client endpoint on tcp://127.0.0.1:* (read back from
DATA/dossierd.pid) and a Raft address every node must know before any
starts.

Raft ports: a Raft address cannot be "*", so the test reserves one port
per node for the whole test: a socket bound with SO_REUSEADDR and never
listened on. The kernel then never hands that port to another bind, not
to port 0 (its ephemeral picks skip ports in use) nor to a plain bind of
another test under ctest -j, while dossierd's libuv, which binds with
SO_REUSEADDR too, can bind and listen on it (Linux allows that while
the other socket does not listen), again after a restart. No window
between a probe and the server's bind, as bind(0)-close-reuse has.

Waits are bounded polls for an event (a leader, a record), never sleeps
standing in for one. By hand:
  DOSSIER_BIN_DIR=build/bin DOSSIER_PYTHONPATH=build/python:client/python \\
  DOSSIER_FIXTURE_DIR=tests/fixtures \\
      /usr/bin/python3 tests/integration/test_cluster.py -v
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import re
import unittest
import uuid

import zmq

for _entry in reversed(os.environ.get("DOSSIER_PYTHONPATH", "").split(":")):
    if _entry and _entry not in sys.path:
        sys.path.insert(0, _entry)

from dossier_client import (  # noqa: E402
    Client, DossierError, report_pb2, reports_pb2)

BIN_DIR = os.environ.get("DOSSIER_BIN_DIR", "")
FIXTURE_DIR = os.environ.get("DOSSIER_FIXTURE_DIR", "")
NODES = 3
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
# An election takes one to two election timeouts (500 ms here) after the
# followers notice the leader is gone; the bound is generous for a
# loaded machine, and the test reports how long it took.
LEADER_TIMEOUT_S = 20.0
CATCH_UP_TIMEOUT_S = 20.0
ELECTION_TIMEOUT_MS = 500
UNAVAILABLE = 14
NOT_FOUND = 5
FEED_TOPIC = b"dossier.v1.change"


def make_report(rid, text):
    return report_pb2.Report(
        id=rid, title="Report %s" % rid, country="Azerbaijan",
        country_code="AZE", year=2004, tier=report_pb2.TIER_2,
        publisher="United States Department of State", body=[text])


def refworld_text():
    """One Refworld document of the fixtures, as text."""
    path = os.path.join(FIXTURE_DIR, "refworld")
    name = sorted(n for n in os.listdir(path) if n.endswith(".txt"))[0]
    with open(os.path.join(path, name), "rb") as f:
        return f.read()


def reserve_port():
    """A loopback port held for the test (see the module's comment)."""
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    return held


class Node:
    """One dossierd of the cluster: start, kill, stop, its client."""

    def __init__(self, root, node_id, raft, peers):
        self.id = node_id
        self.raft = raft
        self.peers = peers
        self.data = os.path.join(root, "node%d" % node_id)
        self.log_path = os.path.join(root, "node%d.log" % node_id)
        self.process = None
        self.endpoint = None
        self.feed = None
        self.client = None
        self.logs = []

    def start(self, bootstrap=True):
        pid_path = os.path.join(self.data, "dossierd.pid")
        if os.path.exists(pid_path):
            os.unlink(pid_path)  # a killed node leaves its pid file
        args = [os.path.join(BIN_DIR, "dossierd"), "--data", self.data,
                "--bind", "tcp://127.0.0.1:*", "--node-id", str(self.id),
                "--raft", self.raft, "--raft-election-timeout-ms",
                str(ELECTION_TIMEOUT_MS), "--feed", "tcp://127.0.0.1:*"]
        if bootstrap:
            args += ["--peers", self.peers]
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(args, stdout=log,
                                        stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("node %d exited with %d:\n%s" % (
                    self.id, self.process.returncode, self.log()))
            try:
                with open(pid_path) as f:
                    lines = f.read().split("\n")
            except FileNotFoundError:
                lines = []
            if (len(lines) >= 3 and lines[0].strip() == str(self.process.pid)
                    and lines[1].startswith("tcp://")):
                self.endpoint = lines[1].strip()
                # This run's line: the log is appended to on restarts.
                found = re.findall(r"change feed: publishing committed "
                                   r"writes at (\S+)", self.log())
                self.feed = found[-1] if found else None
                self.client = Client(self.endpoint, timeout_ms=3000,
                                     retries=0)
                return
            time.sleep(0.02)
        raise AssertionError("node %d wrote no endpoint:\n%s"
                             % (self.id, self.log()))

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.client.close()
        self.client = None

    def stop(self):
        """SIGCONT (a test may leave it frozen), SIGTERM; returns the exit
        status."""
        if self.client:
            self.client.close()
            self.client = None
        if not self.alive():
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGCONT)
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return "hung (killed)"

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def health(self):
        return self.client.call("Health", reports_pb2.HealthRequest(),
                                reports_pb2.HealthResponse)

    def get_raw(self, rid, strong=False):
        """The Get reply's payload (the stored Report's bytes), or None;
        strong: with metadata consistency=strong."""
        request = reports_pb2.GetRequest(id=rid).SerializeToString()
        response = self.client.call_raw(
            "dossier.v1.Reports/Get", request,
            metadata={"consistency": "strong"} if strong else None)
        if response.code == NOT_FOUND:
            return None
        if response.code != 0:
            raise DossierError(response.code, response.message)
        return response.payload


class ClusterTest(unittest.TestCase):

    def setUp(self):
        self.assertTrue(BIN_DIR, "DOSSIER_BIN_DIR is not set")
        self.root = tempfile.mkdtemp(prefix="dossier-cluster-")
        self.held = [reserve_port() for _ in range(NODES)]
        raft = ["127.0.0.1:%d" % h.getsockname()[1] for h in self.held]
        peers = ",".join("%d=%s" % (i + 1, a) for i, a in enumerate(raft))
        self.nodes = [Node(self.root, i + 1, raft[i], peers)
                      for i in range(NODES)]
        self.addCleanup(self._stop_all)

    def _stop_all(self):
        codes = {n.id: n.stop() for n in self.nodes if n.process}
        logs = "\n".join("--- node %d\n%s" % (n.id, n.log())
                         for n in self.nodes)
        for held in self.held:
            held.close()
        shutil.rmtree(self.root, ignore_errors=True)
        for node_id, code in codes.items():
            self.assertEqual(code, 0, "node %d exit status after SIGTERM: "
                             "%s\n%s" % (node_id, code, logs))

    def logs(self):
        return "\n".join("--- node %d\n%s" % (n.id, n.log())
                         for n in self.nodes)

    def wait_leader(self, timeout_s=LEADER_TIMEOUT_S):
        """The node every live node names as leader, once they agree and
        it says it leads (bounded)."""
        live = [n for n in self.nodes if n.alive()]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                seen = [n.health() for n in live]
            except DossierError:
                seen = []
            ids = {h.leader_id for h in seen}
            if seen and len(ids) == 1 and 0 not in ids:
                leader_id = ids.pop()
                leader = [n for n in live if n.id == leader_id]
                if leader and leader[0].health().role == "leader":
                    return leader[0]
            time.sleep(0.05)
        self.fail("no leader within %.0f s:\n%s" % (timeout_s, self.logs()))

    def put(self, node, report, attempts=100):
        """Puts report through node with one idempotency key, sending it
        again (bounded) while the cluster answers UNAVAILABLE (no leader
        yet, or the outcome unknown). Returns the PutResponse."""
        key = uuid.uuid4().hex
        payload = reports_pb2.PutRequest(report=report).SerializeToString()
        last = None
        for _ in range(attempts):
            try:
                response = node.client.call_raw(
                    "dossier.v1.Reports/Put", payload,
                    metadata={"idempotency-key": key}, idempotent=False)
            except DossierError as e:
                last = e
                node.client._reopen()
                continue
            if response.code == 0:
                result = reports_pb2.PutResponse()
                result.ParseFromString(response.payload)
                return result
            last = response.message
            if response.code != UNAVAILABLE:
                break
            time.sleep(0.05)
        self.fail("Put %s through node %d failed: %s\n%s"
                  % (report.id, node.id, last, self.logs()))

    def wait_same(self, rids, expected, timeout_s=CATCH_UP_TIMEOUT_S):
        """Waits (bounded) until every live node holds each record of rids
        with the same stored bytes as expected[rid]."""
        deadline = time.monotonic() + timeout_s
        while True:
            missing = []
            for node in self.nodes:
                if not node.alive():
                    continue
                for rid in rids:
                    if node.get_raw(rid) != expected[rid]:
                        missing.append((node.id, rid))
            if not missing:
                return
            if time.monotonic() > deadline:
                self.fail("nodes without the acknowledged records "
                          "(node, id): %s\n%s" % (missing[:10], self.logs()))
            time.sleep(0.05)

    def wait_caught_up(self, leader, restarted):
        """Waits (bounded) until the restarted node names the leader and
        the leader sees every node holding its whole log (its view is
        refreshed by the next append or heartbeat)."""
        deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
        while True:
            status = leader.client.call(
                "ClusterStatus", reports_pb2.ClusterStatusRequest(),
                reports_pb2.ClusterStatusResponse)
            behind = [(n.id, status.last_index - n.match_index)
                      for n in status.nodes
                      if n.match_index != status.last_index]
            named = restarted.health().leader_id
            if not behind and named == leader.id:
                return
            self.assertLess(time.monotonic(), deadline,
                            "nodes behind (id, entries): %s; node %d names "
                            "leader %d" % (behind, restarted.id, named))
            time.sleep(0.05)

    def audit_of(self, node):
        return [e.SerializeToString() for e in node.client.audit()]

    def test_replicates_fails_over_and_catches_up(self):
        for node in self.nodes:
            node.start()
        leader = self.wait_leader()
        follower = next(n for n in self.nodes if n is not leader)
        for node in self.nodes:
            health = node.health()
            self.assertEqual(health.node_id, node.id)
            self.assertIn(health.role, ("leader", "follower"))
        status = leader.client.call("ClusterStatus",
                                    reports_pb2.ClusterStatusRequest(),
                                    reports_pb2.ClusterStatusResponse)
        self.assertEqual(status.role, "leader")
        self.assertEqual(status.leader_id, leader.id)
        self.assertGreater(status.term, 0)
        self.assertEqual(sorted((n.id, n.address) for n in status.nodes),
                         [(n.id, n.raft) for n in self.nodes])
        # The CLI's views of it.
        cli = os.path.join(BIN_DIR, "dossier")
        out = subprocess.run([cli, "-s", leader.endpoint, "cluster",
                              "status"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=10)
        self.assertEqual(out.returncode, 0, out.stdout)
        self.assertIn("node %d: leader, term " % leader.id,
                      out.stdout.decode())
        for node in self.nodes:
            self.assertIn("  node %d  %s  has " % (node.id, node.raft),
                          out.stdout.decode())
        out = subprocess.run([cli, "-s", follower.endpoint, "health"],
                             stdout=subprocess.PIPE, timeout=10)
        self.assertEqual(out.stdout.decode(), "SERVING follower (node %d, "
                         "leader %d)\n" % (follower.id, leader.id))

        # A write on the leader, one on a follower (forwarded).
        acked = {}
        for i, node in enumerate((leader, follower)):
            rid = "cluster-%d" % i
            self.assertEqual(self.put(node, make_report(rid, "t%d" % i))
                             .version, 1)
            acked[rid] = None
        # The node that acknowledged a write has applied it.
        self.assertIsNotNone(leader.get_raw("cluster-0"))
        self.assertIsNotNone(follower.get_raw("cluster-1"))
        for rid in acked:
            acked[rid] = leader.get_raw(rid)
        # PutBatch and ImportText through a follower: their worker stage
        # (checks, parsing, tokenizing) runs again in each node's apply.
        batch = follower.client.put_batch(
            [make_report("batch-%d" % i, "batch %d" % i) for i in range(3)])
        self.assertEqual([r.code for r in batch.results], [0, 0, 0])
        imported = follower.client.import_text(refworld_text(),
                                               id="imported-1")
        self.assertEqual(imported.id, "imported-1")
        for rid in ["batch-%d" % i for i in range(3)] + ["imported-1"]:
            acked[rid] = None
        for rid in acked:
            acked[rid] = follower.get_raw(rid)
            self.assertIsNotNone(acked[rid], rid)
        # Every node holds the same bytes: timestamps and users included.
        self.wait_same(acked, acked)
        # And finds the imported text the same way.
        for node in self.nodes:
            hits = node.client.search("amnesty").hits
            self.assertIn("imported-1", [h.report.id for h in hits])

        # Twice: the leader dies (SIGKILL); the others elect another and
        # keep writing; the dead one comes back and catches up.
        elected_s = []
        for round_ in range(2):
            leader = self.wait_leader()
            leader.kill()
            started = time.monotonic()
            new_leader = self.wait_leader()
            elected_s.append(time.monotonic() - started)
            self.assertNotEqual(new_leader.id, leader.id)
            live = [n for n in self.nodes if n.alive()]
            for i in range(6):
                rid = "after-%d-%d" % (round_, i)
                node = live[i % len(live)]
                self.put(node, make_report(rid, "after %d" % i))
                acked[rid] = node.get_raw(rid)
                self.assertIsNotNone(acked[rid])
                # A STRONG read on another node sees it at once, after
                # the leader changed too (the barrier finds the new one).
                other = live[(i + 1) % len(live)]
                self.assertEqual(other.get_raw(rid, strong=True),
                                 acked[rid], "node %d" % other.id)
            # An update of a record written before the failover.
            self.assertEqual(self.put(live[0], make_report(
                "cluster-0", "round %d" % round_)).version, 2 + round_)
            acked["cluster-0"] = live[0].get_raw("cluster-0")
            self.wait_same(acked, acked)

            # The old leader comes back (no --peers: its Raft directory
            # holds the configuration) and catches up with what it
            # missed.
            leader.start(bootstrap=False)
            self.wait_same(acked, acked)
            self.wait_caught_up(new_leader, leader)
        # The same records everywhere, not only those the test names:
        # every record, whole, in id order.
        lists = [[r.SerializeToString() for r in n.client.list(full=True)]
                 for n in self.nodes]
        self.assertEqual(len(lists[0]), len(acked))
        for other in lists[1:]:
            self.assertEqual(other, lists[0])
        # Same audit log everywhere: the leader's time, not each node's.
        audits = [self.audit_of(n) for n in self.nodes]
        self.assertGreaterEqual(len(audits[0]), len(acked))
        for audit in audits[1:]:
            self.assertEqual(audit, audits[0])
        sys.stderr.write("cluster: a new leader after %s s\n" % ", ".join(
            "%.2f" % t for t in elected_s))

        # A minority refuses writes: two nodes frozen, the third answers
        # UNAVAILABLE (no majority to commit), never OK.
        alone, *frozen = self.nodes
        for node in frozen:
            node.process.send_signal(signal.SIGSTOP)
        try:
            payload = reports_pb2.PutRequest(
                report=make_report("minority", "x")).SerializeToString()
            response = alone.client.call_raw(
                "dossier.v1.Reports/Put", payload,
                metadata={"idempotency-key": uuid.uuid4().hex},
                idempotent=False, timeout_ms=20000)
            self.assertEqual(response.code, UNAVAILABLE, response.message)
        finally:
            for node in frozen:
                node.process.send_signal(signal.SIGCONT)
        # With the majority back, writes go through again.
        self.put(alone, make_report("majority", "back"))

    def subscribe(self, context, node):
        """A SUB socket on node's change feed."""
        self.assertIsNotNone(node.feed, node.log())
        sub = context.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, FEED_TOPIC)
        sub.connect(node.feed)
        return sub

    def test_feed_publishes_on_every_node(self):
        """Each node publishes what it applies, whichever node took the
        write, with the same seq (the audit entry's) everywhere."""
        for node in self.nodes:
            node.start()
        self.wait_leader()
        writer, *watched = self.nodes
        context = zmq.Context()
        self.addCleanup(context.term)
        subs = [self.subscribe(context, node) for node in watched]
        for sub in subs:
            self.addCleanup(sub.close)
        # A subscription takes effect some time after the connection:
        # write until each subscriber has seen one event (bounded).
        for i in range(200):
            self.put(writer, make_report("warm-%d" % i, "warm"))
            if all(sub.poll(100) for sub in subs):
                break
        else:
            self.fail("no change event reached both subscribers:\n%s"
                      % self.logs())
        rids = ["fed-%d" % i for i in range(10)]
        for rid in rids:
            self.put(writer, make_report(rid, "fed"))
        self.put(writer, make_report(rids[0], "fed again"))
        writer.client.delete(rids[1])
        seen = []
        for sub, node in zip(subs, watched):
            events = []
            deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
            while len(events) < len(rids) + 2:
                self.assertLess(time.monotonic(), deadline,
                                "node %d published %d of %d events:\n%s"
                                % (node.id, len(events), len(rids) + 2,
                                   self.logs()))
                if not sub.poll(100):
                    continue
                topic, body = sub.recv_multipart()
                self.assertEqual(topic, FEED_TOPIC)
                event = reports_pb2.ChangeEvent()
                event.ParseFromString(body)
                if event.id.startswith("fed-"):
                    events.append(event)
            seen.append(events)
        self.assertEqual([(e.id, e.version, e.operation) for e in seen[0]],
                         [(rid, 1, reports_pb2.CHANGE_OPERATION_PUT)
                          for rid in rids]
                         + [(rids[0], 2, reports_pb2.CHANGE_OPERATION_PUT),
                            (rids[1], 1,
                             reports_pb2.CHANGE_OPERATION_DELETE)])
        # The same events, seq and time included, from both nodes.
        self.assertEqual([e.SerializeToString() for e in seen[1]],
                         [e.SerializeToString() for e in seen[0]])
        seqs = [e.seq for e in seen[0]]
        self.assertEqual(seqs, sorted(set(seqs)))
        # seq is the audit entry's seq on every node.
        for node in self.nodes:
            audit = {e.seq: list(e.ids) for e in node.client.audit()}
            for event in seen[0]:
                self.assertIn(event.id, audit.get(event.seq, []),
                              "node %d" % node.id)

    def test_strong_reads_see_writes_through_other_nodes(self):
        """A Get with metadata consistency=strong on a follower, sent
        the moment a write through another node is acknowledged, sees
        that write; every time."""
        for node in self.nodes:
            node.start()
        leader = self.wait_leader()
        followers = [n for n in self.nodes if n is not leader]
        reader = followers[1]
        strong = {"consistency": "strong"}
        request = reports_pb2.GetRequest(id="strong").SerializeToString()
        for i in range(50):
            # Through the leader, then through the other follower.
            writer = (leader, followers[0])[i % 2]
            version = self.put(writer, make_report("strong", "v%d" % i)
                               ).version
            self.assertEqual(version, i + 1)
            response = reader.client.call_raw(
                "dossier.v1.Reports/Get", request, metadata=strong)
            self.assertEqual(response.code, 0, "write %d: %s" % (
                i, response.message))
            got = report_pb2.Report()
            got.ParseFromString(response.payload)
            self.assertEqual(got.version, version, "write %d through "
                             "node %d, read on node %d" % (
                                 i, writer.id, reader.id))
        # List and Search wait the same way.
        self.put(followers[0], make_report("strong-list", "zanzibarite"))
        response = reader.client.call_raw(
            "dossier.v1.Reports/List",
            reports_pb2.ListRequest().SerializeToString(), metadata=strong)
        self.assertEqual(response.code, 0, response.message)
        listed = reports_pb2.ListResponse()
        listed.ParseFromString(response.payload)
        self.assertIn("strong-list", [r.id for r in listed.reports])
        self.put(leader, make_report("strong-search", "quokkaland"))
        response = reader.client.call_raw(
            "dossier.v1.Reports/Search",
            reports_pb2.SearchRequest(query="quokkaland").SerializeToString(),
            metadata=strong)
        self.assertEqual(response.code, 0, response.message)
        found = reports_pb2.SearchResponse()
        found.ParseFromString(response.payload)
        self.assertEqual([h.report.id for h in found.hits], ["strong-search"])
        # Any other value is refused.
        response = reader.client.call_raw(
            "dossier.v1.Reports/Get", request,
            metadata={"consistency": "eventual"})
        self.assertEqual(response.code, 3, response.message)


class StandaloneTest(unittest.TestCase):
    """Without cluster flags dossierd is what it was: role standalone;
    hostile cluster flags are refused with a clear error."""

    def run_dossierd(self, *args):
        root = tempfile.mkdtemp(prefix="dossier-cluster-flags-")
        try:
            result = subprocess.run(
                [os.path.join(BIN_DIR, "dossierd"), "--data",
                 os.path.join(root, "data"), "--bind", "tcp://127.0.0.1:*"]
                + list(args), stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, timeout=10)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return result.returncode, result.stdout.decode()

    def test_hostile_flags(self):
        cases = [
            (["--node-id", "1"], "--raft is missing"),
            (["--raft", "127.0.0.1:7600"], "--node-id is missing"),
            (["--node-id", "0", "--raft", "127.0.0.1:7600"],
             "between 1 and 1000000"),
            (["--node-id", "1", "--raft", "10.1.2.3:7600"],
             "not a loopback address"),
            (["--node-id", "1", "--raft", "localhost:7600"],
             "numeric IPv4"),
            (["--node-id", "1", "--raft", "127.0.0.1:*"],
             "port must be a number"),
            (["--node-id", "1", "--raft", "127.0.0.1:99999"],
             "port must be a number"),
            (["--node-id", "1", "--raft", "127.0.0.1:7600", "--peers",
              "1=127.0.0.1:7600,1=127.0.0.1:7601"], "repeats the id"),
            (["--node-id", "1", "--raft", "127.0.0.1:7600", "--peers",
              "2=127.0.0.1:7601"], "is not in the list"),
            (["--node-id", "1", "--raft", "127.0.0.1:7600", "--peers",
              "1=127.0.0.1:7601"], "--raft says 127.0.0.1:7600"),
            (["--node-id", "1", "--raft", "127.0.0.1:7600", "--peers",
              "1=127.0.0.1:7600,"], "trailing ','"),
            (["--node-id", "1", "--raft", "127.0.0.1:7600", "--peers",
              "x" * 5000], "too long"),
            (["--node-id", "1", "--raft", "127.0.0.1:7600", "--peers",
              "1=127.0.0.1:7600,2=10.0.0.2:7600"], "not a loopback"),
        ]
        for args, expected in cases:
            code, output = self.run_dossierd(*args)
            self.assertEqual(code, 2, "%s: %s" % (args, output))
            self.assertIn(expected, output, args)

    def test_no_peers_on_a_first_start(self):
        held = reserve_port()
        try:
            code, output = self.run_dossierd(
                "--node-id", "1", "--raft",
                "127.0.0.1:%d" % held.getsockname()[1])
        finally:
            held.close()
        self.assertEqual(code, 1, output)
        self.assertIn("give --peers on a node's first start", output)

    def test_health_says_standalone(self):
        root = tempfile.mkdtemp(prefix="dossier-cluster-standalone-")
        node = Node(root, 0, "", "")
        node.data = os.path.join(root, "data")
        args = [os.path.join(BIN_DIR, "dossierd"), "--data", node.data,
                "--bind", "tcp://127.0.0.1:*"]
        try:
            node.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            pid_path = os.path.join(node.data, "dossierd.pid")
            deadline = time.monotonic() + START_TIMEOUT_S
            while node.endpoint is None and time.monotonic() < deadline:
                try:
                    with open(pid_path) as f:
                        lines = f.read().split("\n")
                    if len(lines) >= 3 and lines[1].startswith("tcp://"):
                        node.endpoint = lines[1].strip()
                except FileNotFoundError:
                    time.sleep(0.02)
            self.assertIsNotNone(node.endpoint)
            node.client = Client(node.endpoint, timeout_ms=3000)
            health = node.health()
            self.assertEqual(health.role, "standalone")
            # consistency=strong is a no-op on one server.
            response = node.client.call_raw(
                "dossier.v1.Reports/Get",
                reports_pb2.GetRequest(id="none").SerializeToString(),
                metadata={"consistency": "strong"})
            self.assertEqual(response.code, NOT_FOUND, response.message)
            self.assertEqual(health.leader_id, 0)
            self.assertEqual(health.node_id, 0)
            with self.assertRaises(DossierError) as refused:
                node.client.call("ClusterStatus",
                                 reports_pb2.ClusterStatusRequest(),
                                 reports_pb2.ClusterStatusResponse)
            self.assertEqual(refused.exception.code, 9)  # FAILED_PRECONDITION
        finally:
            self.assertEqual(node.stop(), 0)
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
