/*  connect.c: the Connect protocol's unary calls (see connect.h).

    Checks run in the order Connect's reference server (connect-go) runs
    them, so a request with several faults gets the error a Connect
    client expects first: the path, the verb, the protocol version, the
    encoding (Content-Type or GET's encoding=), the compression, the
    timeout, then the message itself. */
#include "json.h" /* before jansson.h: see json.h */

#include "connect.h"

/* json.h's one-line flag, taken before jansson.h redefines the name. */
static const int s_json_one_line = JSON_COMPACT;

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "dossier/v1/reports.pb-c.h"

/* The longest method name of the service, with room to spare. */
#define S_MAX_METHOD_NAME 64

dossier_status_t
connect_error_set(connect_error_t *error, int http_status,
                  dossier_status_t code, const char *fmt, ...) {
    error->http_status = http_status;
    error->code = code;
    error->allow = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error->message, sizeof error->message, fmt, ap);
    va_end(ap);
    return code;
}

static const char *const s_code_names[] = {"ok",
                                           "canceled",
                                           "unknown",
                                           "invalid_argument",
                                           "deadline_exceeded",
                                           "not_found",
                                           "already_exists",
                                           "permission_denied",
                                           "resource_exhausted",
                                           "failed_precondition",
                                           "aborted",
                                           "out_of_range",
                                           "unimplemented",
                                           "internal",
                                           "unavailable",
                                           "data_loss",
                                           "unauthenticated"};

/* connectrpc.com/docs/protocol, "Error codes": each code's HTTP status. */
static const int s_code_status[] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
                                    400, 409, 400, 501, 500, 503, 500, 401};

const char *
connect_code_name(int code) {
    if (code < 0 || code > DOSSIER_UNAUTHENTICATED) {
        return "unknown";
    }
    return s_code_names[code];
}

int
connect_http_status(int code) {
    if (code < 0 || code > DOSSIER_UNAUTHENTICATED) {
        return 500;
    }
    return s_code_status[code];
}

const char *
connect_codec_content_type(connect_codec_t codec) {
    return codec == CONNECT_CODEC_PROTO ? "application/proto"
                                        : "application/json";
}

const ProtobufCMethodDescriptor *
connect_route(const char *uri, const apispec_method_t **spec_p) {
    static const char prefix[] = "/" APISPEC_SERVICE "/";
    if (uri == NULL || strncmp(uri, prefix, sizeof prefix - 1) != 0) {
        return NULL;
    }
    const char *name = uri + sizeof prefix - 1;
    size_t n = strcspn(name, "?");
    if (n == 0 || n >= S_MAX_METHOD_NAME) {
        return NULL;
    }
    char full[sizeof prefix + S_MAX_METHOD_NAME];
    memcpy(full, prefix + 1, sizeof prefix - 2);
    memcpy(full + sizeof prefix - 2, name, n);
    full[sizeof prefix - 2 + n] = '\0';
    const ProtobufCMethodDescriptor *method =
        protobuf_c_service_descriptor_get_method_by_name(
            &dossier__v1__reports__descriptor, full + sizeof prefix - 2);
    const apispec_method_t *spec = apispec_find(full);
    if (method == NULL || spec == NULL) {
        return NULL;
    }
    if (spec_p != NULL) {
        *spec_p = spec;
    }
    return method;
}

/* ---- The query string of a GET ---- */

typedef struct {
    char *message; /* percent-decoded, malloc'd; NULL when absent */
    size_t message_size;
    char *encoding;
    char *base64;
    char *compression;
    char *connect;
} s_query_t;

static void
s_query_clear(s_query_t *q) {
    free(q->message);
    free(q->encoding);
    free(q->base64);
    free(q->compression);
    free(q->connect);
    memset(q, 0, sizeof *q);
}

