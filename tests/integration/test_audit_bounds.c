/*  test_audit_bounds.c: the audit log's bounds against a live dossierd.

    - A flood of refused calls on one connection makes at most
      audit_refused_per_second entries a second, and summary entries
      whose counts add up with them to every refused call; another
      connection's refusal in the same second still gets its own entry.
      Read back from the store once the server stopped (a reader may not
      call Audit).
    - audit_max_entries keeps the newest entries and prunes the oldest.
    - audit_max_age_days prunes entries older than that: entries made
      old by rewriting their time in the stopped server's store go at
      the next write, the others stay. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <zmq.h>

#include "dossier/v1/reports.pb-c.h"
#include "dossier/v1/rpc.pb-c.h"
#include "store/store.h"
#include "testassert.h"
#include "testclock.h"
#include "testserver.h"

#define S_TIMEOUT_MS 10000
#define M(name) "dossier.v1.Reports/" name

static Dossier__V1__Report
s_report(const char *id) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = "Audit bounds";
    r.country = "Azerbaijan";
    r.country_code = "AZE";
    r.year = 2004;
    return r;
}

/*  Sends n copies of body on socket, then reads their n replies and
    checks each is code. */
static void
s_pipeline(void *socket, const uint8_t *body, size_t size, int n, int code) {
    for (int i = 0; i < n; i++) {
        assert_int_equal(zmq_send(socket, "", 0, ZMQ_SNDMORE), 0);
        assert_int_equal(zmq_send(socket, body, size, 0), (int)size);
    }
    for (int i = 0; i < n; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        assert_int_equal(zmq_msg_recv(&msg, socket, 0), 0); /* delimiter */
        assert_true(zmq_msg_more(&msg));
        assert_true(zmq_msg_recv(&msg, socket, 0) >= 0);
        Dossier__V1__Response *r = dossier__v1__response__unpack(
            NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        assert_non_null(r);
        if (r->code != code) {
            fail_msg("reply %d: code %d (%s), want %d", i, (int)r->code,
                     r->message, code);
        }
        dossier__v1__response__free_unpacked(r, NULL);
        zmq_msg_close(&msg);
    }
}

/* ---- Refused calls ---- */

typedef struct {
    size_t entries;   /* entries read */
    size_t single;    /* refused Puts recorded one by one */
    size_t summaries; /* summary entries */
    size_t counted;   /* refused calls the summaries count */
    size_t deletes;   /* refused Deletes recorded one by one */
    size_t other;     /* anything else */
} s_tally_t;

static bool
s_tally(uint64_t seq, const void *data, size_t size, void *arg) {
    s_tally_t *t = arg;
    Dossier__V1__AuditEntry *e =
        dossier__v1__audit_entry__unpack(NULL, size, data);
    assert_non_null(e);
    assert_int_equal(e->seq, seq);
    t->entries++;
    const char *summary = strstr(e->message, " more refused calls from this "
                                             "connection were not recorded");
    if (e->code != DOSSIER_PERMISSION_DENIED ||
        strcmp(e->user, "anonymous") != 0) {
        t->other++;
    } else if (summary) {
        assert_string_equal(e->method, M("Put"));
        t->summaries++;
        t->counted += strtoul(e->message, NULL, 10);
    } else if (strcmp(e->method, M("Put")) == 0) {
        t->single++;
    } else if (strcmp(e->method, M("Delete")) == 0) {
        t->deletes++;
    } else {
        t->other++;
    }
    dossier__v1__audit_entry__free_unpacked(e, NULL);
    return true;
}

static void
test_refused_flood_is_rate_limited(void **state) {
    (void)state;
    enum { S_ROUNDS = 20, S_PER_ROUND = 100 };
    testserver_t *server = testserver_start(
        "--anonymous-role reader --audit-refused-per-second 1");
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    void *context = zmq_ctx_new();
    void *flood = testserver_dealer(context, endpoint, S_TIMEOUT_MS);
    Dossier__V1__Report r = s_report("refused-1");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    size_t size = 0;
    uint8_t *body = testserver_pack_request(1, M("Put"), &put.base, 0, &size);
    int64_t started = testclock_now_ms();
    for (int round = 0; round < S_ROUNDS; round++) {
        s_pipeline(flood, body, size, S_PER_ROUND, DOSSIER_PERMISSION_DENIED);
    }
    int64_t elapsed = testclock_now_ms() - started;
    free(body);

    /* Another connection, refused once: its own window, its own entry. */
    void *other = testserver_dealer(context, endpoint, S_TIMEOUT_MS);
    Dossier__V1__DeleteRequest del = DOSSIER__V1__DELETE_REQUEST__INIT;
    del.id = "refused-1";
    body = testserver_pack_request(2, M("Delete"), &del.base, 0, &size);
    s_pipeline(other, body, size, 1, DOSSIER_PERMISSION_DENIED);
    free(body);
    zmq_close(other);
    zmq_close(flood);
    zmq_ctx_term(context);

    /* Stop it (the last window's summary is recorded on the way out) and
       read its store. */
    assert_int_equal(testserver_kill(server, SIGTERM), 0);
    assert_int_equal(testserver_wait(server, 10000), 0);
    store_t *store = NULL;
    dossier_error_t err = {0};
    assert_ok(store_open(testserver_datadir(server), NULL, &store, &err), &err);
    s_tally_t t = {0};
    assert_ok(store_audit_scan(store, 0, 100000, s_tally, &t, NULL, &err),
              &err);
    store_destroy(&store);
    /* The flood spans at most this many of the server's seconds: one
       entry each at most, and one summary. */
    size_t seconds = (size_t)(elapsed / 1000) + 2;
    if (t.single + t.counted != S_ROUNDS * S_PER_ROUND || t.single > seconds ||
        t.summaries > seconds || t.summaries == 0 || t.deletes != 1 ||
        t.other != 0) {
        testserver_print_log(server);
        fail_msg("%zu entries: %zu refused Puts, %zu summaries counting %zu, "
                 "%zu Deletes, %zu others (for %d refused Puts over %lld ms)",
                 t.entries, t.single, t.summaries, t.counted, t.deletes,
                 t.other, S_ROUNDS * S_PER_ROUND, (long long)elapsed);
    }
    testserver_stop(&server);
}

/* ---- Retention ---- */

static Dossier__V1__AuditResponse *
s_audit(const char *endpoint) {
    Dossier__V1__AuditRequest req = DOSSIER__V1__AUDIT_REQUEST__INIT;
    return (Dossier__V1__AuditResponse *)testserver_expect(
        endpoint, M("Audit"), &req.base, 0,
        &dossier__v1__audit_response__descriptor);
}

static void
s_put(const char *endpoint, const char *id) {
    Dossier__V1__Report r = s_report(id);
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    testserver_expect(endpoint, M("Put"), &put.base, 0, NULL);
}

static void
test_max_entries_keeps_the_newest(void **state) {
    (void)state;
    testserver_t *server = testserver_start("--audit-max-entries 5");
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    for (int i = 1; i <= 20; i++) {
        char id[32];
        snprintf(id, sizeof id, "kept-%d", i);
        s_put(endpoint, id);
    }
    Dossier__V1__AuditResponse *a = s_audit(endpoint);
    assert_int_equal(a->n_entries, 5);
    for (size_t i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "kept-%zu", 16 + i);
        assert_int_equal(a->entries[i]->seq, 16 + i);
        assert_int_equal(a->entries[i]->n_ids, 1);
        assert_string_equal(a->entries[i]->ids[0], id);
    }
    dossier__v1__audit_response__free_unpacked(a, NULL);
    testserver_stop(&server);
}

