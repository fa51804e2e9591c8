/*  test_search_early.c: early termination of a search whose count may be
    estimated (SearchRequest.estimate_total_hits; server/store/fts/
    search.c): the walk skips the lead term's blocks, and prunes its
    postings, whose score bound cannot enter the top k, and estimates
    total_hits. On a generated corpus large enough for blocks to be
    skipped (24,000 reports over several segments, a Zipfian vocabulary,
    lengths from 20 to 140 words,
    in runs of short and of long ones), for each kind of query (one term,
    terms, a phrase, an exclusion, a filter, and a second page):
    - the exhaustive run (no estimate) matches as many reports as the
      model of the corpus says, and flags no estimate;
    - the early-terminated run returns the same hits, ids and scores in
      order, as the exhaustive one;
    - its count is the model's when not flagged, and near it when
      flagged (the estimate samples a uniform share of the blocks: within
      what such a sample's error allows);
    and, so the test is not vacuous, some runs do terminate early. A
    word both required and excluded matches nothing either way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "testassert.h"
#include "testserver.h"

#define S_DOCS 24000
#define S_BATCH 3000
#define S_VOCAB 120
#define S_MAX_WORDS 140

typedef struct {
    char dir[64];
    store_t *store;
} fixture_t;

/* The model: each report's words (indexes into the vocabulary) and its
   country. */
typedef struct {
    uint8_t words[S_MAX_WORDS];
    uint8_t n;
    uint8_t country;
} model_t;

static model_t *s_model;
static uint64_t s_rng = 42;
static double s_cdf[S_VOCAB];

static const char *s_countries[] = {"AZE", "CIV", "FRA", "NGA"};

static uint32_t
s_rand(uint32_t n) {
    s_rng = s_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(s_rng >> 33) % n;
}

/*  Word i of the vocabulary: letters only, none a prefix of another's
    token. */
static void
s_word(uint32_t i, char out[8]) {
    snprintf(out, 8, "q%c%c", 'a' + (char)(i / 26), 'a' + (char)(i % 26));
}

/*  A word drawn from a Zipfian law (exponent 1): the head is in nearly
    every report, several times, the tail in few. */
static uint8_t
s_draw(void) {
    double u = s_rand(1u << 30) / (double)(1u << 30);
    uint32_t lo = 0, hi = S_VOCAB - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s_cdf[mid] < u) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return (uint8_t)lo;
}

static int
s_setup(void **state) {
    fixture_t *fx = calloc(1, sizeof *fx);
    s_model = calloc(S_DOCS, sizeof *s_model);
    if (!fx || !s_model) {
        return -1;
    }
    double sum = 0;
    for (int i = 0; i < S_VOCAB; i++) {
        sum += 1.0 / (i + 1);
        s_cdf[i] = sum;
    }
    for (int i = 0; i < S_VOCAB; i++) {
        s_cdf[i] /= sum;
    }
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dossier-early-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        return -1;
    }
    store_options_t options = {.no_sync = true};
    dossier_error_t err = {0};
    if (store_open(fx->dir, &options, &fx->store, &err) != DOSSIER_OK) {
        print_error("store_open: %s\n", err.message);
        return -1;
    }
    char *body = malloc(S_MAX_WORDS * 8);
    if (!body) {
        return -1;
    }
    for (int i = 0; i < S_DOCS; i += S_BATCH) {
        store_batch_t *batch = NULL;
        if (store_batch_begin(fx->store, &batch, &err) != DOSSIER_OK) {
            return -1;
        }
        for (int j = i; j < S_DOCS && j < i + S_BATCH; j++) {
            model_t *m = &s_model[j];
            /* Runs of 500 reports, one in four short (20 to 60 words),
               the others long (100 to 140): the long runs' blocks score
               low enough for their bound to skip them. */
            m->n = (uint8_t)((j / 500) % 4 == 0 ? 20 + s_rand(41)
                                                : 100 + s_rand(41));
            m->country = (uint8_t)s_rand(4);
            body[0] = '\0';
            for (int w = 0; w < m->n; w++) {
                char word[8];
                m->words[w] = s_draw();
                s_word(m->words[w], word);
                strcat(body, w ? " " : "");
                strcat(body, word);
            }
            char id[16];
            snprintf(id, sizeof id, "e%05d", j);
            Dossier__V1__Report r;
            dossier__v1__report__init(&r);
            r.id = id;
            r.title = "title";
            r.country_code = (char *)s_countries[m->country];
            r.year = 2001 + (uint32_t)(j % 20);
            r.publication_date = "2001-01-01";
            r.doc_type = "Report";
            r.cite_as = "cite";
            r.body = &body;
            r.n_body = 1;
            if (store_put(batch, &r, NULL, NULL, &err) != DOSSIER_OK) {
                print_error("store_put: %s\n", err.message);
                return -1;
            }
        }
        if (store_batch_commit(&batch, &err) != DOSSIER_OK) {
            return -1;
        }
    }
    free(body);
    *state = fx;
    return 0;
}

