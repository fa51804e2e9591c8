/*  test_server_badinput.c: hostile and malformed input against a real
    dossierd. Each case checks the documented answer (or the documented
    silence) and is followed by a normal call that must still work.

    Frames are sent from raw ZeroMQ DEALER sockets, so the test controls
    every frame: a DEALER's [empty][body] arrives at the ROUTER as
    [identity][empty][body], the well-formed shape. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "dossier/v1/reports.pb-c.h"
#include "testserver.h"

#define M(name) "dossier.v1.Reports/" name
#define S_TIMEOUT_MS 5000

static testserver_t *s_server;
static void *s_context;

static int
s_setup(void **state) {
    (void)state;
    s_context = zmq_ctx_new();
    /* Small limits so the oversized and in-flight cases are cheap. */
    s_server = testserver_start("--workers 1 --max-message-bytes 65536 "
                                "--max-in-flight 8 --max-page-size 1000");
    return s_server && s_context ? 0 : -1;
}

static int
s_teardown(void **state) {
    (void)state;
    testserver_stop(&s_server);
    zmq_ctx_term(s_context);
    return 0;
}

static const char *
s_endpoint(void) {
    return testserver_endpoint(s_server);
}

static void *
s_dealer(void) {
    void *socket = zmq_socket(s_context, ZMQ_DEALER);
    assert_non_null(socket);
    int linger = 0;
    int timeout = S_TIMEOUT_MS;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    assert_int_equal(zmq_connect(socket, s_endpoint()), 0);
    return socket;
}

/*  Sends n frames; sizes[i] bytes of frames[i]. */
static void
s_send(void *socket, size_t n, const void *const *frames, const size_t *sizes) {
    for (size_t i = 0; i < n; i++) {
        int flags = i + 1 < n ? ZMQ_SNDMORE : 0;
        assert_int_equal(zmq_send(socket, frames[i], sizes[i], flags),
                         (int)sizes[i]);
    }
}

/*  Sends [empty][body]: the well-formed DEALER message. */
static void
s_send_body(void *socket, const void *body, size_t size) {
    const void *frames[] = {"", body};
    size_t sizes[] = {0, size};
    s_send(socket, 2, frames, sizes);
}

/*  Receives [empty][Response] within timeout_ms; NULL when nothing came. */
static Dossier__V1__Response *
s_recv(void *socket, int timeout_ms) {
    zmq_setsockopt(socket, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_msg_t frames[2];
    size_t n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, socket, 0) < 0) {
            assert_int_equal(errno, EAGAIN);
            assert_int_equal(n, 0);
            zmq_msg_close(&part);
            return NULL;
        }
        more = zmq_msg_more(&part);
        assert_true(n < 2);
        frames[n++] = part;
    }
    assert_int_equal(n, 2);
    assert_int_equal(zmq_msg_size(&frames[0]), 0);
    Dossier__V1__Response *response = dossier__v1__response__unpack(
        NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]));
    zmq_msg_close(&frames[0]);
    zmq_msg_close(&frames[1]);
    assert_non_null(response);
    return response;
}

/*  The server still answers a normal call over a fresh REQ socket. */
static void
s_still_serving(void) {
    Dossier__V1__HealthRequest request = DOSSIER__V1__HEALTH_REQUEST__INIT;
    Dossier__V1__HealthResponse *health =
        (Dossier__V1__HealthResponse *)testserver_expect(
            s_endpoint(), M("Health"), &request.base, 0,
            &dossier__v1__health_response__descriptor);
    assert_int_equal(health->status,
                     DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    dossier__v1__health_response__free_unpacked(health, NULL);
}

static void
s_expect(Dossier__V1__Response *response, uint64_t id, int code) {
    assert_non_null(response);
    if (response->code != code) {
        fail_msg("expected %s, got %s: %s", dossier_strerror(code),
                 dossier_strerror(response->code), response->message);
    }
    assert_int_equal(response->id, id);
    if (code != 0) {
        assert_true(strlen(response->message) > 0);
        assert_int_equal(response->payload.len, 0);
    }
}

static void
test_garbage_body(void **state) {
    (void)state;
    void *socket = s_dealer();
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01,
                                      0x02, 0xde, 0xad, 0xbe, 0xef};
    s_send_body(socket, garbage, sizeof garbage);
    Dossier__V1__Response *response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 0, 3);
    dossier__v1__response__free_unpacked(response, NULL);
    zmq_close(socket);
    s_still_serving();
}

