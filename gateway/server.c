/*  server.c: the HTTP side of dossier-gateway (see server.h).

    libmicrohttpd (Debian's libmicrohttpd-dev) serves HTTP/1.1 with
    keep-alive, pipelining, Expect: 100-continue, per-connection timeouts,
    connection limits (total and per address) and TLS through GnuTLS; the
    gateway brings only what is Dossier's: connect.c turns a request into
    a call, this file runs it on a pooled libdossier client and writes the
    answer, the access log line and the metrics.

    The request target is taken raw from MHD's URI log callback (whose
    return value becomes the request's context), because the handler
    only gets the path with the query already split and unescaped by MHD's
    rules; connect.c parses the query itself, as Connect's clients encode
    it. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "connect.h"
#include "dossier.h"
#include "events.h"
#include "metrics.h"
#include "webfiles.h"

/* Used when dossierd does not say (it is dossierd's own default). */
#define S_DEFAULT_BODY_LIMIT (16u << 20)
/* Room in dossierd's max_message_bytes for the envelope around a
   payload: method, id, deadline, metadata (a token, a key). */
#define S_ENVELOPE_ROOM 4096
/* /healthz waits this long for dossierd at most. */
#define S_HEALTH_TIMEOUT_MS 1000
#define S_MAX_TLS_FILE (1u << 20)

struct gateway {
    gateway_config_t config; /* strings shared with the caller's: copied */
    char *servers;
    char server_public[41];
    char client_public[41];
    char client_secret[41];
    bool curve;
    bool anonymous_ok; /* no token needed: keyless, on loopback */
    atomic_size_t body_limit;
    unsigned port;
    struct MHD_Daemon *daemon;
    char *tls_cert_pem;
    char *tls_key_pem;
    metrics_t *metrics;
    webfiles_t *web;    /* the page at / and /web/, or NULL */
    char web_note[512]; /* where the page comes from, or why none */
    events_t *events;   /* GET /events, or NULL without a feed */
    /* Idle libdossier clients; each serves one thread at a time. */
    pthread_mutex_t pool_lock;
    dossier_client_t **idle;
    size_t n_idle;
    size_t pool_cap;
};

/* One HTTP request, from its URI to its answer. */
typedef struct {
    char *uri; /* the raw request target */
    bool started;
    bool answered;
    bool too_big;
    uint8_t *body;
    size_t size;
    size_t cap;
    struct timespec start;
    int method_index; /* in the service, -1 for other paths */
} s_request_t;

/* ---- The client pool ---- */

static dossier_client_t *
s_pool_take(gateway_t *g, dossier_error_t *err) {
    pthread_mutex_lock(&g->pool_lock);
    dossier_client_t *client = g->n_idle > 0 ? g->idle[--g->n_idle] : NULL;
    pthread_mutex_unlock(&g->pool_lock);
    if (client != NULL) {
        return client;
    }
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = (int)g->config.timeout_ms;
    options.client_name = "dossier-gateway/" DOSSIER_VERSION;
    if (g->curve) {
        options.curve_server_key = g->server_public;
        options.curve_public_key = g->client_public;
        options.curve_secret_key = g->client_secret;
    }
    if (dossier_client_new(g->servers, &options, &client, err) != DOSSIER_OK) {
        return NULL;
    }
    return client;
}

static void
s_pool_give(gateway_t *g, dossier_client_t *client) {
    pthread_mutex_lock(&g->pool_lock);
    if (g->n_idle < g->pool_cap) {
        g->idle[g->n_idle++] = client;
        client = NULL;
    }
    pthread_mutex_unlock(&g->pool_lock);
    dossier_client_destroy(&client);
}

/* ---- Answers ---- */

static double
s_seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void
s_peer(struct MHD_Connection *conn, char *out, size_t size) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, size, "-");
    if (info == NULL || info->client_addr == NULL) {
        return;
    }
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
                  (socklen_t)size);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                  (socklen_t)size);
    }
}

/* One line per answered request on stderr, written with one call so
   that lines of concurrent requests never mix. The target is cut and
   stripped of control characters: it is the client's text. */
