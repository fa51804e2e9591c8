/*  connect.h: the Connect protocol's unary calls, as pure functions.

    dossier-gateway maps HTTP requests to dossier.v1.Reports calls
    following the Connect protocol (connectrpc.com/docs/protocol, unary
    RPCs; docs/PROTOCOL.md "HTTP"). Everything that reads what an HTTP
    client sent lives here, apart from the HTTP server (server.c): the
    path and its method, the HTTP verb, the query string of a GET, the
    Content-Type, Content-Encoding, Connect-Protocol-Version and
    Connect-Timeout-Ms headers, and the body, decoded from JSON (through
    common/json.h) or checked as binary protobuf. So the parser can be
    tested and fuzzed (fuzz/fuzz_gateway.c) without a socket.

    A request that cannot be served becomes a connect_error_t: the HTTP
    status, the Connect code (a dossier_status_t, whose numbers are
    gRPC's and so Connect's) and a sentence; connect_error_body renders
    Connect's JSON error body. Nothing here prints, exits or keeps state;
    every function is safe from any thread. */
#ifndef DOSSIER_GATEWAY_CONNECT_H
#define DOSSIER_GATEWAY_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "apispec.h"
#include "status.h"

/* The two codecs of Connect unary calls. */
typedef enum {
    CONNECT_CODEC_JSON = 0, /* application/json, proto3 JSON */
    CONNECT_CODEC_PROTO = 1 /* application/proto, binary protobuf */
} connect_codec_t;

/* The longest Connect-Timeout-Ms Connect allows: 10 digits. */
#define CONNECT_TIMEOUT_MAX_DIGITS 10

/*  What the HTTP server read of one request; every pointer borrowed,
    any header NULL when absent. */
typedef struct {
    const char *verb;             /* "POST", "GET", ... */
    const char *uri;              /* the request target, query included */
    const char *content_type;     /* Content-Type */
    const char *content_encoding; /* Content-Encoding */
    const char *protocol_version; /* Connect-Protocol-Version */
    const char *timeout_ms;       /* Connect-Timeout-Ms */
    const uint8_t *body;          /* the body, body_size bytes */
    size_t body_size;
    size_t max_payload; /* the largest serialized request accepted */
} connect_http_t;

/*  One call to forward to dossierd. */
typedef struct {
    const apispec_method_t *spec;            /* static */
    const ProtobufCMethodDescriptor *method; /* static: its messages */
    connect_codec_t codec;                   /* of the request and reply */
    bool get;                                /* a Connect GET */
    int timeout_ms;                          /* 0: none asked */
    uint8_t *payload; /* the serialized request, malloc'd (never NULL) */
    size_t payload_size;
} connect_call_t;

/*  Why a request cannot be served. */
typedef struct {
    int http_status;       /* 400, 404, ... */
    dossier_status_t code; /* the Connect code */
    const char *allow;     /* for 405: the Allow header, else NULL */
    char message[256];
} connect_error_t;

/*  The method for a request path "/dossier.v1.Reports/Get" (a query
    string after '?' is ignored), or NULL for any other path. Static. */
const ProtobufCMethodDescriptor *connect_route(const char *uri,
                                               const apispec_method_t **spec_p);

/*  Parses a request (above) into *call. Returns DOSSIER_OK with *call
    filled (free it with connect_call_clear), or the Connect code with
    *error filled and *call untouched:
    - 404 unimplemented: a path that is no method of the service;
    - 405 unimplemented (Allow set): a verb other than POST, or GET on a
      method that is not NO_SIDE_EFFECTS;
    - 415 unimplemented: a Content-Type other than application/json
      (charset utf-8 only) and application/proto;
    - 501 unimplemented: a Content-Encoding (or GET compression) other
      than identity;
    - 400 invalid_argument: a Connect-Protocol-Version (or GET connect=)
      other than 1, a Connect-Timeout-Ms that is not 1 to 10 digits,
      a GET without message or encoding, bad base64 or percent-encoding,
      JSON the method's request type does not accept (syntax, unknown
      field, wrong type), bytes that are not a protobuf of that type;
    - 429 resource_exhausted: a serialized request over max_payload;
    - 500 internal on out of memory. */
dossier_status_t connect_request_parse(const connect_http_t *http,
                                       connect_call_t *call,
                                       connect_error_t *error);

/*  Frees what *call holds and zeroes it; takes NULL. */
void connect_call_clear(connect_call_t *call);

/*  The body of a successful reply: payload (payload_size bytes of the
    method's serialized response, borrowed) as the codec asks. Returns a
    malloc'd buffer (the caller frees) and its size in *size_p, or NULL
    when the payload is not the response type (for JSON) or memory ran
    out. */
uint8_t *connect_reply_body(const ProtobufCMethodDescriptor *method,
                            connect_codec_t codec, const uint8_t *payload,
                            size_t payload_size, size_t *size_p);

/*  The Content-Type of a reply in codec: "application/json" or
    "application/proto". Static. */
const char *connect_codec_content_type(connect_codec_t codec);

/*  Connect's name of code: "not_found", "canceled", ...; "unknown" for a
    number that is no code. Static. */
const char *connect_code_name(int code);

/*  Connect's HTTP status for code (not_found 404, aborted 409,
    resource_exhausted 429, unavailable 503, ...); 500 for a number that
    is no code, 200 for DOSSIER_OK. */
int connect_http_status(int code);

/*  Connect's JSON error body: {"code":"not_found","message":"..."}, and
    when current_version is not 0 (ABORTED from Put or Delete) a detail
    of type google.protobuf.UInt64Value holding it. Returns a malloc'd
    NUL-terminated string (the caller frees), NULL when out of memory. */
char *connect_error_body(int code, const char *message,
                         uint64_t current_version);

/*  Fills *error and returns code: the one way this module and the server
    make an error. */
dossier_status_t connect_error_set(connect_error_t *error, int http_status,
                                   dossier_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
