/*  dossier.h: libdossier, the C client of a Dossier server.

    A dossier_client_t holds one ZeroMQ DEALER socket connected to one of
    the endpoints it was given, and sends each call as a dossier.v1.Request
    (docs/PROTOCOL.md), waiting for the Response with the same id.

    Failures are handled the Lazy Pirate way: when a server cannot be
    reached, or its connection dies while a call waits (ZeroMQ heartbeats
    notice a dead or frozen peer), the socket is closed and reopened on the
    next endpoint. A call whose method reports.proto marks safe to resend
    is then sent again, up to `retries` times; when there are several
    endpoints, such a call also moves on after waiting half of its
    remaining time for a reply, so that a server that hangs with its
    connection alive does not hold it to the end. The proto's
    idempotency_level decides, read from the API's descriptors
    (common/apispec.h): reads (NO_SIDE_EFFECTS: Get, List, Search, ...)
    change nothing; writes (IDEMPOTENT: Put, Delete, ImportText, ...)
    carry an "idempotency-key" metadata entry, the same for every attempt
    of one logical call: the server remembers the keys of recent writes
    (24 h by default) and answers a repeated key with the reply it gave
    the first time, without applying the write again (docs/PROTOCOL.md).
    A method marked neither (Backup), or of another service, is never
    sent again once sent.

    Every call returns a dossier_status_t (common/status.h): DOSSIER_OK,
    the code the server answered (NOT_FOUND, ABORTED, ...), or for
    transport failures DOSSIER_UNAVAILABLE (no server could be reached, or
    the connection was lost) and DOSSIER_DEADLINE_EXCEEDED (a server took
    the request but gave no reply within the timeout). When err is not NULL
    it receives the code and a sentence: the server's message, or one such
    as "cannot reach tcp://127.0.0.1:7531: no reply in 5000 ms".

    Thread safety: a client is used by one thread at a time (it owns a
    socket, and ZeroMQ sockets are not thread-safe). Any number of clients
    may exist, each in its own thread. The library never prints and never
    exits. Out-parameters are written only on success. */
#ifndef DOSSIER_H
#define DOSSIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "dossier/v1/report.pb-c.h"
#include "dossier/v1/reports.pb-c.h"
#include "dossier/v1/rpc.pb-c.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The endpoint used when none is given: the server's default bind. */
#define DOSSIER_DEFAULT_ENDPOINT "tcp://127.0.0.1:7531"

/*  Defaults filled by dossier_options_init. */
#define DOSSIER_DEFAULT_TIMEOUT_MS 5000
#define DOSSIER_DEFAULT_RETRIES 3
#define DOSSIER_DEFAULT_HEARTBEAT_IVL_MS 1000

/*  How a client behaves. Start from dossier_options_init() and change
    what you need; the strings are borrowed only during dossier_client_new,
    which copies them. */
typedef struct {
    /* The most a call may take, in milliseconds, connecting, retries and
       failover included (> 0). Sent to the server as Request.deadline_ms
       so it does not start work nobody waits for. Default 5000. */
    int timeout_ms;
    /* How many times a call safe to resend (above) is sent again after a
       failed attempt (>= 0). Default 3. */
    int retries;
    /* ZeroMQ heartbeat interval in milliseconds (ZMQ_HEARTBEAT_IVL); the
       connection is declared dead after twice that without traffic
       (ZMQ_HEARTBEAT_TIMEOUT), and the server is asked to do the same
       (ZMQ_HEARTBEAT_TTL, three times it). 0 disables heartbeats, so a
       frozen server is noticed only when the call times out.
       Default 1000. */
    int heartbeat_ivl_ms;
    /* CURVE security, all three Z85-encoded (40 characters), or all NULL
       for none: the server's public key, and this client's key pair. */
    const char *curve_server_key;
    const char *curve_public_key;
    const char *curve_secret_key;
    /* Sent as the "client" metadata entry (logged by the server); NULL
       sends "libdossier/<version>". */
    const char *client_name;
} dossier_options_t;

/*  Reads a CURVE certificate file in czmq's format (as `dossier keygen`
    writes them: NAME.key, public, or NAME.key_secret, which holds both
    keys) into Z85 strings for dossier_options_t. public_key receives the
    40 characters of the certificate's public key and a NUL; secret_key,
    when not NULL, its secret key. Both are the caller's buffers of at
    least 41 bytes, written only on success. Returns DOSSIER_OK;
    DOSSIER_NOT_FOUND when path cannot be read; DOSSIER_INVALID_ARGUMENT
    when the file has no valid "curve" public-key, or secret_key is asked
    for and the file has none (a public certificate). */
