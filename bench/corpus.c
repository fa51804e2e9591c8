/*  corpus.c: the deterministic synthetic corpus. See corpus.h.

    The vocabulary, phrases and document shape are those of
    bench/store/bench_search.c, with a random stream per document. */
#include "corpus.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "country.h"

#define S_VOCAB 30000
#define S_PARAGRAPH_WORDS 100
#define S_PARAGRAPHS 6

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

static char *s_vocab[S_VOCAB];
static double s_cdf[S_VOCAB];
static uint64_t s_seed;

void
corpus_rng_seed(corpus_rng_t *rng, uint64_t stream) {
    rng->state = s_seed ^ (stream * 0xD1B54A32D192ED03ull);
}

uint64_t
corpus_rng_next(corpus_rng_t *rng) {
    /* splitmix64: small, fast, the same everywhere */
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double
s_uniform(corpus_rng_t *rng) {
    return (double)(corpus_rng_next(rng) >> 11) / 9007199254740992.0;
}

int
corpus_init(uint64_t seed) {
    s_seed = seed;
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
        free(s_vocab[i]);
        s_vocab[i] = strdup(word);
        if (!s_vocab[i]) {
            return -1;
        }
    }
    double sum = 0;
    for (size_t i = 0; i < S_VOCAB; i++) {
        sum += 1.0 / pow((double)(i + 1), 1.05);
        s_cdf[i] = sum;
    }
    for (size_t i = 0; i < S_VOCAB; i++) {
        s_cdf[i] /= sum;
    }
    return 0;
}

size_t
corpus_countries(void) {
    return country_count() < 200 ? country_count() : 200;
}