/*  Rewrites audit entry seq of a stopped server's store with an old
    time. */
static void
s_age_entry(store_t *store, uint64_t seq) {
    Dossier__V1__AuditEntry e = DOSSIER__V1__AUDIT_ENTRY__INIT;
    e.seq = seq;
    e.time = "2020-01-01T00:00:00.000Z";
    e.user = "anonymous";
    e.method = M("Put");
    uint8_t packed[256];
    size_t size = dossier__v1__audit_entry__get_packed_size(&e);
    assert_true(size <= sizeof packed);
    dossier__v1__audit_entry__pack(&e, packed);
    store_batch_t *batch = NULL;
    dossier_error_t err = {0};
    assert_ok(store_batch_begin(store, &batch, &err), &err);
    assert_ok(store_audit_put(batch, seq, packed, size, &err), &err);
    assert_ok(store_batch_commit(&batch, &err), &err);
}

static void
test_max_age_prunes_old_entries(void **state) {
    (void)state;
    testserver_t *server = testserver_start("--audit-max-age-days 1");
    assert_non_null(server);
    s_put(testserver_endpoint(server), "aged-1");
    s_put(testserver_endpoint(server), "aged-2");
    s_put(testserver_endpoint(server), "aged-3");
    Dossier__V1__AuditResponse *a = s_audit(testserver_endpoint(server));
    assert_int_equal(a->n_entries, 3); /* none old yet */
    dossier__v1__audit_response__free_unpacked(a, NULL);

    /* Entries 1 and 2 become five years old. */
    assert_int_equal(testserver_kill(server, SIGTERM), 0);
    assert_int_equal(testserver_wait(server, 10000), 0);
    store_t *store = NULL;
    dossier_error_t err = {0};
    assert_ok(store_open(testserver_datadir(server), NULL, &store, &err), &err);
    s_age_entry(store, 1);
    s_age_entry(store, 2);
    store_destroy(&store);

    assert_int_equal(testserver_restart(server), 0);
    const char *endpoint = testserver_endpoint(server);
    a = s_audit(endpoint);
    assert_int_equal(a->n_entries, 3); /* pruned by writes only */
    dossier__v1__audit_response__free_unpacked(a, NULL);
    s_put(endpoint, "aged-4");
    a = s_audit(endpoint);
    assert_int_equal(a->n_entries, 2);
    assert_int_equal(a->entries[0]->seq, 3);
    assert_string_equal(a->entries[0]->ids[0], "aged-3");
    assert_int_equal(a->entries[1]->seq, 4);
    assert_string_equal(a->entries[1]->ids[0], "aged-4");
    dossier__v1__audit_response__free_unpacked(a, NULL);
    testserver_stop(&server);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_flood_is_rate_limited),
        cmocka_unit_test(test_max_entries_keeps_the_newest),
        cmocka_unit_test(test_max_age_prunes_old_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