static void
test_truncated_request(void **state) {
    (void)state;
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = (char *)"some-record-id-that-is-long-enough";
    size_t size;
    uint8_t *body = testserver_pack_request(77, M("Get"), &get.base, 0, &size);
    void *socket = s_dealer();
    /* Cut inside the payload field: its length prefix now overruns. */
    s_send_body(socket, body, size - 10);
    Dossier__V1__Response *response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 0, 3);
    dossier__v1__response__free_unpacked(response, NULL);
    free(body);
    zmq_close(socket);
    s_still_serving();
}

static void
test_wrong_payload_type(void **state) {
    (void)state;
    void *socket = s_dealer();
    /* ChangesRequest.year (varint field 1) where GetRequest.id (string
       field 1) is expected: does not decode. */
    Dossier__V1__ChangesRequest changes = DOSSIER__V1__CHANGES_REQUEST__INIT;
    changes.year = 2004;
    size_t size;
    uint8_t *body =
        testserver_pack_request(78, M("Get"), &changes.base, 0, &size);
    s_send_body(socket, body, size);
    Dossier__V1__Response *response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 78, 3);
    assert_non_null(strstr(response->message, "dossier.v1.GetRequest"));
    dossier__v1__response__free_unpacked(response, NULL);
    free(body);

    /* A PutRequest where a GetRequest is expected decodes (field 1 is
       length-delimited in both) but its "id" is binary: refused. */
    Dossier__V1__Report report = DOSSIER__V1__REPORT__INIT;
    report.id = (char *)"x";
    report.year = 2004;
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &report;
    body = testserver_pack_request(79, M("Get"), &put.base, 0, &size);
    s_send_body(socket, body, size);
    response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 79, 3);
    dossier__v1__response__free_unpacked(response, NULL);
    free(body);
    zmq_close(socket);
    s_still_serving();
}

static void
test_zero_length_frames(void **state) {
    (void)state;
    void *socket = s_dealer();
    /* [empty][empty]: a zero-length body. */
    s_send_body(socket, "", 0);
    Dossier__V1__Response *response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 0, 3);
    dossier__v1__response__free_unpacked(response, NULL);

    /* One zero-length frame: a delimiter and no body. */
    const void *frames[] = {""};
    size_t sizes[] = {0};
    s_send(socket, 1, frames, sizes);
    response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 0, 3);
    dossier__v1__response__free_unpacked(response, NULL);
    zmq_close(socket);
    s_still_serving();
}

static void
test_extra_and_missing_frames(void **state) {
    (void)state;
    Dossier__V1__HealthRequest health = DOSSIER__V1__HEALTH_REQUEST__INIT;
    size_t size;
    uint8_t *body =
        testserver_pack_request(80, M("Health"), &health.base, 0, &size);
    void *socket = s_dealer();

    /* [empty][body][extra] */
    const void *extra[] = {"", body, "extra"};
    size_t extra_sizes[] = {0, size, 5};
    s_send(socket, 3, extra, extra_sizes);
    Dossier__V1__Response *response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 0, 3);
    dossier__v1__response__free_unpacked(response, NULL);

    /* Many frames. */
    const void *many[8];
    size_t many_sizes[8];
    for (size_t i = 0; i < 8; i++) {
        many[i] = i == 0 ? "" : (const void *)body;
        many_sizes[i] = i == 0 ? 0 : size;
    }
    s_send(socket, 8, many, many_sizes);
    response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 0, 3);
    dossier__v1__response__free_unpacked(response, NULL);

    /* [body] without the delimiter. */
    const void *bare[] = {body};
    size_t bare_sizes[] = {size};
    s_send(socket, 1, bare, bare_sizes);
    response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 0, 3);
    assert_non_null(strstr(response->message, "delimiter"));
    dossier__v1__response__free_unpacked(response, NULL);

    /* [not-empty][body]: a delimiter that is not empty. */
    const void *bad_delimiter[] = {"x", body};
    size_t bad_sizes[] = {1, size};
    s_send(socket, 2, bad_delimiter, bad_sizes);
    response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 0, 3);
    dossier__v1__response__free_unpacked(response, NULL);

    /* The same socket still works with a proper message. */
    s_send_body(socket, body, size);
    response = s_recv(socket, S_TIMEOUT_MS);
    s_expect(response, 80, 0);
    dossier__v1__response__free_unpacked(response, NULL);
    free(body);
    zmq_close(socket);
    s_still_serving();
}