static int
s_teardown(void **state) {
    fixture_t *fx = *state;
    store_destroy(&fx->store);
    testserver_remove_tree(fx->dir);
    free(fx);
    free(s_model);
    return 0;
}

/* A query: words all required (a phrase when phrase), a word excluded
   (-1 none), a country (-1 none). */
typedef struct {
    int words[3];
    int n;
    bool phrase;
    int excluded;
    int country;
} query_t;

static bool
s_model_has(const model_t *m, int word) {
    for (int w = 0; w < m->n; w++) {
        if (m->words[w] == word) {
            return true;
        }
    }
    return false;
}

static bool
s_model_matches(const model_t *m, const query_t *q) {
    if (q->country >= 0 && m->country != q->country) {
        return false;
    }
    if (q->excluded >= 0 && s_model_has(m, q->excluded)) {
        return false;
    }
    if (q->phrase) {
        for (int w = 0; w + q->n <= m->n; w++) {
            int j = 0;
            while (j < q->n && m->words[w + j] == q->words[j]) {
                j++;
            }
            if (j == q->n) {
                return true;
            }
        }
        return false;
    }
    for (int j = 0; j < q->n; j++) {
        if (!s_model_has(m, q->words[j])) {
            return false;
        }
    }
    return true;
}

static void
s_query_text(const query_t *q, char *out, size_t size) {
    size_t len = 0;
    out[0] = '\0';
    len += (size_t)snprintf(out + len, size - len, "%s", q->phrase ? "\"" : "");
    for (int j = 0; j < q->n; j++) {
        char word[8];
        s_word((uint32_t)q->words[j], word);
        len +=
            (size_t)snprintf(out + len, size - len, "%s%s", j ? " " : "", word);
    }
    len += (size_t)snprintf(out + len, size - len, "%s", q->phrase ? "\"" : "");
    if (q->excluded >= 0) {
        char word[8];
        s_word((uint32_t)q->excluded, word);
        snprintf(out + len, size - len, " -%s", word);
    }
}

static Dossier__V1__SearchResponse *
s_search(store_t *store, const query_t *q, bool estimate,
         const char *page_token) {
    char text[128];
    s_query_text(q, text, sizeof text);
    Dossier__V1__SearchRequest req = DOSSIER__V1__SEARCH_REQUEST__INIT;
    Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
    req.query = text;
    req.page_size = 10;
    req.estimate_total_hits = estimate;
    req.page_token = (char *)(page_token ? page_token : "");
    if (q->country >= 0) {
        filter.country = (char *)s_countries[q->country];
        req.filter = &filter;
    }
    Dossier__V1__SearchResponse *resp = NULL;
    dossier_error_t err = {0};
    assert_ok(store_search(store, &req, 0, &resp, &err), &err);
    return resp;
}

static const query_t s_queries[] = {
    {{0}, 1, false, -1, -1},       /* one term: exact by its blocks */
    {{1, 0}, 2, false, -1, -1},    /* two frequent terms */
    {{2, 0, 1}, 3, false, -1, -1}, /* three */
    {{3, 5}, 2, false, -1, -1},    {{0, 1}, 2, true, -1, -1}, /* a phrase */
    {{1, 0}, 2, true, -1, -1},  /* the other way round */
    {{0}, 1, false, 1, -1},     /* an exclusion */
    {{2}, 1, false, 40, -1},    /* excluding a rare word */
    {{0}, 1, false, -1, 2},     /* a filter */
    {{1, 2}, 2, false, -1, 0},  /* terms and a filter */
    {{60, 0}, 2, false, -1, -1} /* a rare lead: few blocks */
};
#define N_QUERIES (sizeof s_queries / sizeof s_queries[0])

/*  The early-terminated run of q (page after page_token) against the
    exhaustive one and the model's count. Returns whether it was
    estimated. */
