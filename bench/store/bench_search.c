/*  bench_search.c: dossier-bench-search, the full-text search benchmark.

    Generates a deterministic synthetic corpus (seeded: countries x years
    x series, ~600 words a document over a Zipfian vocabulary mixed with
    the phrasing of Trafficking in Persons reports), bulk-loads it into a
    fresh store through store batches, then runs five kinds of query (one
    term, three terms, a phrase, a term with an excluded term, a term
    with country and year filters), single-threaded, top 10 by BM25, and
    prints each kind's p50 and p99. The phrases run twice: with an exact
    total_hits ("phrase") and with estimate_total_hits set
    ("phrase_estimated", the same queries and hits, positions checked
    only where they can change the top 10). With --corpus and --queries it also
    writes the corpus (JSON lines) and the queries (tab-separated, with
    their FTS5 form) so bench/store/fts5_baseline.py runs the same work;
    see bench/store/search.sh.

    Output lines are "key value" pairs, one figure per line, for scripts. */
#include <errno.h>
#include <lmdb.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"
#include "country.h"
#include "store/store.h"

#define S_QUERIES 40
#define S_KINDS 5

static const char *s_tier_names[] = {
    "", "TIER_1", "TIER_2", "TIER_2_WATCH_LIST", "TIER_3", "SPECIAL_CASE"};

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
/* The timed runs: each kind, then the phrases again with an estimated
   total_hits (FTS5 runs them once: its query is the same). */
#define S_RUNS (S_KINDS + 1)
#define S_PHRASE 2
static query_t s_queries[S_KINDS][S_QUERIES];

/*  The queries, from a random stream of their own (documents use theirs:
    see corpus.h). */
static void
s_make_queries(uint32_t n_docs) {
    size_t nc = corpus_countries();
    corpus_rng_t rng;
    corpus_rng_seed(&rng, (uint64_t)UINT32_MAX + 1);
    for (int q = 0; q < S_QUERIES; q++) {
        query_t *one = &s_queries[0][q];
        const char *a = corpus_ranked(&rng, 5, 5000);
        snprintf(one->query, sizeof(one->query), "%s", a);
        snprintf(one->fts5, sizeof(one->fts5), "\"%s\"", a);

        query_t *three = &s_queries[1][q];
        const char *b = corpus_ranked(&rng, 5, 2000);
        const char *c = corpus_ranked(&rng, 5, 2000);
        const char *d = corpus_ranked(&rng, 5, 2000);
        snprintf(three->query, sizeof(three->query), "%s %s %s", b, c, d);
        snprintf(three->fts5, sizeof(three->fts5), "\"%s\" \"%s\" \"%s\"", b, c,
                 d);

        query_t *phrase = &s_queries[2][q];
        const char *p = corpus_phrase((size_t)q);
        snprintf(phrase->query, sizeof(phrase->query), "\"%s\"", p);
        snprintf(phrase->fts5, sizeof(phrase->fts5), "\"%s\"", p);

        query_t *ex = &s_queries[3][q];
        const char *e = corpus_ranked(&rng, 5, 500);
        const char *x = corpus_ranked(&rng, 5, 500);
        snprintf(ex->query, sizeof(ex->query), "%s -%s", e, x);
        snprintf(ex->fts5, sizeof(ex->fts5), "\"%s\" NOT \"%s\"", e, x);

        query_t *fl = &s_queries[4][q];
        const char *t = corpus_ranked(&rng, 5, 500);
        snprintf(fl->query, sizeof(fl->query), "%s", t);
        snprintf(fl->fts5, sizeof(fl->fts5), "\"%s\"", t);
        snprintf(fl->country, sizeof(fl->country), "%s",
                 country_at(corpus_rng_next(&rng) % nc)->name);
        uint32_t years = n_docs / (uint32_t)nc;
        years = years > CORPUS_YEARS ? CORPUS_YEARS : years ? years : 1;
        fl->year_min = 2001 + (uint32_t)(corpus_rng_next(&rng) % years);
        fl->year_max = fl->year_min + 2;
    }
}

/* ---- Measuring. ---- */

/*  The exact phrase answers, to compare the estimated ones with: the
    estimate's error, and the hits (which must be the same). */
typedef struct {
    uint64_t total;
    size_t n_hits;
    char ids[10][32];
    double scores[10];
} answer_t;

static answer_t s_exact[S_QUERIES];

static void
s_answer_keep(answer_t *a, const Dossier__V1__SearchResponse *resp) {
    a->total = resp->total_hits;
    a->n_hits = resp->n_hits < 10 ? resp->n_hits : 10;
    for (size_t i = 0; i < a->n_hits; i++) {
        snprintf(a->ids[i], sizeof(a->ids[i]), "%s", resp->hits[i]->report->id);
        a->scores[i] = resp->hits[i]->score;
    }
}