static void
s_access_log(gateway_t *g, struct MHD_Connection *conn, const char *verb,
             const s_request_t *r, int status, int code, size_t bytes) {
    if (!g->config.access_log) {
        return;
    }
    char peer[INET6_ADDRSTRLEN + 1];
    s_peer(conn, peer, sizeof peer);
    char target[201];
    size_t n = 0;
    for (const char *p = r->uri ? r->uri : "-"; *p && n < sizeof target - 1;
         p++) {
        target[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    }
    target[n] = '\0';
    char line[512];
    int len =
        snprintf(line, sizeof line,
                 "dossier-gateway: access %s %.16s %s %d %s %zu %.3fms\n", peer,
                 verb ? verb : "-", target, status, connect_code_name(code),
                 bytes, s_seconds_since(&r->start) * 1e3);
    if (len > 0) {
        fwrite(line, 1, (size_t)len < sizeof line ? (size_t)len : sizeof line,
               stderr);
    }
}

/* Queues response (taken) with status, and logs and counts it with code
   and size bytes. */
static enum MHD_Result
s_queue(gateway_t *g, struct MHD_Connection *conn, const char *verb,
        s_request_t *r, int status, int code, struct MHD_Response *response,
        size_t size) {
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, response);
    MHD_destroy_response(response);
    if (!r->answered) {
        r->answered = true;
        s_access_log(g, conn, verb, r, status, code, size);
        metrics_end(g->metrics, r->method_index, code,
                    s_seconds_since(&r->start));
    }
    return rc;
}

/* Queues an answer of body (taken: malloc'd, freed by MHD) with status,
   and logs and counts it with code. headers: NULL-terminated name,
   value pairs, or NULL. */
static enum MHD_Result
s_answer(gateway_t *g, struct MHD_Connection *conn, const char *verb,
         s_request_t *r, int status, int code, const char *content_type,
         void *body, size_t size, const char *const *headers) {
    struct MHD_Response *response =
        MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
    if (response == NULL) {
        free(body);
        return MHD_NO;
    }
    if (content_type != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                content_type);
    }
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i += 2) {
        MHD_add_response_header(response, headers[i], headers[i + 1]);
    }
    return s_queue(g, conn, verb, r, status, code, response, size);
}

/* Connect's error answer: its JSON body and HTTP status; with
   current_version (ABORTED) also the Dossier-Current-Version header. */
static enum MHD_Result
s_answer_error(gateway_t *g, struct MHD_Connection *conn, const char *verb,
               s_request_t *r, int status, int code, const char *message,
               uint64_t current_version, const char *allow) {
    char *body = connect_error_body(code, message, current_version);
    if (body == NULL) {
        return MHD_NO;
    }
    char version[24];
    const char *headers[9];
    size_t n = 0;
    if (current_version != 0) {
        snprintf(version, sizeof version, "%llu",
                 (unsigned long long)current_version);
        headers[n++] = "Dossier-Current-Version";
        headers[n++] = version;
    }
    if (allow != NULL) {
        headers[n++] = MHD_HTTP_HEADER_ALLOW;
        headers[n++] = allow;
    }
    if (status == 415) {
        headers[n++] = "Accept-Post";
        headers[n++] = "application/json, application/proto";
    }
    if (code == DOSSIER_UNIMPLEMENTED && status == 501) {
        headers[n++] = "Accept-Encoding";
        headers[n++] = "identity";
    }
    headers[n] = NULL;
    return s_answer(g, conn, verb, r, status, code, "application/json", body,
                    strlen(body), headers);
}

static enum MHD_Result
s_answer_connect_error(gateway_t *g, struct MHD_Connection *conn,
                       const char *verb, s_request_t *r,
                       const connect_error_t *error) {
    return s_answer_error(g, conn, verb, r, error->http_status, error->code,
                          error->message, 0, error->allow);
}

/* ---- /healthz and /metrics ---- */

