/*  test_store_log.c: the store's log databases (audit entries and their
    pruning, idempotency keys) and the record changes of a batch.

    They are written inside a write batch: durable with its commit, gone
    with its abort, and replayed like record writes when the map grows in
    the middle of a batch. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "testassert.h"

typedef struct {
    char dir[64];
    store_t *store;
} fixture_t;

static int
s_setup(void **state) {
    fixture_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dossier-storelog-XXXXXX");
    if (!fx || mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int
s_teardown(void **state) {
    fixture_t *fx = *state;
    store_destroy(&fx->store);
    DIR *d = opendir(fx->dir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", fx->dir, e->d_name);
            unlink(path);
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void
s_open(fixture_t *fx, size_t map_size) {
    dossier_error_t err = {0};
    store_options_t options = {.map_size = map_size, .no_sync = true};
    assert_ok(store_open(fx->dir, &options, &fx->store, &err), &err);
}

typedef struct {
    size_t n;
    uint64_t seqs[64];
    char text[64][32];
    size_t stop_after; /* 0: never */
} s_scan_t;

static bool
s_collect(uint64_t seq, const void *entry, size_t size, void *arg) {
    s_scan_t *s = arg;
    if (s->n < 64) {
        s->seqs[s->n] = seq;
        snprintf(s->text[s->n], sizeof s->text[0], "%.*s", (int)size,
                 (const char *)entry);
        s->n++;
    }
    return s->stop_after == 0 || s->n < s->stop_after;
}

static void
s_append(store_batch_t *batch, const char *text, uint64_t want_seq) {
    dossier_error_t err = {0};
    uint64_t seq = 0;
    assert_ok(store_audit_next_seq(batch, &seq, &err), &err);
    assert_int_equal(seq, want_seq);
    assert_ok(store_audit_put(batch, seq, text, strlen(text), &err), &err);
}

static void
test_audit_log(void **state) {
    fixture_t *fx = *state;
    s_open(fx, 0);
    dossier_error_t err = {0};
    store_batch_t *batch = NULL;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    s_append(batch, "one", 1);
    s_append(batch, "two", 2); /* sees the first, same batch */
    assert_ok(store_batch_commit(&batch, &err), &err);

    /* An aborted batch leaves no entry and frees its number. */
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    s_append(batch, "lost", 3);
    store_batch_abort(&batch);
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    s_append(batch, "three", 3);
    assert_ok(store_batch_commit(&batch, &err), &err);

    s_scan_t scan = {0};
    uint64_t next = 99;
    assert_ok(
        store_audit_scan(fx->store, 0, 100, s_collect, &scan, &next, &err),
        &err);
    assert_int_equal(scan.n, 3);
    assert_string_equal(scan.text[0], "one");
    assert_string_equal(scan.text[2], "three");
    assert_int_equal(scan.seqs[2], 3);
    assert_int_equal(next, 0);

    /* Stopping early names where to go on; from a seq, and max_scan. */
    scan = (s_scan_t){.stop_after = 1};
    assert_ok(
        store_audit_scan(fx->store, 2, 100, s_collect, &scan, &next, &err),
        &err);
    assert_int_equal(scan.n, 1);
    assert_int_equal(scan.seqs[0], 2);
    assert_int_equal(next, 3);
    scan = (s_scan_t){0};
    assert_ok(store_audit_scan(fx->store, 1, 2, s_collect, &scan, &next, &err),
              &err);
    assert_int_equal(scan.n, 2);
    assert_int_equal(next, 3);
    scan = (s_scan_t){.stop_after = 3};
    assert_ok(
        store_audit_scan(fx->store, 3, 100, s_collect, &scan, &next, &err),
        &err);
    assert_int_equal(scan.n, 1);
    assert_int_equal(next, 0); /* the log ended */

    /* It survives a reopen and goes on counting. */
    store_destroy(&fx->store);
    s_open(fx, 0);
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    s_append(batch, "four", 4);
    assert_ok(store_batch_commit(&batch, &err), &err);
    assert_int_equal(store_audit_put(NULL, 1, "x", 1, &err),
                     DOSSIER_INVALID_ARGUMENT);
}

/*  An entry whose text starts with "old" is old. */
static bool
s_is_old(const void *entry, size_t size, void *arg) {
    (void)arg;
    return size >= 3 && memcmp(entry, "old", 3) == 0;
}

