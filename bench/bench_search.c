/*  bench_search.c: dossier-bench-search, the full-text search benchmark.

    Generates a deterministic synthetic corpus (seeded: countries x years
    x series, ~600 words a document over a Zipfian vocabulary mixed with
    the phrasing of Trafficking in Persons reports), bulk-loads it into a
    fresh store through store batches, then runs five kinds of query (one
    term, three terms, a phrase, a term with an excluded term, a term
    with country and year filters), single-threaded, top 10 by BM25, and
    prints each kind's p50 and p99. With --corpus and --queries it also
    writes the corpus (JSON lines) and the queries (tab-separated, with
    their FTS5 form) so bench/fts5_baseline.py runs the same work; see
    bench/search.sh.

    Output lines are "key value" pairs, one figure per line, for scripts. */
#include <errno.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "country.h"
#include "store.h"

#define S_VOCAB 30000
#define S_PARAGRAPHS 6
#define S_PARAGRAPH_WORDS 100
#define S_QUERIES 40
#define S_KINDS 5

static const char *s_core[] = {
    "the",
    "of",
    "and",
    "to",
    "in",
    "trafficking",
    "government",
    "victims",
    "for",
    "a",
    "labor",
    "forced",
    "sexual",
    "exploitation",
    "women",
    "children",
    "persons",
    "law",
    "enforcement",
    "report",
    "country",
    "traffickers",
    "efforts",
    "protection",
    "prosecution",
    "prevention",
    "minimum",
    "standards",
    "elimination",
    "significant",
    "tier",
    "watch",
    "list",
    "officials",
    "complicity",
    "shelters",
    "identification",
    "investigations",
    "convictions",
    "sentences",
    "recruitment",
    "agencies",
    "debt",
    "bondage",
    "domestic",
    "servitude",
    "migrant",
    "workers",
    "commercial",
    "sex",
    "destination",
    "source",
    "transit",
    "men",
    "girls",
    "boys",
    "border",
    "police",
    "ngos",
    "international",
    "organizations",
    "funding",
    "training",
    "awareness",
    "campaigns",
    "legislation",
    "penalties",
    "prison",
    "years",
    "cases",
    "reported",
    "during",
    "period",
    "did",
    "not",
    "was",
    "were",
    "has",
    "had",
    "its",
    "with",
    "by",
    "on",
    "from",
    "as",
    "that",
    "this",
    "or",
    "an",
    "be",
    "at",
    "which",
    "also",
    "some",
    "other",
    "while",
    "although",
    "continued",
    "increased",
};

static const char *s_phrases[] = {
    "forced labor",         "sexual exploitation", "debt bondage",
    "domestic servitude",   "commercial sex",      "law enforcement",
    "victim protection",    "tier 2 watch list",   "minimum standards",
    "migrant workers",      "forced begging",      "child soldiers",
    "labor inspectors",     "shelter services",    "recruitment fees",
    "national action plan",
};

static const char *s_syllables[] = {
    "ka",  "lo",  "mi",  "ren", "sa",  "tu",  "vel", "zor", "an",  "be",
    "cor", "dal", "en",  "fi",  "gan", "hor", "is",  "jun", "kel", "lim",
    "mor", "nal", "ol",  "pra", "qui", "ros", "sul", "tan", "ur",  "vin",
    "wen", "xa",  "yor", "zen", "bra", "cle", "dro", "fla", "gri", "ple",
};

/* ---- Deterministic generation. ---- */

static uint64_t s_rng;

