/*  test_gateway_connect.c: dossier-gateway's Connect request parser
    (gateway/connect.h), without HTTP: the code -> status table, the
    headers, the GET query string, the bodies, the error body. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "connect.h"
#include "dossier/v1/report.pb-c.h"
#include "dossier/v1/reports.pb-c.h"

static connect_http_t
s_post(const char *method, const char *content_type, const char *body) {
    static char uri[128];
    snprintf(uri, sizeof uri, "/dossier.v1.Reports/%s", method);
    connect_http_t http = {.verb = "POST",
                           .uri = uri,
                           .content_type = content_type,
                           .body = (const uint8_t *)body,
                           .body_size = body ? strlen(body) : 0,
                           .max_payload = 4096};
    return http;
}

/* Parses http expecting failure with status and code. */
static void
s_refused(const connect_http_t *http, int status, dossier_status_t code) {
    connect_call_t call = {0};
    connect_error_t error = {0};
    dossier_status_t rc = connect_request_parse(http, &call, &error);
    if (rc != code || error.http_status != status) {
        fail_msg("%s %s: got %d/%s (%s), want %d/%s", http->verb, http->uri,
                 error.http_status, connect_code_name(rc), error.message,
                 status, connect_code_name(code));
    }
    assert_null(call.payload);
    assert_true(strlen(error.message) > 0);
}

static void
test_codes(void **state) {
    (void)state;
    /* connectrpc.com/docs/protocol, "Error codes". */
    static const struct {
        dossier_status_t code;
        const char *name;
        int status;
    } table[] = {
        {DOSSIER_CANCELLED, "canceled", 499},
        {DOSSIER_UNKNOWN, "unknown", 500},
        {DOSSIER_INVALID_ARGUMENT, "invalid_argument", 400},
        {DOSSIER_DEADLINE_EXCEEDED, "deadline_exceeded", 504},
        {DOSSIER_NOT_FOUND, "not_found", 404},
        {DOSSIER_ALREADY_EXISTS, "already_exists", 409},
        {DOSSIER_PERMISSION_DENIED, "permission_denied", 403},
        {DOSSIER_RESOURCE_EXHAUSTED, "resource_exhausted", 429},
        {DOSSIER_FAILED_PRECONDITION, "failed_precondition", 400},
        {DOSSIER_ABORTED, "aborted", 409},
        {DOSSIER_OUT_OF_RANGE, "out_of_range", 400},
        {DOSSIER_UNIMPLEMENTED, "unimplemented", 501},
        {DOSSIER_INTERNAL, "internal", 500},
        {DOSSIER_UNAVAILABLE, "unavailable", 503},
        {DOSSIER_DATA_LOSS, "data_loss", 500},
        {DOSSIER_UNAUTHENTICATED, "unauthenticated", 401},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_string_equal(connect_code_name(table[i].code), table[i].name);
        assert_int_equal(connect_http_status(table[i].code), table[i].status);
    }
    assert_string_equal(connect_code_name(99), "unknown");
    assert_int_equal(connect_http_status(-1), 500);
}

static void
test_post(void **state) {
    (void)state;
    connect_http_t http = s_post("Get", "application/json; charset=utf-8",
                                 "{\"id\": \"tip-2004-aze\"}");
    http.timeout_ms = "2500";
    http.protocol_version = "1";
    connect_call_t call = {0};
    connect_error_t error = {0};
    assert_int_equal(connect_request_parse(&http, &call, &error), DOSSIER_OK);
    assert_string_equal(call.spec->full_name, "dossier.v1.Reports/Get");
    assert_int_equal(call.codec, CONNECT_CODEC_JSON);
    assert_int_equal(call.timeout_ms, 2500);
    assert_false(call.get);
    Dossier__V1__GetRequest *get =
        dossier__v1__get_request__unpack(NULL, call.payload_size, call.payload);
    assert_non_null(get);
    assert_string_equal(get->id, "tip-2004-aze");
    dossier__v1__get_request__free_unpacked(get, NULL);
    connect_call_clear(&call);

    /* Binary goes through as it came; an empty body is the default. */
    http = s_post("Health", "application/proto", NULL);
    assert_int_equal(connect_request_parse(&http, &call, &error), DOSSIER_OK);
    assert_int_equal(call.codec, CONNECT_CODEC_PROTO);
    assert_int_equal(call.payload_size, 0);
    connect_call_clear(&call);

    /* Reply bodies: binary as is, JSON through the codec. */
    Dossier__V1__Report report = DOSSIER__V1__REPORT__INIT;
    report.id = "r1";
    report.version = 7;
    uint8_t packed[64];
    size_t n = dossier__v1__report__pack(&report, packed);
    const ProtobufCMethodDescriptor *method =
        connect_route("/dossier.v1.Reports/Get?x", NULL);
    assert_non_null(method);
    size_t size = 0;
    uint8_t *body =
        connect_reply_body(method, CONNECT_CODEC_JSON, packed, n, &size);
    assert_non_null(body);
    assert_int_equal(size, strlen("{\"id\":\"r1\",\"version\":\"7\"}"));
    assert_memory_equal(body, "{\"id\":\"r1\",\"version\":\"7\"}", size);
    free(body);
}

