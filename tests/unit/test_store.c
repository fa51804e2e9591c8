/*  test_store.c: the LMDB store (server/store/), each test in a fresh
    temporary directory removed afterwards. The test may use LMDB directly
    to damage a store on purpose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "country.h"
#include "store/store.h"
#include "testassert.h"
#include "testserver.h"

#define TIP "Trafficking in Persons Report"

typedef struct {
    char dir[64];
    store_t *store;
} fixture_t;

static int
s_setup(void **state) {
    fixture_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dossier-store-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
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
    testserver_remove_tree(fx->dir);
    free(fx);
    return 0;
}

static void
s_open(fixture_t *fx, const store_options_t *options) {
    dossier_error_t err = {0};
    assert_ok(store_open(fx->dir, options, &fx->store, &err), &err);
}

/* A report with borrowed strings; NULL strings stay "". */
typedef struct {
    Dossier__V1__Report r;
    char *body[3];
    char id[130];
    char title[64];
} s_rec_t;

static void
s_rec(s_rec_t *x, const char *id, const char *country, const char *code,
      uint32_t year, Dossier__V1__Tier tier, const char *publisher,
      const char *doc_type) {
    memset(x, 0, sizeof *x);
    dossier__v1__report__init(&x->r);
    snprintf(x->id, sizeof x->id, "%.129s", id);
    snprintf(x->title, sizeof x->title, "Report %.50s", id);
    x->r.id = x->id;
    x->r.title = x->title;
    x->r.country = (char *)(country ? country : "");
    x->r.country_code = (char *)(code ? code : "");
    x->r.year = year;
    x->r.tier = tier;
    x->r.publisher = (char *)(publisher ? publisher : "");
    x->r.doc_type = (char *)(doc_type ? doc_type : TIP);
    x->body[0] = "First paragraph.";
    x->body[1] = "Second paragraph.";
    x->r.body = x->body;
    x->r.n_body = 2;
    x->r.cite_as = "Cite me";
    x->r.disclaimer = "Disclaimer";
}

/* Puts one report in its own batch. */
static dossier_status_t
s_put1(store_t *store, const Dossier__V1__Report *r,
       const store_put_args_t *args, store_put_result_t *res,
       dossier_error_t *err) {
    store_batch_t *batch;
    dossier_status_t st = store_batch_begin(store, &batch, err);
    if (st != DOSSIER_OK) {
        return st;
    }
    store_put_result_t local;
    st = store_put(batch, r, args, res ? res : &local, err);
    if (st != DOSSIER_OK) {
        store_batch_abort(&batch);
        return st;
    }
    return store_batch_commit(&batch, err);
}

static dossier_status_t
s_del1(store_t *store, const char *id, uint64_t expected, uint64_t *version,
       dossier_error_t *err) {
    store_batch_t *batch;
    dossier_status_t st = store_batch_begin(store, &batch, err);
    if (st != DOSSIER_OK) {
        return st;
    }
    st = store_delete(batch, id, expected, version, err);
    if (st != DOSSIER_OK) {
        store_batch_abort(&batch);
        return st;
    }
    return store_batch_commit(&batch, err);
}

static uint64_t
s_count(store_t *store) {
    dossier_error_t err = {0};
    Dossier__V1__StatsResponse *stats = NULL;
    assert_ok(store_stats(store, &stats, &err), &err);
    uint64_t n = stats->records;
    dossier__v1__stats_response__free_unpacked(stats, NULL);
    return n;
}

static void
s_assert_clean(store_t *store) {
    dossier_error_t err = {0};
    uint64_t problems = 99;
    assert_ok(store_check(store, &problems, &err), &err);
    assert_int_equal(problems, 0);
}

static void
s_packed_copy(const void *data, size_t size, void *arg) {
    Dossier__V1__Report **out = arg;
    *out = dossier__v1__report__unpack(NULL, size, data);
}

/* ---- Round trip ---- */