static void
test_oversized_message(void **state) {
    (void)state;
    /* 128 KiB over a 64 KiB max_message_bytes: libzmq drops the
       connection; no reply, and the server keeps serving others. */
    size_t size = 128 * 1024;
    uint8_t *big = malloc(size);
    assert_non_null(big);
    memset(big, 'x', size);
    void *socket = s_dealer();
    s_send_body(socket, big, size);
    assert_null(s_recv(socket, 1000));
    zmq_close(socket);
    free(big);
    s_still_serving();

    /* A valid Request just over the limit: also dropped. */
    Dossier__V1__ImportTextRequest import =
        DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
    char *text = malloc(70000);
    assert_non_null(text);
    memset(text, 'a', 69999);
    text[69999] = '\0';
    import.text = text;
    Dossier__V1__Response *response = NULL;
    assert_int_equal(testserver_call(s_endpoint(), M("ImportText"),
                                     &import.base, &response, 1000),
                     4 /* DOSSIER_DEADLINE_EXCEEDED: no reply */);
    free(text);
    s_still_serving();
}

static void
test_huge_page_size(void **state) {
    (void)state;
    Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
    list.page_size = 4000000000u;
    Dossier__V1__Response *response = NULL;
    assert_int_equal(
        testserver_call(s_endpoint(), M("List"), &list.base, &response, 5000),
        0);
    assert_int_equal(response->code, 3);
    assert_non_null(strstr(response->message, "max_page_size"));
    dossier__v1__response__free_unpacked(response, NULL);
    list.page_size = 1001;
    testserver_expect(s_endpoint(), M("List"), &list.base, 3, NULL);
    list.page_size = 1000;
    protobuf_c_message_free_unpacked(
        testserver_expect(s_endpoint(), M("List"), &list.base, 0,
                          &dossier__v1__list_response__descriptor),
        NULL);
    s_still_serving();
}

static void
test_unknown_method(void **state) {
    (void)state;
    Dossier__V1__Response *response = NULL;
    assert_int_equal(
        testserver_call(s_endpoint(), M("Nope"), NULL, &response, 5000), 0);
    assert_int_equal(response->code, 12);
    assert_string_equal(response->message,
                        "unknown method dossier.v1.Reports/Nope; call "
                        "dossier.v1.Reports/Describe for the list");
    dossier__v1__response__free_unpacked(response, NULL);

    /* An empty method name is a bad request, not an unknown method. */
    assert_int_equal(testserver_call(s_endpoint(), "", NULL, &response, 5000),
                     0);
    assert_int_equal(response->code, 3);
    dossier__v1__response__free_unpacked(response, NULL);

    /* gRPC's leading slash is accepted. */
    Dossier__V1__HealthRequest health = DOSSIER__V1__HEALTH_REQUEST__INIT;
    protobuf_c_message_free_unpacked(
        testserver_expect(s_endpoint(), "/" M("Health"), &health.base, 0,
                          &dossier__v1__health_response__descriptor),
        NULL);
    s_still_serving();
}

/*  Puts n records of about 8 KiB each, pipelined in windows. */
static void
s_fill(size_t n) {
    static char paragraph[1024];
    memset(paragraph, 'p', sizeof paragraph - 1);
    char *body[8];
    for (size_t i = 0; i < 8; i++) {
        body[i] = paragraph;
    }
    void *socket = s_dealer();
    size_t sent = 0, received = 0;
    while (received < n) {
        while (sent < n && sent - received < 8) {
            char id[32];
            snprintf(id, sizeof id, "bad-fill-%04zu", sent);
            Dossier__V1__Report report = DOSSIER__V1__REPORT__INIT;
            report.id = id;
            report.country = (char *)"Narnia";
            report.year = 2000 + (uint32_t)(sent % 20);
            report.body = body;
            report.n_body = 8;
            Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
            put.report = &report;
            size_t size;
            uint8_t *packed = testserver_pack_request(1000 + sent, M("Put"),
                                                      &put.base, 0, &size);
            s_send_body(socket, packed, size);
            free(packed);
            sent++;
        }
        Dossier__V1__Response *response = s_recv(socket, S_TIMEOUT_MS);
        assert_non_null(response);
        if (response->code != 0) {
            fail_msg("fill: %s", response->message);
        }
        dossier__v1__response__free_unpacked(response, NULL);
        received++;
    }
    zmq_close(socket);
}