static enum MHD_Result
s_healthz(gateway_t *g, struct MHD_Connection *conn, const char *verb,
          s_request_t *r) {
    dossier_error_t err = {0};
    dossier_client_t *client = s_pool_take(g, &err);
    dossier_reply_t reply = {0};
    dossier_status_t rc = DOSSIER_UNAVAILABLE;
    bool serving = false;
    if (client != NULL) {
        dossier_call_options_t options = {.timeout_ms = S_HEALTH_TIMEOUT_MS};
        rc =
            dossier_call_raw(client, "Health", NULL, 0, &options, &reply, &err);
        s_pool_give(g, client);
    }
    if (rc == DOSSIER_OK && reply.code == DOSSIER_OK) {
        Dossier__V1__HealthResponse *health =
            dossier__v1__health_response__unpack(NULL, reply.payload_size,
                                                 reply.payload);
        serving = health != NULL &&
                  health->status ==
                      DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_SERVING;
        if (serving && g->config.max_body_bytes == 0 &&
            health->max_message_bytes > 0) {
            atomic_store(&g->body_limit, (size_t)health->max_message_bytes);
        }
        if (health != NULL) {
            dossier__v1__health_response__free_unpacked(health, NULL);
        }
    }
    const char *why = serving                    ? NULL
                      : rc != DOSSIER_OK         ? err.message
                      : reply.code != DOSSIER_OK ? reply.message
                                                 : "not serving";
    /* why is ours or dossierd's (valid UTF-8 both); jansson escapes it. */
    json_t *root =
        json_pack("{s:s}", "status", serving ? "SERVING" : "NOT_SERVING");
    if (root != NULL && why != NULL) {
        json_object_set_new(root, "message", json_string(why));
    }
    char *body = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    dossier_reply_clear(&reply);
    if (body == NULL) {
        return MHD_NO;
    }
    const char *headers[] = {"Cache-Control", "no-store", NULL};
    return s_answer(g, conn, verb, r, serving ? 200 : 503,
                    serving ? DOSSIER_OK : DOSSIER_UNAVAILABLE,
                    "application/json", body, strlen(body), headers);
}

static enum MHD_Result
s_metrics(gateway_t *g, struct MHD_Connection *conn, const char *verb,
          s_request_t *r) {
    size_t size = 0;
    char *text = metrics_render(g->metrics, &size);
    if (text == NULL) {
        return MHD_NO;
    }
    return s_answer(g, conn, verb, r, 200, DOSSIER_OK,
                    "text/plain; version=0.0.4; charset=utf-8", text, size,
                    NULL);
}

/* ---- Calls ---- */

/* A strong validator of a GET reply: FNV-1a over its bytes. */
static void
s_etag(const uint8_t *body, size_t size, char out[21]) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < size; i++) {
        h = (h ^ body[i]) * 1099511628211ULL;
    }
    snprintf(out, 21, "\"%016llx\"", (unsigned long long)h);
}

