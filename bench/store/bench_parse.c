/*  bench_parse.c: dossier-bench-parse, the CPU cost of preparing one
    imported document (issue 7).

    What the server's parse threads do per document (server/api/import.c,
    s_parse_document), in process and without a server: refworld_parse of
    the text, then store_fts_terms_new of the report. The documents are
    those `dossier-bench --write-corpus` writes (corpus_refworld: 4.5 KB
    synthetic Refworld pages), then the real sample pages listed in
    tests/fixtures/refworld/EXPECTED.tsv. For each set it times, in CPU
    time of this process (CLOCK_PROCESS_CPUTIME_ID: other processes on a
    shared machine do not count), over every document:
    - sha256: the SHA-256 of the text alone, as refworld_parse computes
      it for source_sha256 (libcrypto's EVP_Digest);
    - parse: refworld_parse and refworld_result_free (the SHA-256
      included);
    - terms: store_fts_terms_new (in one scratch, as a parse thread
      does) and store_fts_terms_destroy of the parsed reports;
    - total: both, as a parse thread runs them.
    Each figure is the best of --rounds rounds, in microseconds per
    document. A digest of the parser's output (the packed reports and
    their warnings) is printed too, so two builds can be checked to parse
    alike.

    Output lines are "key value" pairs, one figure per line, for scripts. */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corpus.h"
#include "refworld.h"
#include "store/fts/fts.h"

/* The real pages of tests/fixtures/refworld are timed this many times
   over: seven short files are too quick for the clock alone. */
#define S_FIXTURE_REPEAT 400
#define S_FIXTURES_MAX 64

typedef struct {
    char *text;
    size_t size;
} s_doc_t;

typedef struct {
    const char *name;
    s_doc_t *docs;
    size_t n_docs;
    size_t repeat; /* each document is processed this many times a round */
} s_set_t;

/*  CPU time of this process in seconds. */
static double
s_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*  FNV-1a 64 of size bytes, chained from h. */
static uint64_t
s_fnv(uint64_t h, const void *data, size_t size) {
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
}

/*  Parses one document; false (with a message on stderr) on failure. */
static bool
s_parse(const s_doc_t *doc, refworld_result_t *result) {
    dossier_error_t err = {0};
    memset(result, 0, sizeof *result);
    if (refworld_parse(doc->text, doc->size, "bench", result, &err) !=
        DOSSIER_OK) {
        fprintf(stderr, "dossier-bench-parse: %s\n", err.message);
        return false;
    }
    return true;
}

/* ---- The stages, each over a whole set. ---- */

static int
s_stage_sha256(const s_set_t *set) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    for (size_t r = 0; r < set->repeat; r++) {
        for (size_t i = 0; i < set->n_docs; i++) {
            if (!EVP_Digest(set->docs[i].text, set->docs[i].size, digest, NULL,
                            EVP_sha256(), NULL)) {
                fprintf(stderr, "dossier-bench-parse: SHA-256 failed\n");
                return -1;
            }
        }
    }
    return 0;
}

static int
s_stage_parse(const s_set_t *set) {
    for (size_t r = 0; r < set->repeat; r++) {
        for (size_t i = 0; i < set->n_docs; i++) {
            refworld_result_t result;
            if (!s_parse(&set->docs[i], &result)) {
                return -1;
            }
            refworld_result_free(&result);
        }
    }
    return 0;
}

/*  Tokenizes reports (parsed beforehand, outside the clock). */
static int
s_stage_terms(const s_set_t *set, refworld_result_t *parsed) {
    store_fts_scratch_t *scratch = store_fts_scratch_new();
    int rc = scratch ? 0 : -1;
    for (size_t r = 0; r < set->repeat && rc == 0; r++) {
        for (size_t i = 0; i < set->n_docs && rc == 0; i++) {
            store_fts_terms_t *terms =
                store_fts_terms_new(parsed[i].report, scratch);
            rc = terms ? 0 : -1;
            store_fts_terms_destroy(&terms);
        }
    }
    store_fts_scratch_destroy(&scratch);
    if (rc != 0) {
        fprintf(stderr, "dossier-bench-parse: out of memory\n");
    }
    return rc;
}

