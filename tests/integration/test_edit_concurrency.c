/*  test_edit_concurrency.c: safe concurrent edits against a live dossierd.

    16 threads, each with its own libdossier client, increment one counter
    (the title of one record) by compare-and-set: read the version, put
    with expected_version, and on ABORTED read again. The count must come
    out exact and the version must be 1 + the successful puts. ABORTED
    must name the current version, in its message and in
    Response.current_version. A connection over max_in_flight gets
    RESOURCE_EXHAUSTED for the excess writes, which are applied once
    when sent again with their keys. A failure inside a thread is
    recorded and reported by the main thread, since cmocka's asserts
    belong there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <pthread.h>

#include <zmq.h>

#include "dossier.h"
#include "testassert.h"
#include "testclock.h"
#include "testserver.h"

#define S_THREADS 16
#define S_INCREMENTS 10     /* successful puts per thread */
#define S_MAX_ATTEMPTS 2000 /* per thread: bounds the retry loop */
#define S_TIME_LIMIT_MS 120000
#define S_ID "counter"

static Dossier__V1__Report
s_report(const char *id, const char *title) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = (char *)title;
    r.country = "Azerbaijan";
    r.country_code = "AZE";
    r.year = 2004;
    return r;
}

static dossier_client_t *
s_client(const char *endpoint, dossier_error_t *err) {
    dossier_options_t o;
    dossier_options_init(&o);
    o.timeout_ms = 30000; /* 16 writers on a loaded 2-core machine */
    dossier_client_t *c = NULL;
    return dossier_client_new(endpoint, &o, &c, err) == DOSSIER_OK ? c : NULL;
}

typedef struct {
    const char *endpoint;
    int succeeded; /* successful puts */
    int aborted;   /* ABORTED replies seen */
    char failure[512];
} s_worker_t;

static void *
s_worker(void *arg) {
    s_worker_t *w = arg;
    dossier_error_t err = {0};
    dossier_client_t *c = s_client(w->endpoint, &err);
    worker_check(w, c, "client_new: %s", err.message);
    int64_t give_up = testclock_now_ms() + S_TIME_LIMIT_MS;
    for (int attempt = 0;
         w->succeeded < S_INCREMENTS && attempt < S_MAX_ATTEMPTS; attempt++) {
        worker_check(w, testclock_now_ms() < give_up,
                     "out of time after %d puts", w->succeeded);
        Dossier__V1__Report *got = NULL;
        dossier_status_t rc = dossier_get(c, S_ID, &got, &err);
        worker_check(w, rc == DOSSIER_OK, "get: %s", err.message);
        uint64_t version = got->version;
        long count = strtol(got->title, NULL, 10);
        dossier_report_free(got);
        char title[32];
        snprintf(title, sizeof title, "%ld", count + 1);
        Dossier__V1__Report r = s_report(S_ID, title);
        rc = dossier_put(c, &r, version, false, NULL, &err);
        if (rc == DOSSIER_OK) {
            w->succeeded++;
            continue;
        }
        worker_check(w, rc == DOSSIER_ABORTED, "put: %s: %s",
                     dossier_strerror(rc), err.message);
        w->aborted++;
        uint64_t current = dossier_client_current_version(c);
        worker_check(w, current > version,
                     "ABORTED with current_version %llu, read %llu: %s",
                     (unsigned long long)current, (unsigned long long)version,
                     err.message);
        char named[64];
        snprintf(named, sizeof named, "is at version %llu",
                 (unsigned long long)current);
        worker_check(w, strstr(err.message, named), "message '%s' lacks '%s'",
                     err.message, named);
    }
    worker_check(w, w->succeeded == S_INCREMENTS, "only %d puts in %d attempts",
                 w->succeeded, S_MAX_ATTEMPTS);
done:
    dossier_client_destroy(&c);
    return NULL;
}