static const char *
s_header(struct MHD_Connection *conn, const char *name) {
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result
s_answer_reply(gateway_t *g, struct MHD_Connection *conn, const char *verb,
               s_request_t *r, const connect_call_t *call,
               const dossier_reply_t *reply) {
    if (reply->code != DOSSIER_OK) {
        return s_answer_error(g, conn, verb, r,
                              connect_http_status(reply->code), reply->code,
                              reply->message, reply->current_version, NULL);
    }
    size_t size = 0;
    uint8_t *body = connect_reply_body(
        call->method, call->codec, reply->payload, reply->payload_size, &size);
    if (body == NULL) {
        return s_answer_error(g, conn, verb, r, 500, DOSSIER_INTERNAL,
                              "dossierd's reply does not decode as its "
                              "method's response",
                              0, NULL);
    }
    if (!call->get) {
        return s_answer(g, conn, verb, r, 200, DOSSIER_OK,
                        connect_codec_content_type(call->codec), body, size,
                        NULL);
    }
    /* A GET reply may be cached; it depends on who asked (the token). */
    char etag[21];
    char cache[48];
    s_etag(body, size, etag);
    snprintf(cache, sizeof cache, "private, max-age=%u",
             g->config.get_max_age_s);
    const char *headers[] = {
        "ETag", etag, "Cache-Control", cache, "Vary", "Authorization", NULL};
    const char *match = s_header(conn, "If-None-Match");
    if (match != NULL && strstr(match, etag) != NULL) {
        free(body);
        return s_answer(g, conn, verb, r, 304, DOSSIER_OK, NULL, NULL, 0,
                        headers);
    }
    return s_answer(g, conn, verb, r, 200, DOSSIER_OK,
                    connect_codec_content_type(call->codec), body, size,
                    headers);
}

static enum MHD_Result
s_call(gateway_t *g, struct MHD_Connection *conn, const char *verb,
       s_request_t *r) {
    size_t limit = atomic_load(&g->body_limit);
    connect_http_t http = {
        .verb = verb,
        .uri = r->uri,
        .content_type = s_header(conn, MHD_HTTP_HEADER_CONTENT_TYPE),
        .content_encoding = s_header(conn, MHD_HTTP_HEADER_CONTENT_ENCODING),
        .protocol_version = s_header(conn, "Connect-Protocol-Version"),
        .timeout_ms = s_header(conn, "Connect-Timeout-Ms"),
        .body = r->body,
        .body_size = r->size,
        .max_payload =
            limit > 2 * S_ENVELOPE_ROOM ? limit - S_ENVELOPE_ROOM : limit,
    };
    connect_call_t call = {0};
    connect_error_t error = {0};
    if (connect_request_parse(&http, &call, &error) != DOSSIER_OK) {
        return s_answer_connect_error(g, conn, verb, r, &error);
    }
    dossier_metadata_t metadata[3];
    size_t n_metadata = 0;
    const char *authorization = s_header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
    if (authorization != NULL) {
        metadata[n_metadata++] =
            (dossier_metadata_t){"authorization", authorization};
    }
    const char *key = s_header(conn, "Idempotency-Key");
    if (key != NULL) {
        metadata[n_metadata++] = (dossier_metadata_t){"idempotency-key", key};
    }
    /* A read's consistency on a cluster ("strong"); dossierd checks it. */
    const char *consistency = s_header(conn, "Consistency");
    if (consistency != NULL) {
        metadata[n_metadata++] =
            (dossier_metadata_t){"consistency", consistency};
    }
    dossier_call_options_t options = {
        .timeout_ms = call.timeout_ms == 0 ? (int)g->config.timeout_ms
                      : (unsigned)call.timeout_ms > g->config.max_timeout_ms
                          ? (int)g->config.max_timeout_ms
                          : call.timeout_ms,
        .metadata = metadata,
        .n_metadata = n_metadata,
    };
    dossier_error_t err = {0};
    dossier_reply_t reply = {0};
    dossier_client_t *client = s_pool_take(g, &err);
    dossier_status_t rc = DOSSIER_INTERNAL;
    if (client != NULL) {
        rc = dossier_call_raw(client, call.spec->full_name, call.payload,
                              call.payload_size, &options, &reply, &err);
        s_pool_give(g, client);
    }
    enum MHD_Result result;
    if (rc == DOSSIER_OK) {
        result = s_answer_reply(g, conn, verb, r, &call, &reply);
    } else {
        /* The gateway could not get an answer: dossierd is down, slow,
           or refuses the gateway's own key; none is the caller's fault. */
        dossier_status_t code =
            rc == DOSSIER_DEADLINE_EXCEEDED || rc == DOSSIER_INVALID_ARGUMENT
                ? rc
            : rc == DOSSIER_INTERNAL ? DOSSIER_INTERNAL
                                     : DOSSIER_UNAVAILABLE;
        result = s_answer_error(g, conn, verb, r, connect_http_status(code),
                                code, err.message, 0, NULL);
    }
    dossier_reply_clear(&reply);
    connect_call_clear(&call);
    return result;
}

/* ---- libmicrohttpd's callbacks ---- */

static void *
s_on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
    (void)conn;
    gateway_t *g = cls;
    s_request_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    r->uri = strdup(uri ? uri : "");
    r->method_index = -1;
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    metrics_begin(g->metrics);
    return r;
}

static void
s_on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
               enum MHD_RequestTerminationCode toe) {
    (void)conn;
    (void)toe;
    gateway_t *g = cls;
    s_request_t *r = *req_cls;
    if (r == NULL) {
        return;
    }
    if (!r->answered) {
        /* The client went away, or timed out, before its answer. */
        metrics_end(g->metrics, r->method_index, DOSSIER_CANCELLED,
                    s_seconds_since(&r->start));
    }
    free(r->uri);
    free(r->body);
    free(r);
    *req_cls = NULL;
}

