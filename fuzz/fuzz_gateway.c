/*  fuzz_gateway.c: dossier-gateway's request parser (gateway/connect.c),
    without the HTTP server. See fuzz.h.

    The input is an HTTP request in a small text form libFuzzer mutates
    well: a first line "VERB TARGET", then "Name: value" lines for the
    headers the parser reads (Content-Type, Content-Encoding,
    Connect-Protocol-Version, Connect-Timeout-Ms), an empty line, and the
    body. Whatever comes in, connect_request_parse must either hand back
    a call whose payload decodes as the method's request type and fits
    the limit, or an error with one of the statuses Connect allows and a
    message; the error body must be a JSON object that starts by naming
    the code (jansson writes keys in the order they were set; this file
    is compiled beside json.h in test_fuzz_regress, so it does not include
    jansson.h, whose JSON_COMPACT clashes with json.h's). The reply
    renderer then takes the payload as if it were the reply (it may not
    decode: that must be a NULL, not a crash). */
#include <string.h>
#include <strings.h>

#include "connect.h"
#include "fuzz.h"

/* A small limit, so oversize requests are reached too. */
#define FUZZ_GATEWAY_MAX_PAYLOAD 4096

/* The n bytes at line as a NUL-terminated copy (the caller frees). */
static char *
s_gateway_copy(const uint8_t *line, size_t n) {
    char *text = malloc(n + 1);
    FUZZ_CHECK(text != NULL, "out of memory");
    memcpy(text, line, n);
    text[n] = '\0';
    return text;
}

static bool
s_gateway_status_allowed(int status) {
    static const int allowed[] = {400, 401, 403, 404, 405, 409, 415,
                                  429, 499, 500, 501, 503, 504};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        if (status == allowed[i]) {
            return true;
        }
    }
    return false;
}

int
fuzz_gateway_one(const uint8_t *data, size_t size) {
    char *fields[6] = {NULL}; /* verb, target, the four headers */
    static const char *const names[] = {"content-type", "content-encoding",
                                        "connect-protocol-version",
                                        "connect-timeout-ms"};
    size_t at = 0;
    bool first = true;
    while (at < size) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t n = nl ? (size_t)(nl - (data + at)) : size - at;
        char *line = s_gateway_copy(data + at, n);
        at += n + (nl != NULL);
        if (line[0] == '\0') {
            free(line);
            break; /* the body follows */
        }
        if (first) {
            first = false;
            char *space = strchr(line, ' ');
            if (space != NULL) {
                *space = '\0';
                fields[1] = strdup(space + 1);
            }
            fields[0] = strdup(line);
        } else {
            char *colon = strchr(line, ':');
            for (size_t i = 0; colon && i < 4; i++) {
                if ((size_t)(colon - line) == strlen(names[i]) &&
                    strncasecmp(line, names[i], strlen(names[i])) == 0 &&
                    fields[2 + i] == NULL) {
                    const char *value = colon + 1;
                    while (*value == ' ') {
                        value++;
                    }
                    fields[2 + i] = strdup(value);
                }
            }
        }
        free(line);
    }
    connect_http_t http = {
        .verb = fields[0],
        .uri = fields[1],
        .content_type = fields[2],
        .content_encoding = fields[3],
        .protocol_version = fields[4],
        .timeout_ms = fields[5],
        .body = data + at,
        .body_size = size - at,
        .max_payload = FUZZ_GATEWAY_MAX_PAYLOAD,
    };
    connect_call_t call;
    memset(&call, 0xA5, sizeof call); /* untouched on failure: checked */
    connect_error_t error = {0};
    dossier_status_t rc = connect_request_parse(&http, &call, &error);
    if (rc == DOSSIER_OK) {
        FUZZ_CHECK(call.method != NULL && call.spec != NULL, "no method");
        FUZZ_CHECK(call.payload != NULL, "no payload");
        FUZZ_CHECK(call.payload_size <= FUZZ_GATEWAY_MAX_PAYLOAD,
                   "payload of %zu bytes over the limit", call.payload_size);
        FUZZ_CHECK(call.timeout_ms >= 0, "negative timeout");
        ProtobufCMessage *message = protobuf_c_message_unpack(
            call.method->input, NULL, call.payload_size, call.payload);
        FUZZ_CHECK(message != NULL, "the payload is not a %s",
                   call.method->input->name);
        protobuf_c_message_free_unpacked(message, NULL);
        size_t body_size = 0;
        uint8_t *body =
            connect_reply_body(call.method, call.codec, call.payload,
                               call.payload_size, &body_size);
        free(body);
        connect_call_clear(&call);
    } else {
        FUZZ_CHECK(rc == error.code, "returned %d, error says %d", rc,
                   error.code);
        FUZZ_CHECK(s_gateway_status_allowed(error.http_status),
                   "HTTP status %d", error.http_status);
        FUZZ_CHECK(memchr(error.message, '\0', sizeof error.message) != NULL,
                   "message not terminated");
        FUZZ_CHECK(error.message[0] != '\0', "empty message");
        char *text = connect_error_body(error.code, error.message, size);
        FUZZ_CHECK(text != NULL, "no error body");
        char want[64];
        snprintf(want, sizeof want, "{\"code\":\"%s\"", connect_code_name(rc));
        size_t length = strlen(text);
        FUZZ_CHECK(strncmp(text, want, strlen(want)) == 0 && length > 0 &&
                       text[length - 1] == '}',
                   "error body does not name the code: %s", text);
        free(text);
    }
    for (size_t i = 0; i < 6; i++) {
        free(fields[i]);
    }
    return 0;
}

#ifdef DOSSIER_LIBFUZZER
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_gateway_one(data, size);
}
#endif
