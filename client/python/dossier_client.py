"""dossier_client: a Python client for a Dossier server (dossierd).

Dossier speaks protobuf over ZeroMQ (docs/PROTOCOL.md). This module wraps
that contract in a small blocking API:

    from dossier_client import Client, DossierError

    with Client("tcp://127.0.0.1:7531") as client:
        report = client.get("tip-2004-aze")
        for summary in client.list(country="Azerbaijan", year=(2004, 2010)):
            print(summary.id, summary.year, tier_name(summary.tier))

It needs pyzmq and protobuf (Debian: python3-zmq, python3-protobuf) and the
message classes that the build generates with protoc into
<build>/python/dossier/v1/*_pb2.py; put <build>/python on sys.path (or
PYTHONPATH) before importing this module.

Transport. The client talks through a ZeroMQ DEALER socket: each request
goes out as an empty delimiter frame and one serialized dossier.v1.Request,
and each reply is matched to its request by Request.id, so a late reply to
an abandoned request is recognized and dropped. Every request carries
deadline_ms equal to the client's timeout, so the server does not start
work the client has stopped waiting for.

Retries. Whether a call may be sent again is its method's
idempotency_level in reports.proto, read from the generated descriptors
(the server and libdossier read the same options). Reads
(NO_SIDE_EFFECTS: Get, List, Search, ...) follow ZeroMQ's "Lazy Pirate"
pattern: when no reply arrives within timeout_ms, the socket is closed
(dropping anything queued on it), a new one is connected, and the request
is sent again, up to `retries` more times (as libdossier counts them);
then DossierError(UNAVAILABLE). Writes (IDEMPOTENT: Put, Delete,
ImportText, ...) carry an "idempotency-key" metadata entry (uuid4 hex),
the same on every attempt, and are retried the same way: the server
applies a key once and answers a repeat with the first reply
(docs/PROTOCOL.md, Idempotency keys), so a retried write is never applied
twice. A method marked neither (Backup) is never sent again.

A Client is not thread-safe: use one per thread (ZeroMQ sockets must not
be shared between threads).
"""

import time
import uuid

import zmq
from zmq.utils import z85
from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError

try:
    from dossier.v1 import report_pb2, reports_pb2, rpc_pb2
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "dossier_client needs the generated modules dossier.v1.*_pb2; "
        "add <build>/python (made by the python_proto target) to sys.path"
    ) from exc

__all__ = [
    "Client",
    "DossierError",
    "STATUS_NAMES",
    "status_code",
    "tier_name",
    "SERVICE",
    "DEFAULT_ENDPOINT",
    "report_pb2",
    "reports_pb2",
    "rpc_pb2",
]

DEFAULT_ENDPOINT = "tcp://127.0.0.1:7531"

__version__ = "0.1.0"

#: Sent as the "client" metadata entry, which the server logs.
CLIENT_NAME = "dossier-python/" + __version__

#: Full name of the service; methods are called as SERVICE + "/" + name.
SERVICE = "dossier.v1.Reports"

#: gRPC canonical status codes, number -> name, as carried in Response.code.
STATUS_NAMES = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}

_CODES = {name: number for number, name in STATUS_NAMES.items()}

# Each method's idempotency_level, from reports.proto's descriptors:
# NO_SIDE_EFFECTS methods are resent as they are, IDEMPOTENT ones with one
# idempotency key for all attempts, the others never.
_LEVELS = {
    method.name: method.GetOptions().idempotency_level
    for method in reports_pb2.DESCRIPTOR.services_by_name["Reports"].methods
}
_NO_SIDE_EFFECTS = descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS
_IDEMPOTENT = descriptor_pb2.MethodOptions.IDEMPOTENT