static void
test_compare_and_set_counter(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    dossier_error_t err = {0};
    dossier_client_t *c = s_client(endpoint, &err);
    assert_non_null(c);
    Dossier__V1__Report r = s_report(S_ID, "0");
    assert_ok(dossier_put(c, &r, 0, true, NULL, &err), &err);

    s_worker_t workers[S_THREADS];
    pthread_t threads[S_THREADS];
    for (int i = 0; i < S_THREADS; i++) {
        workers[i] = (s_worker_t){.endpoint = endpoint};
        assert_int_equal(
            pthread_create(&threads[i], NULL, s_worker, &workers[i]), 0);
    }
    int puts = 0, aborted = 0;
    for (int i = 0; i < S_THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    for (int i = 0; i < S_THREADS; i++) {
        if (workers[i].failure[0]) {
            fail_msg("thread %d: %s", i, workers[i].failure);
        }
        puts += workers[i].succeeded;
        aborted += workers[i].aborted;
    }
    assert_int_equal(puts, S_THREADS * S_INCREMENTS);
    Dossier__V1__Report *got = NULL;
    assert_ok(dossier_get(c, S_ID, &got, &err), &err);
    assert_string_equal(got->title, "160");
    assert_int_equal(got->version, 1 + (uint64_t)puts);
    dossier_report_free(got);
    print_message("%d puts, %d ABORTED and retried\n", puts, aborted);
    dossier_client_destroy(&c);
    testserver_stop(&server);
}

/*  A raw Put or Delete: current_version travels in the Response. */
static void
test_aborted_names_current_version(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    Dossier__V1__Report r = s_report("cas-1", "first");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    for (int i = 0; i < 3; i++) { /* versions 1, 2, 3 */
        Dossier__V1__Response *resp = NULL;
        assert_int_equal(testserver_call(endpoint, "dossier.v1.Reports/Put",
                                         &put.base, &resp, 5000),
                         0);
        assert_int_equal(resp->code, 0);
        assert_int_equal(resp->current_version, 0);
        dossier__v1__response__free_unpacked(resp, NULL);
    }
    put.expected_version = 2;
    Dossier__V1__Response *resp = NULL;
    assert_int_equal(testserver_call(endpoint, "dossier.v1.Reports/Put",
                                     &put.base, &resp, 5000),
                     0);
    assert_int_equal(resp->code, DOSSIER_ABORTED);
    assert_int_equal(resp->current_version, 3);
    assert_non_null(strstr(resp->message, "is at version 3"));
    assert_int_equal(resp->payload.len, 0);
    dossier__v1__response__free_unpacked(resp, NULL);

    Dossier__V1__DeleteRequest del = DOSSIER__V1__DELETE_REQUEST__INIT;
    del.id = "cas-1";
    del.expected_version = 7;
    assert_int_equal(testserver_call(endpoint, "dossier.v1.Reports/Delete",
                                     &del.base, &resp, 5000),
                     0);
    assert_int_equal(resp->code, DOSSIER_ABORTED);
    assert_int_equal(resp->current_version, 3);
    assert_non_null(strstr(resp->message, "is at version 3"));
    dossier__v1__response__free_unpacked(resp, NULL);

    /* A record that does not exist is at version 0. */
    del.id = "cas-missing";
    del.expected_version = 1;
    assert_int_equal(testserver_call(endpoint, "dossier.v1.Reports/Delete",
                                     &del.base, &resp, 5000),
                     0);
    assert_int_equal(resp->code, DOSSIER_ABORTED);
    assert_int_equal(resp->current_version, 0);
    assert_non_null(strstr(resp->message, "does not exist"));
    dossier__v1__response__free_unpacked(resp, NULL);

    /* The right version deletes. */
    del.id = "cas-1";
    del.expected_version = 3;
    assert_int_equal(testserver_call(endpoint, "dossier.v1.Reports/Delete",
                                     &del.base, &resp, 5000),
                     0);
    assert_int_equal(resp->code, 0);
    dossier__v1__response__free_unpacked(resp, NULL);
    testserver_stop(&server);
}

/*  The next reply on a DEALER socket; the caller frees it. */
static Dossier__V1__Response *
s_recv_response(void *socket) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_int_equal(zmq_msg_recv(&msg, socket, 0), 0); /* delimiter */
    assert_true(zmq_msg_recv(&msg, socket, 0) >= 0);
    Dossier__V1__Response *resp = dossier__v1__response__unpack(
        NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    assert_non_null(resp);
    return resp;
}

/*  max_in_flight for writes: one connection pipelines 40 Puts of one
    record (each with its own idempotency key) with max_in_flight 4.
    Every one is answered; those over the limit get RESOURCE_EXHAUSTED,
    which is not remembered under their key, so sending them again with
    the same keys applies them. Another connection is served meanwhile. */
static void
test_in_flight_limit_for_writes(void **state) {
    (void)state;
    testserver_t *server = testserver_start("--max-in-flight 4");
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    void *context = zmq_ctx_new();
    void *socket = zmq_socket(context, ZMQ_DEALER);
    int linger = 0, timeout = 20000;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    assert_int_equal(zmq_connect(socket, endpoint), 0);

    enum { N = 40 };
    uint8_t *bodies[N];
    size_t sizes[N];
    Dossier__V1__Report r = s_report("flight-1", "x");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    uint8_t payload[256];
    assert_true(dossier__v1__put_request__get_packed_size(&put) <=
                sizeof payload);
    size_t payload_size = dossier__v1__put_request__pack(&put, payload);
    for (int i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "flight-key-%d", i);
        Dossier__V1__Request__MetadataEntry entry =
            DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT;
        Dossier__V1__Request__MetadataEntry *entries[1] = {&entry};
        entry.key = "idempotency-key";
        entry.value = key;
        Dossier__V1__Request request = DOSSIER__V1__REQUEST__INIT;
        request.id = (uint64_t)i + 1;
        request.method = "dossier.v1.Reports/Put";
        request.payload.data = payload;
        request.payload.len = payload_size;
        request.metadata = entries;
        request.n_metadata = 1;
        sizes[i] = dossier__v1__request__get_packed_size(&request);
        bodies[i] = malloc(sizes[i]);
        assert_non_null(bodies[i]);
        dossier__v1__request__pack(&request, bodies[i]);
    }
    bool refused[N] = {false};
    int ok = 0, exhausted = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(zmq_send(socket, "", 0, ZMQ_SNDMORE), 0);
        assert_int_equal(zmq_send(socket, bodies[i], sizes[i], 0),
                         (int)sizes[i]);
    }
    /* Meanwhile another connection is served. */
    Dossier__V1__HealthRequest health = DOSSIER__V1__HEALTH_REQUEST__INIT;
    testserver_expect(endpoint, "dossier.v1.Reports/Health", &health.base, 0,
                      NULL);
    for (int k = 0; k < N; k++) {
        Dossier__V1__Response *resp = s_recv_response(socket);
        assert_true(resp->id >= 1 && resp->id <= N);
        if (resp->code == DOSSIER_RESOURCE_EXHAUSTED) {
            assert_non_null(strstr(resp->message, "max_in_flight"));
            refused[resp->id - 1] = true;
            exhausted++;
        } else {
            assert_int_equal(resp->code, 0);
            ok++;
        }
        dossier__v1__response__free_unpacked(resp, NULL);
    }
    assert_true(exhausted >= 1);
    assert_true(ok >= 4);
    /* The refused ones, sent again one at a time with their keys. */
    for (int i = 0; i < N; i++) {
        if (!refused[i]) {
            continue;
        }
        assert_int_equal(zmq_send(socket, "", 0, ZMQ_SNDMORE), 0);
        assert_int_equal(zmq_send(socket, bodies[i], sizes[i], 0),
                         (int)sizes[i]);
        Dossier__V1__Response *resp = s_recv_response(socket);
        assert_int_equal(resp->code, 0);
        dossier__v1__response__free_unpacked(resp, NULL);
        ok++;
    }
    assert_int_equal(ok, N);
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = "flight-1";
    Dossier__V1__Report *got = (Dossier__V1__Report *)testserver_expect(
        endpoint, "dossier.v1.Reports/Get", &get.base, 0,
        &dossier__v1__report__descriptor);
    assert_int_equal(got->version, N); /* every key applied exactly once */
    dossier__v1__report__free_unpacked(got, NULL);
    /* And resending all 40 once more changes nothing. */
    for (int i = 0; i < N; i++) {
        assert_int_equal(zmq_send(socket, "", 0, ZMQ_SNDMORE), 0);
        assert_int_equal(zmq_send(socket, bodies[i], sizes[i], 0),
                         (int)sizes[i]);
        Dossier__V1__Response *resp = s_recv_response(socket);
        assert_int_equal(resp->code, 0);
        dossier__v1__response__free_unpacked(resp, NULL);
        free(bodies[i]);
    }
    got = (Dossier__V1__Report *)testserver_expect(
        endpoint, "dossier.v1.Reports/Get", &get.base, 0,
        &dossier__v1__report__descriptor);
    assert_int_equal(got->version, N);
    dossier__v1__report__free_unpacked(got, NULL);
    zmq_close(socket);
    zmq_ctx_term(context);
    testserver_stop(&server);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aborted_names_current_version),
        cmocka_unit_test(test_compare_and_set_counter),
        cmocka_unit_test(test_in_flight_limit_for_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