static bool
s_answer_same_hits(const answer_t *a, const Dossier__V1__SearchResponse *resp) {
    if (resp->n_hits != a->n_hits) {
        return false;
    }
    for (size_t i = 0; i < a->n_hits; i++) {
        if (strcmp(a->ids[i], resp->hits[i]->report->id) != 0 ||
            a->scores[i] != resp->hits[i]->score) {
            return false;
        }
    }
    return true;
}

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
    /* Every named database, whatever the store has (mdb_dbi_open below
       fails silently past the limit, which would undercount). */
    mdb_env_set_maxdbs(env, 1024);
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
            "         [--answers FILE]\n"
            "  Loads N synthetic reports (default 4000) into a fresh store "
            "in DIR\n"
            "  (default: a new temporary directory) and times searches.\n"
            "  --answers writes each query's exact total_hits and top 10 "
            "ids\n"
            "  (KIND, NUMBER, TOTAL, IDS comma-separated, tab-separated),\n"
            "  for bench/store/search.sh to hold the baselines to.\n");
}

int
main(int argc, char **argv) {
    uint32_t n_docs = 4000, batch_size = 1000, rounds = 5;
    uint64_t seed = 20260101;
    const char *dir = NULL, *corpus_path = NULL, *queries_path = NULL;
    const char *answers_path = NULL;
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
        } else if (strcmp(arg, "--answers") == 0) {
            answers_path = val;
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
    /* The corpus, generated before the clock starts. */
    Dossier__V1__Report *docs = calloc(n_docs, sizeof(*docs));
    if (!docs || corpus_init(seed) != 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < n_docs; i++) {
        if (corpus_report(i, 0, &docs[i]) != 0) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
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

    /* The queries: one warm-up round, then rounds timed. The warm-up
       round of each exact run writes its answers (--answers). */
    FILE *answers = NULL;
    if (answers_path) {
        answers = fopen(answers_path, "w");
        if (!answers) {
            perror(answers_path);
            return 1;
        }
    }
    double *times = calloc((size_t)S_QUERIES * rounds, sizeof(double));
    double *cpu = calloc((size_t)S_QUERIES * rounds, sizeof(double));
    for (int run = 0; run < S_RUNS; run++) {
        bool estimate = run == S_KINDS;
        int k = estimate ? S_PHRASE : run;
        const char *name = estimate ? "phrase_estimated" : s_kinds[k];
        uint64_t hits = 0;
        size_t n = 0;
        unsigned differ = 0, estimated = 0;
        double error = 0, abs_error = 0;
        for (uint32_t round = 0; round <= rounds; round++) {
            for (int q = 0; q < S_QUERIES; q++) {
                query_t *qq = &s_queries[k][q];
                Dossier__V1__SearchRequest req =
                    DOSSIER__V1__SEARCH_REQUEST__INIT;
                Dossier__V1__ReportFilter filter =
                    DOSSIER__V1__REPORT_FILTER__INIT;
                req.query = qq->query;
                req.page_size = 10;
                req.estimate_total_hits = estimate;
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
                if (answers && !estimate && round == 0) {
                    fprintf(answers, "%s\t%d\t%llu\t", s_kinds[k], q,
                            (unsigned long long)resp->total_hits);
                    for (size_t h = 0; h < resp->n_hits && h < 10; h++) {
                        fprintf(answers, "%s%s", h ? "," : "",
                                resp->hits[h]->report->id);
                    }
                    fputc('\n', answers);
                }
                if (k == S_PHRASE && !estimate && round == 0) {
                    s_answer_keep(&s_exact[q], resp);
                } else if (estimate && round == 0) {
                    const answer_t *a = &s_exact[q];
                    differ += !s_answer_same_hits(a, resp);
                    estimated += resp->total_hits_estimated;
                    double e =
                        a->total
                            ? ((double)resp->total_hits - (double)a->total) /
                                  (double)a->total
                            : 0;
                    error += e;
                    abs_error += fabs(e);
                }
                dossier__v1__search_response__free_unpacked(resp, NULL);
            }
        }
        qsort(times, n, sizeof(double), s_double_cmp);
        qsort(cpu, n, sizeof(double), s_double_cmp);
        size_t p99 = (size_t)(n * 0.99);
        /* CPU time tells a slow query from one preempted by another
           process on a busy machine. */
        printf("%s_p50_cpu_ms %.4f\n%s_p99_cpu_ms %.4f\n", name,
               cpu[n / 2] * 1e3, name, cpu[p99 < n ? p99 : n - 1] * 1e3);
        printf("%s_p50_ms %.4f\n%s_p99_ms %.4f\n%s_avg_total_hits %.1f\n", name,
               times[n / 2] * 1e3, name, times[p99 < n ? p99 : n - 1] * 1e3,
               name, (double)hits / n);
        if (estimate) {
            /* How far the estimates are from the exact counts, and how
               many queries' hits were not the exact path's (must be 0). */
            printf("%s_estimated_queries %u\n%s_error_pct %.2f\n"
                   "%s_abs_error_pct %.2f\n%s_hits_differ %u\n",
                   name, estimated, name, 100.0 * error / S_QUERIES, name,
                   100.0 * abs_error / S_QUERIES, name, differ);
        }
    }
    if (answers) {
        fclose(answers);
    }
    free(times);
    free(cpu);
    store_destroy(&store);
    uint64_t all = 0;
    uint64_t index = s_db_bytes(dir, "fts_", &all);
    printf("index_bytes %llu\nstore_bytes %llu\n", (unsigned long long)index,
           (unsigned long long)all);
    for (uint32_t i = 0; i < n_docs; i++) {
        corpus_report_clear(&docs[i]);
    }
    free(docs);
    return 0;
}
