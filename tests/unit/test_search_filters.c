/*  test_search_filters.c: search filters (country, publisher, tier,
    document type, a year range) as postings of filter terms in the full-text
   index (server/store/fts/), checked against a model: a few hundred generated
    reports over several batches, every filter combination's hits (ids,
    order, scores, total) compared with the unfiltered ranking filtered by
    the model's attributes; again after updates move records between
    years, countries, tiers, publishers and document types and after
    deletes; store_check
    clean throughout, and dirty when a filter posting is lost; and an
    index of the previous format (no filter terms) rebuilt at open, never
    answering from the old layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "store/store.h"
#include "testassert.h"
#include "testfts.h"
#include "testserver.h"

#define S_DOCS 400
#define S_BATCH 90

typedef struct {
    char dir[64];
    store_t *store;
    uint64_t rng;
} fixture_t;

/* The model: each document's attributes and body. */
typedef struct {
    char id[16];
    bool live;
    uint32_t year; /* 0: none */
    int country;   /* into s_countries; 0: none */
    int publisher; /* into s_publishers; 0: none */
    int doc_type;  /* into s_doc_types; 0: none */
    Dossier__V1__Tier tier;
    char body[400];
} model_t;

static model_t s_model[S_DOCS];

static const char *s_countries[] = {"", "AZE", "CIV", "FRA", "NGA"};
static const char *s_publishers[] = {"", "US DoS", "UNHCR", "ILO"};
static const char *s_doc_types[] = {"", "Trafficking in Persons Report",
                                    "Freedom in the World",
                                    "UNHCR Eligibility Guidelines"};
static const char *s_words[] = {"forced", "labor", "camps",  "migrants",
                                "cocoa",  "farms", "report", "border",
                                "child",  "wages", "debt",   "bondage"};
#define N_WORDS (sizeof s_words / sizeof s_words[0])

static uint32_t
s_rand(fixture_t *fx, uint32_t n) {
    fx->rng = fx->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(fx->rng >> 33) % n;
}

/*  New random attributes and body for document i (its id kept). */
static void
s_randomize(fixture_t *fx, int i) {
    model_t *m = &s_model[i];
    snprintf(m->id, sizeof m->id, "r%03d", i);
    m->live = true;
    /* 1990..2045, one in ten without a year. */
    m->year = s_rand(fx, 10) == 0 ? 0 : 1990 + s_rand(fx, 56);
    m->country = (int)s_rand(fx, 5);
    m->publisher = (int)s_rand(fx, 4);
    m->doc_type = (int)s_rand(fx, 4);
    m->tier = (Dossier__V1__Tier)s_rand(fx, 6);
    m->body[0] = '\0';
    uint32_t n = 3 + s_rand(fx, 25);
    for (uint32_t w = 0; w < n; w++) {
        strcat(m->body, w ? " " : "");
        strcat(m->body, s_words[s_rand(fx, N_WORDS)]);
    }
}

static void
s_put_model(store_batch_t *batch, int i) {
    const model_t *m = &s_model[i];
    Dossier__V1__Report r;
    dossier__v1__report__init(&r);
    char *body[1] = {(char *)m->body};
    r.id = (char *)m->id;
    r.title = "title";
    r.country_code = (char *)s_countries[m->country];
    r.year = m->year;
    r.tier = m->tier;
    r.publisher = (char *)s_publishers[m->publisher];
    r.publication_date = "2001-01-01";
    r.doc_type = (char *)s_doc_types[m->doc_type];
    r.cite_as = "cite";
    r.body = body;
    r.n_body = 1;
    dossier_error_t err = {0};
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
}

static void
s_check_clean(store_t *store) {
    dossier_error_t err = {0};
    uint64_t problems = 99;
    assert_ok(store_check(store, &problems, &err), &err);
    assert_int_equal(problems, 0);
}