static bool
s_path_is(const char *uri, const char *path) {
    size_t n = strlen(path);
    return strncmp(uri, path, n) == 0 && (uri[n] == '\0' || uri[n] == '?');
}

/* ---- The page (webfiles.c) and its live events (events.c) ---- */

static enum MHD_Result
s_web(gateway_t *g, struct MHD_Connection *conn, const char *verb,
      s_request_t *r) {
    int status = 500;
    size_t size = 0;
    struct MHD_Response *response = webfiles_respond(
        g->web, verb, r->uri, s_header(conn, MHD_HTTP_HEADER_IF_NONE_MATCH),
        &status, &size);
    if (response == NULL) {
        return MHD_NO;
    }
    return s_queue(g, conn, verb, r, status,
                   status < 400    ? DOSSIER_OK
                   : status == 404 ? DOSSIER_NOT_FOUND
                                   : DOSSIER_INVALID_ARGUMENT,
                   response, size);
}

/* Whether dossierd takes the caller's token: a WhoAmI with it, as any
   call would carry it. Writes the refusal to *error otherwise. */
static bool
s_token_admitted(gateway_t *g, const char *authorization,
                 connect_error_t *error) {
    dossier_error_t err = {0};
    dossier_client_t *client = s_pool_take(g, &err);
    if (client == NULL) {
        *error =
            (connect_error_t){.http_status = 503, .code = DOSSIER_UNAVAILABLE};
        snprintf(error->message, sizeof error->message, "%s", err.message);
        return false;
    }
    dossier_metadata_t metadata = {"authorization", authorization};
    dossier_call_options_t options = {.timeout_ms = S_HEALTH_TIMEOUT_MS,
                                      .metadata = &metadata,
                                      .n_metadata = 1};
    dossier_reply_t reply = {0};
    dossier_status_t rc =
        dossier_call_raw(client, "WhoAmI", NULL, 0, &options, &reply, &err);
    s_pool_give(g, client);
    int code = rc != DOSSIER_OK ? (int)rc : reply.code;
    if (code != DOSSIER_OK) {
        *error = (connect_error_t){.http_status = connect_http_status(code),
                                   .code = (dossier_status_t)code};
        snprintf(error->message, sizeof error->message, "%s",
                 rc != DOSSIER_OK ? err.message : reply.message);
    }
    dossier_reply_clear(&reply);
    return code == DOSSIER_OK;
}

static enum MHD_Result
s_events(gateway_t *g, struct MHD_Connection *conn, const char *verb,
         s_request_t *r) {
    if (g->events == NULL) {
        return s_answer_error(g, conn, verb, r, 404, DOSSIER_NOT_FOUND,
                              "no change feed: start dossier-gateway with "
                              "--feed (dossierd's --feed endpoint)",
                              0, NULL);
    }
    const char *authorization = s_header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!g->anonymous_ok || authorization != NULL) {
        connect_error_t error = {0};
        if (authorization == NULL) {
            return s_answer_error(g, conn, verb, r, 401,
                                  DOSSIER_UNAUTHENTICATED,
                                  "no Authorization header: send "
                                  "'Authorization: Bearer TOKEN'",
                                  0, NULL);
        }
        if (!s_token_admitted(g, authorization, &error)) {
            return s_answer_connect_error(g, conn, verb, r, &error);
        }
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int status = 500;
    struct MHD_Response *response =
        events_respond(g->events, info != NULL ? info->connect_fd : -1,
                       s_header(conn, "Last-Event-ID"), &status);
    if (response == NULL) {
        return MHD_NO;
    }
    return s_queue(g, conn, verb, r, status,
                   status == 200 ? DOSSIER_OK : DOSSIER_UNAVAILABLE, response,
                   0);
}

/* The first call for a request: its headers are in. Answers at once what
   needs no body (a body over the limit by its Content-Length). */
