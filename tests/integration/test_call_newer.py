"""`dossier call` reaches methods the CLI was not built with, and a
server's hostile descriptors or replies are refused, never a crash.

No dossierd has a method this CLI lacks, so a stand-in server plays a
newer one: a ZeroMQ ROUTER on tcp://127.0.0.1:* in this process, which
speaks the envelope of rpc.proto and answers Describe with a descriptor
set of its own: a service dossier.v2.Labs whose Echo method and
messages (nested messages, a map, an enum, 64-bit and repeated fields)
appear nowhere in the CLI's compiled code. The CLI must build the types
from Describe, send the request packed as the stand-in decodes it with
Python's protobuf, and print the reply as JSON. The stand-in then serves
bad descriptor sets and a reply nesting 10000 levels deep: the CLI exits
1 with a sentence saying why.

Run by ctest with Debian's /usr/bin/python3 and DOSSIER_BIN_DIR,
DOSSIER_PYTHONPATH as for test_python_client.py. Waits are bounded polls.
"""

import json
import os
import subprocess
import sys
import threading
import unittest

import zmq

for _entry in reversed(os.environ.get("DOSSIER_PYTHONPATH", "").split(":")):
    if _entry and _entry not in sys.path:
        sys.path.insert(0, _entry)

from google.protobuf import descriptor_pb2, descriptor_pool  # noqa: E402
from google.protobuf import message_factory  # noqa: E402

from dossier.v1 import reports_pb2, rpc_pb2  # noqa: E402

BIN_DIR = os.environ.get("DOSSIER_BIN_DIR", "")
F = descriptor_pb2.FieldDescriptorProto


def _labs_file():
    """dossier/v2/labs.proto, as protoc would describe it."""
    f = descriptor_pb2.FileDescriptorProto(
        name="dossier/v2/labs.proto", package="dossier.v2", syntax="proto3")
    mood = f.enum_type.add(name="Mood")
    for i, name in enumerate(["MOOD_UNSPECIFIED", "MOOD_CALM", "MOOD_LOUD"]):
        mood.value.add(name=name, number=i)
    req = f.message_type.add(name="EchoRequest")
    req.field.add(name="text", number=1, type=F.TYPE_STRING,
                  label=F.LABEL_OPTIONAL, json_name="text")
    req.field.add(name="numbers", number=2, type=F.TYPE_SINT64,
                  label=F.LABEL_REPEATED, json_name="numbers")
    req.field.add(name="counts", number=3, type=F.TYPE_MESSAGE,
                  label=F.LABEL_REPEATED,
                  type_name=".dossier.v2.EchoRequest.CountsEntry",
                  json_name="counts")
    req.field.add(name="mood", number=4, type=F.TYPE_ENUM,
                  label=F.LABEL_OPTIONAL, type_name=".dossier.v2.Mood",
                  json_name="mood")
    req.field.add(name="inner_part", number=5, type=F.TYPE_MESSAGE,
                  label=F.LABEL_OPTIONAL,
                  type_name=".dossier.v2.EchoRequest.Inner",
                  json_name="innerPart")
    entry = req.nested_type.add(name="CountsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING,
                    label=F.LABEL_OPTIONAL, json_name="key")
    entry.field.add(name="value", number=2, type=F.TYPE_INT32,
                    label=F.LABEL_OPTIONAL, json_name="value")
    inner = req.nested_type.add(name="Inner")
    inner.field.add(name="blob", number=1, type=F.TYPE_BYTES,
                    label=F.LABEL_OPTIONAL, json_name="blob")
    inner.field.add(name="again", number=2, type=F.TYPE_MESSAGE,
                    label=F.LABEL_OPTIONAL,
                    type_name=".dossier.v2.EchoRequest.Inner",
                    json_name="again")
    rep = f.message_type.add(name="EchoReply")
    rep.field.add(name="shout", number=1, type=F.TYPE_STRING,
                  label=F.LABEL_OPTIONAL, json_name="shout")
    rep.field.add(name="sum", number=2, type=F.TYPE_UINT64,
                  label=F.LABEL_OPTIONAL, json_name="sum")
    rep.field.add(name="request", number=3, type=F.TYPE_MESSAGE,
                  label=F.LABEL_OPTIONAL, type_name=".dossier.v2.EchoRequest",
                  json_name="request")
    svc = f.service.add(name="Labs")
    echo = svc.method.add(name="Echo", input_type=".dossier.v2.EchoRequest",
                          output_type=".dossier.v2.EchoReply")
    echo.options.idempotency_level = descriptor_pb2.MethodOptions.IDEMPOTENT
    return f