static void
test_audit_prune(void **state) {
    fixture_t *fx = *state;
    s_open(fx, 0);
    dossier_error_t err = {0};
    store_batch_t *batch = NULL;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    const char *texts[] = {"old 1", "old 2", "new 3", "old 4",
                           "new 5", "new 6", "new 7", "new 8"};
    for (uint64_t i = 0; i < 8; i++) {
        s_append(batch, texts[i], i + 1);
    }
    /* Old ones from the front, up to the first that is not: entry 4
       stays behind entry 3. */
    size_t deleted = 99;
    assert_ok(
        store_audit_prune(batch, SIZE_MAX, s_is_old, NULL, 100, &deleted, &err),
        &err);
    assert_int_equal(deleted, 2);
    /* By count, oldest first, at most max_deletes at a time. */
    assert_ok(store_audit_prune(batch, 3, NULL, NULL, 2, &deleted, &err), &err);
    assert_int_equal(deleted, 2);
    assert_ok(store_audit_prune(batch, 3, NULL, NULL, 0, &deleted, &err), &err);
    assert_int_equal(deleted, 0);
    assert_ok(store_batch_commit(&batch, &err), &err);
    s_scan_t scan = {0};
    assert_ok(store_audit_scan(fx->store, 0, 100, s_collect, &scan, NULL, &err),
              &err);
    assert_int_equal(scan.n, 4);
    assert_int_equal(scan.seqs[0], 5);

    /* Never the last entry, whatever the bounds: numbers go on. */
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    assert_ok(store_audit_prune(batch, 0, NULL, NULL, 100, &deleted, &err),
              &err);
    assert_int_equal(deleted, 3);
    s_append(batch, "new 9", 9);
    assert_ok(store_batch_commit(&batch, &err), &err);
    scan = (s_scan_t){0};
    assert_ok(store_audit_scan(fx->store, 0, 100, s_collect, &scan, NULL, &err),
              &err);
    assert_int_equal(scan.n, 2);
    assert_int_equal(scan.seqs[0], 8);
    assert_int_equal(scan.seqs[1], 9);
    uint64_t problems = 0;
    assert_ok(store_check(fx->store, &problems, &err), &err);
    assert_int_equal(problems, 0);
}

static void
test_idempotency_keys(void **state) {
    fixture_t *fx = *state;
    s_open(fx, 0);
    dossier_error_t err = {0};
    store_batch_t *batch = NULL;
    uint8_t *value = NULL;
    size_t size = 0;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    assert_int_equal(store_idem_get(batch, "u\0k1", 4, &value, &size, &err),
                     DOSSIER_NOT_FOUND);
    assert_ok(store_idem_put(batch, "u\0k1", 4, "reply-1", 7, 1000, &err),
              &err);
    /* Seen in the same batch, before the commit. */
    assert_ok(store_idem_get(batch, "u\0k1", 4, &value, &size, &err), &err);
    assert_int_equal(size, 7);
    assert_memory_equal(value, "reply-1", 7);
    free(value);
    assert_ok(store_idem_put(batch, "u\0k2", 4, "reply-2", 7, 2000, &err),
              &err);
    assert_ok(store_idem_put(batch, "u\0k3", 4, "", 0, 3000, &err), &err);
    assert_ok(store_batch_commit(&batch, &err), &err);

    /* Expiry: by age, then by count, at most max_deletes a call. */
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    size_t deleted = 99;
    assert_ok(store_idem_expire(batch, 1500, 100, 10, &deleted, &err), &err);
    assert_int_equal(deleted, 1); /* k1, older than 1500 */
    assert_int_equal(store_idem_get(batch, "u\0k1", 4, &value, &size, &err),
                     DOSSIER_NOT_FOUND);
    assert_ok(store_idem_expire(batch, 0, 1, 10, &deleted, &err), &err);
    assert_int_equal(deleted, 1); /* k2: one key over the bound of 1 */
    assert_ok(store_idem_get(batch, "u\0k3", 4, &value, &size, &err), &err);
    assert_int_equal(size, 0);
    free(value);
    /* Replacing a key moves it in time: it is not expired by its old
       stamp. */
    assert_ok(store_idem_put(batch, "u\0k3", 4, "new", 3, 9000, &err), &err);
    assert_ok(store_idem_expire(batch, 5000, 100, 10, &deleted, &err), &err);
    assert_int_equal(deleted, 0);
    assert_ok(store_idem_expire(batch, 0, 0, 0, &deleted, &err), &err);
    assert_int_equal(deleted, 0); /* max_deletes 0: nothing */
    assert_ok(store_batch_commit(&batch, &err), &err);

    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    assert_ok(store_idem_get(batch, "u\0k3", 4, &value, &size, &err), &err);
    assert_memory_equal(value, "new", 3);
    free(value);
    assert_int_equal(store_idem_get(batch, "u\0k2", 4, &value, &size, &err),
                     DOSSIER_NOT_FOUND);
    char big[600];
    memset(big, 'k', sizeof big);
    assert_int_equal(store_idem_put(batch, big, sizeof big, "x", 1, 1, &err),
                     DOSSIER_INVALID_ARGUMENT);
    store_batch_abort(&batch);
}

