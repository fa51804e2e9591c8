/*  test_durability.c: a write's flush to disk comes before its reply, and
    a write's deadline in the writer's queue, against a dossierd run with
    the LD_PRELOAD shim tests/support/preload/sync_record.c.

    kill -9 keeps the page cache, so test_crash_durability would pass with
    no flush at all. Here the shim writes a line for every flush (fsync,
    fdatasync, msync, sync_file_range) when it has completed and for every
    send() before it starts, in order. For each write, one at a time, the
    lines between its request and its reply must hold a flush and then
    the reply's send, with nothing sent before the flush: the reply never
    leaves before the write is on disk. With --no-sync, and only then,
    there is no flush at all.

    The shim can also hold every flush while a file exists: a commit that
    has begun is then held, by the test's hand, not by timing. Held, it
    shows (docs/PROTOCOL.md, Deadlines) that
    - a write whose caller gave up (closed its socket) still commits;
    - a Put and an ImportText whose deadline passes while they wait in
      the writer's queue are answered DEADLINE_EXCEEDED and not stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include <sys/stat.h>
#include <unistd.h>

#include "dossier.h"
#include "dossier/v1/reports.pb-c.h"
#include "dossier/v1/rpc.pb-c.h"
#include "testassert.h"
#include "testclock.h"
#include "testserver.h"
#include "testsync.h"

#define M(name) "dossier.v1.Reports/" name

/* The server under the shim (tests/support/testsync.h). */
typedef testsync_t s_fixture_t;

static void
s_start(s_fixture_t *fx, const char *extra) {
    testsync_start(fx, extra);
}

static void
s_stop(s_fixture_t *fx) {
    testsync_stop(fx);
}

/*  The size of the shim's log now: where the next call's lines start. */
static long
s_log_mark(const s_fixture_t *fx) {
    struct stat st;
    return stat(fx->log, &st) == 0 ? (long)st.st_size : 0;
}

/*  What the shim logged from mark on: how many flushes, how many sends,
    and how many sends came before the last flush. */
typedef struct {
    int syncs;
    int sends;
    int sends_before_last_sync;
    int failed_syncs;
} s_calls_t;

static s_calls_t
s_log_since(const s_fixture_t *fx, long mark) {
    s_calls_t calls = {0};
    FILE *f = fopen(fx->log, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, mark, SEEK_SET), 0);
    char line[128];
    int sends_so_far = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "sync ", 5) == 0) {
            calls.syncs++;
            calls.sends_before_last_sync = sends_so_far;
            if (strstr(line, " -1")) {
                calls.failed_syncs++;
            }
        } else if (strncmp(line, "send ", 5) == 0) {
            sends_so_far++;
            calls.sends++;
        }
    }
    fclose(f);
    return calls;
}

static dossier_client_t *
s_client(const s_fixture_t *fx) {
    dossier_options_t o;
    dossier_options_init(&o);
    o.timeout_ms = 20000;
    o.retries = 0;
    o.heartbeat_ivl_ms = 0; /* no PING/PONG among the sends */
    dossier_client_t *c = NULL;
    dossier_error_t err = {0};
    assert_ok(dossier_client_new(testserver_endpoint(fx->server), &o, &c, &err),
              &err);
    /* Connected (handshake sent) before the first write is watched. */
    assert_ok(dossier_health(c, NULL, NULL, &err), &err);
    return c;
}

static Dossier__V1__Report
s_report(const char *id, const char *title) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = (char *)title;
    r.country = "Atlantis";
    r.year = 2020;
    return r;
}