class DossierError(Exception):
    """A call that did not succeed.

    Attributes:
        code: the gRPC canonical status number (5 for NOT_FOUND). Codes
            from the server are Response.code; the client itself raises
            UNAVAILABLE (14) when a call got no reply after all retries,
            DEADLINE_EXCEEDED (4) when a call that may not be retried
            (idempotent=False) got no reply,
            INTERNAL (13) when a reply could not be decoded, and
            FAILED_PRECONDITION (9) for a call on a closed client.
        name: the canonical name of code ("NOT_FOUND"), or
            "UNKNOWN_STATUS" for a number outside the table.
        message: the sentence explaining the failure.
        details: Response.payload of the failed call (bytes; usually
            empty).
        current_version: with ABORTED from put or delete, the record's
            current version (Response.current_version; 0: it does not
            exist); else 0.
    """

    def __init__(self, code, message, details=b"", current_version=0):
        self.code = int(code)
        self.name = STATUS_NAMES.get(self.code, "UNKNOWN_STATUS")
        self.message = message
        self.details = details
        self.current_version = int(current_version)
        super().__init__("%s (%d): %s" % (self.name, self.code, message))


# The columns of export_rows() (and `dossier export --format csv`) by
# default.
EXPORT_FIELDS = ("id", "title", "country", "country_code", "year", "tier",
                 "doc_type", "publisher", "author", "publication_date",
                 "last_updated", "source_url", "version", "updated_at")

# A tier as people write it, as the CLI's tables and `dossier get` do.
_TIER_NAMES = {
    report_pb2.TIER_UNSPECIFIED: "",
    report_pb2.TIER_1: "Tier 1",
    report_pb2.TIER_2: "Tier 2",
    report_pb2.TIER_2_WATCH_LIST: "Tier 2 Watch List",
    report_pb2.TIER_3: "Tier 3",
    report_pb2.SPECIAL_CASE: "Special Case",
}


def tier_name(tier):
    """The name a person reads for a dossier.v1.Tier number: "Tier 2 Watch
    List", "Special Case"; "" for TIER_UNSPECIFIED; the enum name for a
    value this module does not know."""
    tier = int(tier)
    if tier in _TIER_NAMES:
        return _TIER_NAMES[tier]
    try:
        return report_pb2.Tier.Name(tier)
    except ValueError:
        return str(tier)


def _tier_value(tier):
    """Accepts a dossier.v1.Tier number, its name ("TIER_2_WATCH_LIST") or
    the name people write ("Tier 2 Watch List", "tier 2", "special case")."""
    if isinstance(tier, str):
        name = "_".join(tier.replace("-", " ").replace("_", " ")
                        .upper().split())
        if name in report_pb2.Tier.keys():
            return report_pb2.Tier.Value(name)
        raise ValueError(
            "unknown tier %r; expected one of %s, or as written: %s"
            % (tier, ", ".join(k for k in report_pb2.Tier.keys()
                               if not k.endswith("_UNSPECIFIED")),
               ", ".join(repr(v) for v in _TIER_NAMES.values() if v)))
    return int(tier)


def _filter(country=None, year=None, tier=None, publisher=None,
            doc_type=None):
    """Builds a dossier.v1.ReportFilter; year is an int or (min, max) with
    None or 0 leaving an end open."""
    flt = reports_pb2.ReportFilter()
    if country:
        flt.country = country
    if year is not None:
        if isinstance(year, (tuple, list)):
            if len(year) != 2:
                raise ValueError("year range must be (min, max)")
            flt.year_min = int(year[0] or 0)
            flt.year_max = int(year[1] or 0)
        else:
            flt.year_min = flt.year_max = int(year)
    if tier is not None:
        flt.tier = _tier_value(tier)
    if publisher:
        flt.publisher = publisher
    if doc_type:
        flt.doc_type = doc_type
    return flt


def _z85_key(name, key):
    if isinstance(key, str):
        key = key.encode("ascii", "replace")
    if not isinstance(key, bytes) or len(key) != 40:
        raise ValueError("%s must be 40 Z85 characters" % name)
    try:
        z85.decode(key)
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError("%s is not Z85: %s" % (name, exc)) from None
    return key


def load_certificate(path):
    """Reads a czmq certificate file (NAME.key or NAME.key_secret, as
    `dossier keygen` writes them) and returns (public_key, secret_key) as
    Z85 bytes; secret_key is None for a public certificate. Raises
    ValueError for a file without a public key."""
    public = secret = None
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if not sep:
                continue
            key = key.strip()
            value = value.strip().strip('"')
            if key == "public-key":
                public = value.encode("ascii", "replace")
            elif key == "secret-key":
                secret = value.encode("ascii", "replace")
    if public is None or len(public) != 40:
        raise ValueError("%s is not a czmq certificate (no public-key)"
                         % path)
    if secret is not None and len(secret) != 40:
        secret = None
    return public, secret