static void
test_refusals(void **state) {
    (void)state;
    connect_http_t http = s_post("Nope", "application/json", "{}");
    s_refused(&http, 404, DOSSIER_UNIMPLEMENTED);
    http = s_post("Get", "application/json", "{}");
    http.uri = "/other.v1.Service/Get";
    s_refused(&http, 404, DOSSIER_UNIMPLEMENTED);
    http = s_post("Get", "application/json", "{}");
    http.verb = "DELETE";
    s_refused(&http, 405, DOSSIER_UNIMPLEMENTED);
    http = s_post("Get", "text/json", "{}");
    s_refused(&http, 415, DOSSIER_UNIMPLEMENTED);
    http = s_post("Get", "application/proto; charset=utf-8", "");
    s_refused(&http, 415, DOSSIER_UNIMPLEMENTED);
    http = s_post("Get", NULL, "{}");
    s_refused(&http, 415, DOSSIER_UNIMPLEMENTED);
    http = s_post("Get", "application/json", "{}");
    http.content_encoding = "br";
    s_refused(&http, 501, DOSSIER_UNIMPLEMENTED);
    http.content_encoding = "identity";
    http.protocol_version = "2";
    s_refused(&http, 400, DOSSIER_INVALID_ARGUMENT);
    http.protocol_version = NULL;
    static const char *const timeouts[] = {"", "1.5", "-3", " 4",
                                           "12345678901"};
    for (size_t i = 0; i < 5; i++) {
        http.timeout_ms = timeouts[i];
        s_refused(&http, 400, DOSSIER_INVALID_ARGUMENT);
    }
    http = s_post("Get", "application/json", "{\"id\":");
    s_refused(&http, 400, DOSSIER_INVALID_ARGUMENT);
    http = s_post("Get", "application/json", "{\"idd\":\"x\"}");
    s_refused(&http, 400, DOSSIER_INVALID_ARGUMENT);
    http = s_post("Get", "application/proto", "\xff\xff\xff");
    s_refused(&http, 400, DOSSIER_INVALID_ARGUMENT);
    http = s_post("Get", "application/json", "{\"id\":\"x\"}");
    http.max_payload = 2;
    s_refused(&http, 429, DOSSIER_RESOURCE_EXHAUSTED);
}

static void
test_get(void **state) {
    (void)state;
    /* '+' is a space in a query, %XX an escape. */
    connect_http_t http = {
        .verb = "GET",
        .uri = "/dossier.v1.Reports/Search?encoding=json&message=%7B%22query"
               "%22%3A%22forced+labor%22%7D&connect=v1",
        .max_payload = 4096};
    connect_call_t call = {0};
    connect_error_t error = {0};
    assert_int_equal(connect_request_parse(&http, &call, &error), DOSSIER_OK);
    assert_true(call.get);
    Dossier__V1__SearchRequest *search = dossier__v1__search_request__unpack(
        NULL, call.payload_size, call.payload);
    assert_non_null(search);
    assert_string_equal(search->query, "forced labor");
    dossier__v1__search_request__free_unpacked(search, NULL);
    connect_call_clear(&call);

    /* GetRequest{id: "ab"} = 0a 02 61 62, URL-safe base64 unpadded. */
    http.uri = "/dossier.v1.Reports/Get?message=CgJhYg&base64=1&encoding=proto";
    assert_int_equal(connect_request_parse(&http, &call, &error), DOSSIER_OK);
    assert_int_equal(call.payload_size, 4);
    assert_memory_equal(call.payload,
                        "\x0a\x02"
                        "ab",
                        4);
    connect_call_clear(&call);

    http.uri = "/dossier.v1.Reports/Put?encoding=json&message=%7B%7D";
    s_refused(&http, 405, DOSSIER_UNIMPLEMENTED);
    http.uri = "/dossier.v1.Reports/Get?encoding=json&message=%7";
    s_refused(&http, 400, DOSSIER_INVALID_ARGUMENT);
    http.uri = "/dossier.v1.Reports/Get?encoding=xml&message=x";
    s_refused(&http, 415, DOSSIER_UNIMPLEMENTED);
    http.uri = "/dossier.v1.Reports/Get?encoding=proto&message=C&base64=1";
    s_refused(&http, 400, DOSSIER_INVALID_ARGUMENT);
    http.uri = "/dossier.v1.Reports/Get?encoding=json&message=%7B%7D"
               "&compression=gzip";
    s_refused(&http, 501, DOSSIER_UNIMPLEMENTED);
    http.uri = "/dossier.v1.Reports/Get?encoding=json";
    s_refused(&http, 400, DOSSIER_INVALID_ARGUMENT);
}

static void
test_error_body(void **state) {
    (void)state;
    char *text =
        connect_error_body(DOSSIER_ABORTED, "report r1 is at 300", 300);
    assert_non_null(text);
    json_t *root = json_loads(text, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "code")),
                        "aborted");
    json_t *detail = json_array_get(json_object_get(root, "details"), 0);
    assert_string_equal(json_string_value(json_object_get(detail, "type")),
                        "google.protobuf.UInt64Value");
    /* UInt64Value{value: 300} = 08 ac 02, base64 without padding. */
    assert_string_equal(json_string_value(json_object_get(detail, "value")),
                        "CKwC");
    json_decref(root);
    free(text);
    text = connect_error_body(DOSSIER_NOT_FOUND, "", 0);
    assert_string_equal(text, "{\"code\":\"not_found\"}");
    free(text);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),      cmocka_unit_test(test_post),
        cmocka_unit_test(test_refusals),   cmocka_unit_test(test_get),
        cmocka_unit_test(test_error_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