static void
test_round_trip(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    dossier_error_t err = {0};
    s_rec_t x;
    s_rec(&x, "tip-2004-azerbaijan", "Azerbaijan", "AZE", 2004,
          DOSSIER__V1__TIER__TIER_2_WATCH_LIST, "USDOS", NULL);
    x.r.version = 77; /* the store ignores what the caller says */
    store_put_result_t res = {0};
    assert_ok(s_put1(fx->store, &x.r, NULL, &res, &err), &err);
    assert_int_equal(res.version, 1);
    assert_true(res.created);
    assert_false(res.unchanged);
    assert_int_equal(x.r.version, 77); /* borrowed, not modified */

    Dossier__V1__Report *got = NULL;
    assert_ok(store_get(fx->store, "tip-2004-azerbaijan", &got, &err), &err);
    assert_string_equal(got->title, "Report tip-2004-azerbaijan");
    assert_string_equal(got->country, "Azerbaijan");
    assert_int_equal(got->year, 2004);
    assert_int_equal(got->tier, DOSSIER__V1__TIER__TIER_2_WATCH_LIST);
    assert_int_equal(got->n_body, 2);
    assert_string_equal(got->body[1], "Second paragraph.");
    assert_int_equal(got->version, 1);
    assert_string_equal(got->created_by, "anonymous");
    assert_string_equal(got->updated_by, "anonymous");
    /* "2026-11-27T20:45:12.345Z" */
    assert_int_equal(strlen(got->created_at), 24);
    assert_int_equal(got->created_at[10], 'T');
    assert_int_equal(got->created_at[19], '.');
    assert_int_equal(got->created_at[23], 'Z');
    assert_string_equal(got->created_at, got->updated_at);
    char created_at[32];
    snprintf(created_at, sizeof created_at, "%s", got->created_at);
    dossier__v1__report__free_unpacked(got, NULL);

    /* The packed bytes are a Report. */
    Dossier__V1__Report *packed = NULL;
    assert_ok(store_get_packed(fx->store, "tip-2004-azerbaijan", s_packed_copy,
                               &packed, &err),
              &err);
    assert_non_null(packed);
    assert_string_equal(packed->id, "tip-2004-azerbaijan");
    assert_int_equal(packed->version, 1);
    dossier__v1__report__free_unpacked(packed, NULL);

    /* Replace: version 2, created_* kept, updated_* by the user. */
    usleep(2000);
    store_put_args_t args = {.user = "alice"};
    x.r.tier = DOSSIER__V1__TIER__TIER_2;
    assert_ok(s_put1(fx->store, &x.r, &args, &res, &err), &err);
    assert_int_equal(res.version, 2);
    assert_false(res.created);
    assert_ok(store_get(fx->store, "tip-2004-azerbaijan", &got, &err), &err);
    assert_int_equal(got->version, 2);
    assert_int_equal(got->tier, DOSSIER__V1__TIER__TIER_2);
    assert_string_equal(got->created_by, "anonymous");
    assert_string_equal(got->created_at, created_at);
    assert_string_equal(got->updated_by, "alice");
    assert_true(strcmp(got->updated_at, created_at) > 0);
    dossier__v1__report__free_unpacked(got, NULL);
    s_assert_clean(fx->store);

    uint64_t version = 0;
    assert_ok(s_del1(fx->store, "tip-2004-azerbaijan", 0, &version, &err),
              &err);
    assert_int_equal(version, 2);
    assert_status(store_get(fx->store, "tip-2004-azerbaijan", &got, &err),
                  DOSSIER_NOT_FOUND, &err);
    assert_status(store_get_packed(fx->store, "tip-2004-azerbaijan",
                                   s_packed_copy, &packed, &err),
                  DOSSIER_NOT_FOUND, &err);
    assert_status(s_del1(fx->store, "tip-2004-azerbaijan", 0, NULL, &err),
                  DOSSIER_NOT_FOUND, &err);
    assert_status(store_get(fx->store, "bad id", &got, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_int_equal(s_count(fx->store), 0);
    s_assert_clean(fx->store);
}

/* ---- Versions ---- */

static void
test_versions(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    dossier_error_t err = {0};
    s_rec_t x;
    s_rec(&x, "r1", "France", NULL, 2010, DOSSIER__V1__TIER__TIER_1, "USDOS",
          NULL);
    store_put_result_t res;
    assert_ok(s_put1(fx->store, &x.r, NULL, &res, &err), &err);

    store_put_args_t args = {.expected_version = 5};
    assert_status(s_put1(fx->store, &x.r, &args, &res, &err), DOSSIER_ABORTED,
                  &err);
    assert_non_null(strstr(err.message, "report r1 is at version 1, not 5"));
    args.expected_version = 1;
    assert_ok(s_put1(fx->store, &x.r, &args, &res, &err), &err);
    assert_int_equal(res.version, 2);
    assert_status(s_put1(fx->store, &x.r, &args, &res, &err), DOSSIER_ABORTED,
                  &err);
    assert_non_null(strstr(err.message, "at version 2, not 1"));

    store_put_args_t create = {.create_only = true};
    assert_status(s_put1(fx->store, &x.r, &create, &res, &err),
                  DOSSIER_ALREADY_EXISTS, &err);
    s_rec_t y;
    s_rec(&y, "r2", "France", NULL, 2011, DOSSIER__V1__TIER__TIER_1, "USDOS",
          NULL);
    assert_ok(s_put1(fx->store, &y.r, &create, &res, &err), &err);
    assert_int_equal(res.version, 1);
    assert_true(res.created);

    /* A missing record has version 0. */
    s_rec_t z;
    s_rec(&z, "r3", "France", NULL, 2012, DOSSIER__V1__TIER__TIER_1, "USDOS",
          NULL);
    args.expected_version = 3;
    assert_status(s_put1(fx->store, &z.r, &args, &res, &err), DOSSIER_ABORTED,
                  &err);
    assert_status(s_del1(fx->store, "r3", 1, NULL, &err), DOSSIER_ABORTED,
                  &err);
    assert_status(s_del1(fx->store, "r1", 1, NULL, &err), DOSSIER_ABORTED,
                  &err);
    assert_non_null(strstr(err.message, "at version 2, not 1"));
    uint64_t version = 0;
    assert_ok(s_del1(fx->store, "r1", 2, &version, &err), &err);
    assert_int_equal(version, 2);

    /* Recreated: numbered on after its deletion (version 3, the
       tombstone), so a version names one version for good. */
    assert_ok(s_put1(fx->store, &x.r, NULL, &res, &err), &err);
    assert_int_equal(res.version, 4);
    assert_true(res.created);

    /* skip_if_same_source */
    x.r.source_sha256 = "aaaa";
    assert_ok(s_put1(fx->store, &x.r, NULL, &res, &err), &err);
    assert_int_equal(res.version, 5);
    store_put_args_t skip = {.skip_if_same_source = true};
    assert_ok(s_put1(fx->store, &x.r, &skip, &res, &err), &err);
    assert_true(res.unchanged);
    assert_int_equal(res.version, 5);
    x.r.source_sha256 = "bbbb";
    assert_ok(s_put1(fx->store, &x.r, &skip, &res, &err), &err);
    assert_false(res.unchanged);
    assert_int_equal(res.version, 6);
    s_assert_clean(fx->store);
}

/* ---- Validation ---- */

static void
test_validation(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    dossier_error_t err = {0};
    s_rec_t x;
    store_put_result_t res;
    char long_id[140];
    memset(long_id, 'a', 129);
    long_id[129] = '\0';
    const char *bad_ids[] = {"", "has space", "slash/id", "é", long_id};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        s_rec(&x, "ok", "France", NULL, 2010, 0, NULL, NULL);
        x.r.id = (char *)bad_ids[i];
        assert_status(s_put1(fx->store, &x.r, NULL, &res, &err),
                      DOSSIER_INVALID_ARGUMENT, &err);
    }
    long_id[128] = '\0'; /* 128 is fine */
    s_rec(&x, long_id, "France", NULL, 2010, 0, NULL, NULL);
    assert_ok(s_put1(fx->store, &x.r, NULL, &res, &err), &err);

    s_rec(&x, "y", "France", NULL, 1899, 0, NULL, NULL);
    assert_status(s_put1(fx->store, &x.r, NULL, &res, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    x.r.year = 2201;
    assert_status(s_put1(fx->store, &x.r, NULL, &res, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    x.r.year = 0;
    x.r.tier = (Dossier__V1__Tier)9;
    assert_status(s_put1(fx->store, &x.r, NULL, &res, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    x.r.tier = DOSSIER__V1__TIER__SPECIAL_CASE;
    x.r.title = "bad \xC3\x28 utf8";
    assert_status(s_put1(fx->store, &x.r, NULL, &res, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_non_null(strstr(err.message, "title"));
    x.r.title = "overlong \xC0\xAF";
    assert_status(s_put1(fx->store, &x.r, NULL, &res, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    x.r.title = "surrogate \xED\xA0\x80";
    assert_status(s_put1(fx->store, &x.r, NULL, &res, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    x.r.title = "C\xC3\xB4te d'Ivoire \xF0\x9F\x98\x80";
    x.body[1] = "truncated \xE2\x82";
    assert_status(s_put1(fx->store, &x.r, NULL, &res, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_non_null(strstr(err.message, "body[1]"));
    x.body[1] = "fine";
    assert_ok(s_put1(fx->store, &x.r, NULL, &res, &err), &err);
    assert_status(store_put(NULL, &x.r, NULL, &res, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_int_equal(s_count(fx->store), 2);
    s_assert_clean(fx->store);
}

/* ---- Batches ---- */

static void
test_batch_partial_failure(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    dossier_error_t err = {0};
    s_rec_t a, b, c, d;
    s_rec(&a, "a", "France", NULL, 2010, DOSSIER__V1__TIER__TIER_1, "USDOS",
          NULL);
    s_rec(&b, "b", "Burma", NULL, 2011, DOSSIER__V1__TIER__TIER_3, "HRW", NULL);
    s_rec(&c, "c", "Burma", NULL, 1700, DOSSIER__V1__TIER__TIER_3, "HRW", NULL);
    s_rec(&d, "d", "Azerbaijan", NULL, 2012, DOSSIER__V1__TIER__TIER_2, "USDOS",
          NULL);
    store_batch_t *batch;
    store_put_result_t res;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    assert_ok(store_put(batch, &a.r, NULL, &res, &err), &err);
    store_put_args_t stale = {.expected_version = 3};
    assert_status(store_put(batch, &b.r, &stale, &res, &err), DOSSIER_ABORTED,
                  &err);
    assert_status(store_put(batch, &c.r, NULL, &res, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_ok(store_put(batch, &d.r, NULL, &res, &err), &err);
    assert_status(store_delete(batch, "nope", 0, NULL, &err), DOSSIER_NOT_FOUND,
                  &err);
    a.r.tier = DOSSIER__V1__TIER__TIER_2;
    assert_ok(store_put(batch, &a.r, NULL, &res, &err), &err);
    assert_int_equal(res.version, 2); /* sees its own earlier write */
    store_put_args_t create = {.create_only = true};
    assert_status(store_put(batch, &d.r, &create, &res, &err),
                  DOSSIER_ALREADY_EXISTS, &err);
    assert_ok(store_batch_commit(&batch, &err), &err);
    assert_null(batch);

    Dossier__V1__Report *got;
    assert_ok(store_get(fx->store, "a", &got, &err), &err);
    assert_int_equal(got->version, 2);
    assert_int_equal(got->tier, DOSSIER__V1__TIER__TIER_2);
    dossier__v1__report__free_unpacked(got, NULL);
    assert_ok(store_get(fx->store, "d", &got, &err), &err);
    dossier__v1__report__free_unpacked(got, NULL);
    assert_status(store_get(fx->store, "b", &got, &err), DOSSIER_NOT_FOUND,
                  &err);
    assert_int_equal(s_count(fx->store), 2);
    s_assert_clean(fx->store);

    /* The tier index has a's new tier only. */
    store_filter_t f = {.tier = DOSSIER__V1__TIER__TIER_1};
    Dossier__V1__ListResponse *list;
    assert_ok(store_list(fx->store, &f, 10, NULL, false, &list, &err), &err);
    assert_int_equal(list->n_reports, 0);
    dossier__v1__list_response__free_unpacked(list, NULL);

    /* A delete and a put of the same id in one batch. */
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    uint64_t version;
    assert_ok(store_delete(batch, "a", 2, &version, &err), &err);
    assert_int_equal(version, 2);
    assert_ok(store_put(batch, &a.r, &create, &res, &err), &err);
    assert_int_equal(res.version, 4); /* after its tombstone, 3 */
    assert_ok(store_batch_commit(&batch, &err), &err);
    s_assert_clean(fx->store);
}

static void
test_batch_abort(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    dossier_error_t err = {0};
    s_rec_t a;
    s_rec(&a, "a", "France", NULL, 2010, DOSSIER__V1__TIER__TIER_1, "USDOS",
          NULL);
    store_batch_t *batch;
    store_put_result_t res;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    assert_ok(store_put(batch, &a.r, NULL, &res, &err), &err);
    store_batch_abort(&batch);
    assert_null(batch);
    store_batch_abort(&batch); /* takes NULL */
    Dossier__V1__Report *got;
    assert_status(store_get(fx->store, "a", &got, &err), DOSSIER_NOT_FOUND,
                  &err);
    assert_int_equal(s_count(fx->store), 0);
    s_assert_clean(fx->store);
    /* The store takes the next batch. */
    assert_ok(s_put1(fx->store, &a.r, NULL, &res, &err), &err);
    assert_int_equal(res.version, 1);
    assert_int_equal(s_count(fx->store), 1);
}

/* ---- Listing ---- */

#define N_LIST 90

typedef struct {
    s_rec_t rec[N_LIST];
    char ids[N_LIST][32];
} s_corpus_t;

static const char *const s_countries[][2] = {
    {"Azerbaijan", "AZE"}, {"Burma", ""},    {"Myanmar", "MMR"},
    {"France", "FRA"},     {"Atlantis", ""}, {"Côte d'Ivoire", ""},
};
static const char *const s_publishers[] = {"USDOS", "usdos",
                                           "Human Rights Watch", ""};
static const char *const s_doc_types[] = {NULL, "Freedom in the World",
                                          "freedom in the WORLD"};

static void
s_corpus_fill(s_corpus_t *c, store_t *store) {
    dossier_error_t err = {0};
    store_batch_t *batch;
    assert_ok(store_batch_begin(store, &batch, &err), &err);
    for (int i = 0; i < N_LIST; i++) {
        /* Ids not in insertion order. */
        int k = (i * 37) % N_LIST;
        snprintf(c->ids[i], sizeof c->ids[i], "rep-%03d", k);
        const char *const *country = s_countries[i % 6];
        uint32_t year = i % 11 == 10 ? 0 : 2000 + (uint32_t)(i % 7);
        s_rec(&c->rec[i], c->ids[i], country[0], country[1], year,
              (Dossier__V1__Tier)(i % 6), s_publishers[i % 4],
              s_doc_types[i % 3]);
        store_put_result_t res;
        assert_ok(store_put(batch, &c->rec[i].r, NULL, &res, &err), &err);
    }
    assert_ok(store_batch_commit(&batch, &err), &err);
}

static bool
s_matches(const store_filter_t *f, const Dossier__V1__Report *r) {
    if ((f->year_min || f->year_max) &&
        (r->year == 0 || (f->year_min && r->year < f->year_min) ||
         (f->year_max && r->year > f->year_max))) {
        return false;
    }
    if (f->tier && r->tier != f->tier) {
        return false;
    }
    if (f->country_key) {
        char key[128];
        store_report_country_key(r, key, sizeof key);
        if (strcmp(key, f->country_key) != 0) {
            return false;
        }
    }
    if (f->publisher && strcasecmp(f->publisher, r->publisher) != 0) {
        return false;
    }
    if (f->doc_type && strcasecmp(f->doc_type, r->doc_type) != 0) {
        return false;
    }
    return true;
}

static int
s_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lists every page of filter f with page_size and compares with brute
   force. Returns the number of matches. */
static size_t
s_check_listing(store_t *store, const s_corpus_t *c, const store_filter_t *f,
                uint32_t page_size) {
    const char *want[N_LIST];
    size_t n_want = 0;
    for (int i = 0; i < N_LIST; i++) {
        if (s_matches(f, &c->rec[i].r)) {
            want[n_want++] = c->ids[i];
        }
    }
    qsort(want, n_want, sizeof *want, s_cmp_str);
    dossier_error_t err = {0};
    char token[512] = "";
    size_t got = 0;
    for (int page = 0; page <= N_LIST + 1; page++) {
        Dossier__V1__ListResponse *list = NULL;
        assert_ok(
            store_list(store, f, page_size, token, page % 2 == 0, &list, &err),
            &err);
        assert_true(list->n_reports <=
                    (page_size ? page_size : STORE_DEFAULT_PAGE_SIZE));
        for (size_t i = 0; i < list->n_reports; i++) {
            assert_true(got < n_want);
            assert_string_equal(list->reports[i]->id, want[got]);
            assert_true(s_matches(f, list->reports[i]));
            /* Even pages full view, odd ones the summary. */
            assert_int_equal(list->reports[i]->n_body, page % 2 ? 0 : 2);
            assert_string_equal(list->reports[i]->cite_as,
                                page % 2 ? "" : "Cite me");
            assert_string_equal(list->reports[i]->disclaimer,
                                page % 2 ? "" : "Disclaimer");
            got++;
        }
        snprintf(token, sizeof token, "%s", list->next_page_token);
        bool last = list->next_page_token[0] == '\0';
        if (!last) {
            assert_int_equal(list->n_reports,
                             page_size ? page_size : STORE_DEFAULT_PAGE_SIZE);
        }
        dossier__v1__list_response__free_unpacked(list, NULL);
        if (last) {
            break;
        }
    }
    assert_int_equal(got, n_want);
    return n_want;
}

static void
test_list_pagination(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    s_corpus_t *c = calloc(1, sizeof *c);
    s_corpus_fill(c, fx->store);
    char aze[128], mmr[128], atl[128], civ[128];
    country_key("Azerbaijan", aze, sizeof aze);
    country_key("Burma", mmr, sizeof mmr);
    country_key("Atlantis", atl, sizeof atl);
    country_key("Ivory Coast", civ, sizeof civ);
    const store_filter_t filters[] = {
        {0},
        {.country_key = aze},
        {.country_key = mmr},
        {.country_key = atl},
        {.country_key = civ},
        {.country_key = mmr, .year_min = 2002, .year_max = 2005},
        {.country_key = mmr, .year_min = 2003},
        {.country_key = aze, .tier = DOSSIER__V1__TIER__TIER_1},
        {.year_min = 2001, .year_max = 2004},
        {.year_min = 2004},
        {.year_max = 2002},
        {.year_min = 2003, .year_max = 2003},
        {.tier = DOSSIER__V1__TIER__TIER_3},
        {.tier = DOSSIER__V1__TIER__TIER_UNSPECIFIED},
        {.publisher = "USDOS"},
        {.publisher = "human rights WATCH"},
        {.publisher = "nobody"},
        {.publisher = "usdos", .tier = DOSSIER__V1__TIER__TIER_2},
        {.publisher = "usdos", .year_min = 2002, .year_max = 2004},
        {.doc_type = "Freedom in the World"},
        {.doc_type = "trafficking in persons report"},
        {.doc_type = "Freedom"},
        {.doc_type = "FREEDOM IN THE WORLD", .country_key = aze},
        {.doc_type = "Freedom in the World", .publisher = "usdos"},
        {.year_min = 2100},
    };
    const uint32_t sizes[] = {1, 3, 7, 50, 1000};
    size_t total = 0;
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
        for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
            size_t n = s_check_listing(fx->store, c, &filters[i], sizes[j]);
            if (j == 0) {
                total += n;
            }
        }
    }
    assert_true(total > N_LIST); /* the filters did select something */
    s_check_listing(fx->store, c, &filters[0], 0); /* default page size */

    /* Tokens: another filter, garbage, a size too large. */
    dossier_error_t err = {0};
    Dossier__V1__ListResponse *list = NULL;
    assert_ok(store_list(fx->store, &filters[1], 2, NULL, false, &list, &err),
              &err);
    char token[512];
    snprintf(token, sizeof token, "%s", list->next_page_token);
    dossier__v1__list_response__free_unpacked(list, NULL);
    assert_true(token[0] != '\0');
    assert_status(
        store_list(fx->store, &filters[2], 2, token, false, &list, &err),
        DOSSIER_INVALID_ARGUMENT, &err);
    assert_ok(store_list(fx->store, &filters[1], 2, token, false, &list, &err),
              &err);
    dossier__v1__list_response__free_unpacked(list, NULL);
    const char *garbage[] = {"zz",
                             "abc",
                             "0102",
                             "not a token at all",
                             "01000000000000000020",
                             "ffffffffffffffffffffffffffffffffffffff"};
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
        assert_status(store_list(fx->store, &filters[0], 2, garbage[i], false,
                                 &list, &err),
                      DOSSIER_INVALID_ARGUMENT, &err);
    }
    token[1] ^= 1; /* a flipped bit in the filter hash or version */
    assert_status(
        store_list(fx->store, &filters[1], 2, token, false, &list, &err),
        DOSSIER_INVALID_ARGUMENT, &err);
    assert_status(
        store_list(fx->store, &filters[0], 1001, NULL, false, &list, &err),
        DOSSIER_INVALID_ARGUMENT, &err);
    store_filter_t upside = {.year_min = 2005, .year_max = 2001};
    assert_status(store_list(fx->store, &upside, 10, NULL, false, &list, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);

    /* A record inserted before the token's position between pages is not
       seen twice, and nothing is skipped after it. */
    assert_ok(store_list(fx->store, NULL, 5, NULL, false, &list, &err), &err);
    snprintf(token, sizeof token, "%s", list->next_page_token);
    dossier__v1__list_response__free_unpacked(list, NULL);
    s_rec_t early;
    s_rec(&early, "rep-000a", "France", "FRA", 2001, 1, "USDOS", NULL);
    assert_ok(s_put1(fx->store, &early.r, NULL, NULL, &err), &err);
    assert_ok(store_list(fx->store, NULL, 5, token, false, &list, &err), &err);
    assert_string_equal(list->reports[0]->id, "rep-005");
    dossier__v1__list_response__free_unpacked(list, NULL);
    s_assert_clean(fx->store);
    free(c);
}

/*  Index keys keep at most 200 bytes of a publisher and 127 of a country
    key: records that differ only further on share a key prefix, and the
    listing still tells them apart. Hostile filter sizes are harmless. */
static void
test_list_long_keys(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    dossier_error_t err = {0};
    static char pub_a[400], pub_b[400], land_a[300], land_b[300];
    memset(pub_a, 'P', 300);
    memcpy(pub_b, pub_a, 300);
    pub_b[299] = 'Q';
    memset(land_a, 'l', 250);
    memcpy(land_b, land_a, 250);
    land_b[249] = 'm';
    s_rec_t a, b;
    s_rec(&a, "long-a", land_a, NULL, 2004, DOSSIER__V1__TIER__TIER_1, pub_a,
          NULL);
    s_rec(&b, "long-b", land_b, NULL, 2004, DOSSIER__V1__TIER__TIER_1, pub_b,
          NULL);
    assert_ok(s_put1(fx->store, &a.r, NULL, NULL, &err), &err);
    assert_ok(s_put1(fx->store, &b.r, NULL, NULL, &err), &err);
    s_assert_clean(fx->store);

    Dossier__V1__ListResponse *list;
    store_filter_t f = {.publisher = pub_b};
    assert_ok(store_list(fx->store, &f, 10, NULL, false, &list, &err), &err);
    assert_int_equal(list->n_reports, 1);
    assert_string_equal(list->reports[0]->id, "long-b");
    dossier__v1__list_response__free_unpacked(list, NULL);

    /* Unknown countries: keys are folded names, truncated alike, so the
       two (equal in their first 127 bytes) share one key. */
    char key[128];
    store_report_country_key(&a.r, key, sizeof key);
    f = (store_filter_t){.country_key = key};
    assert_ok(store_list(fx->store, &f, 10, NULL, false, &list, &err), &err);
    assert_int_equal(list->n_reports, 2);
    dossier__v1__list_response__free_unpacked(list, NULL);
    Dossier__V1__HistoryResponse *h;
    assert_ok(store_history(fx->store, key, NULL, &h, &err), &err);
    assert_int_equal(h->n_entries, 1);
    dossier__v1__history_response__free_unpacked(h, NULL);

    char *huge = malloc(100000);
    memset(huge, 'x', 99999);
    huge[99999] = '\0';
    f = (store_filter_t){.publisher = huge, .country_key = huge};
    assert_ok(store_list(fx->store, &f, 10, NULL, false, &list, &err), &err);
    assert_int_equal(list->n_reports, 0);
    dossier__v1__list_response__free_unpacked(list, NULL);
    assert_status(store_list(fx->store, &f, 10, huge, false, &list, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_status(store_history(fx->store, huge, NULL, &h, &err),
                  DOSSIER_NOT_FOUND, &err);
    assert_status(
        store_get(fx->store, huge, &(Dossier__V1__Report *){NULL}, &err),
        DOSSIER_INVALID_ARGUMENT, &err);
    free(huge);
}

/* ---- History and changes ---- */

static void
s_put_tip(store_t *store, const char *id, const char *country, const char *code,
          uint32_t year, Dossier__V1__Tier tier, const char *series) {
    dossier_error_t err = {0};
    s_rec_t x;
    s_rec(&x, id, country, code, year, tier, "USDOS", series);
    assert_ok(s_put1(store, &x.r, NULL, NULL, &err), &err);
}

static void
test_history_and_changes(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    s_put_tip(fx->store, "tip-2003-aze", "Azerbaijan", "AZE", 2003,
              DOSSIER__V1__TIER__TIER_2_WATCH_LIST, NULL);
    /* Two records for Azerbaijan 2004: the later one counts. */
    s_put_tip(fx->store, "tip-2004-aze-a", "Azerbaijan", "AZE", 2004,
              DOSSIER__V1__TIER__TIER_3, NULL);
    usleep(2000);
    s_put_tip(fx->store, "tip-2004-aze-b", "Azerbaijan", "AZE", 2004,
              DOSSIER__V1__TIER__TIER_2, NULL);
    s_put_tip(fx->store, "tip-2005-aze", "Azerbaijan", "", 2005,
              DOSSIER__V1__TIER__TIER_2, NULL);
    s_put_tip(fx->store, "hrw-2004-aze", "Azerbaijan", "AZE", 2004,
              DOSSIER__V1__TIER__TIER_3, "World Report");
    s_put_tip(fx->store, "tip-2003-fra", "France", "FRA", 2003,
              DOSSIER__V1__TIER__TIER_1, NULL);
    s_put_tip(fx->store, "tip-2004-fra", "France", "FRA", 2004,
              DOSSIER__V1__TIER__TIER_2, NULL);
    s_put_tip(fx->store, "tip-2003-mmr", "Burma", "", 2003,
              DOSSIER__V1__TIER__TIER_3, NULL);
    s_put_tip(fx->store, "tip-2004-mmr", "Burma", "MMR", 2004,
              DOSSIER__V1__TIER__SPECIAL_CASE, NULL);
    s_put_tip(fx->store, "tip-2004-civ", "Côte d'Ivoire", "", 2004,
              DOSSIER__V1__TIER__TIER_2, NULL); /* no 2003: no change */
    s_put_tip(fx->store, "tip-2003-bel", "Belgium", "BEL", 2003,
              DOSSIER__V1__TIER__TIER_1, NULL);
    s_put_tip(fx->store, "tip-2004-bel", "Belgium", "BEL", 2004,
              DOSSIER__V1__TIER__TIER_1, NULL); /* same tier */
    s_put_tip(fx->store, "tip-2003-zzz", "Atlantis", "", 2003,
              DOSSIER__V1__TIER__TIER_1, NULL);
    s_put_tip(fx->store, "tip-2004-zzz", "Atlantis", "", 2004,
              DOSSIER__V1__TIER__TIER_UNSPECIFIED, NULL); /* no tier */

    dossier_error_t err = {0};
    Dossier__V1__HistoryResponse *h = NULL;
    assert_ok(store_history(fx->store, "AZE", NULL, &h, &err), &err);
    assert_string_equal(h->country, "Azerbaijan");
    assert_int_equal(h->n_entries, 3);
    assert_int_equal(h->entries[0]->year, 2003);
    assert_int_equal(h->entries[0]->tier, DOSSIER__V1__TIER__TIER_2_WATCH_LIST);
    assert_string_equal(h->entries[0]->report_id, "tip-2003-aze");
    assert_int_equal(h->entries[1]->year, 2004);
    assert_int_equal(h->entries[1]->tier, DOSSIER__V1__TIER__TIER_2);
    assert_string_equal(h->entries[1]->report_id, "tip-2004-aze-b");
    assert_int_equal(h->entries[2]->year, 2005);
    assert_string_equal(h->country_code, ""); /* from the newest, 2005 */
    dossier__v1__history_response__free_unpacked(h, NULL);

    assert_ok(store_history(fx->store, "AZE", "world report", &h, &err), &err);
    assert_int_equal(h->n_entries, 1);
    assert_string_equal(h->entries[0]->report_id, "hrw-2004-aze");
    dossier__v1__history_response__free_unpacked(h, NULL);

    char mmr[128];
    country_key("Myanmar", mmr, sizeof mmr);
    assert_ok(store_history(fx->store, mmr, TIP, &h, &err), &err);
    assert_int_equal(h->n_entries, 2);
    assert_string_equal(h->country_code, "MMR");
    dossier__v1__history_response__free_unpacked(h, NULL);
    assert_status(store_history(fx->store, "NOR", NULL, &h, &err),
                  DOSSIER_NOT_FOUND, &err);
    assert_status(store_history(fx->store, "", NULL, &h, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);

    Dossier__V1__ChangesResponse *ch = NULL;
    assert_ok(store_changes(fx->store, 2004, NULL, &ch, &err), &err);
    assert_int_equal(ch->year, 2004);
    assert_int_equal(ch->n_changes, 3);
    assert_string_equal(ch->changes[0]->country, "Azerbaijan");
    assert_int_equal(ch->changes[0]->previous,
                     DOSSIER__V1__TIER__TIER_2_WATCH_LIST);
    assert_int_equal(ch->changes[0]->current, DOSSIER__V1__TIER__TIER_2);
    assert_int_equal(ch->changes[0]->move,
                     DOSSIER__V1__TIER_MOVE__TIER_MOVE_UPGRADE);
    assert_string_equal(ch->changes[0]->report_id, "tip-2004-aze-b");
    assert_string_equal(ch->changes[1]->country, "Burma");
    assert_string_equal(ch->changes[1]->country_code, "MMR");
    assert_int_equal(ch->changes[1]->move,
                     DOSSIER__V1__TIER_MOVE__TIER_MOVE_OTHER);
    assert_string_equal(ch->changes[2]->country, "France");
    assert_int_equal(ch->changes[2]->previous, DOSSIER__V1__TIER__TIER_1);
    assert_int_equal(ch->changes[2]->current, DOSSIER__V1__TIER__TIER_2);
    assert_int_equal(ch->changes[2]->move,
                     DOSSIER__V1__TIER_MOVE__TIER_MOVE_DOWNGRADE);
    dossier__v1__changes_response__free_unpacked(ch, NULL);

    assert_ok(store_changes(fx->store, 2003, NULL, &ch, &err), &err);
    assert_int_equal(ch->n_changes, 0);
    dossier__v1__changes_response__free_unpacked(ch, NULL);
    assert_ok(store_changes(fx->store, 2004, "World Report", &ch, &err), &err);
    assert_int_equal(ch->n_changes, 0);
    dossier__v1__changes_response__free_unpacked(ch, NULL);
    assert_status(store_changes(fx->store, 0, NULL, &ch, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);

    /* Stats count by year and tier. */
    Dossier__V1__StatsResponse *st = NULL;
    assert_ok(store_stats(fx->store, &st, &err), &err);
    assert_int_equal(st->records, 14);
    uint64_t sum = 0;
    for (size_t i = 0; i < st->n_by_year; i++) {
        sum += st->by_year[i]->count;
        if (st->by_year[i]->year == 2004) {
            assert_int_equal(st->by_year[i]->count, 8);
        }
    }
    assert_int_equal(sum, 14);
    sum = 0;
    for (size_t i = 0; i < st->n_by_tier; i++) {
        sum += st->by_tier[i]->count;
        if (st->by_tier[i]->tier == DOSSIER__V1__TIER__TIER_1) {
            assert_int_equal(st->by_tier[i]->count, 4);
        }
    }
    assert_int_equal(sum, 14);
    assert_true(st->db_bytes > 0);
    assert_true(st->map_bytes >= st->db_bytes);
    dossier__v1__stats_response__free_unpacked(st, NULL);
    s_assert_clean(fx->store);
}

/* ---- Schema, reopen, locking ---- */

/* Writes value under key in the named database of the store in dir. */
static void
s_raw_put(const char *dir, const char *db, const void *key, size_t klen,
          const void *value, size_t vlen) {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    MDB_val k = {klen, (void *)key};
    if (value) {
        MDB_val v = {vlen, (void *)value};
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    } else {
        assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void
test_schema_refusal(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    store_destroy(&fx->store);
    assert_null(fx->store);
    store_destroy(&fx->store); /* takes NULL */
    s_raw_put(fx->dir, "meta", "schema_version", 14, "2", 1);
    dossier_error_t err = {0};
    store_t *store = NULL;
    assert_status(store_open(fx->dir, NULL, &store, &err),
                  DOSSIER_FAILED_PRECONDITION, &err);
    assert_null(store);
    assert_non_null(strstr(err.message, "has schema version 2; this dossierd "
                                        "supports up to 1: upgrade dossierd"));
    s_raw_put(fx->dir, "meta", "schema_version", 14, "x", 1);
    assert_status(store_open(fx->dir, NULL, &store, &err), DOSSIER_DATA_LOSS,
                  &err);
    s_raw_put(fx->dir, "meta", "schema_version", 14, "1", 1);
    s_open(fx, NULL);
    assert_status(store_open("/nonexistent/dossier", NULL, &store, &err),
                  DOSSIER_UNAVAILABLE, &err);
}

static void
test_reopen_and_lock(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    dossier_error_t err = {0};
    s_rec_t x;
    s_rec(&x, "kept", "France", "FRA", 2010, DOSSIER__V1__TIER__TIER_1, "USDOS",
          NULL);
    assert_ok(s_put1(fx->store, &x.r, NULL, NULL, &err), &err);
    store_t *second = NULL;
    assert_status(store_open(fx->dir, NULL, &second, &err), DOSSIER_UNAVAILABLE,
                  &err);
    assert_non_null(strstr(err.message, "already open"));
    store_destroy(&fx->store);
    s_open(fx, NULL);
    Dossier__V1__Report *got;
    assert_ok(store_get(fx->store, "kept", &got, &err), &err);
    assert_int_equal(got->version, 1);
    dossier__v1__report__free_unpacked(got, NULL);
    assert_ok(s_put1(fx->store, &x.r, NULL, NULL, &err), &err);
    assert_int_equal(s_count(fx->store), 1);
    s_assert_clean(fx->store);
}

/* ---- Map growth ---- */

static char s_big_body[8192];

static void
s_big_rec(s_rec_t *x, int i) {
    char id[32];
    snprintf(id, sizeof id, "big-%05d", i);
    s_rec(x, id, "France", "FRA", 2000 + (uint32_t)(i % 20),
          (Dossier__V1__Tier)(1 + i % 4), "USDOS", NULL);
    x->body[0] = s_big_body;
    x->r.n_body = 1;
}

static void
s_fill_body(void) {
    for (size_t i = 0; i < sizeof s_big_body - 1; i++) {
        s_big_body[i] = (char)('a' + (i * 7 + i / 13) % 26);
    }
}

static void
test_map_growth(void **state) {
    fixture_t *fx = *state;
    s_fill_body();
    store_options_t options = {.map_size = 1 << 20, .no_sync = true};
    s_open(fx, &options);
    dossier_error_t err = {0};
    Dossier__V1__StatsResponse *st;
    assert_ok(store_stats(fx->store, &st, &err), &err);
    uint64_t first_map = st->map_bytes;
    dossier__v1__stats_response__free_unpacked(st, NULL);
    assert_int_equal(first_map, 1 << 20);

    /* Batches of 100 x 8 KiB, larger than the half of the map a batch
       finds free (store_batch_begin grows the map past half full): the
       map fills in the middle of batches, which then grow and replay. */
    int n = 0;
    uint64_t map = first_map;
    while (map < 8 * first_map && n < 4000) {
        store_batch_t *batch;
        assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
        for (int j = 0; j < 160; j++, n++) {
            s_rec_t x;
            s_big_rec(&x, n);
            store_put_result_t res;
            assert_ok(store_put(batch, &x.r, NULL, &res, &err), &err);
            assert_int_equal(res.version, 1);
        }
        assert_ok(store_batch_commit(&batch, &err), &err);
        assert_ok(store_stats(fx->store, &st, &err), &err);
        map = st->map_bytes;
        assert_int_equal(st->records, (uint64_t)n);
        dossier__v1__stats_response__free_unpacked(st, NULL);
    }
    assert_true(map >= 8 * first_map); /* doubled three times at least */
    print_message("map grew from %llu to %llu bytes for %d records\n",
                  (unsigned long long)first_map, (unsigned long long)map, n);
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "big-%05d", i);
        Dossier__V1__Report *got;
        assert_ok(store_get(fx->store, id, &got, &err), &err);
        assert_int_equal(got->n_body, 1);
        assert_string_equal(got->body[0], s_big_body);
        dossier__v1__report__free_unpacked(got, NULL);
    }
    s_assert_clean(fx->store);

    /* Reopened with the small initial size: still all there, still grows. */
    store_destroy(&fx->store);
    s_open(fx, &options);
    assert_int_equal(s_count(fx->store), (uint64_t)n);
    s_rec_t x;
    s_big_rec(&x, n);
    assert_ok(s_put1(fx->store, &x.r, NULL, NULL, &err), &err);
    assert_int_equal(s_count(fx->store), (uint64_t)n + 1);
    s_assert_clean(fx->store);
}

static void
test_max_map_size(void **state) {
    fixture_t *fx = *state;
    s_fill_body();
    store_options_t options = {
        .map_size = 1 << 20, .max_map_size = 2 << 20, .no_sync = true};
    s_open(fx, &options);
    dossier_error_t err = {0};
    int n = 0;
    dossier_status_t st = DOSSIER_OK;
    /* Batches of 10: the one that overflows keeps its earlier writes. */
    while (st == DOSSIER_OK && n < 2000) {
        store_batch_t *batch;
        assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
        for (int j = 0; j < 10; j++) {
            s_rec_t x;
            s_big_rec(&x, n);
            st = store_put(batch, &x.r, NULL, NULL, &err);
            if (st != DOSSIER_OK) {
                break;
            }
            n++;
        }
        dossier_error_t cerr = {0};
        assert_ok(store_batch_commit(&batch, &cerr), &cerr);
    }
    assert_status(st, DOSSIER_RESOURCE_EXHAUSTED, &err);
    assert_non_null(strstr(err.message, "raise max_map_size"));
    print_message("full after %d records: %s\n", n, err.message);
    assert_true(n > 100);
    assert_int_equal(s_count(fx->store), (uint64_t)n);
    s_assert_clean(fx->store); /* the failed write left no index entry */

    /* Reads still work. */
    Dossier__V1__Report *got;
    assert_ok(store_get(fx->store, "big-00000", &got, &err), &err);
    dossier__v1__report__free_unpacked(got, NULL);
    char last[32];
    snprintf(last, sizeof last, "big-%05d", n - 1);
    assert_ok(store_get(fx->store, last, &got, &err), &err);
    dossier__v1__report__free_unpacked(got, NULL);

    /* Freeing space makes room for writes again. */
    int deleted = 0;
    for (int i = 0; i < 40; i++) {
        char id[32];
        snprintf(id, sizeof id, "big-%05d", i);
        if (s_del1(fx->store, id, 0, NULL, &err) == DOSSIER_OK) {
            deleted++;
        } else {
            print_message("delete %s: %s\n", id, err.message);
        }
    }
    assert_true(deleted > 0);
    s_rec_t small;
    s_rec(&small, "small", "France", "FRA", 2010, DOSSIER__V1__TIER__TIER_1,
          "USDOS", NULL);
    assert_ok(s_put1(fx->store, &small.r, NULL, NULL, &err), &err);
    assert_int_equal(s_count(fx->store), (uint64_t)(n - deleted + 1));
    s_assert_clean(fx->store);
}

/* ---- Disk full ---- */

/*  A file size limit makes LMDB's writes fail at commit as a full disk
    would: the commit fails cleanly, nothing of the batch is stored, and
    the store serves reads and later writes. */
static void
test_disk_full(void **state) {
    fixture_t *fx = *state;
    s_fill_body();
    s_open(fx, NULL); /* synchronous commits */
    dossier_error_t err = {0};
    for (int i = 0; i < 10; i++) {
        s_rec_t x;
        s_big_rec(&x, i);
        assert_ok(s_put1(fx->store, &x.r, NULL, NULL, &err), &err);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", fx->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    lim.rlim_cur = (rlim_t)st.st_size;
    lim.rlim_max = old.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

    store_batch_t *batch;
    dossier_status_t commit = DOSSIER_OK;
    dossier_status_t begin = store_batch_begin(fx->store, &batch, &err);
    if (begin == DOSSIER_OK) {
        for (int i = 10; i < 60; i++) {
            s_rec_t x;
            s_big_rec(&x, i);
            if (store_put(batch, &x.r, NULL, NULL, &err) != DOSSIER_OK) {
                break;
            }
        }
        commit = store_batch_commit(&batch, &err);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    assert_ok(begin, &err);
    assert_status(commit, DOSSIER_RESOURCE_EXHAUSTED, &err);
    print_message("commit past the size limit: %s\n", err.message);

    assert_int_equal(s_count(fx->store), 10);
    Dossier__V1__Report *got;
    assert_ok(store_get(fx->store, "big-00009", &got, &err), &err);
    dossier__v1__report__free_unpacked(got, NULL);
    assert_status(store_get(fx->store, "big-00010", &got, &err),
                  DOSSIER_NOT_FOUND, &err);
    s_rec_t x;
    s_big_rec(&x, 10);
    assert_ok(s_put1(fx->store, &x.r, NULL, NULL, &err), &err);
    assert_int_equal(s_count(fx->store), 11);
    s_assert_clean(fx->store);
    /* And after a reopen. */
    store_destroy(&fx->store);
    s_open(fx, NULL);
    assert_int_equal(s_count(fx->store), 11);
    s_assert_clean(fx->store);
}

/* ---- Check ---- */

static void
test_check_detects_damage(void **state) {
    fixture_t *fx = *state;
    s_open(fx, NULL);
    dossier_error_t err = {0};
    s_put_tip(fx->store, "c1", "France", "FRA", 2003, DOSSIER__V1__TIER__TIER_1,
              NULL);
    s_put_tip(fx->store, "c2", "France", "FRA", 2004, DOSSIER__V1__TIER__TIER_2,
              NULL);
    s_put_tip(fx->store, "c3", "Burma", "MMR", 2004, DOSSIER__V1__TIER__TIER_3,
              NULL);
    s_assert_clean(fx->store);
    store_destroy(&fx->store);

    /* Remove c2's by_tier entry: tier byte, then the id. */
    unsigned char key[8] = {DOSSIER__V1__TIER__TIER_2, 'c', '2'};
    s_raw_put(fx->dir, "by_tier", key, 3, NULL, 0);
    s_open(fx, NULL);
    uint64_t problems = 0;
    assert_status(store_check(fx->store, &problems, &err), DOSSIER_DATA_LOSS,
                  &err);
    assert_int_equal(problems, 1);
    assert_non_null(strstr(err.message, "c2"));
    assert_non_null(strstr(err.message, "by_tier"));
    store_destroy(&fx->store);

    /* An orphan: a by_year entry for a record that does not exist. */
    unsigned char orphan[8] = {0, 0, 0x07, 0xd4, 'g', 'h', 'o', 's'};
    s_raw_put(fx->dir, "by_year", orphan, 8, "", 0);
    s_open(fx, NULL);
    assert_status(store_check(fx->store, &problems, &err), DOSSIER_DATA_LOSS,
                  &err);
    assert_int_equal(problems, 2);
    /* Listing through the damaged index says so instead of crashing. */
    store_filter_t f = {.year_min = 2004, .year_max = 2004};
    Dossier__V1__ListResponse *list;
    assert_status(store_list(fx->store, &f, 10, NULL, false, &list, &err),
                  DOSSIER_DATA_LOSS, &err);
    /* Unreadable record bytes. */
    store_destroy(&fx->store);
    s_raw_put(fx->dir, "records", "c1", 2, "\xff\xff\xff", 3);
    s_open(fx, NULL);
    assert_status(store_check(fx->store, &problems, &err), DOSSIER_DATA_LOSS,
                  &err);
    assert_true(problems >= 3);
    Dossier__V1__Report *got;
    assert_status(store_get(fx->store, "c1", &got, &err), DOSSIER_DATA_LOSS,
                  &err);
}

/* ---- Concurrency ---- */

#define N_CONC 40

typedef struct {
    store_t *store;
    volatile int stop;
    unsigned long reads, lists, bad;
    pthread_mutex_t mutex;
    char first_bad[256];
} s_conc_t;

static void
s_conc_bad(s_conc_t *c, const char *what) {
    pthread_mutex_lock(&c->mutex);
    if (c->bad++ == 0) {
        snprintf(c->first_bad, sizeof c->first_bad, "%s", what);
    }
    pthread_mutex_unlock(&c->mutex);
}

/* What version v of record i looks like. */
static void
s_conc_title(char *buf, size_t size, int i, uint64_t v) {
    snprintf(buf, size, "rec %d at version %llu", i, (unsigned long long)v);
}

static void *
s_conc_reader(void *arg) {
    s_conc_t *c = arg;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    unsigned long reads = 0, lists = 0;
    while (!c->stop) {
        int i = (int)(rand_r(&seed) % N_CONC);
        char id[32], title[64];
        snprintf(id, sizeof id, "conc-%02d", i);
        dossier_error_t err = {0};
        Dossier__V1__Report *r = NULL;
        dossier_status_t st = store_get(c->store, id, &r, &err);
        if (st == DOSSIER_OK) {
            s_conc_title(title, sizeof title, i, r->version);
            if (strcmp(r->title, title) != 0 || r->n_body != 1 ||
                strcmp(r->body[0], title) != 0 ||
                r->tier != (Dossier__V1__Tier)(1 + r->version % 4)) {
                s_conc_bad(c, "a record disagrees with its version");
            }
            dossier__v1__report__free_unpacked(r, NULL);
        } else if (st != DOSSIER_NOT_FOUND) {
            s_conc_bad(c, err.message);
        }
        reads++;
        if (reads % 16 == 0) {
            /* A listing by tier: right tier, ascending ids. */
            Dossier__V1__Tier tier = (Dossier__V1__Tier)(1 + reads / 16 % 4);
            store_filter_t f = {.tier = tier};
            Dossier__V1__ListResponse *list = NULL;
            st = store_list(c->store, &f, 100, NULL, false, &list, &err);
            if (st != DOSSIER_OK) {
                s_conc_bad(c, err.message);
                continue;
            }
            for (size_t k = 0; k < list->n_reports; k++) {
                if (list->reports[k]->tier != tier ||
                    (k > 0 && strcmp(list->reports[k - 1]->id,
                                     list->reports[k]->id) >= 0)) {
                    s_conc_bad(c, "a listing is out of order or filter");
                }
            }
            dossier__v1__list_response__free_unpacked(list, NULL);
            lists++;
        }
    }
    pthread_mutex_lock(&c->mutex);
    c->reads += reads;
    c->lists += lists;
    pthread_mutex_unlock(&c->mutex);
    return NULL;
}

static void
test_concurrency(void **state) {
    fixture_t *fx = *state;
    /* A small map so it grows while the readers read. */
    store_options_t options = {.map_size = 1 << 20, .no_sync = true};
    s_open(fx, &options);
    s_conc_t c = {.store = fx->store};
    pthread_mutex_init(&c.mutex, NULL);
    pthread_t readers[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&readers[i], NULL, s_conc_reader, &c),
                         0);
    }
    uint64_t versions[N_CONC] = {0};
    /* A deleted record's tombstone version: a put again numbers on
       after it. */
    uint64_t tombstones[N_CONC] = {0};
    /* 40 x 32 KiB live: more than the first map holds. */
    char *filler = malloc(32768);
    memset(filler, 'x', 32767);
    filler[32767] = '\0';
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned long writes = 0;
    dossier_error_t err = {0};
    /* 2 s, and at least every record twice (slow under valgrind), but
       never more than 60 s. */
    for (int round = 0; round < 100000; round++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (long)(now.tv_sec - start.tv_sec);
        if ((elapsed >= 2 && writes >= 2 * N_CONC) || elapsed >= 60) {
            break;
        }
        store_batch_t *batch;
        assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
        for (int j = 0; j < 5; j++) {
            int i = (round * 5 + j) % N_CONC;
            char id[32], title[64];
            snprintf(id, sizeof id, "conc-%02d", i);
            if (round % 7 == 3 && versions[i] > 0) {
                assert_ok(store_delete(batch, id, versions[i], NULL, &err),
                          &err);
                tombstones[i] = versions[i] + 1;
                versions[i] = 0;
                continue;
            }
            uint64_t next = (versions[i] ? versions[i] : tombstones[i]) + 1;
            s_conc_title(title, sizeof title, i, next);
            s_rec_t x;
            s_rec(&x, id, "France", "FRA", 2010,
                  (Dossier__V1__Tier)(1 + next % 4), "USDOS", NULL);
            x.body[0] = title;
            x.r.n_body = 1;
            x.r.title = title;
            x.r.cite_as = filler; /* bulk, so the map grows */
            store_put_args_t args = {.expected_version = versions[i]};
            store_put_result_t res;
            assert_ok(
                store_put(batch, &x.r, versions[i] ? &args : NULL, &res, &err),
                &err);
            assert_int_equal(res.version, next);
            versions[i] = res.version;
            writes++;
        }
        assert_ok(store_batch_commit(&batch, &err), &err);
    }
    c.stop = 1;
    for (int i = 0; i < 4; i++) {
        pthread_join(readers[i], NULL);
    }
    Dossier__V1__StatsResponse *st;
    assert_ok(store_stats(fx->store, &st, &err), &err);
    print_message("%lu writes, %lu reads, %lu listings; map %llu bytes\n",
                  writes, c.reads, c.lists, (unsigned long long)st->map_bytes);
    assert_true(st->map_bytes > 1 << 20); /* grew under readers */
    dossier__v1__stats_response__free_unpacked(st, NULL);
    if (c.bad) {
        print_error("%lu bad reads; first: %s\n", c.bad, c.first_bad);
    }
    assert_int_equal(c.bad, 0);
    assert_true(c.reads > 0);
    assert_true(writes > 0);
    s_assert_clean(fx->store);
    pthread_mutex_destroy(&c.mutex);
    free(filler);
}

/* ---- Speed (printed, not asserted) ---- */

static void
s_count_bytes(const void *data, size_t size, void *arg) {
    (void)data;
    *(size_t *)arg += size;
}

static double
s_elapsed_ns(const struct timespec *a, const struct timespec *b) {
    return (double)(b->tv_sec - a->tv_sec) * 1e9 +
           (double)(b->tv_nsec - a->tv_nsec);
}

static void
test_get_speed(void **state) {
    fixture_t *fx = *state;
    s_fill_body();
    store_options_t options = {.no_sync = true};
    s_open(fx, &options);
    dossier_error_t err = {0};
    store_batch_t *batch;
    char body[4096];
    memcpy(body, s_big_body, sizeof body - 1);
    body[sizeof body - 1] = '\0';
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    for (int i = 0; i < 1000; i++) {
        s_rec_t x;
        s_big_rec(&x, i);
        x.body[0] = body;
        assert_ok(store_put(batch, &x.r, NULL, NULL, &err), &err);
    }
    assert_ok(store_batch_commit(&batch, &err), &err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    print_message("store_put, 1000 in one batch (no_sync): %.0f ns per put\n",
                  s_elapsed_ns(&a, &b) / 1000);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 200; i++) {
        s_rec_t x;
        s_big_rec(&x, i);
        x.body[0] = body;
        assert_ok(s_put1(fx->store, &x.r, NULL, NULL, &err), &err);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    print_message("store_put, one per batch (no_sync): %.0f ns per put\n",
                  s_elapsed_ns(&a, &b) / 200);
    Dossier__V1__ListResponse *list;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 100; i++) {
        store_filter_t f = {.tier = DOSSIER__V1__TIER__TIER_2};
        assert_ok(store_list(fx->store, &f, 50, NULL, false, &list, &err),
                  &err);
        assert_int_equal(list->n_reports, 50);
        dossier__v1__list_response__free_unpacked(list, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    print_message("store_list, 50 by tier (summary): %.0f ns per call\n",
                  s_elapsed_ns(&a, &b) / 100);
    const int loops = 200000;
    size_t bytes = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < loops; i++) {
        char id[32];
        snprintf(id, sizeof id, "big-%05d", (i * 7919) % 1000);
        assert_ok(store_get_packed(fx->store, id, s_count_bytes, &bytes, &err),
                  &err);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    print_message("store_get_packed (4 KiB records): %.0f ns per call\n",
                  s_elapsed_ns(&a, &b) / loops);
    assert_true(bytes > (size_t)loops * 4096);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < loops / 4; i++) {
        char id[32];
        snprintf(id, sizeof id, "big-%05d", (i * 7919) % 1000);
        Dossier__V1__Report *r;
        assert_ok(store_get(fx->store, id, &r, &err), &err);
        dossier__v1__report__free_unpacked(r, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    print_message("store_get (unpacked): %.0f ns per call\n",
                  s_elapsed_ns(&a, &b) / (loops / 4));
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_versions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_validation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_partial_failure, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_abort, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_list_pagination, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_list_long_keys, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_history_and_changes, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_schema_refusal, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_lock, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_map_growth, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_max_map_size, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_detects_damage, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_concurrency, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_get_speed, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