class Client:
    """A connection to one dossierd.

    Args:
        endpoint: the server's ZeroMQ endpoint ("tcp://host:port").
        timeout_ms: how long to wait for the reply to each attempt, in
            milliseconds; also sent as the request's deadline_ms.
        retries: how many times a call is sent again after an attempt got
            no reply (>= 0), so at most retries + 1 attempts. A write is
            sent again with the same idempotency key, which the server
            applies once.
        context: a zmq.Context to use; by default the client makes its own
            and terminates it on close().
        server_key, public_key, secret_key: CURVE keys, each 40 Z85
            characters (str or bytes): the server's public key and this
            client's key pair (as `dossier keygen` writes them into
            NAME.key_secret; see load_certificate). All three, or none for
            a server without CURVE. A key the server does not know cannot
            connect: calls then fail with UNAVAILABLE after timeout_ms.

    The constructor only connects (ZeroMQ connects lazily); an unreachable
    server shows up as DossierError(UNAVAILABLE) on the first call.
    """

    def __init__(self, endpoint=DEFAULT_ENDPOINT, timeout_ms=5000, retries=3,
                 context=None, server_key=None, public_key=None,
                 secret_key=None):
        if timeout_ms <= 0:
            raise ValueError("timeout_ms must be positive")
        keys = [server_key, public_key, secret_key]
        given = sum(k is not None for k in keys)
        if given not in (0, 3):
            raise ValueError("CURVE needs server_key, public_key and "
                             "secret_key together")
        self._curve = None
        if given == 3:
            if not zmq.has("curve"):
                raise ValueError("this libzmq was built without CURVE")
            self._curve = tuple(_z85_key(name, k) for name, k in
                                zip(("server_key", "public_key",
                                     "secret_key"), keys))
        self.endpoint = endpoint
        self.timeout_ms = int(timeout_ms)
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.retries = int(retries)
        self._own_context = context is None
        self._context = context if context is not None else zmq.Context()
        self._socket = None
        self._next_id = 1
        self._open()

    # ---- lifetime ----

    def _open(self):
        sock = self._context.socket(zmq.DEALER)
        # Pending requests die with the socket: a retry must not flush them.
        sock.setsockopt(zmq.LINGER, 0)
        if self._curve is not None:
            sock.setsockopt(zmq.CURVE_SERVERKEY, self._curve[0])
            sock.setsockopt(zmq.CURVE_PUBLICKEY, self._curve[1])
            sock.setsockopt(zmq.CURVE_SECRETKEY, self._curve[2])
        sock.connect(self.endpoint)
        self._socket = sock

    def _reopen(self):
        self._socket.close(linger=0)
        self._open()

    def close(self):
        """Closes the socket (and the context if the client made it).
        Safe to call twice."""
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None
        if self._own_context and self._context is not None:
            self._context.term()
            self._context = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing sensible to do
            pass

    # ---- the envelope ----

    def call_raw(self, method, payload=b"", metadata=None, idempotent=None,
                 timeout_ms=None):
        """Sends one Request and returns the dossier.v1.Response, whatever
        its code (no exception for a non-zero code).

        Args:
            method: full method name, "dossier.v1.Reports/Get".
            payload: the serialized request message (bytes).
            metadata: dict of str -> str for Request.metadata.
            idempotent: retry on timeout (Lazy Pirate); default: what
                reports.proto allows: True for a NO_SIDE_EFFECTS method of
                the Reports service, and for an IDEMPOTENT one whose
                metadata has an "idempotency-key" (the server applies such
                a write once), else False.
            timeout_ms: overrides the client's timeout for this call.

        Raises DossierError when no reply arrives (UNAVAILABLE after the
        retries of an idempotent call, DEADLINE_EXCEEDED for others) or the
        reply is not a Response (INTERNAL).
        """
        if self._socket is None:
            raise DossierError(9, "the client is closed")
        if idempotent is None:
            service, _, name = method.partition("/")
            level = _LEVELS.get(name) if service == SERVICE else None
            idempotent = (level == _NO_SIDE_EFFECTS or
                          (level == _IDEMPOTENT and
                           "idempotency-key" in (metadata or {})))
        timeout = self.timeout_ms if timeout_ms is None else int(timeout_ms)
        attempts = self.retries + 1 if idempotent else 1

        request = rpc_pb2.Request(method=method, payload=payload,
                                  deadline_ms=timeout)
        request.metadata["client"] = CLIENT_NAME
        for key, value in (metadata or {}).items():
            request.metadata[key] = value

        for attempt in range(attempts):
            request.id = self._next_id
            self._next_id += 1
            self._socket.send_multipart([b"", request.SerializeToString()])
            response = self._await(request.id, timeout)
            if response is not None:
                return response
            # Lazy Pirate: the socket may hold a half-sent request or a
            # dead connection; start over with a fresh one.
            self._reopen()
        if idempotent:
            raise DossierError(
                14, "no reply from %s to %s within %d ms (%d attempt%s)"
                % (self.endpoint, method, timeout, attempts,
                   "" if attempts == 1 else "s"))
        raise DossierError(
            4, "no reply from %s to %s within %d ms; the call may or may "
            "not have taken effect" % (self.endpoint, method, timeout))

    def _await(self, request_id, timeout_ms):
        """Waits up to timeout_ms for the Response with request_id; drops
        replies to earlier requests. Returns None on timeout."""
        deadline = _now_ms() + timeout_ms
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        while True:
            left = deadline - _now_ms()
            if left <= 0:
                return None
            if not poller.poll(left):
                return None
            frames = self._socket.recv_multipart()
            if len(frames) != 2 or frames[0] != b"":
                raise DossierError(
                    13, "malformed reply from %s: expected an empty "
                    "delimiter and one body frame, got %d frames"
                    % (self.endpoint, len(frames)))
            response = rpc_pb2.Response()
            try:
                response.ParseFromString(frames[1])
            except DecodeError as exc:
                raise DossierError(13, "reply from %s is not a "
                                   "dossier.v1.Response: %s"
                                   % (self.endpoint, exc))
            if response.id == request_id:
                return response
            if response.id == 0 and response.code != 0:
                # The server could not decode what we sent, so it could not
                # echo our id; only one request of ours is outstanding.
                return response
            # A late answer to a request we gave up on: not ours now.

    def call(self, name, request, response_type, idempotent=None,
             metadata=None):
        """Calls dossier.v1.Reports/<name> with a request message (or its
        serialized bytes) and returns the decoded response_type message.
        A write (an IDEMPOTENT method) gets an "idempotency-key" unless
        metadata has one. Raises DossierError for a non-zero code."""
        if (_LEVELS.get(name) == _IDEMPOTENT and
                "idempotency-key" not in (metadata or {})):
            # One key for every attempt of this call: retries are safe.
            metadata = dict(metadata or {})
            metadata["idempotency-key"] = uuid.uuid4().hex
        if not isinstance(request, (bytes, bytearray)):
            request = request.SerializeToString()
        response = self.call_raw(SERVICE + "/" + name, bytes(request),
                                 metadata=metadata, idempotent=idempotent)
        if response.code != 0:
            raise DossierError(response.code, response.message,
                               response.payload, response.current_version)
        result = response_type()
        try:
            result.ParseFromString(response.payload)
        except DecodeError as exc:
            raise DossierError(13, "%s reply payload is not a %s: %s"
                               % (name, response_type.DESCRIPTOR.full_name,
                                  exc))
        return result

    # ---- the Reports service ----

    def get(self, id, version=0):
        """Returns the dossier.v1.Report with this id (NOT_FOUND if none);
        version: 0 for the current one, else that version, current or
        kept in the record's history (also of a deleted record)."""
        return self.call("Get", reports_pb2.GetRequest(id=id, version=version),
                         report_pb2.Report)

    def list_versions(self, id, page_size=100):
        """Yields the dossier.v1.RecordVersion entries of a record's
        history, newest first (the current one marked current, a delete
        marked deleted)."""
        before = 0
        while True:
            page = self.call("ListVersions", reports_pb2.ListVersionsRequest(
                id=id, page_size=page_size, before_version=before),
                reports_pb2.ListVersionsResponse)
            for version in page.versions:
                yield version
            if not page.next_before_version:
                return
            before = page.next_before_version

    def put_batch(self, reports, skip_unchanged=True):
        """Stores many dossier.v1.Report as create-or-replace in one call.
        Returns the dossier.v1.PutBatchResponse: one PutResult (code,
        message, id, version, outcome) per report, in order.
        skip_unchanged: leave a record equal to the stored one as it is."""
        request = reports_pb2.PutBatchRequest(skip_unchanged=skip_unchanged)
        for report in reports:
            request.reports.add().CopyFrom(report)
        return self.call("PutBatch", request, reports_pb2.PutBatchResponse)

    def export_rows(self, fields=EXPORT_FIELDS, country=None, year=None,
                    tier=None, publisher=None, doc_type=None):
        """Yields one dict per matching record (filters as for list(), and
        doc_type compared case-insensitively), with the values of fields
        (dossier.v1.Report field names; "body" is the text, paragraphs
        separated by a blank line) as `dossier export --format csv`
        writes them: strings, a year or version of 0 as "", a tier by its
        name ("Tier 2 Watch List"). Write them with csv.DictWriter."""
        names = list(fields)
        known = set(report_pb2.Report.DESCRIPTOR.fields_by_name)
        for name in names:
            if name not in known:
                raise ValueError("%r is not a field of a report; give names "
                                 "such as %s" % (name, ", ".join(
                                     EXPORT_FIELDS + ("body",))))
        for report in self.list(country, year, tier, publisher, page_size=500,
                                full=True, doc_type=doc_type):
            # The server filters; one older than ReportFilter.doc_type
            # ignores it, so it is checked here too.
            if doc_type and report.doc_type.lower() != doc_type.lower():
                continue
            yield {name: _export_value(report, name) for name in names}

    def export_dataframe(self, fields=EXPORT_FIELDS, **filters):
        """export_rows() as a pandas DataFrame (ImportError without
        pandas), one column per field, in order."""
        import pandas  # noqa: the helper is optional
        return pandas.DataFrame(list(self.export_rows(fields, **filters)),
                                columns=list(fields))

    def put(self, report, expected_version=0, create_only=False):
        """Inserts or replaces report (a dossier.v1.Report with an id).

        expected_version: 0 for no check, else the write succeeds only if
        the stored record has this version (ABORTED otherwise).
        create_only: ALREADY_EXISTS if the id exists.
        Returns the dossier.v1.PutResponse (id, version, created).
        """
        request = reports_pb2.PutRequest(expected_version=expected_version,
                                         create_only=create_only)
        request.report.CopyFrom(report)
        return self.call("Put", request, reports_pb2.PutResponse)

    def delete(self, id, expected_version=0):
        """Deletes a record; expected_version as for put(). Returns the
        dossier.v1.DeleteResponse (id, the version deleted)."""
        request = reports_pb2.DeleteRequest(id=id,
                                            expected_version=expected_version)
        return self.call("Delete", request, reports_pb2.DeleteResponse)

    def list_page(self, country=None, year=None, tier=None, publisher=None,
                  page_size=50, page_token="", full=False, doc_type=None):
        """Returns one dossier.v1.ListResponse page. Filters as for
        list(); page_token from the previous page's next_page_token."""
        request = reports_pb2.ListRequest(
            page_size=page_size, page_token=page_token or "",
            view=(reports_pb2.REPORT_VIEW_FULL if full
                  else reports_pb2.REPORT_VIEW_SUMMARY))
        request.filter.CopyFrom(_filter(country, year, tier, publisher,
                                        doc_type))
        return self.call("List", request, reports_pb2.ListResponse)

    def list(self, country=None, year=None, tier=None, publisher=None,
             page_size=50, full=False, doc_type=None):
        """Yields every matching dossier.v1.Report in id order, fetching
        pages of page_size as it goes.

        country: a name, variant ("Ivory Coast") or alpha-3 code.
        year: an int, or (min, max) with None/0 for an open end.
        tier: a dossier.v1.Tier number or name ("TIER_2_WATCH_LIST").
        publisher: exact publisher name, any case.
        doc_type: exact document type ("Freedom in the World"), any case.
        full: every field; otherwise the summary view (no body, cite_as,
        disclaimer).
        """
        token = ""
        while True:
            page = self.list_page(country, year, tier, publisher, page_size,
                                  token, full, doc_type)
            for report in page.reports:
                yield report
            if not page.next_page_token:
                return
            token = page.next_page_token

    def import_text(self, text, filename=None, source_url=None, id=None,
                    dry_run=False):
        """Has the server parse a Refworld text document and store it.

        text: the document, as str or as the file's bytes. Bytes go as
            they are in ImportTextRequest.content (the server recognizes
            UTF-8, a BOM, UTF-16 with a BOM, Windows-1252 and stray invalid
            UTF-8), and source_sha256 is then the file's SHA-256.
        filename: names the document in messages.
        source_url: used when the text names no URL.
        id: store under this id instead of the derived one.
        dry_run: parse only; the response carries the parsed report.
        Returns the dossier.v1.ImportTextResponse (id, version, outcome
        CREATED / UPDATED / UNCHANGED / PARSED, warnings).
        """
        payload = _import_request(text, filename, source_url, id,
                                  dry_run).SerializeToString()
        return self.call("ImportText", payload,
                           reports_pb2.ImportTextResponse)

    def import_batch(self, documents):
        """Imports several documents in one call, committed together.

        documents: an iterable of dicts with the keyword arguments of
        import_text() (text required), or of dossier.v1.ImportTextRequest.
        Returns the dossier.v1.ImportBatchResponse: one ImportResult
        (code, message, response) per document, in order; a document that
        failed does not fail the call.
        """
        request = reports_pb2.ImportBatchRequest()
        for doc in documents:
            if isinstance(doc, reports_pb2.ImportTextRequest):
                request.documents.append(doc)
            else:
                request.documents.append(_import_request(**doc))
        return self.call("ImportBatch", request.SerializeToString(),
                           reports_pb2.ImportBatchResponse)

    def history(self, country, doc_type=None):
        """Returns the dossier.v1.HistoryResponse: a country's tier by
        year in the series doc_type (default: the TIP report)."""
        request = reports_pb2.HistoryRequest(country=country,
                                             doc_type=doc_type or "")
        return self.call("History", request, reports_pb2.HistoryResponse)

    def changes(self, year, doc_type=None):
        """Returns the dossier.v1.ChangesResponse: countries whose tier in
        year differs from the year before."""
        request = reports_pb2.ChangesRequest(year=year,
                                             doc_type=doc_type or "")
        return self.call("Changes", request, reports_pb2.ChangesResponse)

    def search(self, query, country=None, year=None, tier=None,
               publisher=None, page_size=10, page_token="", order=None,
               facets=False, estimate_total_hits=False, doc_type=None):
        """Full-text search; returns one dossier.v1.SearchResponse page
        (hits, next_page_token, total_hits, total_hits_estimated, facets).

        query: terms (all must match), "quoted phrases", -excluded terms.
        Filters as for list(). order: a dossier.v1.SearchOrder number or
        name ("SEARCH_ORDER_YEAR"); default relevance. facets: also count
        matches per year, tier, country, publisher and doc_type.
        estimate_total_hits: accept an estimated total_hits for a phrase
        query (faster; the hits are the same); the response's
        total_hits_estimated then says whether it is one. Facets keep
        the count exact.
        """
        request = reports_pb2.SearchRequest(
            query=query, page_size=page_size, page_token=page_token or "",
            facets=facets, estimate_total_hits=bool(estimate_total_hits))
        request.filter.CopyFrom(_filter(country, year, tier, publisher,
                                        doc_type))
        if order is not None:
            if isinstance(order, str):
                order = reports_pb2.SearchOrder.Value(order.upper())
            request.order = order
        return self.call("Search", request, reports_pb2.SearchResponse)

    def stats(self):
        """Returns the dossier.v1.StatsResponse."""
        return self.call("Stats", reports_pb2.StatsRequest(),
                         reports_pb2.StatsResponse)

    def health(self, service=""):
        """Returns the dossier.v1.HealthResponse (status SERVING when the
        server is up)."""
        return self.call("Health", reports_pb2.HealthRequest(service=service),
                         reports_pb2.HealthResponse)

    def describe(self):
        """Returns the server's API as a parsed
        google.protobuf.descriptor_pb2.FileDescriptorSet."""
        response = self.call("Describe", reports_pb2.DescribeRequest(),
                             reports_pb2.DescribeResponse)
        fds = descriptor_pb2.FileDescriptorSet()
        try:
            fds.ParseFromString(response.file_descriptor_set)
        except DecodeError as exc:
            raise DossierError(13, "Describe returned a malformed "
                               "FileDescriptorSet: %s" % exc)
        return fds

    def audit(self, user=None, since=None, method=None, page_size=100):
        """Admin: yields the server's audit log, oldest first, as
        dossier.v1.AuditEntry messages, following page tokens.

        user: only this user's entries. since: an ISO 8601 UTC date or
        time ("2026-11-27", "2026-11-27T20:00:00Z"). method: "Put" or
        "dossier.v1.Reports/Put".
        """
        token = ""
        while True:
            request = reports_pb2.AuditRequest(
                user=user or "", since=since or "", method=method or "",
                page_size=page_size, page_token=token)
            page = self.call("Audit", request, reports_pb2.AuditResponse)
            for entry in page.entries:
                yield entry
            token = page.next_page_token
            if not token:
                return

    def whoami(self):
        """Returns the WhoAmIResponse: the name, role and public key the
        server takes this client for, and its security mode."""
        return self.call("WhoAmI", reports_pb2.WhoAmIRequest(),
                         reports_pb2.WhoAmIResponse)

    def reload_users(self):
        """Admin: makes the server read its users directory again; returns
        the number of users."""
        return self.call("ReloadUsers", reports_pb2.ReloadUsersRequest(),
                         reports_pb2.ReloadUsersResponse).users

    def create_token(self, name, role="reader", expires_in_seconds=0):
        """Admin: makes an API token for HTTP callers of dossier-gateway.
        Returns the CreateTokenResponse: .token (its id, name, role, times)
        and .secret, the token string itself, which the server shows only
        this once. Never resent (CreateToken is IDEMPOTENCY_UNKNOWN): a
        second call would be a second token."""
        request = reports_pb2.CreateTokenRequest(
            name=name, role=role or "",
            expires_in_seconds=expires_in_seconds)
        return self.call("CreateToken", request,
                         reports_pb2.CreateTokenResponse)

    def list_tokens(self):
        """Admin: every API token (dossier.v1.Token), oldest first, revoked
        and expired ones included; never a secret."""
        return list(self.call("ListTokens", reports_pb2.ListTokensRequest(),
                              reports_pb2.ListTokensResponse).tokens)

    def revoke_token(self, id):
        """Admin: revokes the API token id; returns the Token, revoked.
        Revoking a revoked token changes nothing."""
        return self.call("RevokeToken", reports_pb2.RevokeTokenRequest(id=id),
                         reports_pb2.RevokeTokenResponse).token


def _export_value(report, name):
    """A field of report as a CSV cell's text (see Client.export_rows)."""
    value = getattr(report, name)
    if name == "body":
        return "\n\n".join(value)
    if name == "tier":
        return tier_name(value)
    if isinstance(value, int):
        return str(value) if value else ""
    return value


def _import_request(text, filename=None, source_url=None, id=None,
                    dry_run=False):
    """Builds one ImportTextRequest: a str goes as text, bytes (a file's
    contents, in any encoding the server's parser reads) as content,
    untouched, so source_sha256 is the file's SHA-256."""
    request = reports_pb2.ImportTextRequest(
        filename=filename or "", source_url=source_url or "", id=id or "",
        dry_run=dry_run)
    if isinstance(text, str):
        request.text = text
    else:
        request.content = bytes(text)
    return request


def _now_ms():
    return time.monotonic() * 1000.0


def status_code(name):
    """Returns the number of a canonical status name ("NOT_FOUND" -> 5);
    KeyError for an unknown name."""
    return _CODES[name.upper()]