static int
s_setup(void **state) {
    fixture_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dossier-filters-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    fx->rng = 20;
    store_options_t options = {.no_sync = true};
    dossier_error_t err = {0};
    if (store_open(fx->dir, &options, &fx->store, &err) != DOSSIER_OK) {
        print_error("store_open: %s\n", err.message);
        return -1;
    }
    /* Several batches: several segments, merged as they come. */
    for (int i = 0; i < S_DOCS; i += S_BATCH) {
        store_batch_t *batch = NULL;
        if (store_batch_begin(fx->store, &batch, &err) != DOSSIER_OK) {
            return -1;
        }
        for (int j = i; j < S_DOCS && j < i + S_BATCH; j++) {
            s_randomize(fx, j);
            s_put_model(batch, j);
        }
        if (store_batch_commit(&batch, &err) != DOSSIER_OK) {
            return -1;
        }
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

typedef struct {
    const char *country; /* as asked: a code or a name */
    int country_model;   /* what it selects in the model; -1 nothing */
    const char *publisher;
    int publisher_model;
    const char *doc_type;
    int doc_type_model;
    uint32_t year_min, year_max;
    Dossier__V1__Tier tier;
} filter_t;

static bool
s_model_passes(const model_t *m, const filter_t *f) {
    if (!m->live) {
        return false;
    }
    if (f->country &&
        (f->country_model < 0 || m->country != f->country_model)) {
        return false;
    }
    if (f->publisher &&
        (f->publisher_model < 0 || m->publisher != f->publisher_model)) {
        return false;
    }
    if (f->doc_type &&
        (f->doc_type_model < 0 || m->doc_type != f->doc_type_model)) {
        return false;
    }
    if ((f->year_min || f->year_max) && m->year == 0) {
        return false;
    }
    if ((f->year_min && m->year < f->year_min) ||
        (f->year_max && m->year > f->year_max)) {
        return false;
    }
    return !f->tier || m->tier == f->tier;
}

static const model_t *
s_model_find(const char *id) {
    for (int i = 0; i < S_DOCS; i++) {
        if (strcmp(s_model[i].id, id) == 0) {
            return &s_model[i];
        }
    }
    fail_msg("hit %s is not in the model", id);
    return NULL;
}

static Dossier__V1__SearchResponse *
s_search(store_t *store, const char *query, const filter_t *f,
         uint32_t page_size) {
    Dossier__V1__SearchRequest req = DOSSIER__V1__SEARCH_REQUEST__INIT;
    Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
    req.query = (char *)query;
    if (f) {
        filter.country = (char *)(f->country ? f->country : "");
        filter.publisher = (char *)(f->publisher ? f->publisher : "");
        filter.doc_type = (char *)(f->doc_type ? f->doc_type : "");
        filter.year_min = f->year_min;
        filter.year_max = f->year_max;
        filter.tier = f->tier;
        req.filter = &filter;
    }
    req.page_size = page_size;
    Dossier__V1__SearchResponse *resp = NULL;
    dossier_error_t err = {0};
    assert_ok(store_search(store, &req, 0, &resp, &err), &err);
    return resp;
}

static const char *s_queries[] = {"forced", "labor camps", "\"debt bondage\"",
                                  "report -wages", "child"};

static const filter_t s_filters[] = {
    {.country = "AZE", .country_model = 1},
    {.country = "Ivory Coast", .country_model = 2},
    {.country = "Atlantis", .country_model = -1},
    {.publisher = "unhcr", .publisher_model = 2},
    {.publisher = "nobody", .publisher_model = -1},
    /* Document types compare case-insensitively, as publishers. */
    {.doc_type = "trafficking in persons REPORT", .doc_type_model = 1},
    {.doc_type = "UNHCR Eligibility Guidelines", .doc_type_model = 3},
    {.doc_type = "Freedom", .doc_type_model = -1},
    {.doc_type = "Freedom in the World",
     .doc_type_model = 2,
     .country = "AZE",
     .country_model = 1,
     .year_min = 2000,
     .year_max = 2040},
    {.tier = DOSSIER__V1__TIER__TIER_2},
    {.tier = DOSSIER__V1__TIER__SPECIAL_CASE},
    {.year_min = 2004, .year_max = 2004},
    {.year_min = 2004, .year_max = 2006},
    {.year_min = 1980, .year_max = 1989}, /* no document's years */
    {.year_min = 2050, .year_max = 2060},
    {.year_min = 2000, .year_max = 2007}, /* 8 years: postings */
    {.year_min = 2000, .year_max = 2008}, /* 9: attributes */
    {.year_min = 1990, .year_max = 2045}, /* every year */
    {.year_min = 2030},
    {.year_max = 2000},
    {.year_min = 2040, .year_max = 70000},
    {.year_min = 70000, .year_max = 70001},
    {.country = "FRA",
     .country_model = 3,
     .year_min = 2000,
     .year_max = 2020,
     .tier = DOSSIER__V1__TIER__TIER_1},
    {.country = "NGA",
     .country_model = 4,
     .publisher = "ILO",
     .publisher_model = 3,
     .year_min = 1995,
     .year_max = 2030},
    {.country = "CIV",
     .country_model = 2,
     .publisher = "US DoS",
     .publisher_model = 1,
     .tier = DOSSIER__V1__TIER__TIER_3},
};
#define N_FILTERS (sizeof s_filters / sizeof s_filters[0])

/*  Every query under every filter: the hits are the unfiltered ranking's,
    in order, less those the model's attributes fail; the total counts
    them; a page of 10 is their first 10. Returns how many hits the
    filtered searches found in all. */
static size_t
s_compare_all(store_t *store) {
    size_t found = 0;
    for (size_t q = 0; q < sizeof s_queries / sizeof s_queries[0]; q++) {
        Dossier__V1__SearchResponse *all =
            s_search(store, s_queries[q], NULL, 1000);
        assert_true(all->total_hits == all->n_hits);
        for (size_t fi = 0; fi < N_FILTERS; fi++) {
            const filter_t *f = &s_filters[fi];
            Dossier__V1__SearchResponse *got =
                s_search(store, s_queries[q], f, 1000);
            Dossier__V1__SearchResponse *page =
                s_search(store, s_queries[q], f, 10);
            size_t k = 0;
            for (size_t h = 0; h < all->n_hits; h++) {
                const Dossier__V1__SearchHit *want = all->hits[h];
                if (!s_model_passes(s_model_find(want->report->id), f)) {
                    continue;
                }
                if (k >= got->n_hits ||
                    strcmp(got->hits[k]->report->id, want->report->id) != 0 ||
                    got->hits[k]->score != want->score) {
                    fail_msg("query %s, filter %zu: hit %zu is %s, wanted %s",
                             s_queries[q], fi, k,
                             k < got->n_hits ? got->hits[k]->report->id : "-",
                             want->report->id);
                }
                if (k < 10) {
                    assert_true(k < page->n_hits);
                    assert_string_equal(page->hits[k]->report->id,
                                        want->report->id);
                }
                k++;
            }
            if (got->n_hits != k || got->total_hits != k ||
                page->total_hits != k) {
                fail_msg("query %s, filter %zu: %zu hits, total %llu (page "
                         "%llu), wanted %zu",
                         s_queries[q], fi, got->n_hits,
                         (unsigned long long)got->total_hits,
                         (unsigned long long)page->total_hits, k);
            }
            found += k;
            dossier__v1__search_response__free_unpacked(got, NULL);
            dossier__v1__search_response__free_unpacked(page, NULL);
        }
        dossier__v1__search_response__free_unpacked(all, NULL);
    }
    return found;
}

static void
test_filters_match_the_model(void **state) {
    fixture_t *fx = *state;
    s_check_clean(fx->store);
    assert_true(s_compare_all(fx->store) > 100);
}

static void
test_updates_move_records(void **state) {
    fixture_t *fx = *state;
    dossier_error_t err = {0};
    /* Three rounds: records written in an earlier batch move (their
       postings cut from flushed segments), and in the batch, new ones
       are added and moved again before the commit (still buffered). */
    for (int round = 0; round < 3; round++) {
        store_batch_t *batch = NULL;
        assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
        for (int n = 0; n < 60; n++) {
            int i = (int)s_rand(fx, S_DOCS);
            if (s_rand(fx, 4) == 0) {
                if (s_model[i].live) {
                    assert_ok(store_delete(batch, s_model[i].id, 0, NULL, &err),
                              &err);
                    s_model[i].live = false;
                }
                continue;
            }
            s_randomize(fx, i);
            s_put_model(batch, i);
            if (s_rand(fx, 3) == 0) {
                s_randomize(fx, i); /* and again in the same batch */
                s_put_model(batch, i);
            }
        }
        assert_ok(store_batch_commit(&batch, &err), &err);
        s_check_clean(fx->store);
        assert_true(s_compare_all(fx->store) > 50);
    }
}

static MDB_txn *
s_raw_begin(fixture_t *fx, MDB_env **env_p) {
    store_destroy(&fx->store);
    MDB_txn *txn;
    assert_int_equal(mdb_env_create(env_p), 0);
    assert_int_equal(mdb_env_set_maxdbs(*env_p, 128), 0);
    assert_int_equal(mdb_env_open(*env_p, fx->dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(*env_p, NULL, 0, &txn), 0);
    return txn;
}

static void
s_raw_end(fixture_t *fx, MDB_env *env, MDB_txn *txn) {
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    dossier_error_t err = {0};
    store_options_t options = {.no_sync = true};
    assert_ok(store_open(fx->dir, &options, &fx->store, &err), &err);
}

static void
test_check_sees_a_lost_filter_posting(void **state) {
    fixture_t *fx = *state;
    s_check_clean(fx->store);
    MDB_env *env;
    MDB_txn *txn = s_raw_begin(fx, &env);
    /* The year 2004's postings, everywhere. */
    assert_true(testfts_remove_filter_entries(txn, "\x01y02004") >= 2);
    s_raw_end(fx, env, txn);
    dossier_error_t err = {0};
    uint64_t problems = 0;
    assert_status(store_check(fx->store, &problems, &err), DOSSIER_DATA_LOSS,
                  &err);
    assert_true(problems >= 1);
    assert_non_null(strstr(err.message, "lacks its posting"));
}

static void
test_old_format_rebuilt(void **state) {
    /* An index of format 4 has no filter terms: a server that answered
       from it would find nothing under any filter. Opened, it is
       rebuilt from the records, and every filtered search is right. */
    fixture_t *fx = *state;
    MDB_env *env;
    MDB_txn *txn = s_raw_begin(fx, &env);
    assert_true(testfts_remove_filter_entries(txn, "\x01") > 60);
    MDB_dbi meta;
    assert_int_equal(mdb_dbi_open(txn, "fts_meta", 0, &meta), 0);
    uint8_t four[4] = {4, 0, 0, 0};
    MDB_val key = {6, "format"}, val = {4, four};
    assert_int_equal(mdb_put(txn, meta, &key, &val, 0), 0);
    s_raw_end(fx, env, txn);
    s_check_clean(fx->store);
    assert_true(s_compare_all(fx->store) > 100);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_filters_match_the_model, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_updates_move_records, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_check_sees_a_lost_filter_posting,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_old_format_rebuilt, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
