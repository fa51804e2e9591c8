/*  corpus.h: the deterministic synthetic corpus of dossier-bench.

    The same generator as the search benchmark (bench/store/bench_search.c):
    countries x years x series, paragraphs over a Zipfian vocabulary of
    30,000 words (exponent 1.05) headed by the phrasing of Trafficking in
    Persons reports. Document i depends only on the seed and i (each draws
    from its own random stream), so threads may build documents in any
    order and get the same corpus.

    Not thread-safe until corpus_init has returned; after that every
    function may be called from any thread. */
#ifndef DOSSIER_BENCH_CORPUS_H
#define DOSSIER_BENCH_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "dossier/v1/report.pb-c.h"

/*  A random stream (splitmix64). */
typedef struct {
    uint64_t state;
} corpus_rng_t;

/*  Builds the vocabulary; call once before anything else. seed selects
    the corpus. Returns 0, or -1 when out of memory. */
int corpus_init(uint64_t seed);

/*  Seeds rng for stream (documents use their index, other users any
    other number). */
void corpus_rng_seed(corpus_rng_t *rng, uint64_t stream);

/*  The next number of rng. */
uint64_t corpus_rng_next(corpus_rng_t *rng);

/*  Fills *r (initialized here) with document i: id "bench-NNNNNNN",
    title, publisher, country, year, tier, doc_type, publication date and
    a body of paragraphs adding up to about body_bytes (0: six paragraphs
    of about 100 words, 4.5 KB, as the search benchmark). The strings are
    malloc'd; free them with corpus_report_clear. Returns 0 or -1. */
int corpus_report(uint32_t i, size_t body_bytes, Dossier__V1__Report *r);

/*  Frees what corpus_report allocated in r. */
void corpus_report_clear(Dossier__V1__Report *r);

/*  Document i as a Refworld text page (the layout of
    the files of tests/fixtures/refworld: "Last Updated", title, Publisher,
    Publication Date, Disclaimer, "Country (Tier N)" heading, paragraphs,
    "Search Refworld"); series above 0 are "Country Review No N" so
    that 100,000 documents get distinct ids. malloc'd, or NULL. */
char *corpus_refworld(uint32_t i, size_t body_bytes);

/*  A vocabulary word of rank drawn log-uniformly in [lo, hi) (ranks
    count from 0, the most frequent); a static string. */
const char *corpus_ranked(corpus_rng_t *rng, size_t lo, size_t hi);

/*  The fixed multi-word phrases the paragraphs mix in ("forced labor"),
    i modulo their count; a static string. */
const char *corpus_phrase(size_t i);

/*  Writes into buf a query of three terms drawn from ranks 5 to 2000 of
    the vocabulary, as the search benchmark's "three terms". */
void corpus_three_terms(corpus_rng_t *rng, char *buf, size_t size);

/*  How many years the corpus spans (2001 on) and countries it uses. */
#define CORPUS_YEARS 20
size_t corpus_countries(void);

#endif