static uint64_t
s_next(void) {
    /* splitmix64: small, fast, good enough and the same everywhere */
    uint64_t z = (s_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double
s_uniform(void) {
    return (double)(s_next() >> 11) / 9007199254740992.0;
}

static char *s_vocab[S_VOCAB];
static double s_cdf[S_VOCAB];

static void
s_vocab_build(void) {
    size_t n_core = sizeof(s_core) / sizeof(s_core[0]);
    size_t n_syl = sizeof(s_syllables) / sizeof(s_syllables[0]);
    for (size_t i = 0; i < S_VOCAB; i++) {
        char word[32];
        if (i < n_core) {
            snprintf(word, sizeof(word), "%s", s_core[i]);
        } else {
            size_t k = i - n_core;
            snprintf(word, sizeof(word), "%s%s%s", s_syllables[k % n_syl],
                     s_syllables[(k / n_syl) % n_syl],
                     k >= n_syl * n_syl
                         ? s_syllables[(k / (n_syl * n_syl)) % n_syl]
                         : "x");
        }
        s_vocab[i] = strdup(word);
    }
    double sum = 0;
    for (size_t i = 0; i < S_VOCAB; i++) {
        sum += 1.0 / pow((double)(i + 1), 1.05);
        s_cdf[i] = sum;
    }
    for (size_t i = 0; i < S_VOCAB; i++) {
        s_cdf[i] /= sum;
    }
}

static size_t
s_zipf(void) {
    double u = s_uniform();
    size_t lo = 0, hi = S_VOCAB - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s_cdf[mid] < u) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/*  A word of rank drawn log-uniformly in [lo, hi). */
static const char *
s_ranked(size_t lo, size_t hi) {
    double r = exp(log((double)lo) + s_uniform() * log((double)hi / lo));
    size_t i = (size_t)r;
    return s_vocab[i < S_VOCAB ? i : S_VOCAB - 1];
}

typedef struct {
    char *text;
    size_t size;
    size_t cap;
} str_t;

static void
s_append(str_t *s, const char *text) {
    size_t n = strlen(text);
    if (s->size + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        while (cap < s->size + n + 1) {
            cap *= 2;
        }
        s->text = realloc(s->text, cap);
        if (!s->text) {
            abort();
        }
        s->cap = cap;
    }
    memcpy(s->text + s->size, text, n + 1);
    s->size += n;
}

static char *
s_paragraph(void) {
    str_t s = {NULL, 0, 0};
    size_t words = S_PARAGRAPH_WORDS - 20 + (size_t)(s_next() % 41);
    size_t sentence = 0;
    for (size_t w = 0; w < words; w++) {
        char word[64];
        const char *text = s_uniform() < 0.04
                               ? s_phrases[s_next() % (sizeof(s_phrases) /
                                                       sizeof(s_phrases[0]))]
                               : s_vocab[s_zipf()];
        snprintf(word, sizeof(word), "%s", text);
        if (sentence == 0 && word[0] >= 'a' && word[0] <= 'z') {
            word[0] = (char)(word[0] - 'a' + 'A');
        }
        if (w > 0) {
            s_append(&s, " ");
        }
        s_append(&s, word);
        if (++sentence >= 12 + s_next() % 8 || w + 1 == words) {
            s_append(&s, w + 1 == words ? "." : (s_next() % 4 ? "." : ";"));
            sentence = 0;
        } else if (s_next() % 15 == 0) {
            s_append(&s, ",");
        }
    }
    return s.text;
}

static const char *s_tier_names[] = {
    "", "TIER_1", "TIER_2", "TIER_2_WATCH_LIST", "TIER_3", "SPECIAL_CASE"};

/*  Document i of the corpus (filled into r; strings malloc'd). */
static void
s_make_doc(uint32_t i, Dossier__V1__Report *r) {
    size_t nc = country_count() < 200 ? country_count() : 200;
    const country_t *c = country_at(i % nc);
    uint32_t year = 2001 + (i / nc) % 20;
    uint32_t series = i / (uint32_t)(nc * 20);
    char buf[256];
    dossier__v1__report__init(r);
    snprintf(buf, sizeof(buf), "bench-%07u", i);
    r->id = strdup(buf);
    if (series == 0) {
        snprintf(buf, sizeof(buf), "Trafficking in Persons Report %u - %s",
                 year, c->name);
        r->publisher = strdup("United States Department of State");
        r->doc_type = strdup("Trafficking in Persons Report");
    } else {
        snprintf(buf, sizeof(buf), "Country Review %u no. %u - %s", year,
                 series, c->name);
        snprintf(buf + 200, 56, "Publisher %u", series % 7);
        r->publisher = strdup(buf + 200);
        buf[200] = '\0';
        r->doc_type = strdup("Country Review");
    }
    r->title = strdup(buf);
    r->country = strdup(c->name);
    r->country_code = strdup(c->alpha3);
    r->year = year;
    r->tier = (Dossier__V1__Tier)(1 + s_next() % 5);
    snprintf(buf, sizeof(buf), "%04u-06-%02u", year,
             1 + (unsigned)(s_next() % 28));
    r->publication_date = strdup(buf);
    r->n_body = S_PARAGRAPHS;
    r->body = calloc(S_PARAGRAPHS, sizeof(char *));
    for (size_t p = 0; p < S_PARAGRAPHS; p++) {
        r->body[p] = s_paragraph();
    }
}

static void
s_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fputc('\\', f);
            fputc(*s, f);
        } else if ((unsigned char)*s < 0x20) {
            fprintf(f, "\\u%04x", (unsigned char)*s);
        } else {
            fputc(*s, f);
        }
    }
    fputc('"', f);
}