static int
s_hex(int c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes n bytes of text ('+' is a space, as in HTML forms and
   Go's url.ParseQuery) into a malloc'd NUL-terminated buffer; *size_p
   gets its length. Returns NULL on a bad escape or out of memory (*oom). */
static char *
s_percent_decode(const char *text, size_t n, size_t *size_p, bool *oom) {
    char *out = malloc(n + 1);
    if (out == NULL) {
        *oom = true;
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '%') {
            int hi = i + 1 < n ? s_hex((unsigned char)text[i + 1]) : -1;
            int lo = i + 2 < n ? s_hex((unsigned char)text[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = text[i] == '+' ? ' ' : text[i];
        }
    }
    out[o] = '\0';
    *size_p = o;
    return out;
}

static dossier_status_t
s_query_parse(const char *query, s_query_t *q, connect_error_t *error) {
    memset(q, 0, sizeof *q);
    const char *p = query;
    while (*p != '\0') {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t key_len = eq ? (size_t)(eq - p) : n;
        const char *value = eq ? eq + 1 : p + n;
        size_t value_len = eq ? n - key_len - 1 : 0;
        char **slot = NULL;
        if (key_len == 7 && memcmp(p, "message", 7) == 0) {
            slot = &q->message;
        } else if (key_len == 8 && memcmp(p, "encoding", 8) == 0) {
            slot = &q->encoding;
        } else if (key_len == 6 && memcmp(p, "base64", 6) == 0) {
            slot = &q->base64;
        } else if (key_len == 11 && memcmp(p, "compression", 11) == 0) {
            slot = &q->compression;
        } else if (key_len == 7 && memcmp(p, "connect", 7) == 0) {
            slot = &q->connect;
        }
        if (slot != NULL && *slot == NULL) {
            bool oom = false;
            size_t size = 0;
            *slot = s_percent_decode(value, value_len, &size, &oom);
            if (*slot == NULL) {
                s_query_clear(q);
                return oom ? connect_error_set(error, 500, DOSSIER_INTERNAL,
                                               "out of memory")
                           : connect_error_set(error, 400,
                                               DOSSIER_INVALID_ARGUMENT,
                                               "bad percent-encoding in the "
                                               "query string");
            }
            if (slot == &q->message) {
                q->message_size = size;
            }
        }
        p += n;
        if (*p == '&') {
            p++;
        }
    }
    return DOSSIER_OK;
}

/* ---- base64 (standard or URL-safe, padding optional) ---- */

static int
s_b64_value(int c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+' || c == '-') {
        return 62;
    }
    if (c == '/' || c == '_') {
        return 63;
    }
    return -1;
}

/* Decodes text in place; returns the decoded size or -1 on bad input. */
static long
s_b64_decode(char *text, size_t n) {
    while (n > 0 && text[n - 1] == '=') {
        n--;
    }
    if (n % 4 == 1) {
        return -1;
    }
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = s_b64_value((unsigned char)text[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            text[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    return (long)o;
}

static const char s_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 without padding, as Connect's error details carry. */
static void
s_b64_encode(const uint8_t *in, size_t n, char *out) {
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = s_b64_alphabet[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0) {
        out[o++] = s_b64_alphabet[(acc << (6 - bits)) & 0x3f];
    }
    out[o] = '\0';
}

/* ---- Headers ---- */

/* Whether the n bytes at s equal word, ignoring case and blanks around. */
static bool
s_token_is(const char *s, size_t n, const char *word) {
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static dossier_status_t
s_content_type(const char *value, connect_codec_t *codec,
               connect_error_t *error) {
    static const char accepted[] = "application/json or application/proto";
    if (value == NULL) {
        return connect_error_set(error, 415, DOSSIER_UNIMPLEMENTED,
                                 "no Content-Type: send %s", accepted);
    }
    size_t n = strcspn(value, ";");
    if (s_token_is(value, n, "application/json")) {
        *codec = CONNECT_CODEC_JSON;
    } else if (s_token_is(value, n, "application/proto")) {
        *codec = CONNECT_CODEC_PROTO;
    } else {
        return connect_error_set(error, 415, DOSSIER_UNIMPLEMENTED,
                                 "Content-Type %.64s is not supported: send "
                                 "%s",
                                 value, accepted);
    }
    /* Parameters: only charset=utf-8, and only JSON has a charset. */
    const char *p = value + n;
    while (*p == ';') {
        p++;
        size_t m = strcspn(p, ";");
        if (*codec != CONNECT_CODEC_JSON ||
            !(s_token_is(p, m, "charset=utf-8") ||
              s_token_is(p, m, "charset=\"utf-8\""))) {
            return connect_error_set(error, 415, DOSSIER_UNIMPLEMENTED,
                                     "Content-Type %.64s is not supported: "
                                     "send %s",
                                     value, accepted);
        }
        p += m;
    }
    return DOSSIER_OK;
}

static dossier_status_t
s_timeout(const char *value, int *timeout_ms, connect_error_t *error) {
    size_t n = value ? strlen(value) : 0;
    bool digits = n > 0 && n <= CONNECT_TIMEOUT_MAX_DIGITS;
    for (size_t i = 0; digits && i < n; i++) {
        digits = value[i] >= '0' && value[i] <= '9';
    }
    if (!digits) {
        return connect_error_set(error, 400, DOSSIER_INVALID_ARGUMENT,
                                 "Connect-Timeout-Ms must be 1 to 10 digits, "
                                 "not \"%.32s\"",
                                 value ? value : "");
    }
    unsigned long long ms = strtoull(value, NULL, 10);
    /* 0 ms: the deadline has passed already; the call is sent with the
       least deadline and dossierd answers DEADLINE_EXCEEDED. */
    *timeout_ms = ms == 0 ? 1 : ms > INT_MAX ? INT_MAX : (int)ms;
    return DOSSIER_OK;
}

static bool
s_is_identity(const char *encoding) {
    return encoding == NULL || *encoding == '\0' ||
           s_token_is(encoding, strlen(encoding), "identity");
}

/* ---- The message ---- */

static dossier_status_t
s_decode(const ProtobufCMethodDescriptor *method, connect_codec_t codec,
         const uint8_t *data, size_t size, size_t max_payload,
         connect_call_t *call, connect_error_t *error) {
    const ProtobufCMessageDescriptor *type = method->input;
    ProtobufCMessage *message = NULL;
    if (codec == CONNECT_CODEC_JSON) {
        dossier_error_t err = {0};
        dossier_status_t rc =
            json_to_message(type, (const char *)data, size, &message, &err);
        if (rc == DOSSIER_RESOURCE_EXHAUSTED) {
            return connect_error_set(error, 500, DOSSIER_INTERNAL,
                                     "out of memory");
        }
        if (rc != DOSSIER_OK) {
            return connect_error_set(error, 400, DOSSIER_INVALID_ARGUMENT,
                                     "the body is not a %s in JSON: %s",
                                     type->name, err.message);
        }
    } else {
        if (size > max_payload) {
            return connect_error_set(error, 429, DOSSIER_RESOURCE_EXHAUSTED,
                                     "the request is %zu bytes, more than "
                                     "the %zu the server takes",
                                     size, max_payload);
        }
        message = protobuf_c_message_unpack(type, NULL, size, data);
        if (message == NULL) {
            return connect_error_set(error, 400, DOSSIER_INVALID_ARGUMENT,
                                     "the body is not a serialized %s",
                                     type->name);
        }
    }
    /* Binary requests go on as they came; JSON ones are packed. */
    size_t packed = codec == CONNECT_CODEC_PROTO
                        ? size
                        : protobuf_c_message_get_packed_size(message);
    if (packed > max_payload) {
        protobuf_c_message_free_unpacked(message, NULL);
        return connect_error_set(error, 429, DOSSIER_RESOURCE_EXHAUSTED,
                                 "the request is %zu bytes serialized, more "
                                 "than the %zu the server takes",
                                 packed, max_payload);
    }
    uint8_t *payload = malloc(packed ? packed : 1);
    if (payload == NULL) {
        protobuf_c_message_free_unpacked(message, NULL);
        return connect_error_set(error, 500, DOSSIER_INTERNAL, "out of memory");
    }
    if (codec == CONNECT_CODEC_PROTO) {
        if (size > 0) {
            memcpy(payload, data, size);
        }
    } else {
        protobuf_c_message_pack(message, payload);
    }
    protobuf_c_message_free_unpacked(message, NULL);
    call->payload = payload;
    call->payload_size = packed;
    return DOSSIER_OK;
}

static dossier_status_t
s_parse_get(const connect_http_t *http, connect_call_t *call,
            connect_error_t *error) {
    const char *mark = strchr(http->uri, '?');
    s_query_t q;
    dossier_status_t rc = s_query_parse(mark ? mark + 1 : "", &q, error);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    if (q.connect != NULL && strcmp(q.connect, "v1") != 0) {
        rc = connect_error_set(error, 400, DOSSIER_INVALID_ARGUMENT,
                               "connect=%.32s: only v1 is spoken", q.connect);
    } else if (q.encoding == NULL) {
        rc = connect_error_set(error, 400, DOSSIER_INVALID_ARGUMENT,
                               "a GET needs encoding=json or encoding=proto");
    } else if (strcmp(q.encoding, "json") == 0) {
        call->codec = CONNECT_CODEC_JSON;
    } else if (strcmp(q.encoding, "proto") == 0) {
        call->codec = CONNECT_CODEC_PROTO;
    } else {
        rc = connect_error_set(error, 415, DOSSIER_UNIMPLEMENTED,
                               "encoding=%.32s is not supported: use json or "
                               "proto",
                               q.encoding);
    }
    if (rc == DOSSIER_OK && !s_is_identity(q.compression)) {
        rc = connect_error_set(error, 501, DOSSIER_UNIMPLEMENTED,
                               "compression=%.32s is not supported: send the "
                               "message uncompressed (identity)",
                               q.compression);
    }
    if (rc == DOSSIER_OK && q.message == NULL) {
        rc = connect_error_set(error, 400, DOSSIER_INVALID_ARGUMENT,
                               "a GET needs the request in message=");
    }
    if (rc == DOSSIER_OK && q.base64 != NULL && strcmp(q.base64, "1") == 0) {
        long n = s_b64_decode(q.message, q.message_size);
        if (n < 0) {
            rc = connect_error_set(error, 400, DOSSIER_INVALID_ARGUMENT,
                                   "message= is not base64");
        } else {
            q.message_size = (size_t)n;
        }
    }
    if (rc == DOSSIER_OK) {
        rc = s_decode(call->method, call->codec, (const uint8_t *)q.message,
                      q.message_size, http->max_payload, call, error);
    }
    s_query_clear(&q);
    return rc;
}

dossier_status_t
connect_request_parse(const connect_http_t *http, connect_call_t *call,
                      connect_error_t *error) {
    connect_call_t out = {0};
    if (http->uri == NULL || http->verb == NULL) {
        return connect_error_set(error, 400, DOSSIER_INVALID_ARGUMENT,
                                 "no request line");
    }
    out.method = connect_route(http->uri, &out.spec);
    if (out.method == NULL) {
        return connect_error_set(error, 404, DOSSIER_UNIMPLEMENTED,
                                 "no method at %.128s: the service's methods "
                                 "are at /%s/NAME",
                                 http->uri, APISPEC_SERVICE);
    }
    bool readonly = out.spec->idempotency == APISPEC_NO_SIDE_EFFECTS;
    out.get = strcmp(http->verb, "GET") == 0;
    if (!(out.get && readonly) && strcmp(http->verb, "POST") != 0) {
        connect_error_set(error, 405, DOSSIER_UNIMPLEMENTED,
                          "%.16s is not allowed on %s: use %s", http->verb,
                          out.spec->full_name,
                          readonly ? "POST or GET" : "POST");
        error->allow = readonly ? "GET, POST" : "POST";
        return DOSSIER_UNIMPLEMENTED;
    }
    if (http->protocol_version != NULL &&
        strcmp(http->protocol_version, "1") != 0) {
        return connect_error_set(error, 400, DOSSIER_INVALID_ARGUMENT,
                                 "Connect-Protocol-Version %.32s: only 1 is "
                                 "spoken",
                                 http->protocol_version);
    }
    dossier_status_t rc;
    if (!out.get) {
        rc = s_content_type(http->content_type, &out.codec, error);
        if (rc != DOSSIER_OK) {
            return rc;
        }
        if (!s_is_identity(http->content_encoding)) {
            return connect_error_set(error, 501, DOSSIER_UNIMPLEMENTED,
                                     "Content-Encoding %.32s is not "
                                     "supported: send the body uncompressed "
                                     "(identity)",
                                     http->content_encoding);
        }
    }
    if (http->timeout_ms != NULL) {
        rc = s_timeout(http->timeout_ms, &out.timeout_ms, error);
        if (rc != DOSSIER_OK) {
            return rc;
        }
    }
    if (out.get) {
        rc = s_parse_get(http, &out, error);
    } else {
        rc = s_decode(out.method, out.codec, http->body, http->body_size,
                      http->max_payload, &out, error);
    }
    if (rc == DOSSIER_OK) {
        *call = out;
    }
    return rc;
}

void
connect_call_clear(connect_call_t *call) {
    if (call == NULL) {
        return;
    }
    free(call->payload);
    memset(call, 0, sizeof *call);
}

uint8_t *
connect_reply_body(const ProtobufCMethodDescriptor *method,
                   connect_codec_t codec, const uint8_t *payload,
                   size_t payload_size, size_t *size_p) {
    if (codec == CONNECT_CODEC_PROTO) {
        uint8_t *body = malloc(payload_size ? payload_size : 1);
        if (body != NULL) {
            if (payload_size > 0) {
                memcpy(body, payload, payload_size);
            }
            *size_p = payload_size;
        }
        return body;
    }
    ProtobufCMessage *message =
        protobuf_c_message_unpack(method->output, NULL, payload_size, payload);
    if (message == NULL) {
        return NULL;
    }
    char *text = json_from_message(message, s_json_one_line);
    protobuf_c_message_free_unpacked(message, NULL);
    if (text != NULL) {
        *size_p = strlen(text);
    }
    return (uint8_t *)text;
}

char *
connect_error_body(int code, const char *message, uint64_t current_version) {
    json_t *root = json_object();
    if (root == NULL) {
        return NULL;
    }
    int bad =
        json_object_set_new(root, "code", json_string(connect_code_name(code)));
    if (message != NULL && *message != '\0') {
        /* The server's messages are UTF-8 (it makes them valid); a byte
           that is not still must not lose the whole error. */
        json_t *text = json_string(message);
        if (text == NULL) {
            text = json_string("(the server's message is not valid UTF-8)");
        }
        bad |= json_object_set_new(root, "message", text);
    }
    if (current_version != 0) {
        /* google.protobuf.UInt64Value{value: current_version}: field 1,
           varint. */
        uint8_t packed[11];
        size_t n = 0;
        packed[n++] = 0x08;
        uint64_t v = current_version;
        while (v >= 0x80) {
            packed[n++] = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        packed[n++] = (uint8_t)v;
        char b64[24];
        s_b64_encode(packed, n, b64);
        json_t *detail = json_pack("{s:s,s:s}", "type",
                                   "google.protobuf.UInt64Value", "value", b64);
        bad |= json_object_set_new(root, "details", json_pack("[o]", detail));
    }
    char *text = bad ? NULL : json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}