static enum MHD_Result
s_on_headers(gateway_t *g, struct MHD_Connection *conn, const char *verb,
             s_request_t *r) {
    const apispec_method_t *spec = NULL;
    const ProtobufCMethodDescriptor *method = connect_route(r->uri, &spec);
    if (method != NULL) {
        r->method_index =
            (int)(method - dossier__v1__reports__descriptor.methods);
    }
    const char *length = s_header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
    size_t limit = atomic_load(&g->body_limit);
    if (length != NULL && strtoull(length, NULL, 10) > limit) {
        char message[128];
        snprintf(message, sizeof message,
                 "the request body is %.20s bytes, more than the %zu this "
                 "gateway takes",
                 length, limit);
        return s_answer_error(g, conn, verb, r, 429, DOSSIER_RESOURCE_EXHAUSTED,
                              message, 0, NULL);
    }
    if (method != NULL && !g->anonymous_ok &&
        s_header(conn, MHD_HTTP_HEADER_AUTHORIZATION) == NULL) {
        return s_answer_error(g, conn, verb, r, 401, DOSSIER_UNAUTHENTICATED,
                              "no Authorization header: send "
                              "'Authorization: Bearer TOKEN' (dossier token "
                              "create NAME makes one)",
                              0, NULL);
    }
    return MHD_YES;
}

static enum MHD_Result
s_on_request(void *cls, struct MHD_Connection *conn, const char *url,
             const char *verb, const char *version, const char *upload_data,
             size_t *upload_data_size, void **req_cls) {
    (void)url;
    (void)version;
    gateway_t *g = cls;
    s_request_t *r = *req_cls;
    if (r == NULL || r->uri == NULL) {
        return MHD_NO; /* out of memory: drop the connection */
    }
    if (!r->started) {
        r->started = true;
        return s_on_headers(g, conn, verb, r);
    }
    if (r->answered) {
        *upload_data_size = 0; /* the rest of a refused body */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t limit = atomic_load(&g->body_limit);
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || n > limit - r->size) {
            r->too_big = true;
            return MHD_YES;
        }
        if (r->size + n > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->size + n) {
                cap *= 2;
            }
            cap = cap > limit ? limit : cap;
            uint8_t *body = realloc(r->body, cap);
            if (body == NULL) {
                return MHD_NO;
            }
            r->body = body;
            r->cap = cap;
        }
        memcpy(r->body + r->size, upload_data, n);
        r->size += n;
        return MHD_YES;
    }
    if (r->too_big) {
        char message[128];
        snprintf(message, sizeof message,
                 "the request body is more than the %zu bytes this gateway "
                 "takes",
                 atomic_load(&g->body_limit));
        return s_answer_error(g, conn, verb, r, 429, DOSSIER_RESOURCE_EXHAUSTED,
                              message, 0, NULL);
    }
    bool get = strcmp(verb, "GET") == 0 || strcmp(verb, "HEAD") == 0;
    if (s_path_is(r->uri, "/healthz") && get) {
        return s_healthz(g, conn, verb, r);
    }
    if (s_path_is(r->uri, "/metrics") && get) {
        return s_metrics(g, conn, verb, r);
    }
    if (s_path_is(r->uri, "/events") && get) {
        return s_events(g, conn, verb, r);
    }
    if (g->web != NULL && webfiles_route(r->uri)) {
        return s_web(g, conn, verb, r);
    }
    return s_call(g, conn, verb, r);
}

static void
s_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') {
        line[--n] = '\0';
    }
    fprintf(stderr, "dossier-gateway: http: %s\n", line);
}

/* ---- Start and stop ---- */

static dossier_status_t
s_read_file(const char *path, char **text_p, dossier_error_t *err) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "cannot read %s", path);
    }
    char *text = calloc(1, S_MAX_TLS_FILE + 1);
    size_t n = text ? fread(text, 1, S_MAX_TLS_FILE + 1, f) : 0;
    fclose(f);
    if (text == NULL || n == 0 || n > S_MAX_TLS_FILE) {
        free(text);
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s is empty or larger than 1 MiB", path);
    }
    *text_p = text;
    return DOSSIER_OK;
}

/* Binds host:port itself (so port 0 works and the port is known). */
static dossier_status_t
s_listen(const char *host, unsigned port, int *fd_p, unsigned *bound,
         dossier_error_t *err) {
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(host, service, &hints, &list);
    if (gai != 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "cannot resolve listen host %s: %s", host,
                                 gai_strerror(gai));
    }
    int fd = -1;
    int saved = 0;
    for (struct addrinfo *a = list; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
        int on = 1;
        if (fd >= 0 &&
            (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
             bind(fd, a->ai_addr, a->ai_addrlen) != 0 ||
             listen(fd, 128) != 0)) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot listen on %s:%u: %s", host, port,
                                 strerror(saved));
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *bound =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_p = fd;
    return DOSSIER_OK;
}