dossier_status_t dossier_certificate_read(const char *path, char *public_key,
                                          char *secret_key,
                                          dossier_error_t *err);

/*  Opaque client handle. */
typedef struct dossier_client dossier_client_t;

/*  Fills *options with the defaults above and no CURVE keys. */
void dossier_options_init(dossier_options_t *options);

/*  Creates a client for endpoints, a comma-separated list of ZeroMQ
    endpoints ("tcp://10.0.0.1:7531,tcp://10.0.0.2:7531"; blanks around
    commas are ignored) tried in order. options may be NULL for the
    defaults; it is copied. Nothing is connected until the first call.
    Returns DOSSIER_OK and sets *client_p (the caller's, freed with
    dossier_client_destroy); DOSSIER_INVALID_ARGUMENT for an empty endpoint
    list, a bad option or a CURVE key that is not 40 Z85 characters (or
    only some keys set); DOSSIER_UNIMPLEMENTED when CURVE keys are given
    but libzmq lacks CURVE; DOSSIER_INTERNAL when ZeroMQ or memory fails. */
dossier_status_t dossier_client_new(const char *endpoints,
                                    const dossier_options_t *options,
                                    dossier_client_t **client_p,
                                    dossier_error_t *err);

/*  Closes the socket and frees the client, then sets *client_p to NULL.
    Takes NULL and a pointer to NULL. A request still unanswered is
    abandoned. */
void dossier_client_destroy(dossier_client_t **client_p);

/*  The endpoint the client is connected to, or will try next; borrowed
    until the next call on client. */
const char *dossier_client_endpoint(const dossier_client_t *client);

/*  Whether the last call on client sent its request on a connection.
    After a transport failure this tells the two kinds apart: false means
    no server could be reached and nothing was sent (a write was certainly
    not applied); true means a server may have received the request (the
    connection was lost, or no reply came in time). Also true after any
    call that got a reply. */
bool dossier_client_request_sent(const dossier_client_t *client);

/*  The Response.current_version of the last call's reply: with
    DOSSIER_ABORTED from Put or Delete, the record's current version (0:
    it does not exist); 0 after any other reply or a transport failure. */
uint64_t dossier_client_current_version(const dossier_client_t *client);

/*  Sends one call and waits for its reply.
    method: "dossier.v1.Reports/Get", or just "Get" for a method of the
      Reports service.
    request: the method's request message, packed by this call; borrowed.
    response_type: the descriptor of the method's response message
      (&dossier__v1__report__descriptor for Get), compiled or built at
      run time from the server's Describe (common/dynpb.h); borrowed.
    response_p: on DOSSIER_OK receives the unpacked response, the caller's,
      freed with dossier_message_free; may be NULL when the response is not
      wanted.
    Returns DOSSIER_OK, the server's code, or a transport failure (see the
    top of this file); DOSSIER_INVALID_ARGUMENT for NULL arguments;
    DOSSIER_INTERNAL when the reply cannot be decoded, or would nest
    messages deeper than 64 levels or take more than 64 MiB plus 64
    bytes per byte of reply once unpacked (a hostile server's). */
dossier_status_t dossier_call(dossier_client_t *client, const char *method,
                              const ProtobufCMessage *request,
                              const ProtobufCMessageDescriptor *response_type,
                              ProtobufCMessage **response_p,
                              dossier_error_t *err);

/*  One Request.metadata entry: a lower-case key and its value, both
    borrowed for the call only. */
typedef struct {
    const char *key;
    const char *value;
} dossier_metadata_t;

/*  Per-call settings of dossier_call_raw; zero-initialise and set what
    you need. */
typedef struct {
    /* This call's deadline in milliseconds (connecting, retries and
       failover included), sent as Request.deadline_ms; 0 takes the
       client's timeout_ms. */
    int timeout_ms;
    /* n_metadata entries sent in Request.metadata after "client" (borrowed
       for the call). An "idempotency-key" entry here replaces the one a
       write would get, so a caller that resends a write keeps its key
       (the key rules of docs/PROTOCOL.md apply: 1 to 128 bytes). */
    const dossier_metadata_t *metadata;
    size_t n_metadata;
} dossier_call_options_t;

