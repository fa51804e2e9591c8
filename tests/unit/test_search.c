/*  test_search.c: full-text search through the store (store_search,
    server/store/fts/) over a small corpus whose BM25 scores are worked
    out by hand below, in a fresh temporary store per test. The damage
    test opens the LMDB file itself, as a disk fault would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>
#include <pthread.h>
#include <unistd.h>

#include "store/store.h"
#include "store/fts/fts.h"
#include "testassert.h"
#include "testserver.h"

typedef struct {
    char dir[64];
    store_t *store;
} fixture_t;

/*  The corpus. Each document's terms are its title and body:
      d1 "alpha"   forced labor in farms forced labor       7 terms
      d2 "bravo"   labor camps and forced recruitment       6
      d3 "charlie" forced marriage                          3
      d4 "delta"   sexual exploitation of labor migrants
                   forced into labor                        9
      d5 "echo"    Côte d'Ivoire cocoa farms                6
    N = 5, total 31, avgdl 6.2. For "forced labor" (d1, d2, d4):
      idf(forced, df 4) = ln(1 + 1.5 / 4.5) = 0.287682
      idf(labor, df 3)  = ln(1 + 2.5 / 3.5) = 0.538997
      term score = idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len / 6.2))
      d1: tf 2, 2 at len 7 -> 0.381713 + 0.715164 = 1.096877
      d4: tf 1, 2 at len 9 -> 0.242819 + 0.657597 = 0.900416
      d2: tf 1, 1 at len 6 -> 0.291531 + 0.546203 = 0.837734 */
typedef struct {
    const char *id, *title, *body, *country, *code;
    uint32_t year;
    Dossier__V1__Tier tier;
    const char *publisher, *date;
} doc_t;

static const doc_t s_docs[] = {
    {"d1", "alpha", "forced labor in farms forced labor", "Azerbaijan", "AZE",
     2004, DOSSIER__V1__TIER__TIER_2, "US DoS", "2004-06-14"},
    {"d2", "bravo", "labor camps and forced recruitment", "Azerbaijan", "AZE",
     2005, DOSSIER__V1__TIER__TIER_3, "US DoS", "2005-06-03"},
    {"d3", "charlie", "forced marriage", "Côte d'Ivoire", "CIV", 2004,
     DOSSIER__V1__TIER__TIER_1, "UNHCR", "2004-07-01"},
    {"d4", "delta", "sexual exploitation of labor migrants forced into labor",
     "Côte d'Ivoire", "CIV", 2005, DOSSIER__V1__TIER__TIER_2, "US DoS",
     "2005-06-30"},
    {"d5", "echo", "Côte d'Ivoire cocoa farms", "Côte d'Ivoire", "CIV", 2006,
     DOSSIER__V1__TIER__TIER_2, "UNHCR", "2006-06-01"},
};
#define N_DOCS (sizeof s_docs / sizeof s_docs[0])