/*  A fixture document's text, static (one at a time). */
static const char *
s_fixture_text(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/refworld/%s", DOSSIER_FIXTURE_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

enum { S_WRITES = 6 };

/*  Every kind of write (Put, a Put that bumps a version, Delete,
    ImportText, ImportBatch), one at a time; for each, what the shim saw
    between its request and its reply. */
static void
s_each_write(s_fixture_t *fx, s_calls_t calls[S_WRITES]) {
    dossier_client_t *c = s_client(fx);
    dossier_error_t err = {0};
    int n = 0;
    for (int i = 0; i < 3; i++) {
        Dossier__V1__Report r = s_report(i < 2 ? "durable-0" : "durable-1",
                                         i == 1 ? "again" : "first");
        long mark = s_log_mark(fx);
        assert_ok(dossier_put(c, &r, 0, false, NULL, &err), &err);
        calls[n++] = s_log_since(fx, mark);
    }
    long mark = s_log_mark(fx);
    assert_ok(dossier_delete(c, "durable-0", 0, NULL, &err), &err);
    calls[n++] = s_log_since(fx, mark);

    Dossier__V1__ImportTextRequest doc = DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
    doc.text = (char *)s_fixture_text("tip-2004-azerbaijan.txt");
    doc.filename = "tip-2004-azerbaijan.txt";
    mark = s_log_mark(fx);
    assert_ok(dossier_call(c, "ImportText", &doc.base,
                           &dossier__v1__import_text_response__descriptor, NULL,
                           &err),
              &err);
    calls[n++] = s_log_since(fx, mark);

    Dossier__V1__ImportBatchRequest batch =
        DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
    Dossier__V1__ImportTextRequest *docs[1] = {&doc};
    doc.text = (char *)s_fixture_text("tip2008-russia-uppercase.txt");
    doc.filename = "tip2008-russia-uppercase.txt";
    batch.documents = docs;
    batch.n_documents = 1;
    mark = s_log_mark(fx);
    assert_ok(dossier_call(c, "ImportBatch", &batch.base,
                           &dossier__v1__import_batch_response__descriptor,
                           NULL, &err),
              &err);
    calls[n++] = s_log_since(fx, mark);
    assert_int_equal(n, S_WRITES);
    dossier_client_destroy(&c);
}

static void
test_flush_precedes_every_reply(void **state) {
    (void)state;
    s_fixture_t fx;
    s_start(&fx, NULL);
    s_calls_t calls[S_WRITES];
    s_each_write(&fx, calls);
    for (int i = 0; i < S_WRITES; i++) {
        print_message("write %d: %d flushes, %d sends (%d before the last "
                      "flush)\n",
                      i, calls[i].syncs, calls[i].sends,
                      calls[i].sends_before_last_sync);
        if (calls[i].syncs == 0) {
            fail_msg("write %d was answered without a flush", i);
        }
        assert_int_equal(calls[i].failed_syncs, 0);
        /* The reply, and nothing sent before the write was on disk. */
        assert_int_equal(calls[i].sends, 1);
        assert_int_equal(calls[i].sends_before_last_sync, 0);
    }
    s_stop(&fx);
}

static void
test_no_sync_is_the_only_way_out(void **state) {
    (void)state;
    s_fixture_t fx;
    s_start(&fx, "--no-sync");
    long mark = s_log_mark(&fx);
    s_calls_t calls[S_WRITES];
    s_each_write(&fx, calls);
    for (int i = 0; i < S_WRITES; i++) {
        assert_int_equal(calls[i].syncs, 0);
        assert_int_equal(calls[i].sends, 1);
    }
    s_calls_t all = s_log_since(&fx, mark);
    assert_int_equal(all.syncs, 0);
    s_stop(&fx);
}

/* ---- Deadlines in the writer's queue ---- */

static void
s_send(void *dealer, uint64_t id, const char *method,
       const ProtobufCMessage *request, uint32_t deadline_ms) {
    size_t size = 0;
    uint8_t *packed =
        testserver_pack_request(id, method, request, deadline_ms, &size);
    assert_int_equal(zmq_send(dealer, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(dealer, packed, size, 0), (int)size);
    free(packed);
}

/*  The next Response on dealer (its receive timeout bounds the wait). */
static Dossier__V1__Response *
s_recv(void *dealer) {
    zmq_msg_t delimiter, body;
    zmq_msg_init(&delimiter);
    zmq_msg_init(&body);
    assert_true(zmq_msg_recv(&delimiter, dealer, 0) >= 0);
    assert_true(zmq_msg_recv(&body, dealer, 0) >= 0);
    Dossier__V1__Response *response = dossier__v1__response__unpack(
        NULL, zmq_msg_size(&body), zmq_msg_data(&body));
    assert_non_null(response);
    zmq_msg_close(&delimiter);
    zmq_msg_close(&body);
    return response;
}

static void
s_expect_get(const char *endpoint, const char *id, int code) {
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = (char *)id;
    ProtobufCMessage *m =
        testserver_expect(endpoint, M("Get"), &get.base, code, NULL);
    assert_null(m);
}

static void
test_deadlines_in_the_writer_queue(void **state) {
    (void)state;
    s_fixture_t fx;
    s_start(&fx, NULL);
    const char *endpoint = testserver_endpoint(fx.server);
    void *context = zmq_ctx_new();
    assert_non_null(context);

    /* Hold every flush, then a Put whose commit begins and is held. Its
       caller gives up: the socket is closed before the commit ends. */
    testsync_hold(&fx);
    void *gave_up = testserver_dealer(context, endpoint, 20000);
    Dossier__V1__Report a = s_report("deadline-a", "committed after all");
    Dossier__V1__PutRequest put_a = DOSSIER__V1__PUT_REQUEST__INIT;
    put_a.report = &a;
    s_send(gave_up, 1, M("Put"), &put_a.base, 0);
    assert_true(testsync_wait_held(&fx, 10000));
    zmq_close(gave_up);

    /* A Put and an ImportText with 200 ms to live queue behind it; a
       Health after them on the same connection is answered inline, so
       once it is, the loop has read both and their clocks run. */
    void *dealer = testserver_dealer(context, endpoint, 20000);
    Dossier__V1__Report b = s_report("deadline-b", "too late");
    Dossier__V1__PutRequest put_b = DOSSIER__V1__PUT_REQUEST__INIT;
    put_b.report = &b;
    s_send(dealer, 2, M("Put"), &put_b.base, 200);
    Dossier__V1__ImportTextRequest text =
        DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
    text.text = (char *)s_fixture_text("tip-2004-azerbaijan.txt");
    text.filename = "tip-2004-azerbaijan.txt";
    text.id = "deadline-c";
    s_send(dealer, 3, M("ImportText"), &text.base, 200);
    Dossier__V1__HealthRequest health = DOSSIER__V1__HEALTH_REQUEST__INIT;
    s_send(dealer, 4, M("Health"), &health.base, 0);
    Dossier__V1__Response *response = s_recv(dealer);
    assert_int_equal(response->id, 4);
    dossier__v1__response__free_unpacked(response, NULL);
    /* Their deadlines pass while the writer is held (waiting for the
       deadline is the event itself here). */
    testclock_sleep_ms(400);
    testsync_release(&fx);

    int answered = 0;
    while (answered < 2) {
        response = s_recv(dealer);
        assert_true(response->id == 2 || response->id == 3);
        if (response->code != DOSSIER_DEADLINE_EXCEEDED) {
            fail_msg("request %llu: code %d (%s), want DEADLINE_EXCEEDED",
                     (unsigned long long)response->id, (int)response->code,
                     response->message);
        }
        dossier__v1__response__free_unpacked(response, NULL);
        answered++;
    }
    /* A is stored though nobody took its reply; B and C are not. */
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = "deadline-a";
    Dossier__V1__Report *got = (Dossier__V1__Report *)testserver_expect(
        endpoint, M("Get"), &get.base, 0, &dossier__v1__report__descriptor);
    assert_string_equal(got->title, "committed after all");
    assert_int_equal(got->version, 1);
    dossier__v1__report__free_unpacked(got, NULL);
    s_expect_get(endpoint, "deadline-b", DOSSIER_NOT_FOUND);
    s_expect_get(endpoint, "deadline-c", DOSSIER_NOT_FOUND);
    zmq_close(dealer);
    zmq_ctx_term(context);
    s_stop(&fx);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_precedes_every_reply),
        cmocka_unit_test(test_no_sync_is_the_only_way_out),
        cmocka_unit_test(test_deadlines_in_the_writer_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
