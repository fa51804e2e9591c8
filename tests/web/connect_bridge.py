#!/usr/bin/python3
"""A stand-in for dossier-gateway, for the browser tests only, while the
gateway (issue 16) is not built: it serves what the page needs from the
gateway over HTTP on 127.0.0.1, by the same rules, and nothing else.

- POST /dossier.v1.Reports/<Method>: Connect unary with
  application/json (proto3 JSON), answered through the Python client
  (dossier_client.Client) over ZeroMQ; an error is Connect's JSON error
  body with Connect's HTTP status.
- Authorization: Bearer TOKEN: a token is looked up in --tokens (a JSON
  object token -> CURVE certificate path of a user); its calls go over a
  connection with that user's keys, so dossierd decides the role, as
  the gateway's forwarded token does. No header: --anonymous-cert or a
  keyless connection.
- GET / and GET /web/FILE: the page, from --web DIR.
- GET /events: the change feed (--feed) as server-sent events.

Prints "listening on http://127.0.0.1:PORT" once ready.
The tests use build/bin/dossier-gateway instead as soon as it exists."""

import argparse
import json
import mimetypes
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import zmq
from google.protobuf import json_format

from dossier_client import (Client, DossierError, SERVICE, load_certificate,
                            reports_pb2)

try:
    from google.protobuf.message_factory import GetMessageClass
except ImportError:  # older protobuf
    from google.protobuf import message_factory as _mf

    def GetMessageClass(descriptor):
        return _mf.MessageFactory().GetPrototype(descriptor)

CODES = {
    1: ("canceled", 499), 2: ("unknown", 500), 3: ("invalid_argument", 400),
    4: ("deadline_exceeded", 504), 5: ("not_found", 404),
    6: ("already_exists", 409), 7: ("permission_denied", 403),
    8: ("resource_exhausted", 429), 9: ("failed_precondition", 400),
    10: ("aborted", 409), 11: ("out_of_range", 400),
    12: ("unimplemented", 501), 13: ("internal", 500),
    14: ("unavailable", 503), 15: ("data_loss", 500),
    16: ("unauthenticated", 401),
}
TYPES = {".txt": "text/plain; charset=utf-8", ".js": "text/javascript",
         ".css": "text/css", ".html": "text/html; charset=utf-8",
         ".png": "image/png", ".svg": "image/svg+xml"}
METHODS = reports_pb2.DESCRIPTOR.services_by_name["Reports"].methods_by_name


class Bridge:
    def __init__(self, args):
        self.args = args
        self.tokens = {}
        if args.tokens:
            with open(args.tokens) as f:
                self.tokens = json.load(f)
        self.server_key = None
        if args.server_key:
            self.server_key, _ = load_certificate(args.server_key)
        self.clients = {}
        self.lock = threading.Lock()

    def client(self, cert):
        """One client per identity, used under the lock (a DEALER socket
        is not shared between threads without one)."""
        if cert not in self.clients:
            kwargs = {}
            if cert:
                public, secret = load_certificate(cert + "_secret")
                kwargs = {"server_key": self.server_key,
                          "public_key": public, "secret_key": secret}
            self.clients[cert] = Client(self.args.server, timeout_ms=10000,
                                        retries=1, **kwargs)
        return self.clients[cert]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bridge = None

    def log_message(self, fmt, *args):
        sys.stderr.write("bridge: " + fmt % args + "\n")

    def _send(self, status, body, content_type, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in extra:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code, message):
        name, status = CODES.get(code, ("unknown", 500))
        body = json.dumps({"code": name, "message": message}).encode()
        self._send(status, body, "application/json")

    def _identity(self):
        header = self.headers.get("Authorization", "")
        if not header:
            # Without CURVE (development) a caller needs no token; with
            # it, as the gateway does, no token is 401.
            anonymous = self.bridge.args.anonymous_cert or ""
            return bool(anonymous or not self.bridge.server_key), anonymous
        if not header.startswith("Bearer "):
            return False, None
        cert = self.bridge.tokens.get(header[7:].strip())
        return cert is not None, cert

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        prefix = "/" + SERVICE + "/"
        if not self.path.startswith(prefix):
            return self._error(5, "no such path " + self.path)
        name = self.path[len(prefix):]
        method = METHODS.get(name)
        if method is None:
            return self._error(12, "unknown method " + name)
        if not self.headers.get("Content-Type", "").startswith(
                "application/json"):
            return self._error(3, "send application/json")
        ok, cert = self._identity()
        if not ok:
            return self._error(16, "the token is not known")
        request = GetMessageClass(method.input_type)()
        try:
            json_format.Parse(raw.decode("utf-8") or "{}", request)
        except (json_format.ParseError, UnicodeDecodeError) as exc:
            return self._error(3, "bad JSON: %s" % exc)
        reply_type = GetMessageClass(method.output_type)
        try:
            with self.bridge.lock:
                reply = self.bridge.client(cert).call(name, request,
                                                      reply_type)
        except DossierError as exc:
            return self._error(exc.code, exc.message)
        body = json_format.MessageToJson(reply, indent=None).encode()
        self._send(200, body, "application/json")

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/events":
            return self._events()
        if path == "/":
            path = "/web/index.html"
        if not path.startswith("/web/") or ".." in path:
            return self._send(404, b"not found\n", "text/plain")
        file = os.path.join(self.bridge.args.web, path[len("/web/"):])
        if not os.path.isfile(file):
            return self._send(404, b"not found\n", "text/plain")
        with open(file, "rb") as f:
            body = f.read()
        kind = TYPES.get(os.path.splitext(file)[1]) or \
            mimetypes.guess_type(file)[0] or "application/octet-stream"
        self._send(200, body, kind, [("Cache-Control", "no-cache")])

    def _events(self):
        ok, _ = self._identity()
        if not ok:
            return self._error(16, "the token is not known")
        if not self.bridge.args.feed:
            return self._send(404, b"no change feed\n", "text/plain")
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"dossier.v1.change")
        if self.bridge.args.feed_cert:
            public, secret = load_certificate(
                self.bridge.args.feed_cert + "_secret")
            sub.curve_serverkey = self.bridge.server_key
            sub.curve_publickey = public
            sub.curve_secretkey = secret
        sub.connect(self.bridge.args.feed)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b": connected\n\n")
            self.wfile.flush()
            while True:
                if not sub.poll(15000):
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                frames = sub.recv_multipart()
                event = reports_pb2.ChangeEvent.FromString(frames[1])
                data = json_format.MessageToJson(event, indent=None)
                self.wfile.write(("event: change\ndata: %s\n\n"
                                  % data).encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            sub.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--feed", default="")
    parser.add_argument("--web", required=True)
    parser.add_argument("--tokens", default="")
    parser.add_argument("--server-key", default="")
    parser.add_argument("--anonymous-cert", default="")
    parser.add_argument("--feed-cert", default="")
    args = parser.parse_args()
    Handler.bridge = Bridge(args)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    print("listening on http://127.0.0.1:%d" % httpd.server_address[1],
          flush=True)
    httpd.serve_forever()


main()