static void
s_write_doc(FILE *f, const Dossier__V1__Report *r) {
    fputs("{\"id\":", f);
    s_json_string(f, r->id);
    fputs(",\"title\":", f);
    s_json_string(f, r->title);
    fputs(",\"publisher\":", f);
    s_json_string(f, r->publisher);
    fputs(",\"country\":", f);
    s_json_string(f, r->country);
    fprintf(f, ",\"year\":%u,\"tier\":\"%s\",\"date\":", r->year,
            s_tier_names[r->tier]);
    s_json_string(f, r->publication_date);
    fputs(",\"body\":[", f);
    for (size_t p = 0; p < r->n_body; p++) {
        if (p) {
            fputc(',', f);
        }
        s_json_string(f, r->body[p]);
    }
    fputs("]}\n", f);
}

/* ---- Queries. ---- */

typedef struct {
    char query[256]; /* ours */
    char fts5[256];  /* the same in FTS5's syntax */
    char country[128];
    uint32_t year_min;
    uint32_t year_max;
} query_t;

static const char *s_kinds[S_KINDS] = {"one_term", "three_terms", "phrase",
                                       "excluded", "filtered"};
static query_t s_queries[S_KINDS][S_QUERIES];

static void
s_make_queries(uint32_t n_docs) {
    size_t nc = country_count() < 200 ? country_count() : 200;
    size_t n_phrases = sizeof(s_phrases) / sizeof(s_phrases[0]);
    for (int q = 0; q < S_QUERIES; q++) {
        query_t *one = &s_queries[0][q];
        const char *a = s_ranked(5, 5000);
        snprintf(one->query, sizeof(one->query), "%s", a);
        snprintf(one->fts5, sizeof(one->fts5), "\"%s\"", a);

        query_t *three = &s_queries[1][q];
        const char *b = s_ranked(5, 2000), *c = s_ranked(5, 2000),
                   *d = s_ranked(5, 2000);
        snprintf(three->query, sizeof(three->query), "%s %s %s", b, c, d);
        snprintf(three->fts5, sizeof(three->fts5), "\"%s\" \"%s\" \"%s\"", b, c,
                 d);

        query_t *phrase = &s_queries[2][q];
        const char *p = s_phrases[q % n_phrases];
        snprintf(phrase->query, sizeof(phrase->query), "\"%s\"", p);
        snprintf(phrase->fts5, sizeof(phrase->fts5), "\"%s\"", p);

        query_t *ex = &s_queries[3][q];
        const char *e = s_ranked(5, 500), *x = s_ranked(5, 500);
        snprintf(ex->query, sizeof(ex->query), "%s -%s", e, x);
        snprintf(ex->fts5, sizeof(ex->fts5), "\"%s\" NOT \"%s\"", e, x);

        query_t *fl = &s_queries[4][q];
        const char *t = s_ranked(5, 500);
        snprintf(fl->query, sizeof(fl->query), "%s", t);
        snprintf(fl->fts5, sizeof(fl->fts5), "\"%s\"", t);
        snprintf(fl->country, sizeof(fl->country), "%s",
                 country_at(s_next() % nc)->name);
        uint32_t years = n_docs / (uint32_t)nc;
        years = years > 20 ? 20 : years ? years : 1;
        fl->year_min = 2001 + (uint32_t)(s_next() % years);
        fl->year_max = fl->year_min + 2;
    }
}

/* ---- Measuring. ---- */

static double
s_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*  CPU time of this process: the load's own work, without the time it
    waited for the disk or for other processes. */