static void
test_past_deadline(void **state) {
    (void)state;
    s_fill(300);
    /* With one worker, four full 300-record Lists (about 2.4 MB each)
       keep it busy for milliseconds; Lists with a 1 ms deadline queued
       behind them have expired when the worker could start them. */
    void *socket = s_dealer();
    Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
    list.page_size = 1000;
    list.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    size_t size;
    for (uint64_t id = 1; id <= 7; id++) {
        uint8_t *body = testserver_pack_request(id, M("List"), &list.base,
                                                id <= 4 ? 0 : 1, &size);
        s_send_body(socket, body, size);
        free(body);
    }
    int ok = 0, expired = 0;
    for (int i = 0; i < 7; i++) {
        Dossier__V1__Response *response = s_recv(socket, 20000);
        assert_non_null(response);
        if (response->id <= 4) {
            s_expect(response, response->id, 0);
            ok++;
        } else {
            s_expect(response, response->id, 4);
            expired++;
        }
        dossier__v1__response__free_unpacked(response, NULL);
    }
    assert_int_equal(ok, 4);
    assert_int_equal(expired, 3);
    zmq_close(socket);

    /* A generous deadline is not a problem. */
    socket = s_dealer();
    uint8_t *body =
        testserver_pack_request(9, M("List"), &list.base, 60000, &size);
    s_send_body(socket, body, size);
    free(body);
    Dossier__V1__Response *response = s_recv(socket, 20000);
    s_expect(response, 9, 0);
    dossier__v1__response__free_unpacked(response, NULL);
    zmq_close(socket);
    s_still_serving();
}

static void
test_in_flight_limit(void **state) {
    (void)state;
    /* 40 pipelined Lists from one connection, max_in_flight 8: every
       request is answered, some with RESOURCE_EXHAUSTED, none lost. */
    void *socket = s_dealer();
    Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
    list.page_size = 1000;
    list.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    size_t size;
    uint8_t *body = testserver_pack_request(0, M("List"), &list.base, 0, &size);
    for (int i = 0; i < 40; i++) {
        s_send_body(socket, body, size);
    }
    free(body);
    int ok = 0, exhausted = 0;
    for (int i = 0; i < 40; i++) {
        Dossier__V1__Response *response = s_recv(socket, 20000);
        assert_non_null(response);
        if (response->code == 0) {
            ok++;
        } else {
            s_expect(response, 0, 8);
            exhausted++;
        }
        dossier__v1__response__free_unpacked(response, NULL);
    }
    assert_true(ok >= 8);
    assert_true(exhausted >= 1);
    zmq_close(socket);
    s_still_serving();
}

static void
test_random_frames(void **state) {
    (void)state;
    /* Random frame sets (fixed seed): every one is answered or dropped,
       and the server survives them all. */
    unsigned seed = 20261127;
    void *socket = s_dealer();
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + (size_t)(rand_r(&seed) % 4);
        uint8_t data[4][96];
        const void *frames[4];
        size_t sizes[4];
        for (size_t i = 0; i < n; i++) {
            sizes[i] = (size_t)(rand_r(&seed) % 96);
            for (size_t j = 0; j < sizes[i]; j++) {
                data[i][j] = (uint8_t)rand_r(&seed);
            }
            frames[i] = data[i];
        }
        if (rand_r(&seed) % 2) {
            sizes[0] = 0; /* mostly well-delimited, hostile body */
        }
        s_send(socket, n, frames, sizes);
    }
    /* Drain what came back; each reply is a well-formed Response. */
    Dossier__V1__Response *response;
    int replies = 0;
    while ((response = s_recv(socket, 500))) {
        dossier__v1__response__free_unpacked(response, NULL);
        replies++;
    }
    assert_true(replies > 0);
    zmq_close(socket);
    s_still_serving();

    /* Malformed messages are logged with the peer's address, but at
       most 10 a second: the ~260 here cannot flood the log. */
    FILE *log = fopen(testserver_logpath(s_server), "r");
    assert_non_null(log);
    char line[1024];
    int logged = 0;
    while (fgets(line, sizeof line, log)) {
        logged += strstr(line, "WARN dossierd: malformed message from "
                               "127.0.0.1") != NULL;
    }
    fclose(log);
    printf("# %d malformed-message warnings logged\n", logged);
    assert_true(logged >= 1);
    assert_true(logged < 80);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_body),
        cmocka_unit_test(test_truncated_request),
        cmocka_unit_test(test_wrong_payload_type),
        cmocka_unit_test(test_zero_length_frames),
        cmocka_unit_test(test_extra_and_missing_frames),
        cmocka_unit_test(test_oversized_message),
        cmocka_unit_test(test_huge_page_size),
        cmocka_unit_test(test_unknown_method),
        cmocka_unit_test(test_past_deadline),
        cmocka_unit_test(test_in_flight_limit),
        cmocka_unit_test(test_random_frames),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