static void
test_batch_changes(void **state) {
    fixture_t *fx = *state;
    s_open(fx, 0);
    dossier_error_t err = {0};
    store_batch_t *batch = NULL;
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = "chg-1";
    r.country_code = "AZE";
    r.year = 2004;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    size_t mark = store_batch_mark(batch);
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    s_append(batch, "between", 1); /* log writes are not changes */
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    size_t second = store_batch_mark(batch);
    /* A refused write changes nothing and reports the current version. */
    store_put_args_t args = {.expected_version = 7};
    store_put_result_t res = {0};
    assert_int_equal(store_put(batch, &r, &args, &res, &err), DOSSIER_ABORTED);
    assert_int_equal(res.version, 2);
    uint64_t version = 0;
    assert_int_equal(store_delete(batch, "chg-1", 9, &version, &err),
                     DOSSIER_ABORTED);
    assert_int_equal(version, 2);
    assert_ok(store_delete(batch, "chg-1", 0, &version, &err), &err);

    store_change_t c;
    size_t cursor = mark;
    assert_true(store_batch_change(batch, &cursor, &c));
    assert_string_equal(c.id, "chg-1");
    assert_int_equal(c.version, 1);
    assert_false(c.deleted);
    assert_string_equal(c.country_code, "AZE");
    assert_int_equal(c.year, 2004);
    assert_true(store_batch_change(batch, &cursor, &c));
    assert_int_equal(c.version, 2);
    assert_true(store_batch_change(batch, &cursor, &c));
    assert_true(c.deleted);
    assert_int_equal(c.version, 2);
    assert_string_equal(c.country_code, "AZE");
    assert_false(store_batch_change(batch, &cursor, &c));
    cursor = second;
    assert_true(store_batch_change(batch, &cursor, &c));
    assert_true(c.deleted); /* only what came after the mark */
    assert_ok(store_batch_commit(&batch, &err), &err);
}

/*  Log writes of a batch are replayed when the map grows mid-batch. */
static void
test_log_survives_map_growth(void **state) {
    fixture_t *fx = *state;
    s_open(fx, 1 << 20);
    dossier_error_t err = {0};
    static char body[8192];
    memset(body, 'b', sizeof body - 1);
    char *paragraphs[1] = {body};
    store_batch_t *batch = NULL;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    int n = 400; /* 400 x 8 KiB: several doublings of 1 MiB */
    for (int i = 0; i < n; i++) {
        Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
        char id[32];
        snprintf(id, sizeof id, "grow-%04d", i);
        r.id = id;
        r.body = paragraphs;
        r.n_body = 1;
        assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
        char text[32];
        snprintf(text, sizeof text, "entry %d", i);
        uint64_t seq = 0;
        assert_ok(store_audit_next_seq(batch, &seq, &err), &err);
        assert_int_equal(seq, (uint64_t)i + 1);
        assert_ok(store_audit_put(batch, seq, text, strlen(text), &err), &err);
        char key[32];
        snprintf(key, sizeof key, "u%ck%d", 0, i);
        assert_ok(store_idem_put(batch, key, 2 + strlen(key + 2), text,
                                 strlen(text), i, &err),
                  &err);
    }
    assert_ok(store_batch_commit(&batch, &err), &err);
    Dossier__V1__StatsResponse *st = NULL;
    assert_ok(store_stats(fx->store, &st, &err), &err);
    assert_true(st->map_bytes > (1 << 20));
    assert_int_equal(st->records, (uint64_t)n);
    dossier__v1__stats_response__free_unpacked(st, NULL);
    s_scan_t scan = {0};
    uint64_t next = 0;
    assert_ok(store_audit_scan(fx->store, 0, 64, s_collect, &scan, &next, &err),
              &err);
    assert_int_equal(scan.n, 64);
    assert_string_equal(scan.text[63], "entry 63");
    assert_int_equal(next, 65);
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    uint64_t seq = 0;
    assert_ok(store_audit_next_seq(batch, &seq, &err), &err);
    assert_int_equal(seq, (uint64_t)n + 1);
    uint8_t *value = NULL;
    size_t size = 0;
    assert_ok(store_idem_get(batch, "u\0k399", 6, &value, &size, &err), &err);
    assert_memory_equal(value, "entry 399", 9);
    free(value);
    size_t deleted = 0;
    assert_ok(store_idem_expire(batch, 1000, 1000000, 1000, &deleted, &err),
              &err);
    assert_int_equal(deleted, (size_t)n); /* all stamped 0..399 ms */
    store_batch_abort(&batch);
    uint64_t problems = 0;
    assert_ok(store_check(fx->store, &problems, &err), &err);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_audit_log, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_audit_prune, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_keys, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_changes, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_log_survives_map_growth, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