/* Asks dossierd for its max_message_bytes, the body limit by default. */
static void
s_learn_body_limit(gateway_t *g) {
    size_t limit = g->config.max_body_bytes;
    if (limit == 0) {
        limit = S_DEFAULT_BODY_LIMIT;
        dossier_error_t err = {0};
        dossier_client_t *client = s_pool_take(g, &err);
        dossier_reply_t reply = {0};
        dossier_call_options_t options = {.timeout_ms = S_HEALTH_TIMEOUT_MS};
        if (client != NULL &&
            dossier_call_raw(client, "Health", NULL, 0, &options, &reply,
                             &err) == DOSSIER_OK &&
            reply.code == DOSSIER_OK) {
            Dossier__V1__HealthResponse *health =
                dossier__v1__health_response__unpack(NULL, reply.payload_size,
                                                     reply.payload);
            if (health != NULL && health->max_message_bytes > 0) {
                limit = (size_t)health->max_message_bytes;
            }
            dossier__v1__health_response__free_unpacked(health, NULL);
        } else {
            fprintf(stderr,
                    "dossier-gateway: warning: dossierd does not answer "
                    "(%s); body limit %zu bytes until /healthz reaches it\n",
                    err.message[0] ? err.message : reply.message, limit);
        }
        dossier_reply_clear(&reply);
        if (client != NULL) {
            s_pool_give(g, client);
        }
    }
    atomic_store(&g->body_limit, limit);
}

static dossier_status_t
s_keys(gateway_t *g, dossier_error_t *err) {
    if (g->config.server_key == NULL) {
        return DOSSIER_OK;
    }
    dossier_status_t rc = dossier_certificate_read(g->config.server_key,
                                                   g->server_public, NULL, err);
    if (rc == DOSSIER_OK) {
        rc = dossier_certificate_read(g->config.key, g->client_public,
                                      g->client_secret, err);
    }
    g->curve = rc == DOSSIER_OK;
    return rc == DOSSIER_OK ? rc : DOSSIER_INVALID_ARGUMENT;
}

/* The page's directory (--web, else the installed one when present) and
   the change feed's relay (--feed). */
static dossier_status_t
s_web_and_events(gateway_t *g, const gateway_config_t *config,
                 dossier_error_t *err) {
    dossier_status_t rc = DOSSIER_OK;
    const char *web = config->web != NULL ? config->web : DOSSIER_WEB_DIR;
    if (config->web != NULL) {
        rc = webfiles_new(config->web, &g->web, err);
    } else {
        dossier_error_t missing = {0};
        if (webfiles_new(DOSSIER_WEB_DIR, &g->web, &missing) != DOSSIER_OK) {
            snprintf(g->web_note, sizeof g->web_note,
                     "no web page (%s; --web DIR serves one)", missing.message);
        }
    }
    if (g->web != NULL) {
        snprintf(g->web_note, sizeof g->web_note, "web page from %s at /", web);
    }
    if (rc != DOSSIER_OK || config->feed == NULL) {
        return rc;
    }
    events_config_t events = {
        .feed = config->feed,
        .server_key = g->curve ? g->server_public : NULL,
        .public_key = g->curve ? g->client_public : NULL,
        .secret_key = g->curve ? g->client_secret : NULL,
        .max_clients = config->events_max_clients,
        .buffer = config->events_buffer,
        .keepalive_s = 15,
    };
    return events_new(&events, &g->events, err);
}

static char *
s_dup(const char *s) {
    return s ? strdup(s) : NULL;
}