static size_t
s_zipf(corpus_rng_t *rng) {
    double u = s_uniform(rng);
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

const char *
corpus_ranked(corpus_rng_t *rng, size_t lo, size_t hi) {
    double r = exp(log((double)lo) + s_uniform(rng) * log((double)hi / lo));
    size_t i = (size_t)r;
    return s_vocab[i < S_VOCAB ? i : S_VOCAB - 1];
}

const char *
corpus_phrase(size_t i) {
    return s_phrases[i % (sizeof(s_phrases) / sizeof(s_phrases[0]))];
}

void
corpus_three_terms(corpus_rng_t *rng, char *buf, size_t size) {
    const char *a = corpus_ranked(rng, 5, 2000);
    const char *b = corpus_ranked(rng, 5, 2000);
    const char *c = corpus_ranked(rng, 5, 2000);
    snprintf(buf, size, "%s %s %s", a, b, c);
}

typedef struct {
    char *text;
    size_t size;
    size_t cap;
} str_t;

static int
s_append(str_t *s, const char *text) {
    size_t n = strlen(text);
    if (s->size + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        while (cap < s->size + n + 1) {
            cap *= 2;
        }
        char *grown = realloc(s->text, cap);
        if (!grown) {
            return -1;
        }
        s->text = grown;
        s->cap = cap;
    }
    memcpy(s->text + s->size, text, n + 1);
    s->size += n;
    return 0;
}

/*  A paragraph of about words words, cut to at most max_bytes when
    max_bytes > 0 (at a word end). */
static char *
s_paragraph(corpus_rng_t *rng, size_t max_bytes) {
    str_t s = {NULL, 0, 0};
    size_t words = S_PARAGRAPH_WORDS - 20 + (size_t)(corpus_rng_next(rng) % 41);
    size_t sentence = 0;
    int rc = 0;
    for (size_t w = 0; w < words && rc == 0; w++) {
        char word[64];
        const char *text =
            s_uniform(rng) < 0.04
                ? s_phrases[corpus_rng_next(rng) %
                            (sizeof(s_phrases) / sizeof(s_phrases[0]))]
                : s_vocab[s_zipf(rng)];
        snprintf(word, sizeof(word), "%s", text);
        if (sentence == 0 && word[0] >= 'a' && word[0] <= 'z') {
            word[0] = (char)(word[0] - 'a' + 'A');
        }
        if (max_bytes && s.size + strlen(word) + 2 > max_bytes) {
            break;
        }
        if (w > 0) {
            rc |= s_append(&s, " ");
        }
        rc |= s_append(&s, word);
        if (++sentence >= 12 + corpus_rng_next(rng) % 8 || w + 1 == words) {
            rc |= s_append(&s, w + 1 == words
                                   ? "."
                                   : (corpus_rng_next(rng) % 4 ? "." : ";"));
            sentence = 0;
        } else if (corpus_rng_next(rng) % 15 == 0) {
            rc |= s_append(&s, ",");
        }
    }
    if (rc != 0 || (!s.text && s_append(&s, "") != 0)) {
        free(s.text);
        return NULL;
    }
    return s.text;
}

/*  The body paragraphs of document i: n of them in *n_p. */
static char **
s_body(corpus_rng_t *rng, size_t body_bytes, size_t *n_p) {
    size_t cap = body_bytes ? body_bytes / 400 + 2 : S_PARAGRAPHS;
    char **body = calloc(cap, sizeof(char *));
    if (!body) {
        return NULL;
    }
    size_t n = 0, total = 0;
    while (n < cap) {
        size_t left = body_bytes ? body_bytes - total : 0;
        body[n] = s_paragraph(rng, left);
        if (!body[n]) {
            for (size_t k = 0; k < n; k++) {
                free(body[k]);
            }
            free(body);
            return NULL;
        }
        total += strlen(body[n]) + 3; /* field tag, length, separator */
        n++;
        if (body_bytes ? total + 40 >= body_bytes : n == S_PARAGRAPHS) {
            break;
        }
    }
    *n_p = n;
    return body;
}

typedef struct {
    const country_t *country;
    uint32_t year;
    uint32_t series;
    int tier;
    unsigned day;
} s_meta_t;

static void
s_meta(uint32_t i, corpus_rng_t *rng, s_meta_t *m) {
    size_t nc = corpus_countries();
    m->country = country_at(i % nc);
    m->year = 2001 + (uint32_t)((i / nc) % CORPUS_YEARS);
    m->series = i / (uint32_t)(nc * CORPUS_YEARS);
    m->tier = 1 + (int)(corpus_rng_next(rng) % 5);
    m->day = 1 + (unsigned)(corpus_rng_next(rng) % 28);
}

static char *s_strdupf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
s_strdupf(const char *fmt, ...) {
    char text[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    return strdup(text);
}

int
corpus_report(uint32_t i, size_t body_bytes, Dossier__V1__Report *r) {
    corpus_rng_t rng;
    corpus_rng_seed(&rng, i);
    s_meta_t m;
    s_meta(i, &rng, &m);
    dossier__v1__report__init(r);
    r->id = s_strdupf("bench-%07u", i);
    if (m.series == 0) {
        r->title = s_strdupf("Trafficking in Persons Report %u - %s", m.year,
                             m.country->name);
        r->publisher = strdup("United States Department of State");
        r->doc_type = strdup("Trafficking in Persons Report");
    } else {
        r->title = s_strdupf("Country Review No %u %u - %s", m.series, m.year,
                             m.country->name);
        r->publisher = s_strdupf("Publisher %u", m.series % 7);
        r->doc_type = s_strdupf("Country Review No %u", m.series);
    }
    r->country = strdup(m.country->name);
    r->country_code = strdup(m.country->alpha3);
    r->year = m.year;
    r->tier = (Dossier__V1__Tier)m.tier;
    r->publication_date = s_strdupf("%04u-06-%02u", m.year, m.day);
    size_t fixed = 200; /* the fields above, packed */
    r->body = s_body(&rng, body_bytes > fixed ? body_bytes - fixed : body_bytes,
                     &r->n_body);
    if (!r->id || !r->title || !r->publisher || !r->doc_type || !r->country ||
        !r->country_code || !r->publication_date || !r->body) {
        corpus_report_clear(r);
        return -1;
    }
    return 0;
}

void
corpus_report_clear(Dossier__V1__Report *r) {
    free(r->id);
    free(r->title);
    free(r->publisher);
    free(r->doc_type);
    free(r->country);
    free(r->country_code);
    free(r->publication_date);
    for (size_t p = 0; r->body && p < r->n_body; p++) {
        free(r->body[p]);
    }
    free(r->body);
    dossier__v1__report__init(r);
}

static const char *s_tier_heading[] = {
    "", "Tier 1", "Tier 2", "Tier 2 Watch List", "Tier 3", "Special Case"};

char *
corpus_refworld(uint32_t i, size_t body_bytes) {
    Dossier__V1__Report r;
    if (corpus_report(i, body_bytes, &r) != 0) {
        return NULL;
    }
    str_t s = {NULL, 0, 0};
    char head[1024];
    unsigned day = (unsigned)(r.publication_date[8] - '0') * 10 +
                   (unsigned)(r.publication_date[9] - '0');
    snprintf(head, sizeof head,
             "Last Updated: Monday, %02u June %u, 08:00 GMT\n\n%s\n\n"
             "Publisher %s\nPublication Date %u %s %u\n"
             "DisclaimerThis is not a UNHCR publication.\n\n%s (%s)\n\n",
             day, r.year, r.title, r.publisher, day, "June", r.year, r.country,
             s_tier_heading[r.tier]);
    int rc = s_append(&s, head);
    for (size_t p = 0; p < r.n_body; p++) {
        rc |= s_append(&s, r.body[p]);
        rc |= s_append(&s, "\n\n");
    }
    rc |= s_append(&s, "Search Refworld\nby keyword\n");
    corpus_report_clear(&r);
    if (rc != 0) {
        free(s.text);
        return NULL;
    }
    return s.text;
}