static int
s_stage_total(const s_set_t *set) {
    store_fts_scratch_t *scratch = store_fts_scratch_new();
    if (!scratch) {
        fprintf(stderr, "dossier-bench-parse: out of memory\n");
        return -1;
    }
    int rc = 0;
    for (size_t r = 0; r < set->repeat && rc == 0; r++) {
        for (size_t i = 0; i < set->n_docs && rc == 0; i++) {
            refworld_result_t result;
            if (!s_parse(&set->docs[i], &result)) {
                rc = -1;
                break;
            }
            store_fts_terms_t *terms =
                store_fts_terms_new(result.report, scratch);
            refworld_result_free(&result);
            if (!terms) {
                fprintf(stderr, "dossier-bench-parse: out of memory\n");
                rc = -1;
            }
            store_fts_terms_destroy(&terms);
        }
    }
    store_fts_scratch_destroy(&scratch);
    return rc;
}

/*  The digest of what the parser makes of set: every report packed, and
    its warnings. 0 on failure. */
static uint64_t
s_digest(const s_set_t *set) {
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < set->n_docs; i++) {
        refworld_result_t result;
        if (!s_parse(&set->docs[i], &result)) {
            return 0;
        }
        size_t size = dossier__v1__report__get_packed_size(result.report);
        uint8_t *packed = malloc(size ? size : 1);
        if (!packed) {
            refworld_result_free(&result);
            return 0;
        }
        dossier__v1__report__pack(result.report, packed);
        h = s_fnv(h, packed, size);
        free(packed);
        for (size_t w = 0; w < result.n_warnings; w++) {
            h = s_fnv(h, result.warnings[w], strlen(result.warnings[w]) + 1);
        }
        refworld_result_free(&result);
    }
    return h;
}

/*  Times every stage of set, best of rounds, and prints us/doc. */
static int
s_run_set(const s_set_t *set, unsigned rounds) {
    size_t bytes = 0;
    for (size_t i = 0; i < set->n_docs; i++) {
        bytes += set->docs[i].size;
    }
    refworld_result_t *parsed = calloc(set->n_docs, sizeof *parsed);
    if (!parsed) {
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < set->n_docs && rc == 0; i++) {
        rc = s_parse(&set->docs[i], &parsed[i]) ? 0 : -1;
    }
    static const char *stages[] = {"sha256", "parse", "terms", "total"};
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    for (unsigned round = 0; round < rounds && rc == 0; round++) {
        for (int s = 0; s < 4 && rc == 0; s++) {
            double t0 = s_cpu();
            rc = s == 0   ? s_stage_sha256(set)
                 : s == 1 ? s_stage_parse(set)
                 : s == 2 ? s_stage_terms(set, parsed)
                          : s_stage_total(set);
            double t = s_cpu() - t0;
            if (t < best[s]) {
                best[s] = t;
            }
        }
    }
    uint64_t digest = rc == 0 ? s_digest(set) : 0;
    for (size_t i = 0; i < set->n_docs; i++) {
        refworld_result_free(&parsed[i]);
    }
    free(parsed);
    if (rc != 0 || digest == 0) {
        return -1;
    }
    double per = (double)set->n_docs * (double)set->repeat / 1e6;
    printf("%s_docs %zu\n%s_avg_bytes %.0f\n", set->name, set->n_docs,
           set->name, (double)bytes / (double)set->n_docs);
    for (int s = 0; s < 4; s++) {
        printf("%s_%s_us_per_doc %.2f\n", set->name, stages[s], best[s] / per);
    }
    printf("%s_output_digest %016llx\n", set->name, (unsigned long long)digest);
    return 0;
}

/* ---- Documents. ---- */

static void
s_set_free(s_set_t *set) {
    for (size_t i = 0; i < set->n_docs; i++) {
        free(set->docs[i].text);
    }
    free(set->docs);
    set->docs = NULL;
    set->n_docs = 0;
}

/*  The synthetic corpus, as `dossier-bench --write-corpus` writes it. */
static int
s_corpus_set(s_set_t *set, uint32_t n) {
    set->docs = calloc(n, sizeof *set->docs);
    if (!set->docs) {
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        char *text = corpus_refworld(i, 0);
        if (!text) {
            return -1;
        }
        set->docs[set->n_docs].text = text;
        set->docs[set->n_docs].size = strlen(text);
        set->n_docs++;
    }
    return 0;
}