/*  The server's Response to a dossier_call_raw, as it came. */
typedef struct {
    /* Response.code: DOSSIER_OK or the server's code (a number outside
       dossier_status_t is passed on as it is). */
    int code;
    /* Response.message: malloc'd, "" when the server sent none. */
    char *message;
    /* Response.payload: malloc'd (never NULL), payload_size bytes; the
       serialized response message when code is DOSSIER_OK. */
    uint8_t *payload;
    size_t payload_size;
    /* Response.current_version (set with ABORTED by Put and Delete). */
    uint64_t current_version;
} dossier_reply_t;

/*  Sends one call whose request is already serialized and hands back the
    server's Response untouched: for a program that forwards calls it does
    not decode itself (dossier-gateway), or that decodes them with its own
    descriptors. Retries, failover, idempotency keys and the deadline
    follow dossier_call's rules (the top of this file).
    method: as for dossier_call.
    payload: payload_size bytes of the serialized request message,
      borrowed for the call (copied); may be NULL when payload_size is 0.
    options: per-call deadline and metadata, or NULL for none.
    reply: on DOSSIER_OK receives the Response's fields; the caller frees
      what it holds with dossier_reply_clear.
    Returns DOSSIER_OK whenever the server answered, whatever its code
    (read reply->code); else a transport failure as dossier_call returns
    one (DOSSIER_UNAVAILABLE, DOSSIER_DEADLINE_EXCEEDED, ...) or
    DOSSIER_INVALID_ARGUMENT for NULL or bad arguments (a negative
    timeout_ms, metadata with a NULL key or value), and *reply is left as
    it was. dossier_client_current_version also reports the reply's
    current_version afterwards. */
dossier_status_t dossier_call_raw(dossier_client_t *client, const char *method,
                                  const void *payload, size_t payload_size,
                                  const dossier_call_options_t *options,
                                  dossier_reply_t *reply, dossier_error_t *err);

/*  Frees what reply holds (message and payload) and zeroes it; takes NULL
    and a zeroed reply. */
void dossier_reply_clear(dossier_reply_t *reply);

/*  A call started with dossier_call_start and not yet finished. */
typedef struct dossier_pending dossier_pending_t;

/*  Starts a call without waiting for its reply, so that several calls are
    in flight on one connection at once (pipelining: a bulk import keeps
    the server busy while the client reads the next files). The server
    applies the writes of one connection in the order they were sent.
    method, request: as for dossier_call; the request is packed at once
    and may be freed on return.
    Connecting follows dossier_call's rules while no other call is
    pending; with calls pending it waits on their connection only. Once
    sent, a pipelined call is never sent again: when its connection is
    lost or its reply is late, dossier_call_finish says so and the caller
    decides (a write keeps its idempotency key only within dossier_call).
    Returns DOSSIER_OK and sets *pending_p, which the caller must hand to
    dossier_call_finish exactly once; else dossier_call's transport
    errors (nothing was sent) or DOSSIER_INVALID_ARGUMENT for NULL
    arguments, and *pending_p is NULL. */
dossier_status_t dossier_call_start(dossier_client_t *client,
                                    const char *method,
                                    const ProtobufCMessage *request,
                                    dossier_pending_t **pending_p,
                                    dossier_error_t *err);

/*  Waits for the reply of a started call, which may come after replies to
    calls started later: those are kept for their own finish. Calls may
    be finished in any order; the deadline of each runs from its start.
    Takes *pending_p, frees it and sets it to NULL, whatever the outcome.
    response_type, response_p: as for dossier_call.
    Returns as dossier_call does. After a lost connection or a missed
    deadline (DOSSIER_UNAVAILABLE, DOSSIER_DEADLINE_EXCEEDED) the
    connection is dropped: the calls still pending on it then fail with
    DOSSIER_UNAVAILABLE, and the next call connects afresh. */
dossier_status_t
dossier_call_finish(dossier_client_t *client, dossier_pending_t **pending_p,
                    const ProtobufCMessageDescriptor *response_type,
                    ProtobufCMessage **response_p, dossier_error_t *err);

/*  Frees a message returned by this library; takes NULL. */
void dossier_message_free(void *message);

/*  Frees a report returned by dossier_get; takes NULL. */
void dossier_report_free(Dossier__V1__Report *report);

/*  The typed calls below are dossier_call with the method's messages.
    Each returns what dossier_call returns. Their last-but-one parameter,
    when not NULL, receives on DOSSIER_OK the response, which the caller
    frees with dossier_message_free (dossier_report_free for a report).
    Request messages and strings are borrowed for the call only. */

