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
/* The timed runs: each kind with an exact total_hits, then each again
   with estimate_total_hits set ("KIND_estimated": the same hits, the
   walk stopped where the top 10 cannot change; FTS5 runs them once:
   its query is the same). */
#define S_RUNS (2 * S_KINDS)
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

static answer_t s_exact[S_KINDS][S_QUERIES];

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

/*  The kB of field ("VmRSS:", "VmHWM:") in /proc/self/status, 0 when
    unknown. */
static unsigned long
s_status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long kb = 0;
    if (!f) {
        return 0;
    }
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, strlen(field)) == 0) {
            kb = strtoul(line + strlen(field), NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/*  Prints p50 and p99 (ms) of the n times under name; sorts times. */
static void
s_print_times(const char *name, double *times, size_t n) {
    qsort(times, n, sizeof(double), s_double_cmp);
    size_t p99 = (size_t)(n * 0.99);
    printf("%s_p50_ms %.4f\n%s_p99_ms %.4f\n", name, times[n / 2] * 1e3, name,
           times[p99 < n ? p99 : n - 1] * 1e3);
}

#define S_OPS 200

/*  Times the operations whose cost should not follow the store's size:
    Get of a random record, List's first page (unfiltered and by
    country), Stats. Returns false on a failure (printed). */
static bool
s_time_ops(store_t *store, uint32_t n_docs) {
    double times[S_OPS];
    dossier_error_t err = {0};
    corpus_rng_t rng;
    corpus_rng_seed(&rng, (uint64_t)UINT32_MAX + 2);
    for (int op = 0; op < 4; op++) {
        static const char *names[] = {"get", "list_first_page",
                                      "list_country_first_page", "stats"};
        for (int i = 0; i < S_OPS + 10; i++) {
            double start = s_now();
            dossier_status_t st = DOSSIER_OK;
            if (op == 0) {
                char id[32];
                snprintf(id, sizeof(id), "bench-%07u",
                         (uint32_t)(corpus_rng_next(&rng) % n_docs));
                Dossier__V1__Report *r = NULL;
                st = store_get(store, id, &r, &err);
                if (r) {
                    dossier__v1__report__free_unpacked(r, NULL);
                }
            } else if (op == 1 || op == 2) {
                store_filter_t filter = {0};
                char key[256];
                if (op == 2) {
                    country_key(
                        country_at(corpus_rng_next(&rng) % corpus_countries())
                            ->name,
                        key, sizeof(key));
                    filter.country_key = key;
                }
                Dossier__V1__ListResponse *resp = NULL;
                st = store_list(store, &filter, 0, NULL, false, &resp, &err);
                if (resp) {
                    dossier__v1__list_response__free_unpacked(resp, NULL);
                }
            } else {
                Dossier__V1__StatsResponse *resp = NULL;
                st = store_stats(store, &resp, &err);
                if (resp) {
                    dossier__v1__stats_response__free_unpacked(resp, NULL);
                }
            }
            double took = s_now() - start;
            if (st != DOSSIER_OK) {
                fprintf(stderr, "%s: %s\n", names[op], err.message);
                return false;
            }
            if (i >= 10) { /* ten warm-up calls */
                times[i - 10] = took;
            }
        }
        s_print_times(names[op], times, S_OPS);
    }
    return true;
}

static void
s_usage(void) {
    fprintf(stderr,
            "usage: dossier-bench-search [--docs N] [--seed S] [--batch B]\n"
            "         [--rounds R] [--dir DIR] [--corpus FILE] "
            "[--queries FILE]\n"
            "         [--answers FILE] [--reuse] [--only KIND]\n"
            "  Loads N synthetic reports (default 4000) into a fresh store "
            "in DIR\n"
            "  (default: a new temporary directory) and times searches.\n"
            "  --reuse skips the load: DIR holds the store an earlier run "
            "loaded\n"
            "  with the same --docs and --seed. --only runs one kind of "
            "query\n"
            "  (one_term, three_terms, phrase, excluded, filtered).\n"
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
    bool reuse = false;
    const char *only = NULL; /* one kind's runs (exact and estimated) */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            s_usage();
            return 0;
        }
        if (strcmp(arg, "--reuse") == 0) {
            reuse = true;
            continue;
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
        } else if (strcmp(arg, "--only") == 0) {
            only = val;
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
    if (reuse && (!dir || corpus_path || queries_path)) {
        s_usage(); /* a store to reuse, and no corpus to write */
        return 2;
    }
    /* The corpus is generated batch by batch (a million reports would
       take ~6 GB at once); the generation's time is not the load's. */
    Dossier__V1__Report *docs = calloc(batch_size, sizeof(*docs));
    if (!docs || corpus_init(seed) != 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    s_make_queries(n_docs);
    FILE *corpus_file = NULL;
    if (corpus_path) {
        corpus_file = fopen(corpus_path, "w");
        if (!corpus_file) {
            perror(corpus_path);
            return 1;
        }
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
    printf("docs %u\ndir %s\n", n_docs, dir);

    store_t *store = NULL;
    dossier_error_t err = {0};
    store_options_t options = {0};
    options.max_map_size = (size_t)64 << 30;
    if (store_open(dir, &options, &store, &err) != DOSSIER_OK) {
        fprintf(stderr, "store_open: %s\n", err.message);
        return 1;
    }
    /* Bulk load through store batches, each committed durably. */
    uint64_t text_bytes = 0;
    double gen = 0, gen_cpu = 0;
    double t0 = s_now();
    double c0 = s_cpu();
    for (uint32_t i = 0; i < n_docs && !reuse; i += batch_size) {
        uint32_t n = n_docs - i < batch_size ? n_docs - i : batch_size;
        double g0 = s_now(), gc0 = s_cpu();
        for (uint32_t j = 0; j < n; j++) {
            if (corpus_report(i + j, 0, &docs[j]) != 0) {
                fprintf(stderr, "out of memory\n");
                return 1;
            }
            text_bytes += strlen(docs[j].title);
            for (size_t p = 0; p < docs[j].n_body; p++) {
                text_bytes += strlen(docs[j].body[p]);
            }
            if (corpus_file) {
                s_write_doc(corpus_file, &docs[j]);
            }
        }
        gen += s_now() - g0;
        gen_cpu += s_cpu() - gc0;
        store_batch_t *batch = NULL;
        if (store_batch_begin(store, &batch, &err) != DOSSIER_OK) {
            fprintf(stderr, "store_batch_begin: %s\n", err.message);
            return 1;
        }
        for (uint32_t j = 0; j < n; j++) {
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
        for (uint32_t j = 0; j < n; j++) {
            corpus_report_clear(&docs[j]);
        }
    }
    if (corpus_file) {
        fclose(corpus_file);
    }
    free(docs);
    if (!reuse) {
        double load = s_now() - t0 - gen;
        double load_cpu = s_cpu() - c0 - gen_cpu;
        printf("text_bytes %llu\nload_seconds %.3f\n"
               "load_docs_per_second %.0f\nload_cpu_seconds %.3f\n",
               (unsigned long long)text_bytes, load, n_docs / load, load_cpu);
    }

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
        bool estimate = run >= S_KINDS;
        int k = run % S_KINDS;
        char name[64];
        snprintf(name, sizeof(name), "%s%s", s_kinds[k],
                 estimate ? "_estimated" : "");
        if (only && strcmp(only, s_kinds[k]) != 0 && strcmp(only, name) != 0) {
            continue;
        }
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
                if (!estimate && round == 0) {
                    s_answer_keep(&s_exact[k][q], resp);
                } else if (estimate && round == 0) {
                    const answer_t *a = &s_exact[k][q];
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
    if (!s_time_ops(store, n_docs)) {
        return 1;
    }
    /* Resident memory: the process's, LMDB's mapped pages included. */
    printf("rss_kb %lu\nrss_peak_kb %lu\n", s_status_kb("VmRSS:"),
           s_status_kb("VmHWM:"));
    store_destroy(&store);
    uint64_t all = 0;
    uint64_t index = s_db_bytes(dir, "fts_", &all);
    printf("index_bytes %llu\nstore_bytes %llu\n", (unsigned long long)index,
           (unsigned long long)all);
    return 0;
}