static bool
s_compare(store_t *store, const query_t *q, const char *page_token,
          uint64_t model_total) {
    char text[128];
    s_query_text(q, text, sizeof text);
    Dossier__V1__SearchResponse *exact = s_search(store, q, false, page_token);
    Dossier__V1__SearchResponse *early = s_search(store, q, true, page_token);
    assert_false(exact->total_hits_estimated);
    if (exact->total_hits != model_total) {
        fail_msg("%s: %llu matches, the model %llu", text,
                 (unsigned long long)exact->total_hits,
                 (unsigned long long)model_total);
    }
    if (early->n_hits != exact->n_hits) {
        fail_msg("%s: %zu hits estimated, %zu exact", text, early->n_hits,
                 exact->n_hits);
    }
    for (size_t h = 0; h < exact->n_hits; h++) {
        if (strcmp(early->hits[h]->report->id, exact->hits[h]->report->id) !=
                0 ||
            early->hits[h]->score != exact->hits[h]->score) {
            fail_msg("%s: hit %zu is %s (%.17g) estimated, %s (%.17g) exact",
                     text, h, early->hits[h]->report->id, early->hits[h]->score,
                     exact->hits[h]->report->id, exact->hits[h]->score);
        }
    }
    bool estimated = early->total_hits_estimated;
    if (!estimated) {
        assert_int_equal(early->total_hits, model_total);
    } else {
        /* The estimate samples one in four of the lead's blocks here
           (its df is about 24,000), one in sixteen for a phrase: within
           5% plus three standard deviations of the count of a sample of
           one in sixteen. */
        double error = ((double)early->total_hits - (double)model_total) /
                       (double)model_total;
        double within = 0.05 + 3 * sqrt(15.0 / (double)model_total);
        if (error > within || error < -within) {
            fail_msg("%s: estimated %llu, the model %llu", text,
                     (unsigned long long)early->total_hits,
                     (unsigned long long)model_total);
        }
    }
    dossier__v1__search_response__free_unpacked(exact, NULL);
    dossier__v1__search_response__free_unpacked(early, NULL);
    return estimated;
}

static void
test_early_same_top_k(void **state) {
    fixture_t *fx = *state;
    unsigned estimated = 0;
    for (size_t i = 0; i < N_QUERIES; i++) {
        const query_t *q = &s_queries[i];
        uint64_t total = 0;
        for (int d = 0; d < S_DOCS; d++) {
            total += s_model_matches(&s_model[d], q);
        }
        assert_true(total > 10); /* a page to fill, and more */
        estimated += s_compare(fx->store, q, NULL, total);
        /* The second page: the top 20 cut after 10. */
        Dossier__V1__SearchResponse *first =
            s_search(fx->store, q, false, NULL);
        assert_true(first->next_page_token[0] != '\0');
        estimated += s_compare(fx->store, q, first->next_page_token, total);
        dossier__v1__search_response__free_unpacked(first, NULL);
    }
    /* The walk stopped early somewhere: this test tests something. */
    assert_true(estimated >= 6);
}

/*  A word both required and excluded matches nothing, either way (the
    search says so without walking its postings). */
static void
test_self_excluded(void **state) {
    fixture_t *fx = *state;
    const query_t queries[] = {{{0}, 1, false, 0, -1},
                               {{1, 0}, 2, false, 0, -1},
                               {{0, 1}, 2, true, 1, -1}};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        for (int estimate = 0; estimate < 2; estimate++) {
            Dossier__V1__SearchResponse *resp =
                s_search(fx->store, &queries[i], estimate, NULL);
            assert_int_equal(resp->total_hits, 0);
            assert_int_equal(resp->n_hits, 0);
            assert_false(resp->total_hits_estimated);
            dossier__v1__search_response__free_unpacked(resp, NULL);
        }
    }
    /* An excluded phrase holding a required word excludes only where
       the phrase is. */
    Dossier__V1__SearchRequest req = DOSSIER__V1__SEARCH_REQUEST__INIT;
    req.query = "qaa -\"qaa qab\"";
    Dossier__V1__SearchResponse *resp = NULL;
    dossier_error_t err = {0};
    assert_ok(store_search(fx->store, &req, 0, &resp, &err), &err);
    uint64_t want = 0;
    const query_t word = {{0}, 1, false, -1, -1};
    const query_t phrase = {{0, 1}, 2, true, -1, -1};
    for (int d = 0; d < S_DOCS; d++) {
        want += s_model_matches(&s_model[d], &word) &&
                !s_model_matches(&s_model[d], &phrase);
    }
    assert_true(want > 0);
    assert_int_equal(resp->total_hits, want);
    dossier__v1__search_response__free_unpacked(resp, NULL);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_early_same_top_k),
        cmocka_unit_test(test_self_excluded),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