static double
s_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
s_double_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/*  Bytes of the pages of the named databases starting with prefix. */
static uint64_t
s_db_bytes(const char *dir, const char *prefix, uint64_t *all) {
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    uint64_t bytes = 0;
    *all = 0;
    if (mdb_env_create(&env) != 0) {
        return 0;
    }
    mdb_env_set_maxdbs(env, 64);
    if (mdb_env_open(env, dir, MDB_RDONLY, 0644) != 0 ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0) {
        mdb_env_close(env);
        return 0;
    }
    MDB_dbi main_db;
    MDB_val key, val;
    if (mdb_dbi_open(txn, NULL, 0, &main_db) == 0 &&
        mdb_cursor_open(txn, main_db, &cur) == 0) {
        while (mdb_cursor_get(cur, &key, &val, MDB_NEXT) == 0) {
            char name[128];
            size_t n =
                key.mv_size < sizeof(name) - 1 ? key.mv_size : sizeof(name) - 1;
            memcpy(name, key.mv_data, n);
            name[n] = '\0';
            MDB_dbi dbi;
            MDB_stat st;
            if (mdb_dbi_open(txn, name, 0, &dbi) != 0 ||
                mdb_stat(txn, dbi, &st) != 0) {
                continue;
            }
            uint64_t b =
                (uint64_t)st.ms_psize *
                (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
            *all += b;
            if (strncmp(name, prefix, strlen(prefix)) == 0) {
                bytes += b;
            }
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return bytes;
}

static void
s_usage(void) {
    fprintf(stderr,
            "usage: dossier-bench-search [--docs N] [--seed S] [--batch B]\n"
            "         [--rounds R] [--dir DIR] [--corpus FILE] "
            "[--queries FILE]\n"
            "  Loads N synthetic reports (default 4000) into a fresh store "
            "in DIR\n"
            "  (default: a new temporary directory) and times searches.\n");
}

int
main(int argc, char **argv) {
    uint32_t n_docs = 4000, batch_size = 1000, rounds = 5;
    uint64_t seed = 20260101;
    const char *dir = NULL, *corpus_path = NULL, *queries_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            s_usage();
            return 0;
        }
        if (!val) {
            s_usage();
            return 2;
        }
        i++;
        if (strcmp(arg, "--docs") == 0) {
            n_docs = (uint32_t)strtoul(val, NULL, 10);
        } else if (strcmp(arg, "--seed") == 0) {
            seed = strtoull(val, NULL, 10);
        } else if (strcmp(arg, "--batch") == 0) {
            batch_size = (uint32_t)strtoul(val, NULL, 10);
        } else if (strcmp(arg, "--rounds") == 0) {
            rounds = (uint32_t)strtoul(val, NULL, 10);
        } else if (strcmp(arg, "--dir") == 0) {
            dir = val;
        } else if (strcmp(arg, "--corpus") == 0) {
            corpus_path = val;
        } else if (strcmp(arg, "--queries") == 0) {
            queries_path = val;
        } else {
            s_usage();
            return 2;
        }
    }
    if (n_docs == 0 || batch_size == 0 || rounds == 0) {
        s_usage();
        return 2;
    }
    char tmp[] = "/tmp/dossier-bench-search-XXXXXX";
    if (!dir) {
        dir = mkdtemp(tmp);
        if (!dir) {
            perror("mkdtemp");
            return 1;
        }
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    s_rng = seed;
    s_vocab_build();

    /* The corpus, generated before the clock starts. */
    Dossier__V1__Report *docs = calloc(n_docs, sizeof(*docs));
    for (uint32_t i = 0; i < n_docs; i++) {
        s_make_doc(i, &docs[i]);
    }
    s_make_queries(n_docs);
    if (corpus_path) {
        FILE *f = fopen(corpus_path, "w");
        if (!f) {
            perror(corpus_path);
            return 1;
        }
        for (uint32_t i = 0; i < n_docs; i++) {
            s_write_doc(f, &docs[i]);
        }
        fclose(f);
    }
    if (queries_path) {
        FILE *f = fopen(queries_path, "w");
        if (!f) {
            perror(queries_path);
            return 1;
        }
        for (int k = 0; k < S_KINDS; k++) {
            for (int q = 0; q < S_QUERIES; q++) {
                query_t *qq = &s_queries[k][q];
                fprintf(f, "%s\t%s\t%s\t%s\t%u\t%u\n", s_kinds[k], qq->query,
                        qq->fts5, qq->country, qq->year_min, qq->year_max);
            }
        }
        fclose(f);
    }
    uint64_t text_bytes = 0;
    for (uint32_t i = 0; i < n_docs; i++) {
        text_bytes += strlen(docs[i].title);
        for (size_t p = 0; p < docs[i].n_body; p++) {
            text_bytes += strlen(docs[i].body[p]);
        }
    }
    printf("docs %u\ntext_bytes %llu\ndir %s\n", n_docs,
           (unsigned long long)text_bytes, dir);

    store_t *store = NULL;
    dossier_error_t err = {0};
    store_options_t options = {0};
    options.max_map_size = (size_t)64 << 30;
    if (store_open(dir, &options, &store, &err) != DOSSIER_OK) {
        fprintf(stderr, "store_open: %s\n", err.message);
        return 1;
    }
    /* Bulk load through store batches, each committed durably. */
    double t0 = s_now();
    double c0 = s_cpu();
    for (uint32_t i = 0; i < n_docs; i += batch_size) {
        store_batch_t *batch = NULL;
        if (store_batch_begin(store, &batch, &err) != DOSSIER_OK) {
            fprintf(stderr, "store_batch_begin: %s\n", err.message);
            return 1;
        }
        for (uint32_t j = i; j < n_docs && j < i + batch_size; j++) {
            store_put_args_t args = {0};
            args.user = "bench";
            if (store_put(batch, &docs[j], &args, NULL, &err) != DOSSIER_OK) {
                fprintf(stderr, "store_put %s: %s\n", docs[j].id, err.message);
                return 1;
            }
        }
        if (store_batch_commit(&batch, &err) != DOSSIER_OK) {
            fprintf(stderr, "store_batch_commit: %s\n", err.message);
            return 1;
        }
    }
    double load = s_now() - t0;
    double load_cpu = s_cpu() - c0;
    printf("load_seconds %.3f\nload_docs_per_second %.0f\n"
           "load_cpu_seconds %.3f\n",
           load, n_docs / load, load_cpu);

    /* The queries: one warm-up round, then rounds timed. */
    double *times = calloc((size_t)S_QUERIES * rounds, sizeof(double));
    double *cpu = calloc((size_t)S_QUERIES * rounds, sizeof(double));
    for (int k = 0; k < S_KINDS; k++) {
        uint64_t hits = 0;
        size_t n = 0;
        for (uint32_t round = 0; round <= rounds; round++) {
            for (int q = 0; q < S_QUERIES; q++) {
                query_t *qq = &s_queries[k][q];
                Dossier__V1__SearchRequest req =
                    DOSSIER__V1__SEARCH_REQUEST__INIT;
                Dossier__V1__ReportFilter filter =
                    DOSSIER__V1__REPORT_FILTER__INIT;
                req.query = qq->query;
                req.page_size = 10;
                if (qq->country[0]) {
                    filter.country = qq->country;
                    filter.year_min = qq->year_min;
                    filter.year_max = qq->year_max;
                    req.filter = &filter;
                }
                Dossier__V1__SearchResponse *resp = NULL;
                double start = s_now();
                double start_cpu = s_cpu();
                dossier_status_t st = store_search(store, &req, 0, &resp, &err);
                double took = s_now() - start;
                double took_cpu = s_cpu() - start_cpu;
                if (st != DOSSIER_OK) {
                    fprintf(stderr, "search %s: %s\n", qq->query, err.message);
                    return 1;
                }
                if (round > 0) {
                    cpu[n] = took_cpu;
                    times[n++] = took;
                    hits += resp->total_hits;
                }
                dossier__v1__search_response__free_unpacked(resp, NULL);
            }
        }
        qsort(times, n, sizeof(double), s_double_cmp);
        qsort(cpu, n, sizeof(double), s_double_cmp);
        size_t p99 = (size_t)(n * 0.99);
        /* CPU time tells a slow query from one preempted by another
           process on a busy machine. */
        printf("%s_p50_cpu_ms %.4f\n%s_p99_cpu_ms %.4f\n", s_kinds[k],
               cpu[n / 2] * 1e3, s_kinds[k], cpu[p99 < n ? p99 : n - 1] * 1e3);
        printf("%s_p50_ms %.4f\n%s_p99_ms %.4f\n%s_avg_total_hits %.1f\n",
               s_kinds[k], times[n / 2] * 1e3, s_kinds[k],
               times[p99 < n ? p99 : n - 1] * 1e3, s_kinds[k],
               (double)hits / n);
    }
    free(times);
    free(cpu);
    store_destroy(&store);
    uint64_t all = 0;
    uint64_t index = s_db_bytes(dir, "fts_", &all);
    printf("index_bytes %llu\nstore_bytes %llu\n", (unsigned long long)index,
           (unsigned long long)all);
    for (uint32_t i = 0; i < n_docs; i++) {
        Dossier__V1__Report *r = &docs[i];
        free(r->id);
        free(r->title);
        free(r->publisher);
        free(r->doc_type);
        free(r->country);
        free(r->country_code);
        free(r->publication_date);
        for (size_t p = 0; p < r->n_body; p++) {
            free(r->body[p]);
        }
        free(r->body);
    }
    free(docs);
    for (size_t i = 0; i < S_VOCAB; i++) {
        free(s_vocab[i]);
    }
    return 0;
}