static char *
s_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(data, cap);
            if (!grown) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = grown;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            break;
        }
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        free(data);
        return NULL;
    }
    *size = len;
    return data;
}

/*  The files named in the first column of DIR/EXPECTED.tsv. */
static int
s_fixture_set(s_set_t *set, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/EXPECTED.tsv", dir);
    size_t size = 0;
    char *tsv = s_read_file(path, &size);
    if (!tsv) {
        fprintf(stderr, "dossier-bench-parse: cannot read %s\n", path);
        return -1;
    }
    set->docs = calloc(S_FIXTURES_MAX, sizeof *set->docs);
    if (!set->docs) {
        free(tsv);
        return -1;
    }
    int rc = 0;
    size_t line = 0;
    for (size_t at = 0; at < size && rc == 0;) {
        size_t end = at;
        while (end < size && tsv[end] != '\n') {
            end++;
        }
        size_t name_len = 0;
        while (at + name_len < end && tsv[at + name_len] != '\t') {
            name_len++;
        }
        /* line 0 is the header row */
        if (line++ > 0 && name_len > 0 && set->n_docs < S_FIXTURES_MAX) {
            snprintf(path, sizeof path, "%s/%.*s", dir, (int)name_len,
                     tsv + at);
            s_doc_t *doc = &set->docs[set->n_docs];
            doc->text = s_read_file(path, &doc->size);
            if (!doc->text) {
                fprintf(stderr, "dossier-bench-parse: cannot read %s\n", path);
                rc = -1;
            } else {
                set->n_docs++;
            }
        }
        at = end + 1;
    }
    free(tsv);
    return set->n_docs > 0 ? rc : -1;
}

static void
s_usage(FILE *f) {
    fprintf(f, "usage: dossier-bench-parse [--docs N] [--seed S] "
               "[--rounds R] [--fixtures DIR]\n"
               "  Times, in CPU us per document, what a parse thread of "
               "dossierd does\n"
               "  with an imported Refworld text: N synthetic documents "
               "(default 2000,\n"
               "  those of dossier-bench --write-corpus), then the real "
               "pages listed in\n"
               "  DIR/EXPECTED.tsv (default tests/fixtures/refworld); best "
               "of R rounds\n"
               "  (default 5).\n");
}

int
main(int argc, char **argv) {
    uint32_t n_docs = 2000;
    uint64_t seed = 20260101; /* dossier-bench's default: the same corpus */
    unsigned rounds = 5;
    const char *fixtures = DOSSIER_FIXTURE_DIR "/refworld";
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (!val) {
            s_usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(arg, "--docs") == 0) {
            n_docs = (uint32_t)strtoul(val, NULL, 10);
        } else if (strcmp(arg, "--seed") == 0) {
            seed = strtoull(val, NULL, 10);
        } else if (strcmp(arg, "--rounds") == 0) {
            rounds = (unsigned)strtoul(val, NULL, 10);
        } else if (strcmp(arg, "--fixtures") == 0) {
            fixtures = val;
        } else {
            s_usage(stderr);
            return 2;
        }
    }
    if (n_docs == 0 || rounds == 0) {
        s_usage(stderr);
        return 2;
    }
    if (corpus_init(seed) != 0) {
        fprintf(stderr, "dossier-bench-parse: cannot initialize\n");
        return 1;
    }
    s_set_t corpus = {.name = "corpus", .repeat = 1};
    s_set_t real = {.name = "fixtures", .repeat = S_FIXTURE_REPEAT};
    int rc = s_corpus_set(&corpus, n_docs);
    if (rc != 0) {
        fprintf(stderr, "dossier-bench-parse: out of memory\n");
    }
    rc = rc == 0 ? s_run_set(&corpus, rounds) : rc;
    rc = rc == 0 ? s_fixture_set(&real, fixtures) : rc;
    rc = rc == 0 ? s_run_set(&real, rounds) : rc;
    s_set_free(&corpus);
    s_set_free(&real);
    return rc == 0 ? 0 : 1;
}
