/*  test_edit_concurrency.c: safe concurrent edits against a live dossierd.

    16 threads, each with its own libdossier client, increment one counter
    (the title of one record) by compare-and-set: read the version, put
    with expected_version, and on ABORTED read again. The count must come
    out exact and the version must be 1 + the successful puts. ABORTED
    must name the current version, in its message and in
    Response.current_version. A failure inside a thread is recorded and
    reported by the main thread, since cmocka's asserts belong there. */
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

#include "dossier.h"
#include "testserver.h"

#define S_THREADS 16
#define S_INCREMENTS 10     /* successful puts per thread */
#define S_MAX_ATTEMPTS 2000 /* per thread: bounds the retry loop */
#define S_TIME_LIMIT_MS 120000
#define S_ID "counter"

#define ASSERT_STATUS(expr, want, err)                                         \
    do {                                                                       \
        dossier_status_t got_ = (expr);                                        \
        if (got_ != (want)) {                                                  \
            fail_msg("%s: got %s, want %s: %s", #expr, dossier_strerror(got_), \
                     dossier_strerror(want), (err).message);                   \
        }                                                                      \
    } while (0)
#define ASSERT_OK(expr, err) ASSERT_STATUS(expr, DOSSIER_OK, err)

static int64_t
s_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

#define S_CHECK(w, cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            snprintf((w)->failure, sizeof(w)->failure, __VA_ARGS__);           \
            goto done;                                                         \
        }                                                                      \
    } while (0)

static void *
s_worker(void *arg) {
    s_worker_t *w = arg;
    dossier_error_t err = {0};
    dossier_client_t *c = s_client(w->endpoint, &err);
    S_CHECK(w, c, "client_new: %s", err.message);
    int64_t give_up = s_now_ms() + S_TIME_LIMIT_MS;
    for (int attempt = 0;
         w->succeeded < S_INCREMENTS && attempt < S_MAX_ATTEMPTS; attempt++) {
        S_CHECK(w, s_now_ms() < give_up, "out of time after %d puts",
                w->succeeded);
        Dossier__V1__Report *got = NULL;
        dossier_status_t rc = dossier_get(c, S_ID, &got, &err);
        S_CHECK(w, rc == DOSSIER_OK, "get: %s", err.message);
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
        S_CHECK(w, rc == DOSSIER_ABORTED, "put: %s: %s", dossier_strerror(rc),
                err.message);
        w->aborted++;
        uint64_t current = dossier_client_current_version(c);
        S_CHECK(w, current > version,
                "ABORTED with current_version %llu, read %llu: %s",
                (unsigned long long)current, (unsigned long long)version,
                err.message);
        char named[64];
        snprintf(named, sizeof named, "is at version %llu",
                 (unsigned long long)current);
        S_CHECK(w, strstr(err.message, named), "message '%s' lacks '%s'",
                err.message, named);
    }
    S_CHECK(w, w->succeeded == S_INCREMENTS, "only %d puts in %d attempts",
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
    ASSERT_OK(dossier_put(c, &r, 0, true, NULL, &err), err);

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
    ASSERT_OK(dossier_get(c, S_ID, &got, &err), err);
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

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aborted_names_current_version),
        cmocka_unit_test(test_compare_and_set_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