static void
s_report(const doc_t *d, const char *body, Dossier__V1__Report *r,
         char **body_slot) {
    dossier__v1__report__init(r);
    r->id = (char *)d->id;
    r->title = (char *)d->title;
    r->country = (char *)d->country;
    r->country_code = (char *)d->code;
    r->year = d->year;
    r->tier = d->tier;
    r->publisher = (char *)d->publisher;
    r->publication_date = (char *)d->date;
    r->doc_type = "Trafficking in Persons Report";
    r->cite_as = "cite";
    body_slot[0] = (char *)(body ? body : d->body);
    r->body = body_slot;
    r->n_body = 1;
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
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dossier-search-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    store_options_t options = {.no_sync = true};
    dossier_error_t err = {0};
    if (store_open(fx->dir, &options, &fx->store, &err) != DOSSIER_OK) {
        print_error("store_open: %s\n", err.message);
        return -1;
    }
    store_batch_t *batch = NULL;
    if (store_batch_begin(fx->store, &batch, &err) != DOSSIER_OK) {
        return -1;
    }
    for (size_t i = 0; i < N_DOCS; i++) {
        Dossier__V1__Report r;
        char *body[1];
        s_report(&s_docs[i], NULL, &r, body);
        if (store_put(batch, &r, NULL, NULL, &err) != DOSSIER_OK) {
            print_error("store_put: %s\n", err.message);
            return -1;
        }
    }
    if (store_batch_commit(&batch, &err) != DOSSIER_OK) {
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

typedef struct {
    const char *query;
    const char *country;
    uint32_t year_min, year_max;
    Dossier__V1__Tier tier;
    const char *publisher;
    uint32_t page_size;
    const char *page_token;
    Dossier__V1__SearchOrder order;
    bool facets;
    bool estimate;
} search_t;

static dossier_status_t
s_search(store_t *store, const search_t *s, Dossier__V1__SearchResponse **resp,
         dossier_error_t *err) {
    Dossier__V1__SearchRequest req = DOSSIER__V1__SEARCH_REQUEST__INIT;
    Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
    req.query = (char *)s->query;
    filter.country = (char *)(s->country ? s->country : "");
    filter.year_min = s->year_min;
    filter.year_max = s->year_max;
    filter.tier = s->tier;
    filter.publisher = (char *)(s->publisher ? s->publisher : "");
    req.filter = &filter;
    req.page_size = s->page_size;
    req.page_token = (char *)(s->page_token ? s->page_token : "");
    req.order = s->order;
    req.facets = s->facets;
    req.estimate_total_hits = s->estimate;
    *resp = NULL;
    return store_search(store, &req, 0, resp, err);
}

/*  Runs s and compares the hit ids, in order, with want ("d1 d4 d2"). */
static Dossier__V1__SearchResponse *
s_expect(store_t *store, const search_t *s, const char *want, int line) {
    dossier_error_t err = {0};
    Dossier__V1__SearchResponse *resp = NULL;
    dossier_status_t st = s_search(store, s, &resp, &err);
    if (st != DOSSIER_OK) {
        print_error("line %d: search \"%s\" gave %s (%s)\n", line, s->query,
                    dossier_strerror(st), err.message);
        fail();
    }
    char got[256] = "";
    for (size_t i = 0; i < resp->n_hits; i++) {
        if (i) {
            strcat(got, " ");
        }
        strcat(got, resp->hits[i]->report->id);
    }
    if (strcmp(got, want) != 0) {
        print_error("line %d: search \"%s\" found \"%s\", wanted \"%s\"\n",
                    line, s->query, got, want);
        fail();
    }
    return resp;
}

#define EXPECT(store, want, ...)                                               \
    dossier__v1__search_response__free_unpacked(                               \
        s_expect((store), &(search_t){__VA_ARGS__}, (want), __LINE__), NULL)

static void
test_ranking(void **state) {
    fixture_t *fx = *state;
    Dossier__V1__SearchResponse *resp = s_expect(
        fx->store, &(search_t){.query = "forced labor"}, "d1 d4 d2", __LINE__);
    assert_int_equal(resp->total_hits, 3);
    assert_string_equal(resp->next_page_token, "");
    assert_float_equal(resp->hits[0]->score, 1.096877, 1e-5);
    assert_float_equal(resp->hits[1]->score, 0.900416, 1e-5);
    assert_float_equal(resp->hits[2]->score, 0.837734, 1e-5);
    /* Hits are the summary view with a bracketed snippet. */
    Dossier__V1__Report *r = resp->hits[0]->report;
    assert_int_equal(r->n_body, 0);
    assert_string_equal(r->cite_as, "");
    assert_string_equal(r->title, "alpha");
    assert_int_equal(r->version, 1);
    assert_string_equal(resp->hits[0]->snippet,
                        "[forced] [labor] in farms [forced] [labor]");
    assert_string_equal(resp->hits[1]->snippet,
                        "sexual exploitation of [labor] migrants [forced] "
                        "into [labor]");
    dossier__v1__search_response__free_unpacked(resp, NULL);
    /* Case and order of the terms do not matter. */
    EXPECT(fx->store, "d1 d4 d2", .query = "LABOR Forced");
    EXPECT(fx->store, "d5 d1", .query = "farms"); /* d5 is shorter */
}

static void
test_phrases_and_exclusions(void **state) {
    fixture_t *fx = *state;
    EXPECT(fx->store, "d1", .query = "\"forced labor\"");
    EXPECT(fx->store, "", .query = "\"labor forced\"");
    EXPECT(fx->store, "d4", .query = "\"labor migrants forced\"");
    EXPECT(fx->store, "d3", .query = "forced -labor");
    EXPECT(fx->store, "d3 d2 d4", .query = "forced -\"forced labor\"");
    EXPECT(fx->store, "d2",
           .query = "forced -\"forced labor\" -marriage "
                    "-exploitation");
    EXPECT(fx->store, "", .query = "forced -forced");
    EXPECT(fx->store, "d3", .query = "forced -nosuchterm -labor");
    EXPECT(fx->store, "", .query = "forced nosuchterm");
}

static void
test_accent_folding(void **state) {
    fixture_t *fx = *state;
    EXPECT(fx->store, "d5", .query = "cote d'ivoire");
    EXPECT(fx->store, "d5", .query = "CÔTE");
    EXPECT(fx->store, "d5", .query = "\"côte d ivoire\"");
    EXPECT(fx->store, "d5", .query = "ivoire");
    Dossier__V1__SearchResponse *resp = s_expect(
        fx->store, &(search_t){.query = "cote d'ivoire"}, "d5", __LINE__);
    assert_string_equal(resp->hits[0]->snippet,
                        "[Côte] [d]'[Ivoire] cocoa farms");
    dossier__v1__search_response__free_unpacked(resp, NULL);
}

static void
test_snippet_paragraphs(void **state) {
    /* The snippet comes from the paragraph with the most query terms
       (the first of equals), the title when none holds one; paragraphs
       without a term are passed over untokenized, ASCII or not. */
    fixture_t *fx = *state;
    Dossier__V1__Report r;
    char *body[4] = {"first paragraph without it", "Ça va, gnu",
                     "the Zebra crossing, a zebra.",
                     "one zebra and one quagga"};
    s_report(&s_docs[0], NULL, &r, body);
    r.id = "p1";
    r.title = "Title with okapi";
    r.body = body;
    r.n_body = 4;
    dossier_error_t err = {0};
    store_batch_t *batch;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    assert_ok(store_batch_commit(&batch, &err), &err);
    const struct {
        const char *query, *snippet;
    } cases[] = {
        {"zebra", "the [Zebra] crossing, a [zebra]."},
        {"zebra quagga", "one [zebra] and one [quagga]"},
        {"okapi", "Title with [okapi]"},
        {"gnu", "Ça va, [gnu]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Dossier__V1__SearchResponse *resp = s_expect(
            fx->store, &(search_t){.query = cases[i].query}, "p1", __LINE__);
        assert_string_equal(resp->hits[0]->snippet, cases[i].snippet);
        dossier__v1__search_response__free_unpacked(resp, NULL);
    }
}

static void
test_filters(void **state) {
    fixture_t *fx = *state;
    EXPECT(fx->store, "d1 d2", .query = "forced", .country = "Azerbaijan");
    EXPECT(fx->store, "d1 d2", .query = "forced", .country = "aze");
    EXPECT(fx->store, "d2", .query = "forced", .country = "Azerbaijan",
           .year_min = 2005);
    EXPECT(fx->store, "d4", .query = "forced", .country = "Ivory Coast",
           .tier = DOSSIER__V1__TIER__TIER_2);
    EXPECT(fx->store, "d3", .query = "forced", .year_max = 2004,
           .tier = DOSSIER__V1__TIER__TIER_1);
    EXPECT(fx->store, "d1 d2 d4", .query = "forced", .publisher = "us dos");
    EXPECT(fx->store, "", .query = "forced", .publisher = "nobody");
    /* Folded as List folds it: case and accents. */
    EXPECT(fx->store, "d3", .query = "forced", .publisher = "ÜnHCR");
    EXPECT(fx->store, "", .query = "forced", .country = "Atlantis");
    EXPECT(fx->store, "d5", .query = "farms", .year_min = 2005,
           .year_max = 2006);
    dossier_error_t err = {0};
    Dossier__V1__SearchResponse *resp;
    assert_status(
        s_search(
            fx->store,
            &(search_t){.query = "forced", .year_min = 2006, .year_max = 2004},
            &resp, &err),
        DOSSIER_INVALID_ARGUMENT, &err);
    assert_status(
        s_search(fx->store,
                 &(search_t){.query = "forced", .tier = (Dossier__V1__Tier)9},
                 &resp, &err),
        DOSSIER_INVALID_ARGUMENT, &err);
}

static void
s_assert_facet(const Dossier__V1__Facet *f, const char *field,
               const char *want) {
    assert_string_equal(f->field, field);
    char got[256] = "";
    for (size_t i = 0; i < f->n_counts; i++) {
        char one[64];
        snprintf(one, sizeof one, "%s%s=%llu", i ? " " : "",
                 f->counts[i]->value, (unsigned long long)f->counts[i]->count);
        strcat(got, one);
    }
    if (strcmp(got, want) != 0) {
        print_error("facet %s is \"%s\", wanted \"%s\"\n", field, got, want);
        fail();
    }
}

static void
test_facets(void **state) {
    fixture_t *fx = *state;
    /* Over all matches, not only the page. */
    Dossier__V1__SearchResponse *resp = s_expect(
        fx->store, &(search_t){.query = "forced", .page_size = 1, .facets = 1},
        "d1", __LINE__);
    assert_int_equal(resp->total_hits, 4);
    assert_int_equal(resp->n_facets, 5);
    s_assert_facet(resp->facets[0], "year", "2004=2 2005=2");
    s_assert_facet(resp->facets[1], "tier", "TIER_2=2 TIER_1=1 TIER_3=1");
    s_assert_facet(resp->facets[2], "country", "AZE=2 CIV=2");
    s_assert_facet(resp->facets[3], "publisher", "US DoS=3 UNHCR=1");
    s_assert_facet(resp->facets[4], "doc_type",
                   "Trafficking in Persons Report=4");
    dossier__v1__search_response__free_unpacked(resp, NULL);

    resp = s_expect(
        fx->store, &(search_t){.query = "farms", .country = "CIV", .facets = 1},
        "d5", __LINE__);
    s_assert_facet(resp->facets[0], "year", "2006=1");
    s_assert_facet(resp->facets[3], "publisher", "UNHCR=1");
    dossier__v1__search_response__free_unpacked(resp, NULL);
    resp = s_expect(fx->store, &(search_t){.query = "forced"}, "d1 d3 d2 d4",
                    __LINE__);
    assert_int_equal(resp->n_facets, 0);
    dossier__v1__search_response__free_unpacked(resp, NULL);
}

static void
test_pagination_and_order(void **state) {
    fixture_t *fx = *state;
    /* "forced" alone: d1 0.381713 (tf 2), d3 0.364683 (3 terms long),
       d2 0.291531, d4 0.242819. */
    Dossier__V1__SearchResponse *all = s_expect(
        fx->store, &(search_t){.query = "forced"}, "d1 d3 d2 d4", __LINE__);
    char token[64] = "";
    const char *want[] = {"d1", "d3", "d2", "d4"};
    for (int page = 0; page < 4; page++) {
        dossier_error_t err = {0};
        Dossier__V1__SearchResponse *resp;
        assert_ok(s_search(fx->store,
                           &(search_t){.query = "forced",
                                       .page_size = 1,
                                       .page_token = token},
                           &resp, &err),
                  &err);
        assert_int_equal(resp->n_hits, 1);
        assert_int_equal(resp->total_hits, 4);
        assert_string_equal(resp->hits[0]->report->id, want[page]);
        assert_float_equal(resp->hits[0]->score, all->hits[page]->score, 1e-12);
        assert_int_equal(resp->next_page_token[0] == '\0', page == 3);
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        if (page == 1) {
            /* A token is bound to its query, filter and order. */
            Dossier__V1__SearchResponse *other;
            assert_status(
                s_search(fx->store,
                         &(search_t){.query = "labor", .page_token = token},
                         &other, &err),
                DOSSIER_INVALID_ARGUMENT, &err);
            assert_status(
                s_search(fx->store,
                         &(search_t){.query = "forced", .page_token = "zz"},
                         &other, &err),
                DOSSIER_INVALID_ARGUMENT, &err);
        }
        dossier__v1__search_response__free_unpacked(resp, NULL);
    }
    dossier__v1__search_response__free_unpacked(all, NULL);
    /* Newest first, relevance within a year. */
    EXPECT(fx->store, "d2 d4 d1 d3", .query = "forced",
           .order = DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_YEAR);
    EXPECT(fx->store, "d4 d2 d3 d1", .query = "forced",
           .order = DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_PUBLICATION_DATE);
    dossier_error_t err = {0};
    Dossier__V1__SearchResponse *resp;
    assert_status(s_search(fx->store,
                           &(search_t){.query = "forced", .page_size = 1001},
                           &resp, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_status(s_search(fx->store,
                           &(search_t){.query = "forced",
                                       .order = (Dossier__V1__SearchOrder)7},
                           &resp, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
}

static void
test_bad_queries(void **state) {
    fixture_t *fx = *state;
    const char *bad[] = {"",        "   ", "\"forced labor",
                         "-forced", "...", "\xff\xfe"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dossier_error_t err = {0};
        Dossier__V1__SearchResponse *resp = NULL;
        assert_status(
            s_search(fx->store, &(search_t){.query = bad[i]}, &resp, &err),
            DOSSIER_INVALID_ARGUMENT, &err);
        assert_null(resp);
        assert_true(strlen(err.message) > 10);
    }
    /* Invalid UTF-8 separates terms: "forc", "ed" match nothing. */
    EXPECT(fx->store, "",
           .query = "forc\xff"
                    "ed");
    EXPECT(fx->store, "d3",
           .query = "\xff"
                    "marriage\xc3");
}

static void
s_put(store_t *store, const doc_t *d, const char *body) {
    dossier_error_t err = {0};
    store_batch_t *batch;
    assert_ok(store_batch_begin(store, &batch, &err), &err);
    Dossier__V1__Report r;
    char *slot[1];
    s_report(d, body, &r, slot);
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    assert_ok(store_batch_commit(&batch, &err), &err);
}

static void
test_replace_and_delete(void **state) {
    fixture_t *fx = *state;
    s_check_clean(fx->store);
    /* Replace: d1's old terms go, its new ones come. */
    s_put(fx->store, &s_docs[0], "nothing relevant now");
    EXPECT(fx->store, "d4 d2", .query = "forced labor");
    EXPECT(fx->store, "d5", .query = "farms");
    EXPECT(fx->store, "d1", .query = "relevant");
    s_check_clean(fx->store);
    /* Delete. */
    dossier_error_t err = {0};
    store_batch_t *batch;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    assert_ok(store_delete(batch, "d4", 0, NULL, &err), &err);
    assert_ok(store_batch_commit(&batch, &err), &err);
    EXPECT(fx->store, "d2", .query = "forced labor");
    EXPECT(fx->store, "", .query = "migrants");
    s_check_clean(fx->store);
    /* In one batch: add, replace, delete and add again. */
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    Dossier__V1__Report r;
    char *slot[1];
    doc_t d6 = s_docs[2];
    d6.id = "d6";
    s_report(&d6, "temporary words here", &r, slot);
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    s_report(&d6, "second temporary version", &r, slot);
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    assert_ok(store_delete(batch, "d2", 0, NULL, &err), &err);
    doc_t d7 = s_docs[2];
    d7.id = "d7";
    s_report(&d7, "gone before commit", &r, slot);
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    assert_ok(store_delete(batch, "d7", 0, NULL, &err), &err);
    assert_ok(store_batch_commit(&batch, &err), &err);
    EXPECT(fx->store, "d6", .query = "temporary");
    EXPECT(fx->store, "", .query = "words");
    EXPECT(fx->store, "", .query = "gone");
    EXPECT(fx->store, "", .query = "forced labor");
    s_check_clean(fx->store);
    /* An aborted batch leaves nothing in the index. */
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    s_report(&d7, "aborted words", &r, slot);
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    store_batch_abort(&batch);
    EXPECT(fx->store, "", .query = "aborted");
    s_put(fx->store, &d7, "committed words");
    EXPECT(fx->store, "d7", .query = "committed");
    EXPECT(fx->store, "", .query = "aborted");
    s_check_clean(fx->store);
}

/*  Terms tokenized ahead of the write (store_fts_terms_new), as the
    import workers do, on another thread. */
typedef struct {
    Dossier__V1__Report r[N_DOCS];
    char *slots[N_DOCS][1];
    store_fts_terms_t *terms[N_DOCS];
} s_prepared_t;

static void *
s_prepare(void *arg) {
    s_prepared_t *p = arg;
    /* One scratch for every document, as a parse thread uses it. */
    store_fts_scratch_t *scratch = store_fts_scratch_new();
    assert_non_null(scratch);
    for (size_t i = 0; i < N_DOCS; i++) {
        p->terms[i] = store_fts_terms_new(&p->r[i], scratch);
    }
    store_fts_scratch_destroy(&scratch);
    assert_null(scratch);
    store_fts_scratch_destroy(&scratch); /* NULL is fine */
    return NULL;
}

static void
test_prepared_terms(void **state) {
    fixture_t *fx = *state;
    s_prepared_t p;
    for (size_t i = 0; i < N_DOCS; i++) {
        s_report(&s_docs[i], NULL, &p.r[i], p.slots[i]);
    }
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_prepare, &p), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    /* Every document again, with its prepared terms: the same index, so
       the same hand-worked scores. */
    dossier_error_t err = {0};
    store_batch_t *batch;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    for (size_t i = 0; i < N_DOCS; i++) {
        assert_non_null(p.terms[i]);
        store_put_args_t args = {.terms = p.terms[i]};
        assert_ok(store_put(batch, &p.r[i], &args, NULL, &err), &err);
    }
    assert_ok(store_batch_commit(&batch, &err), &err);
    Dossier__V1__SearchResponse *resp = s_expect(
        fx->store, &(search_t){.query = "forced labor"}, "d1 d4 d2", __LINE__);
    assert_float_equal(resp->hits[0]->score, 1.096877, 1e-5);
    assert_float_equal(resp->hits[1]->score, 0.900416, 1e-5);
    assert_float_equal(resp->hits[2]->score, 0.837734, 1e-5);
    assert_int_equal(resp->hits[0]->report->version, 2);
    dossier__v1__search_response__free_unpacked(resp, NULL);
    EXPECT(fx->store, "d1", .query = "\"forced labor\"");
    EXPECT(fx->store, "d5", .query = "cote d'ivoire");
    s_check_clean(fx->store);
    /* Prepared terms replaced in the same batch by a plain write, and a
       plain write replaced by prepared terms. */
    doc_t d6 = s_docs[2];
    d6.id = "d6";
    Dossier__V1__Report r;
    char *slot[1];
    s_report(&d6, "prepared words first", &r, slot);
    store_fts_terms_t *terms = store_fts_terms_new(&r, NULL);
    assert_non_null(terms);
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    store_put_args_t args = {.terms = terms};
    assert_ok(store_put(batch, &r, &args, NULL, &err), &err);
    s_report(&d6, "plain words second", &r, slot);
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    assert_ok(store_batch_commit(&batch, &err), &err);
    store_fts_terms_destroy(&terms);
    assert_null(terms);
    store_fts_terms_destroy(&terms); /* NULL is fine */
    EXPECT(fx->store, "", .query = "prepared");
    EXPECT(fx->store, "d6", .query = "plain words");
    s_report(&d6, "prepared again", &r, slot);
    terms = store_fts_terms_new(&r, NULL);
    assert_non_null(terms);
    args.terms = terms;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    assert_ok(store_put(batch, &r, &args, NULL, &err), &err);
    assert_ok(store_batch_commit(&batch, &err), &err);
    store_fts_terms_destroy(&terms);
    EXPECT(fx->store, "d6", .query = "prepared again");
    EXPECT(fx->store, "", .query = "plain");
    s_check_clean(fx->store);
    for (size_t i = 0; i < N_DOCS; i++) {
        store_fts_terms_destroy(&p.terms[i]);
    }
}

static uint64_t
s_total(store_t *store, const char *query) {
    dossier_error_t err = {0};
    Dossier__V1__SearchResponse *resp = NULL;
    assert_ok(s_search(store, &(search_t){.query = query, .page_size = 100},
                       &resp, &err),
              &err);
    uint64_t total = resp->total_hits;
    assert_int_equal(resp->n_hits, total < 100 ? total : 100);
    dossier__v1__search_response__free_unpacked(resp, NULL);
    return total;
}

static void
test_many_batches(void **state) {
    /* One document per batch: 40 flushes, merged level by level. */
    fixture_t *fx = *state;
    dossier_error_t err = {0};
    for (int i = 0; i < 40; i++) {
        doc_t d = s_docs[1];
        char id[16], body[96];
        snprintf(id, sizeof id, "m%02d", i);
        snprintf(body, sizeof body, "shared term%d group%d", i, i % 3);
        d.id = id;
        s_put(fx->store, &d, body);
        if (i % 10 == 9) {
            s_check_clean(fx->store);
        }
    }
    assert_int_equal(s_total(fx->store, "shared"), 40);
    assert_int_equal(s_total(fx->store, "group1"), 13);
    assert_int_equal(s_total(fx->store, "shared group2 -term5"),
                     12); /* 2, 5, .., 38 less 5 */
    assert_int_equal(s_total(fx->store, "term39"), 1);
    assert_int_equal(s_total(fx->store, "\"shared term7 group1\""), 1);
    /* Replace and delete documents of merged segments. */
    doc_t d = s_docs[1];
    d.id = "m05";
    s_put(fx->store, &d, "other words");
    store_batch_t *batch;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    assert_ok(store_delete(batch, "m20", 0, NULL, &err), &err);
    assert_ok(store_batch_commit(&batch, &err), &err);
    assert_int_equal(s_total(fx->store, "shared"), 38);
    assert_int_equal(s_total(fx->store, "term5"), 0);
    assert_int_equal(s_total(fx->store, "term20"), 0);
    assert_int_equal(s_total(fx->store, "term6"), 1);
    assert_int_equal(s_total(fx->store, "words"), 1);
    s_check_clean(fx->store);
    /* Batches of 200: full blocks, moved whole by the merges. */
    for (int i = 0; i < 8; i++) {
        store_batch_t *big;
        assert_ok(store_batch_begin(fx->store, &big, &err), &err);
        for (int j = 0; j < 200; j++) {
            Dossier__V1__Report r;
            char *slot[1];
            char id[16], body[96];
            doc_t bd = s_docs[2];
            snprintf(id, sizeof id, "b%04d", i * 200 + j);
            snprintf(body, sizeof body, "bulkterm shared w%d bulkterm", j);
            bd.id = id;
            s_report(&bd, body, &r, slot);
            assert_ok(store_put(big, &r, NULL, NULL, &err), &err);
        }
        assert_ok(store_batch_commit(&big, &err), &err);
    }
    assert_int_equal(s_total(fx->store, "bulkterm"), 1600);
    assert_int_equal(s_total(fx->store, "shared"), 1638);
    assert_int_equal(s_total(fx->store, "w7"), 8);
    assert_int_equal(s_total(fx->store, "\"w7 bulkterm\""), 8);
    s_check_clean(fx->store);
    /* Still right after reopening. */
    store_destroy(&fx->store);
    store_options_t options = {.no_sync = true};
    assert_ok(store_open(fx->dir, &options, &fx->store, &err), &err);
    assert_int_equal(s_total(fx->store, "shared"), 1638);
    s_check_clean(fx->store);
}

/*  The index's segments, and whether a merge is due, from store_stats. */
static uint32_t
s_segments(store_t *store, bool *due) {
    dossier_error_t err = {0};
    Dossier__V1__StatsResponse *stats = NULL;
    assert_ok(store_stats(store, &stats, &err), &err);
    uint32_t n = stats->index_segments;
    *due = stats->index_merge_due;
    dossier__v1__stats_response__free_unpacked(stats, NULL);
    return n;
}

/*  Commits n small reports in one batch: d's fields, ids prefix and i in
    width digits, bodies "word w<i % mod>", for i from first. */
static void
s_put_many(store_t *store, const doc_t *d, const char *prefix, int width,
           const char *word, int mod, int first, int n) {
    dossier_error_t err = {0};
    store_batch_t *batch;
    assert_ok(store_batch_begin(store, &batch, &err), &err);
    for (int i = first; i < first + n; i++) {
        Dossier__V1__Report r;
        char *slot[1];
        char id[16], body[64];
        doc_t numbered = *d;
        snprintf(id, sizeof id, "%s%0*d", prefix, width, i);
        snprintf(body, sizeof body, "%s w%d", word, i % mod);
        numbered.id = id;
        s_report(&numbered, body, &r, slot);
        assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    }
    assert_ok(store_batch_commit(&batch, &err), &err);
}

/*  test_deferred_merges' reports: q000000..., "deferred w<i % 7>". */
static void
s_put_deferred(store_t *store, int first, int n) {
    s_put_many(store, &s_docs[2], "q", 6, "deferred", 7, first, n);
}

static void
test_deferred_merges(void **state) {
    /* With defer_merges, a merge covering more than 8,192 documents waits
       for store_batch_merge, but for one a commit whenever the index
       reaches 48 segments; a smaller one still happens at the commit. */
    fixture_t *fx = *state;
    dossier_error_t err = {0};
    store_destroy(&fx->store);
    store_options_t options = {.no_sync = true, .defer_merges = true};
    assert_ok(store_open(fx->dir, &options, &fx->store, &err), &err);
    bool due = true;
    assert_int_equal(s_segments(fx->store, &due), 1); /* the fixture's */
    /* Three small batches: four segments of 35 documents merge at once. */
    for (int b = 0; b < 3; b++) {
        s_put_deferred(fx->store, b * 10, 10);
    }
    assert_int_equal(s_segments(fx->store, &due), 1);
    assert_false(due);
    /* Batches of 2,100: no run of four covers 8,192 documents or fewer. */
    int docs = 30, batches = 0;
    uint32_t segments = 1;
    while (segments < 47) {
        s_put_deferred(fx->store, docs, 2100);
        docs += 2100;
        batches++;
        segments = s_segments(fx->store, &due);
        assert_int_equal(segments, 1 + batches);
        assert_int_equal(due, batches >= 4);
    }
    /* Searches read every segment meanwhile. */
    assert_int_equal(s_total(fx->store, "deferred"), docs);
    assert_int_equal(s_total(fx->store, "w3"), (docs - 3 + 6) / 7);
    s_check_clean(fx->store);
    /* The 48th segment: that commit merges one run of four, the rest
       stays due. So does every commit that brings the index back to 48:
       one merge every three batches keeps it bounded. */
    for (int round = 0; round < 3; round++) {
        for (uint32_t n = segments; n < 48; n++) {
            s_put_deferred(fx->store, docs, 2100);
            docs += 2100;
            segments = s_segments(fx->store, &due);
        }
        assert_int_equal(segments, 45);
        assert_true(due);
    }
    assert_int_equal(s_total(fx->store, "deferred"), docs);
    s_check_clean(fx->store);
    /* store_batch_merge merges the rest, one run a batch. */
    for (bool more = true; more;) {
        store_batch_t *batch;
        bool merged = false;
        assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
        assert_ok(store_batch_merge(batch, &merged, &more, &err), &err);
        assert_true(merged);
        assert_ok(store_batch_commit(&batch, &err), &err);
        uint32_t after = s_segments(fx->store, &due);
        assert_true(after <= segments - 3);
        assert_int_equal(due, more);
        segments = after;
    }
    /* Four segments of level 1 and 41 of level 0 end as one of level 2,
       six of level 1 and one of level 0. */
    assert_int_equal(segments, 8);
    /* Nothing left: a batch that merges nothing. */
    store_batch_t *batch;
    bool merged = true, more = true;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    assert_ok(store_batch_merge(batch, &merged, &more, &err), &err);
    assert_false(merged);
    assert_false(more);
    store_batch_abort(&batch);
    assert_int_equal(s_total(fx->store, "deferred"), docs);
    assert_int_equal(s_total(fx->store, "w3"), (docs - 3 + 6) / 7);
    assert_int_equal(s_total(fx->store, "charlie"), docs + 1);
    s_check_clean(fx->store);
}

/*  Closes the fixture's store and begins a write transaction on its LMDB
    file directly, to change it behind the store's back as a disk fault
    would; s_raw_end commits it and opens the store again. */
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

/*  Alters the entries of the term "charlie" (only d3 holds it) in the
    closed store's postings, as a disk fault would, and opens the store
    again. Keys are a 4-byte segment id, the term, NUL, and for a block
    its first docno. S_REMOVE: every entry of the term goes (its df entry
    and blocks); S_JUNK: each block's value becomes two bytes of junk;
    S_MOVE: the last byte of each block, the end of its last position's
    varint, changes by one, so the block still reads well but a position
    moves. Returns how many entries were altered. */
typedef enum { S_REMOVE, S_JUNK, S_MOVE } s_alter_t;

static int
s_alter_charlie(fixture_t *fx, s_alter_t how) {
    MDB_env *env;
    MDB_txn *txn = s_raw_begin(fx, &env);
    MDB_dbi dbi;
    MDB_cursor *cur;
    assert_int_equal(mdb_dbi_open(txn, "fts_post", 0, &dbi), 0);
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    MDB_val key, val;
    int altered = 0;
    int rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    for (int steps = 0; rc == 0 && steps < 10000; steps++) {
        bool charlie = key.mv_size >= 12 &&
                       memcmp((const char *)key.mv_data + 4, "charlie", 8) == 0;
        if (charlie && how == S_REMOVE) {
            assert_int_equal(mdb_cursor_del(cur, 0), 0);
            altered++;
            rc = mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT);
            continue;
        }
        if (charlie && key.mv_size == 4 + 8 + 4) {
            uint8_t junk[2] = {0xff, 0xff}, moved[256];
            MDB_val bad = {sizeof junk, junk};
            if (how == S_MOVE) {
                assert_true(val.mv_size <= sizeof moved);
                memcpy(moved, val.mv_data, val.mv_size);
                assert_true(moved[val.mv_size - 1] < 0x7f);
                moved[val.mv_size - 1]++;
                bad = (MDB_val){val.mv_size, moved};
            }
            assert_int_equal(mdb_cursor_put(cur, &key, &bad, MDB_CURRENT), 0);
            altered++;
        }
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    s_raw_end(fx, env, txn);
    return altered;
}

static void
test_check_detects_lost_posting(void **state) {
    fixture_t *fx = *state;
    s_check_clean(fx->store);
    assert_true(s_alter_charlie(fx, S_REMOVE) >= 1);
    dossier_error_t err = {0};
    uint64_t problems = 0;
    assert_status(store_check(fx->store, &problems, &err), DOSSIER_DATA_LOSS,
                  &err);
    assert_true(problems >= 1);
    assert_non_null(strstr(err.message, "d3"));
    /* Search still works on what is left and finds d3 by other terms. */
    EXPECT(fx->store, "d3", .query = "marriage");
}

static void
test_check_detects_moved_position(void **state) {
    /* A block that still reads well, the posting count unchanged, one
       position off by one: only the digests see it, and the pass that
       follows names the record. */
    fixture_t *fx = *state;
    s_check_clean(fx->store);
    assert_int_equal(s_alter_charlie(fx, S_MOVE), 1);
    dossier_error_t err = {0};
    uint64_t problems = 0;
    assert_status(store_check(fx->store, &problems, &err), DOSSIER_DATA_LOSS,
                  &err);
    assert_int_equal(problems, 1);
    assert_non_null(strstr(err.message, "d3"));
    assert_non_null(strstr(err.message, "positions differ"));
}

static void
test_failed_write_leaves_no_trace(void **state) {
    /* A write that fails after it began (replacing d3, whose postings
       blocks are damaged, fails while cutting its old postings out) leaves
       nothing behind, and the writes before and after it in the same
       batch commit: the batch is rebuilt from its log. */
    fixture_t *fx = *state;
    assert_int_equal(s_alter_charlie(fx, S_JUNK), 1);
    dossier_error_t err = {0};
    store_batch_t *batch;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    doc_t n1 = s_docs[0], n2 = s_docs[1];
    n1.id = "n1";
    n2.id = "n2";
    Dossier__V1__Report r;
    char *slot[1];
    s_report(&n1, "novel words", &r, slot);
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    s_report(&s_docs[2], "replaced text", &r, slot);
    assert_status(store_put(batch, &r, NULL, NULL, &err), DOSSIER_DATA_LOSS,
                  &err);
    s_report(&n2, "novel things", &r, slot);
    assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    assert_ok(store_batch_commit(&batch, &err), &err);

    EXPECT(fx->store, "n1", .query = "words");
    EXPECT(fx->store, "n2", .query = "things");
    EXPECT(fx->store, "d3", .query = "marriage");
    EXPECT(fx->store, "", .query = "replaced");
    Dossier__V1__Report *got = NULL;
    assert_ok(store_get(fx->store, "d3", &got, &err), &err);
    assert_int_equal(got->version, 1);
    assert_string_equal(got->body[0], "forced marriage");
    dossier__v1__report__free_unpacked(got, NULL);
}

static void
test_missing_record(void **state) {
    /* A record gone behind the index's back (as a disk fault would do):
       search leaves it out, store_check reports it. */
    fixture_t *fx = *state;
    MDB_env *env;
    MDB_txn *txn = s_raw_begin(fx, &env);
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(txn, "records", 0, &dbi), 0);
    MDB_val key = {2, "d3"};
    assert_int_equal(mdb_del(txn, dbi, &key, NULL), 0);
    s_raw_end(fx, env, txn);
    dossier_error_t err = {0};
    EXPECT(fx->store, "d1 d2 d4", .query = "forced");
    uint64_t problems = 0;
    assert_status(store_check(fx->store, &problems, &err), DOSSIER_DATA_LOSS,
                  &err);
    assert_true(problems >= 1);
}

static void
test_rebuild_at_open(void **state) {
    /* A store whose index is missing or of an older layout (no "format"
       entry) is indexed again from its records when opened. */
    fixture_t *fx = *state;
    MDB_env *env;
    MDB_txn *txn = s_raw_begin(fx, &env);
    MDB_dbi meta, post;
    assert_int_equal(mdb_dbi_open(txn, "fts_meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "fts_post", 0, &post), 0);
    MDB_val key = {6, "format"};
    assert_int_equal(mdb_del(txn, meta, &key, NULL), 0);
    /* Leave junk in the old postings: it must be dropped. */
    MDB_val junk = {5, "junk!"};
    assert_int_equal(mdb_put(txn, post, &junk, &junk, 0), 0);
    s_raw_end(fx, env, txn);
    s_check_clean(fx->store);
    EXPECT(fx->store, "d1 d4 d2", .query = "forced labor");
    EXPECT(fx->store, "d5", .query = "cote d'ivoire");
}

static void
test_replaced_in_the_batch_across_blocks(void **state) {
    /* A term's postings span three blocks of the batch buffer; documents
       in each are replaced again before the commit, so the flush rebuilds
       the term's blocks without them. */
    fixture_t *fx = *state;
    dossier_error_t err = {0};
    store_batch_t *batch;
    assert_ok(store_batch_begin(fx->store, &batch, &err), &err);
    Dossier__V1__Report r;
    char *slot[1];
    char id[16], body[96];
    doc_t d = s_docs[2];
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "r%03d", i);
        snprintf(body, sizeof body, "blockterm w%d blockterm tail%d", i % 10,
                 i);
        d.id = id;
        s_report(&d, body, &r, slot);
        assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    }
    const int again[] = {5, 130, 299};
    for (size_t k = 0; k < 3; k++) {
        snprintf(id, sizeof id, "r%03d", again[k]);
        snprintf(body, sizeof body, "replaced w%d", again[k] % 10);
        d.id = id;
        s_report(&d, body, &r, slot);
        assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
    }
    assert_ok(store_batch_commit(&batch, &err), &err);
    s_check_clean(fx->store);
    assert_int_equal(s_total(fx->store, "blockterm"), 297);
    assert_int_equal(s_total(fx->store, "replaced"), 3);
    assert_int_equal(s_total(fx->store, "\"w7 blockterm\""), 30);
    assert_int_equal(s_total(fx->store, "\"w5 blockterm\""), 29);
    assert_int_equal(s_total(fx->store, "tail130"), 0);
    assert_int_equal(s_total(fx->store, "tail131"), 1);
}

static void
test_rebuild_in_steps(void **state) {
    /* A rebuild larger than one step (2,000 records a transaction) ends
       with every record indexed once, in committed steps. */
    fixture_t *fx = *state;
    s_put_many(fx->store, &s_docs[1], "s", 5, "stepterm", 50, 0, 4500);

    MDB_env *env;
    MDB_txn *txn = s_raw_begin(fx, &env);
    MDB_dbi meta;
    assert_int_equal(mdb_dbi_open(txn, "fts_meta", 0, &meta), 0);
    MDB_val key = {6, "format"};
    assert_int_equal(mdb_del(txn, meta, &key, NULL), 0);
    s_raw_end(fx, env, txn);
    s_check_clean(fx->store);
    assert_int_equal(s_total(fx->store, "stepterm"), 4500);
    assert_int_equal(s_total(fx->store, "w7"), 90);
    EXPECT(fx->store, "d1 d4 d2", .query = "forced labor");
}

/* ---- Estimated totals for phrases, over a generated corpus. ---- */

/*  G_DOCS documents of 8 to 57 words drawn from G_WORDS with a skewed
    distribution (the first words in most documents), so that a phrase's
    words are together in many documents and in that order in part of
    them: the checks the estimate skips matter, and some fail. */
#define G_DOCS 3000
#define G_WORDS 24
#define G_MAX_LEN 58

static const char *s_gwords[G_WORDS] = {
    "amber",  "basil", "cedar", "dune",  "ember", "fjord",  "grove",  "heath",
    "inlet",  "jade",  "kelp",  "loam",  "moss",  "nettle", "oak",    "peat",
    "quartz", "reed",  "sage",  "thorn", "umber", "vale",   "willow", "yarrow"};

typedef struct {
    uint8_t words[G_DOCS][G_MAX_LEN];
    uint8_t len[G_DOCS];
} gcorpus_t;

static uint64_t
s_rand(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/*  Generates the corpus into g and stores it in batches of 400 (several
    segments, merged), ids g0000.., years 2001 to 2020, two countries. */
static void
s_gload(store_t *store, gcorpus_t *g) {
    uint64_t rng = 20261127;
    dossier_error_t err = {0};
    store_batch_t *batch = NULL;
    for (uint32_t i = 0; i < G_DOCS; i++) {
        g->len[i] = (uint8_t)(8 + s_rand(&rng) % 50);
        char body[G_MAX_LEN * 8] = "";
        size_t at = 0;
        for (uint32_t j = 0; j < g->len[i]; j++) {
            double u = (double)(s_rand(&rng) >> 11) / 9007199254740992.0;
            uint8_t w = (uint8_t)(G_WORDS * u * u);
            g->words[i][j] = w;
            at += (size_t)snprintf(body + at, sizeof body - at, "%s%s",
                                   j ? " " : "", s_gwords[w]);
        }
        if (i % 400 == 0) {
            assert_ok(store_batch_begin(store, &batch, &err), &err);
        }
        doc_t d = s_docs[i % 2 ? 0 : 3];
        char id[16];
        snprintf(id, sizeof id, "g%04u", i);
        d.id = id;
        d.title = "untitled";
        d.year = 2001 + i % 20;
        Dossier__V1__Report r;
        char *slot[1];
        s_report(&d, body, &r, slot);
        assert_ok(store_put(batch, &r, NULL, NULL, &err), &err);
        if (i % 400 == 399 || i + 1 == G_DOCS) {
            assert_ok(store_batch_commit(&batch, &err), &err);
        }
    }
}

/*  How many documents of g hold the words seq[0..n) in a row (or, when
    !in_row, all of them anywhere). */
static uint64_t
s_gcount(const gcorpus_t *g, const int *seq, int n, bool in_row) {
    uint64_t count = 0;
    for (uint32_t i = 0; i < G_DOCS; i++) {
        bool found = false;
        if (in_row) {
            for (int p = 0; p + n <= g->len[i] && !found; p++) {
                found = true;
                for (int j = 0; j < n && found; j++) {
                    found = g->words[i][p + j] == seq[j];
                }
            }
        } else {
            found = true;
            for (int j = 0; j < n && found; j++) {
                bool has = false;
                for (int p = 0; p < g->len[i] && !has; p++) {
                    has = g->words[i][p] == seq[j];
                }
                found = has;
            }
        }
        count += found;
    }
    return count;
}

static Dossier__V1__SearchResponse *
s_run_search(store_t *store, const search_t *s) {
    dossier_error_t err = {0};
    Dossier__V1__SearchResponse *resp = NULL;
    dossier_status_t st = s_search(store, s, &resp, &err);
    if (st != DOSSIER_OK) {
        print_error("search \"%s\" gave %s (%s)\n", s->query,
                    dossier_strerror(st), err.message);
        fail();
    }
    return resp;
}

/*  The same hits: ids, order, scores to the bit. */
static void
s_same_hits(const Dossier__V1__SearchResponse *a,
            const Dossier__V1__SearchResponse *b, const char *query) {
    if (a->n_hits != b->n_hits) {
        print_error("\"%s\": %zu hits exact, %zu estimated\n", query, a->n_hits,
                    b->n_hits);
        fail();
    }
    for (size_t i = 0; i < a->n_hits; i++) {
        if (strcmp(a->hits[i]->report->id, b->hits[i]->report->id) != 0 ||
            memcmp(&a->hits[i]->score, &b->hits[i]->score, sizeof(double))) {
            print_error("\"%s\" hit %zu: %s %.17g exact, %s %.17g estimated\n",
                        query, i, a->hits[i]->report->id, a->hits[i]->score,
                        b->hits[i]->report->id, b->hits[i]->score);
            fail();
        }
    }
}

/*  Runs q exactly and estimated and compares: same hits on page 1 and
    page 2 (each path's own token, and each token on the other path),
    the exact total is want (when want >= 0) and not flagged, an
    estimate is flagged and between the hits found and most (the
    documents holding every word, when >= 0), else equal to the exact
    total; with facets the estimate is refused. Counts flagged answers
    in *flagged. */
static void
s_compare(store_t *store, const search_t *q, int64_t want, int64_t most,
          unsigned *flagged) {
    search_t exact = *q, est = *q;
    exact.estimate = false;
    est.estimate = true;
    Dossier__V1__SearchResponse *a = s_run_search(store, &exact);
    Dossier__V1__SearchResponse *b = s_run_search(store, &est);
    assert_false(a->total_hits_estimated);
    if (want >= 0 && a->total_hits != (uint64_t)want) {
        print_error("\"%s\": total_hits %llu, counted %lld\n", q->query,
                    (unsigned long long)a->total_hits, (long long)want);
        fail();
    }
    s_same_hits(a, b, q->query);
    if (b->total_hits_estimated) {
        (*flagged)++;
        assert_true(b->total_hits >= b->n_hits);
        if (most >= 0 && b->total_hits > (uint64_t)most) {
            print_error("\"%s\": estimate %llu above %lld candidates\n",
                        q->query, (unsigned long long)b->total_hits,
                        (long long)most);
            fail();
        }
    } else {
        assert_int_equal(b->total_hits, a->total_hits);
    }
    /* A next page while the count says there are more (offset 0). */
    assert_int_equal(a->next_page_token[0] != '\0', a->n_hits < a->total_hits);
    assert_int_equal(b->next_page_token[0] != '\0', b->n_hits < b->total_hits);
    /* Page 2, each way, and with the other path's token. */
    if (a->next_page_token[0] && b->next_page_token[0]) {
        search_t a2 = exact, b2 = est, a2x = exact, b2x = est;
        a2.page_token = a->next_page_token;
        b2.page_token = b->next_page_token;
        a2x.page_token = b->next_page_token;
        b2x.page_token = a->next_page_token;
        Dossier__V1__SearchResponse *pa = s_run_search(store, &a2);
        Dossier__V1__SearchResponse *pb = s_run_search(store, &b2);
        Dossier__V1__SearchResponse *pax = s_run_search(store, &a2x);
        Dossier__V1__SearchResponse *pbx = s_run_search(store, &b2x);
        s_same_hits(pa, pb, q->query);
        s_same_hits(pa, pax, q->query);
        s_same_hits(pa, pbx, q->query);
        assert_int_equal(pa->total_hits, a->total_hits);
        dossier__v1__search_response__free_unpacked(pa, NULL);
        dossier__v1__search_response__free_unpacked(pb, NULL);
        dossier__v1__search_response__free_unpacked(pax, NULL);
        dossier__v1__search_response__free_unpacked(pbx, NULL);
    }
    /* Facets force the exact count. */
    search_t f = est;
    f.facets = true;
    Dossier__V1__SearchResponse *c = s_run_search(store, &f);
    assert_false(c->total_hits_estimated);
    assert_int_equal(c->total_hits, a->total_hits);
    s_same_hits(a, c, q->query);
    uint64_t by_year = 0;
    for (size_t i = 0; i < c->n_facets; i++) {
        if (strcmp(c->facets[i]->field, "year") == 0) {
            for (size_t j = 0; j < c->facets[i]->n_counts; j++) {
                by_year += c->facets[i]->counts[j]->count;
            }
        }
    }
    assert_int_equal(by_year, a->total_hits);
    dossier__v1__search_response__free_unpacked(a, NULL);
    dossier__v1__search_response__free_unpacked(b, NULL);
    dossier__v1__search_response__free_unpacked(c, NULL);
}

static void
test_pruning_keeps_the_top(void **state) {
    /* The score bounds drop candidates only once the page's heap is full,
       so a page of 10 prunes far more than one of 1,000: their first ten
       hits must still be the same documents with the same scores. */
    fixture_t *fx = *state;
    gcorpus_t *g = calloc(1, sizeof *g);
    assert_non_null(g);
    s_gload(fx->store, g);
    const char *queries[] = {"amber",
                             "basil",
                             "amber basil",
                             "amber basil cedar",
                             "cedar dune ember",
                             "dune fjord",
                             "grove heath inlet",
                             "amber -basil",
                             "jade kelp",
                             "amber basil cedar dune",
                             "willow",
                             "sage thorn umber"};
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        dossier_error_t err = {0};
        Dossier__V1__SearchResponse *small = NULL, *large = NULL;
        assert_ok(s_search(fx->store,
                           &(search_t){.query = queries[q], .page_size = 10},
                           &small, &err),
                  &err);
        assert_ok(s_search(fx->store,
                           &(search_t){.query = queries[q], .page_size = 1000},
                           &large, &err),
                  &err);
        assert_int_equal(small->total_hits, large->total_hits);
        size_t n = small->n_hits;
        assert_true(n == 10 || n == large->n_hits);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(small->hits[i]->report->id,
                       large->hits[i]->report->id) != 0 ||
                small->hits[i]->score != large->hits[i]->score) {
                print_error("\"%s\" hit %zu: %s %.6f against %s %.6f\n",
                            queries[q], i, small->hits[i]->report->id,
                            small->hits[i]->score, large->hits[i]->report->id,
                            large->hits[i]->score);
                fail();
            }
        }
        dossier__v1__search_response__free_unpacked(small, NULL);
        dossier__v1__search_response__free_unpacked(large, NULL);
    }
    free(g);
}

static void
test_estimated_phrases(void **state) {
    fixture_t *fx = *state;
    gcorpus_t *g = calloc(1, sizeof *g);
    assert_non_null(g);
    s_gload(fx->store, g);
    unsigned flagged = 0, phrases = 0;
    char query[256];
    /* Every ordered pair of the 8 most frequent words, a word twice
       included ("amber amber": one term, still a phrase). */
    for (int x = 0; x < 8; x++) {
        for (int y = 0; y < 8; y++) {
            int seq[2] = {x, y};
            snprintf(query, sizeof query, "\"%s %s\"", s_gwords[x],
                     s_gwords[y]);
            s_compare(fx->store, &(search_t){.query = query},
                      (int64_t)s_gcount(g, seq, 2, true),
                      (int64_t)s_gcount(g, seq, 2, false), &flagged);
            phrases++;
        }
    }
    /* Three words in a row, and rarer words (fewer candidates than the
       page: every one checked, so exact). */
    int triples[][3] = {{0, 1, 2}, {1, 0, 0},    {0, 0, 1},  {2, 0, 1},
                        {0, 3, 0}, {20, 21, 22}, {15, 16, 0}};
    for (size_t t = 0; t < sizeof triples / sizeof triples[0]; t++) {
        int *seq = triples[t];
        snprintf(query, sizeof query, "\"%s %s %s\"", s_gwords[seq[0]],
                 s_gwords[seq[1]], s_gwords[seq[2]]);
        s_compare(fx->store, &(search_t){.query = query},
                  (int64_t)s_gcount(g, seq, 3, true),
                  (int64_t)s_gcount(g, seq, 3, false), &flagged);
        phrases++;
    }
    /* Phrases with terms, exclusions, two phrases, filters, orders and
       larger pages: the same hits either way. */
    const char *mixed[] = {
        "\"amber basil\" cedar",          "dune \"basil amber\"",
        "\"amber basil\" -cedar",         "\"amber basil\" -\"cedar amber\"",
        "\"amber basil\" \"cedar dune\"", "\"basil cedar amber\" ember",
        "-fjord \"amber amber\"",         "\"cedar basil\" -grove -heath"};
    for (size_t m = 0; m < sizeof mixed / sizeof mixed[0]; m++) {
        s_compare(fx->store, &(search_t){.query = mixed[m]}, -1, -1, &flagged);
        s_compare(fx->store,
                  &(search_t){.query = mixed[m],
                              .year_min = 2005,
                              .year_max = 2012,
                              .country = "AZE"},
                  -1, -1, &flagged);
        s_compare(
            fx->store,
            &(search_t){.query = mixed[m],
                        .order = DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_YEAR},
            -1, -1, &flagged);
        s_compare(
            fx->store,
            &(search_t){
                .query = mixed[m],
                .page_size = 25,
                .order =
                    DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_PUBLICATION_DATE},
            -1, -1, &flagged);
        s_compare(fx->store, &(search_t){.query = mixed[m], .page_size = 1}, -1,
                  -1, &flagged);
    }
    /* The estimate is used where it saves checks: most frequent-word
       pairs have thousands of candidates for a page of 10. */
    if (flagged < phrases / 2) {
        print_error("only %u of %u answers estimated\n", flagged, phrases);
        fail();
    }
    /* No phrase: the flag changes nothing. */
    s_compare(fx->store, &(search_t){.query = "amber basil"}, -1, -1, &flagged);
    Dossier__V1__SearchResponse *resp = s_run_search(
        fx->store, &(search_t){.query = "amber basil", .estimate = true});
    assert_false(resp->total_hits_estimated);
    assert_int_equal(resp->total_hits, s_gcount(g, (int[]){0, 1}, 2, false));
    dossier__v1__search_response__free_unpacked(resp, NULL);
    s_check_clean(fx->store);
    free(g);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ranking, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_phrases_and_exclusions, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_accent_folding, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_filters, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_snippet_paragraphs, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_facets, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pagination_and_order, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_queries, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_replace_and_delete, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_many_batches, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_deferred_merges, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_prepared_terms, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_at_open, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_leaves_no_trace,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pruning_keeps_the_top, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(
            test_replaced_in_the_batch_across_blocks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_in_steps, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_missing_record, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_estimated_phrases, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_check_detects_lost_posting,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_detects_moved_position,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