dossier_status_t
gateway_new(const gateway_config_t *config, gateway_t **gateway_p,
            dossier_error_t *err) {
    char host[256];
    unsigned port = 0;
    if (!gateway_config_split_listen(config->listen, host, sizeof host,
                                     &port)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "bad listen address %s", config->listen);
    }
    bool loopback = gateway_config_is_loopback(host);
    bool tls = config->tls_cert != NULL;
    if (!loopback && !tls && !config->insecure) {
        return dossier_error_set(
            err, DOSSIER_INVALID_ARGUMENT,
            "refusing plain HTTP on %s, which is not a loopback address: "
            "give --tls-cert and --tls-key, put a TLS proxy in front and "
            "listen on loopback, or --insecure for a network you trust",
            config->listen);
    }
    if (tls && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "this libmicrohttpd has no TLS support");
    }
    gateway_t *g = calloc(1, sizeof *g);
    if (g == NULL) {
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    pthread_mutex_init(&g->pool_lock, NULL);
    g->config = *config;
    g->config.server = g->servers = s_dup(config->server);
    g->config.listen = g->config.tls_cert = g->config.tls_key = NULL;
    g->config.server_key = s_dup(config->server_key);
    g->config.key = s_dup(config->key);
    g->config.config_file = NULL;
    g->pool_cap = config->max_connections;
    g->idle = calloc(g->pool_cap, sizeof *g->idle);
    g->metrics = metrics_new();
    g->anonymous_ok = config->server_key == NULL && loopback;
    dossier_status_t rc = DOSSIER_OK;
    if (g->servers == NULL || g->idle == NULL || g->metrics == NULL) {
        rc = dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    if (rc == DOSSIER_OK) {
        rc = s_keys(g, err);
    }
    if (rc == DOSSIER_OK && tls) {
        rc = s_read_file(config->tls_cert, &g->tls_cert_pem, err);
        if (rc == DOSSIER_OK) {
            rc = s_read_file(config->tls_key, &g->tls_key_pem, err);
        }
    }
    if (rc == DOSSIER_OK) {
        rc = s_web_and_events(g, config, err);
    }
    int fd = -1;
    if (rc == DOSSIER_OK) {
        rc = s_listen(host, port, &fd, &g->port, err);
    }
    if (rc != DOSSIER_OK) {
        gateway_destroy(&g);
        return rc;
    }
    s_learn_body_limit(g);
    /* poll(), not select(): a descriptor past FD_SETSIZE (1024; the unit
       allows 65536) must not break a connection. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;
    if (tls) {
        flags |= MHD_USE_TLS;
    }
    g->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, s_on_request, g, MHD_OPTION_EXTERNAL_LOGGER,
        s_mhd_log, g, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_URI_LOG_CALLBACK,
        s_on_uri, g, MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, g,
        MHD_OPTION_CONNECTION_LIMIT, config->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, config->max_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, config->connection_timeout_s,
        tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, g->tls_cert_pem,
        MHD_OPTION_HTTPS_MEM_KEY, g->tls_key_pem, MHD_OPTION_END);
    if (g->daemon == NULL) {
        close(fd);
        gateway_destroy(&g);
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "libmicrohttpd did not start (see its "
                                 "message above)");
    }
    *gateway_p = g;
    return DOSSIER_OK;
}

unsigned
gateway_port(const gateway_t *gateway) {
    return gateway->port;
}

const char *
gateway_web_note(const gateway_t *gateway) {
    return gateway->web_note;
}

size_t
gateway_body_limit(const gateway_t *gateway) {
    return atomic_load(&((gateway_t *)gateway)->body_limit);
}

void
gateway_destroy(gateway_t **gateway_p) {
    if (gateway_p == NULL || *gateway_p == NULL) {
        return;
    }
    gateway_t *g = *gateway_p;
    /* Open event streams hold connection threads: end them first. */
    events_stop(g->events);
    if (g->daemon != NULL) {
        MHD_stop_daemon(g->daemon);
    }
    events_destroy(&g->events);
    webfiles_destroy(&g->web);
    for (size_t i = 0; i < g->n_idle; i++) {
        dossier_client_destroy(&g->idle[i]);
    }
    free(g->idle);
    metrics_destroy(&g->metrics);
    pthread_mutex_destroy(&g->pool_lock);
    free(g->servers);
    free(g->config.server_key);
    free(g->config.key);
    free(g->tls_cert_pem);
    free(g->tls_key_pem);
    explicit_bzero(g->client_secret, sizeof g->client_secret);
    free(g);
    *gateway_p = NULL;
}
