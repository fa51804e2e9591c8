/*  test_client_threads.c: 16 threads, each with its own client, mixing
    reads and writes against one dossierd; every reply is checked.

    Each thread owns its ids, so it knows exactly what every Get must
    return (title and version), while Lists and Stats see the other
    threads' records too. A failure is recorded with its cause and
    reported by the main thread, since cmocka's asserts belong there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>

#include "dossier.h"
#include "testassert.h"
#include "testserver.h"

#define S_THREADS 16
#define S_ROUNDS 40
#define S_IDS 4 /* records per thread, rewritten round after round */

typedef struct {
    const char *endpoint;
    int index;
    int calls;
    char failure[512]; /* empty while all is well */
} s_worker_t;

static void *
s_worker(void *arg) {
    s_worker_t *w = arg;
    dossier_client_t *c = NULL;
    dossier_error_t err = {0};
    dossier_options_t o;
    dossier_options_init(&o);
    o.timeout_ms = 20000; /* a loaded 2-core machine; fsync per write */
    dossier_status_t rc = dossier_client_new(w->endpoint, &o, &c, &err);
    worker_check(w, rc == DOSSIER_OK, "client_new: %s", err.message);

    uint64_t versions[S_IDS] = {0};
    for (int round = 0; round < S_ROUNDS; round++) {
        int k = round % S_IDS;
        char id[64], title[64];
        snprintf(id, sizeof id, "thread-%02d-%d", w->index, k);
        snprintf(title, sizeof title, "thread %d round %d", w->index, round);

        Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
        r.id = id;
        r.title = title;
        r.country = "Atlantis";
        r.year = 2000 + (uint32_t)w->index;
        Dossier__V1__PutResponse *put = NULL;
        rc = dossier_put(c, &r, versions[k], false, &put, &err);
        w->calls++;
        worker_check(
            w, rc == DOSSIER_OK, "put %s (expected version %llu): %s: %s", id,
            (unsigned long long)versions[k], dossier_strerror(rc), err.message);
        bool ok = strcmp(put->id, id) == 0 && put->version == versions[k] + 1 &&
                  put->created == (versions[k] == 0);
        uint64_t version = put->version;
        dossier_message_free(put);
        worker_check(w, ok, "put %s: answered version %llu, wanted %llu", id,
                     (unsigned long long)version,
                     (unsigned long long)versions[k] + 1);
        versions[k] = version;

        Dossier__V1__Report *got = NULL;
        rc = dossier_get(c, id, &got, &err);
        w->calls++;
        worker_check(w, rc == DOSSIER_OK, "get %s: %s: %s", id,
                     dossier_strerror(rc), err.message);
        ok = strcmp(got->title, title) == 0 && got->version == version &&
             got->year == r.year;
        char seen[64];
        snprintf(seen, sizeof seen, "%s", got->title);
        dossier_report_free(got);
        worker_check(w, ok, "get %s: title '%s', wanted '%s'", id, seen, title);

        /* A stale version is refused, whoever else is writing. */
        if (round % 5 == 4) {
            rc = dossier_put(c, &r, version - 1 ? version - 1 : 99, false, NULL,
                             &err);
            w->calls++;
            worker_check(w, rc == DOSSIER_ABORTED, "stale put %s: got %s: %s",
                         id, dossier_strerror(rc), err.message);
        }

        if (round % 4 == 3) {
            Dossier__V1__ReportFilter f = DOSSIER__V1__REPORT_FILTER__INIT;
            f.year_min = f.year_max = r.year;
            Dossier__V1__ListRequest lr = DOSSIER__V1__LIST_REQUEST__INIT;
            lr.filter = &f;
            lr.page_size = 100;
            Dossier__V1__ListResponse *list = NULL;
            rc = dossier_list(c, &lr, &list, &err);
            w->calls++;
            worker_check(w, rc == DOSSIER_OK, "list: %s: %s",
                         dossier_strerror(rc), err.message);
            /* Only this thread writes this year: its written ids. */
            size_t n = list->n_reports;
            size_t want = (size_t)(round + 1 < S_IDS ? round + 1 : S_IDS);
            bool mine = true;
            for (size_t i = 0; i < n; i++) {
                mine &= strncmp(list->reports[i]->id, id, 10) == 0;
            }
            dossier_message_free(list);
            worker_check(w, n == want && mine,
                         "list year %u: %zu records (%s), wanted %zu of ours",
                         r.year, n, mine ? "ours" : "not all ours", want);
        }

        if (round % 10 == 0) {
            Dossier__V1__HealthResponse *h = NULL;
            rc = dossier_health(c, NULL, &h, &err);
            w->calls++;
            worker_check(w, rc == DOSSIER_OK, "health: %s", err.message);
            ok = h->status ==
                 DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_SERVING;
            dossier_message_free(h);
            worker_check(w, ok, "health: not serving");
        }
    }

    /* Clean up one record, checking the version it had. */
    char id[64];
    snprintf(id, sizeof id, "thread-%02d-0", w->index);
    Dossier__V1__DeleteResponse *del = NULL;
    rc = dossier_delete(c, id, versions[0], &del, &err);
    w->calls++;
    worker_check(w, rc == DOSSIER_OK, "delete %s: %s: %s", id,
                 dossier_strerror(rc), err.message);
    dossier_message_free(del);
    rc = dossier_get(c, id, NULL, &err);
    w->calls++;
    worker_check(w, rc == DOSSIER_NOT_FOUND, "get after delete %s: %s", id,
                 dossier_strerror(rc));

done:
    dossier_client_destroy(&c);
    return NULL;
}

static void
test_sixteen_threads(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    s_worker_t workers[S_THREADS];
    pthread_t threads[S_THREADS];
    for (int i = 0; i < S_THREADS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].endpoint = testserver_endpoint(server);
        workers[i].index = i;
        assert_int_equal(
            pthread_create(&threads[i], NULL, s_worker, &workers[i]), 0);
    }
    int failures = 0, calls = 0;
    for (int i = 0; i < S_THREADS; i++) {
        pthread_join(threads[i], NULL);
        calls += workers[i].calls;
        if (workers[i].failure[0] != '\0') {
            fprintf(stderr, "thread %d: %s\n", i, workers[i].failure);
            failures++;
        }
    }
    fprintf(stderr, "%d threads, %d calls\n", S_THREADS, calls);

    /* What is left: S_IDS - 1 records per thread. */
    dossier_client_t *c = NULL;
    dossier_error_t err = {0};
    assert_int_equal(
        dossier_client_new(testserver_endpoint(server), NULL, &c, &err),
        DOSSIER_OK);
    Dossier__V1__StatsResponse *st = NULL;
    assert_int_equal(dossier_stats(c, &st, &err), DOSSIER_OK);
    assert_int_equal(st->records, S_THREADS * (S_IDS - 1));
    dossier_message_free(st);
    dossier_client_destroy(&c);
    testserver_stop(&server);
    assert_int_equal(failures, 0);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sixteen_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