def _real_set():
    """The API's own set (as dossierd serves it) plus labs.proto."""
    pool = reports_pb2.DESCRIPTOR.pool
    fset = descriptor_pb2.FileDescriptorSet()
    seen = set()

    def add(fd):
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            add(dep)
        fd.CopyToProto(fset.file.add())

    add(pool.FindFileByName("dossier/v1/reports.proto"))
    add(pool.FindFileByName("dossier/v1/rpc.proto"))
    fset.file.append(_labs_file())
    return fset


class StandIn:
    """A ROUTER that answers Describe and Echo on a thread of its own."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        self.sock.bind("tcp://127.0.0.1:*")
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.fset = _real_set()
        self.describe_bytes = self.fset.SerializeToString()
        self.echo_override = None  # bytes to answer Echo with instead
        self.seen = []  # (method, decoded request) of each call
        pool = descriptor_pool.DescriptorPool()
        for fd in self.fset.file:
            pool.Add(fd)
        factory = message_factory.MessageFactory(pool)
        self.EchoRequest = factory.GetPrototype(
            pool.FindMessageTypeByName("dossier.v2.EchoRequest"))
        self.EchoReply = factory.GetPrototype(
            pool.FindMessageTypeByName("dossier.v2.EchoReply"))
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _answer(self, request):
        response = rpc_pb2.Response(id=request.id)
        if request.method == "dossier.v1.Reports/Describe":
            d = reports_pb2.DescribeResponse(
                file_descriptor_set=self.describe_bytes)
            response.payload = d.SerializeToString()
        elif request.method == "dossier.v2.Labs/Echo":
            echo = self.EchoRequest.FromString(request.payload)
            self.seen.append((request.method, echo,
                              dict(request.metadata)))
            if self.echo_override is not None:
                response.payload = self.echo_override
            else:
                reply = self.EchoReply(shout=echo.text.upper(),
                                       sum=sum(echo.numbers) % 2**64)
                reply.request.CopyFrom(echo)
                response.payload = reply.SerializeToString()
        else:
            response.code = 12
            response.message = "no method %s here" % request.method
        return response.SerializeToString()

    def _serve(self):
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while not self.stopping.is_set():
            if not poller.poll(100):
                continue
            frames = self.sock.recv_multipart()
            request = rpc_pb2.Request.FromString(frames[-1])
            self.sock.send_multipart(frames[:-1] + [self._answer(request)])

    def close(self):
        self.stopping.set()
        self.thread.join(10)
        self.sock.close()
        self.ctx.term()


class CallNewerMethod(unittest.TestCase):
    def setUp(self):
        self.server = StandIn()

    def tearDown(self):
        self.server.close()

    def cli(self, *args, stdin=None):
        proc = subprocess.run(
            [os.path.join(BIN_DIR, "dossier"), "-s", self.server.endpoint,
             "--timeout", "10000"] + list(args),
            input=stdin, capture_output=True, text=True, timeout=60)
        self.assertNotIn("Sanitizer", proc.stderr)
        self.assertNotIn("runtime error", proc.stderr)
        return proc

    def test_echo(self):
        request = {"text": "hello", "numbers": ["-5", "9007199254740993"],
                   "counts": {"a": 1, "b": -2}, "mood": "MOOD_LOUD",
                   "innerPart": {"blob": "AP8=", "again": {"blob": "eA=="}}}
        proc = self.cli("--json", "call", "dossier.v2.Labs/Echo",
                        json.dumps(request))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # What the server decoded is what was asked.
        self.assertEqual(len(self.server.seen), 1)
        _, echo, metadata = self.server.seen[0]
        self.assertEqual(echo.text, "hello")
        self.assertEqual(list(echo.numbers), [-5, 9007199254740993])
        self.assertEqual(dict(echo.counts), {"a": 1, "b": -2})
        self.assertEqual(echo.mood, 2)
        self.assertEqual(echo.inner_part.blob, b"\x00\xff")
        self.assertEqual(echo.inner_part.again.blob, b"x")
        # A method the CLI does not know is never assumed safe to resend:
        # it goes with an idempotency key.
        self.assertIn("idempotency-key", metadata)
        # And the reply comes back as proto3 JSON.
        reply = json.loads(proc.stdout)
        self.assertEqual(reply["shout"], "HELLO")
        self.assertEqual(reply["sum"], "9007199254740988")
        self.assertEqual(reply["request"], request)

    def test_echo_from_stdin_and_describe(self):
        proc = self.cli("call", "Labs/Echo", stdin='{"text": "x"}')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["shout"], "X")
        proc = self.cli("describe", "Echo")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("rpc dossier.v2.Labs/Echo(dossier.v2.EchoRequest) "
                      "returns (dossier.v2.EchoReply)", proc.stdout)
        self.assertIn("option idempotency_level = IDEMPOTENT;", proc.stdout)
        self.assertIn("map<string, int32> counts = 3;", proc.stdout)
        self.assertIn("repeated sint64 numbers = 2;", proc.stdout)
        self.assertIn("dossier.v2.EchoRequest.Inner inner_part = 5;",
                      proc.stdout)
        self.assertIn("  MOOD_LOUD = 2;", proc.stdout)
        self.assertEqual(proc.stdout.count(
            "message dossier.v2.EchoRequest.Inner {"), 1)

    def test_same_name_in_two_services(self):
        fset = descriptor_pb2.FileDescriptorSet()
        fset.CopyFrom(self.server.fset)
        other = fset.file[-1].service.add(name="Echoes")
        other.method.add(name="Echo", input_type=".dossier.v2.EchoRequest",
                         output_type=".dossier.v2.EchoReply")
        self.server.describe_bytes = fset.SerializeToString()
        proc = self.cli("call", "Echo", "{}")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("2 services have a method Echo; name it as "
                      "SERVICE/Echo", proc.stderr)
        # Named, it is sent; the stand-in has no such method and says so.
        proc = self.cli("call", "Echoes/Echo", "{}")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("dossier: no method dossier.v2.Echoes/Echo here "
                      "(UNIMPLEMENTED)", proc.stderr)

    def test_hostile_descriptors(self):
        cases = [
            (b"\x0a\x05\x01", "not a serialized FileDescriptorSet"),
            (b"\x0a" * 3 + b"\xff\xff\xff\xff\x0f", "not a serialized"),
        ]
        bad = descriptor_pb2.FileDescriptorSet()
        bad.CopyFrom(self.server.fset)
        labs = bad.file[-1]
        labs.message_type[0].field[0].number = 2  # "numbers" has 2
        cases.append((bad.SerializeToString(), "field number 2 is used twice"))
        bad.CopyFrom(self.server.fset)
        bad.file[-1].message_type[0].field[3].type_name = ".dossier.v2.Nope"
        cases.append((bad.SerializeToString(), "no enum type dossier.v2.Nope"))
        # A declaration nested 5000 deep: refused before it is unpacked.
        deep = b"\x0a\x01A"
        for _ in range(5000):
            deep = b"\x0a\x01A\x1a" + _varint(len(deep)) + deep
        file_bytes = b"\x22" + _varint(len(deep)) + deep
        cases.append((b"\x0a" + _varint(len(file_bytes)) + file_bytes,
                      "nests deeper"))
        for payload, want in cases:
            self.server.describe_bytes = payload
            proc = self.cli("call", "Echo", "{}")
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn("dossier: the server's descriptor set: ",
                          proc.stderr)
            self.assertIn(want, proc.stderr)
            self.assertEqual(proc.stdout, "")

    def test_reply_too_deep(self):
        # EchoRequest.Inner.again nests itself: 10000 levels in the reply.
        inner = b""
        for _ in range(10000):
            inner = b"\x12" + _varint(len(inner)) + inner
        request = b"\x2a" + _varint(len(inner)) + inner  # inner_part
        self.server.echo_override = b"\x1a" + _varint(len(request)) + request
        proc = self.cli("call", "Echo", "{}")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("INTERNAL", proc.stderr)
        self.assertIn("nests messages deeper than 64 levels", proc.stderr)


def _varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


if __name__ == "__main__":
    unittest.main()