/*  Get: the record with id. DOSSIER_NOT_FOUND when there is none. */
dossier_status_t dossier_get(dossier_client_t *client, const char *id,
                             Dossier__V1__Report **report_p,
                             dossier_error_t *err);

/*  Get of one version of a record: version 0 is the current one; else
    that version, current or kept in the record's history (also of a
    deleted record); DOSSIER_NOT_FOUND when it is not kept. */
dossier_status_t dossier_get_version(dossier_client_t *client, const char *id,
                                     uint64_t version,
                                     Dossier__V1__Report **report_p,
                                     dossier_error_t *err);

/*  ListVersions: the versions of record id, newest first, page_size (0:
    100) of them older than before_version (0: from the newest). */
dossier_status_t
dossier_list_versions(dossier_client_t *client, const char *id,
                      uint32_t page_size, uint64_t before_version,
                      Dossier__V1__ListVersionsResponse **response_p,
                      dossier_error_t *err);

/*  PutBatch: request->reports stored as create-or-replace in one call, a
    PutResult per record in response->results (in order). */
dossier_status_t dossier_put_batch(dossier_client_t *client,
                                   const Dossier__V1__PutBatchRequest *request,
                                   Dossier__V1__PutBatchResponse **response_p,
                                   dossier_error_t *err);

/*  Put: inserts or replaces report (its version and server-set fields are
    ignored by the server). expected_version 0 means no check; otherwise
    DOSSIER_ABORTED when the stored version differs. create_only: fail
    with DOSSIER_ALREADY_EXISTS when the id exists. */
dossier_status_t dossier_put(dossier_client_t *client,
                             const Dossier__V1__Report *report,
                             uint64_t expected_version, bool create_only,
                             Dossier__V1__PutResponse **response_p,
                             dossier_error_t *err);

/*  Delete: removes the record with id; expected_version as in dossier_put.
    DOSSIER_NOT_FOUND when there is none. */
dossier_status_t dossier_delete(dossier_client_t *client, const char *id,
                                uint64_t expected_version,
                                Dossier__V1__DeleteResponse **response_p,
                                dossier_error_t *err);

/*  List: one page of records matching request->filter. */
dossier_status_t dossier_list(dossier_client_t *client,
                              const Dossier__V1__ListRequest *request,
                              Dossier__V1__ListResponse **response_p,
                              dossier_error_t *err);

/*  ImportText: parses one Refworld text on the server and stores it. */
dossier_status_t dossier_import_text(
    dossier_client_t *client, const Dossier__V1__ImportTextRequest *request,
    Dossier__V1__ImportTextResponse **response_p, dossier_error_t *err);

/*  ImportBatch: many documents in one call; the call's status is about the
    batch as a whole, each document has its own code in the results. */
dossier_status_t dossier_import_batch(
    dossier_client_t *client, const Dossier__V1__ImportBatchRequest *request,
    Dossier__V1__ImportBatchResponse **response_p, dossier_error_t *err);

/*  History: country's tier by year; doc_type NULL or "" for the default
    series (the TIP report). */
dossier_status_t dossier_history(dossier_client_t *client, const char *country,
                                 const char *doc_type,
                                 Dossier__V1__HistoryResponse **response_p,
                                 dossier_error_t *err);

/*  Changes: countries whose tier moved in year; doc_type as in History. */
dossier_status_t dossier_changes(dossier_client_t *client, uint32_t year,
                                 const char *doc_type,
                                 Dossier__V1__ChangesResponse **response_p,
                                 dossier_error_t *err);

/*  Search: full-text search. */
dossier_status_t dossier_search(dossier_client_t *client,
                                const Dossier__V1__SearchRequest *request,
                                Dossier__V1__SearchResponse **response_p,
                                dossier_error_t *err);

/*  Stats: record counts and server figures. */
dossier_status_t dossier_stats(dossier_client_t *client,
                               Dossier__V1__StatsResponse **response_p,
                               dossier_error_t *err);

/*  Health: whether the server serves; service NULL or "" for the server
    as a whole. */
dossier_status_t dossier_health(dossier_client_t *client, const char *service,
                                Dossier__V1__HealthResponse **response_p,
                                dossier_error_t *err);

/*  Describe: the serialized FileDescriptorSet of the API. */
dossier_status_t dossier_describe(dossier_client_t *client,
                                  Dossier__V1__DescribeResponse **response_p,
                                  dossier_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
