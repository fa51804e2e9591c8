/*  store/fts/snippet.c: a search hit's snippet: the window of
    S_SNIPPET_WORDS words of its report (of a body paragraph, or of the
    title when no paragraph matches) with the most distinct query terms,
    then the most matches, the terms in brackets.

    Most of a search's fixed cost was here: every paragraph of every hit
    tokenized to find its best window. An all-ASCII paragraph (nearly
    every one) is instead folded in one pass (tokenize_fold_ascii) and
    searched for the query terms as whole words, its words counted to
    place them; only the paragraph shown is tokenized, and only up to its
    window's end. The result is the same window, to the byte. */
#include "store/fts/fts_internal.h"

#include <stdlib.h>
#include <string.h>

#include "bytes8.h"
#include "store/fts/query.h"
#include "store/fts/tokenize.h"
#include "text.h"

#define S_SNIPPET_WORDS 30

/* ---- Search: snippets. ---- */

typedef struct {
    size_t start;
    size_t end;
    int term; /* index into the query's terms, -1 none */
} snip_tok_t;

/*  The tokens of one text, with the query term each one is. */
typedef struct {
    snip_tok_t *toks;
    uint32_t n;
    uint32_t cap;
} snip_text_t;

/*  Tokenizes text into *st (its first limit tokens) and finds their best
    window of S_SNIPPET_WORDS terms (most distinct query terms, then most
    matches): *best_score, *best_start. */
static int
s_snippet_scan(const char *text, char *const *terms, const size_t *lens,
               uint32_t n_terms, uint32_t limit, snip_text_t *st,
               uint32_t *best_score, uint32_t *best_start) {
    tokenize_t tz;
    token_t token;
    uint32_t n = 0;
    tokenize_init(&tz, text, strlen(text), 0);
    while (n < limit && tokenize_next(&tz, &token)) {
        if (n == st->cap) {
            uint32_t c = st->cap ? st->cap * 2 : 256;
            snip_tok_t *grown = realloc(st->toks, c * sizeof(*grown));
            if (!grown) {
                return -1;
            }
            st->toks = grown;
            st->cap = c;
        }
        snip_tok_t *t = &st->toks[n++];
        t->start = token.start;
        t->end = token.end;
        t->term = -1;
        for (uint32_t q = 0; q < n_terms; q++) {
            if (lens[q] == token.len &&
                memcmp(terms[q], token.term, token.len) == 0) {
                t->term = (int)q;
                break;
            }
        }
    }
    st->n = n;
    *best_score = 0;
    *best_start = 0;
    uint32_t seen[QUERY_MAX_TERMS] = {0};
    uint32_t distinct = 0, hits = 0;
    for (uint32_t i = 0; i < n; i++) {
        /* Window (i - W, i]. */
        int in = st->toks[i].term;
        if (in >= 0) {
            hits++;
            if (seen[in]++ == 0) {
                distinct++;
            }
        }
        if (i >= S_SNIPPET_WORDS) {
            int out = st->toks[i - S_SNIPPET_WORDS].term;
            if (out >= 0) {
                hits--;
                if (--seen[out] == 0) {
                    distinct--;
                }
            }
        }
        uint32_t score = distinct * 1000 + hits;
        if (score > *best_score) {
            *best_score = score;
            *best_start =
                i + 1 >= S_SNIPPET_WORDS ? i + 1 - S_SNIPPET_WORDS : 0;
        }
    }
    return 0;
}

/*  The words starting in folded[from, to) (a non-zero byte after a zero
    one or at 0), 8 bytes at a time on little-endian machines. */
static uint32_t
s_word_starts(const char *folded, size_t from, size_t to) {
    uint32_t n = 0;
    size_t i = from;
    bool prev = i > 0 && folded[i - 1] != 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= to; i += 8) {
        uint64_t set = ~bytes8_zeros(bytes8_load(folded + i)) & BYTES8_HIGHS;
        uint64_t after_set = set << 8 | (prev ? 0x80u : 0u);
        /* One bit per byte, at bit 7: their count, without a popcount
           instruction the build may not assume. */
        n += (uint32_t)((((set & ~after_set) >> 7) * BYTES8_ONES) >> 56);
        prev = set >> 63;
    }
#endif
    for (; i < to; i++) {
        bool set = folded[i] != 0;
        n += set && !prev;
        prev = set;
    }
    return n;
}

/*  A query term's occurrence in a folded ASCII paragraph. */
typedef struct {
    size_t at;    /* byte offset */
    uint32_t tok; /* token index */
    int term;
} snip_hit_t;

static int
s_hit_order(const void *a, const void *b) {
    const snip_hit_t *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

/*  s_snippet_scan's *best_score and *best_start for an all-ASCII text
    folded into folded (size bytes, tokenize_fold_ascii), without
    tokenizing it: each term's whole-word occurrences (a word of more
    than TOKENIZE_MAX_TERM bytes is its cut prefix), placed by counting
    the words before them, then the windows ending at each occurrence
    (the score only falls between them, so the first best is at one). */
static int
s_snippet_scan_ascii(const char *folded, size_t size, char *const *terms,
                     const size_t *lens, uint32_t n_terms, snip_hit_t **hits,
                     uint32_t *cap, uint32_t *best_score,
                     uint32_t *best_start) {
    uint32_t n = 0;
    for (uint32_t q = 0; q < n_terms; q++) {
        size_t len = lens[q];
        const char *p = folded, *end = folded + size;
        while (len && (size_t)(end - p) >= len) {
            p = memchr(p, terms[q][0], (size_t)(end - p) - len + 1);
            if (!p) {
                break;
            }
            size_t at = (size_t)(p - folded);
            if ((at == 0 || folded[at - 1] == 0) &&
                (at + len == size || folded[at + len] == 0 ||
                 len >= TOKENIZE_MAX_TERM) &&
                memcmp(p, terms[q], len) == 0) {
                if (n == *cap) {
                    uint32_t c = *cap ? *cap * 2 : 64;
                    snip_hit_t *grown = realloc(*hits, c * sizeof(**hits));
                    if (!grown) {
                        return -1;
                    }
                    *hits = grown;
                    *cap = c;
                }
                (*hits)[n++] = (snip_hit_t){at, 0, (int)q};
            }
            p++;
        }
    }
    *best_score = 0;
    *best_start = 0;
    if (n == 0) {
        return 0;
    }
    snip_hit_t *h = *hits;
    qsort(h, n, sizeof(*h), s_hit_order);
    /* Token index: the word starts before each occurrence. */
    uint32_t words = 0;
    size_t from = 0;
    for (uint32_t k = 0; k < n; k++) {
        words += s_word_starts(folded, from, h[k].at);
        from = h[k].at;
        h[k].tok = words;
    }
    uint32_t seen[QUERY_MAX_TERMS] = {0};
    uint32_t distinct = 0, in = 0, out = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = h[k].tok;
        if (seen[h[k].term]++ == 0) {
            distinct++;
        }
        in++;
        /* The window (i - W, i]. */
        while (h[out].tok + S_SNIPPET_WORDS <= i) {
            if (--seen[h[out].term] == 0) {
                distinct--;
            }
            in--;
            out++;
        }
        uint32_t score = distinct * 1000 + in;
        if (score > *best_score) {
            *best_score = score;
            *best_start =
                i + 1 >= S_SNIPPET_WORDS ? i + 1 - S_SNIPPET_WORDS : 0;
        }
    }
    return 0;
}

char *
fts_snippet(const Dossier__V1__Report *r, char *const *terms,
            uint32_t n_terms) {
    /* One pass: the best text's tokens are kept, the next text is
       scanned into the other buffer. */
    snip_text_t texts[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
    snip_text_t *best = &texts[0], *scan = &texts[1];
    size_t lens[QUERY_MAX_TERMS];
    for (uint32_t q = 0; q < n_terms; q++) {
        lens[q] = strlen(terms[q]);
    }
    const char *best_text = NULL;
    uint32_t best_score = 0, best_start = 0;
    /* Whether best holds best_text's tokens: an all-ASCII text is scored
       without them, and the one shown is tokenized at the end, up to
       its window's end and one token more (whether "..." follows). */
    bool best_scanned = false;
    buf_t folded = {NULL, 0, 0};
    snip_hit_t *hits = NULL;
    uint32_t hits_cap = 0;
    bool ok = true;
    /* Body paragraphs first, the title when no paragraph matches. */
    for (size_t p = 0; p <= r->n_body && ok; p++) {
        const char *text = p < r->n_body ? r->body[p] : r->title;
        if (!text || !text[0]) {
            continue;
        }
        uint32_t score = 0, start = 0;
        size_t size = strlen(text);
        folded.size = 0;
        ok = fts_buf_reserve(&folded, size) == 0;
        bool ascii = ok && tokenize_fold_ascii(text, size, (char *)folded.data);
        if (ascii) {
            ok = s_snippet_scan_ascii((const char *)folded.data, size, terms,
                                      lens, n_terms, &hits, &hits_cap, &score,
                                      &start) == 0;
        } else if (ok) {
            ok = s_snippet_scan(text, terms, lens, n_terms, UINT32_MAX, scan,
                                &score, &start) == 0;
        }
        if (ok && (!best_text || score > best_score)) {
            best_text = text;
            best_score = score;
            best_start = start;
            best_scanned = !ascii;
            if (!ascii) {
                snip_text_t *t = best;
                best = scan;
                scan = t;
            }
        }
    }
    if (ok && best_text && !best_scanned) {
        uint32_t score = 0, start = 0;
        ok = s_snippet_scan(best_text, terms, lens, n_terms,
                            best_start + S_SNIPPET_WORDS + 1, best, &score,
                            &start) == 0;
    }
    free(hits);
    fts_buf_free(&folded);
    free(scan->toks);
    if (!ok) {
        free(best->toks);
        return NULL;
    }
    snip_tok_t *toks = best->toks;
    uint32_t n = best->n;
    buf_t out = {NULL, 0, 0};
    if (!best_text || n == 0) {
        free(toks);
        return strdup("");
    }
    uint32_t end =
        best_start + S_SNIPPET_WORDS < n ? best_start + S_SNIPPET_WORDS : n;
    if (best_start > 0) {
        ok = fts_buf_put(&out, "...", 3) == 0;
    }
    size_t at = toks[best_start].start;
    for (uint32_t i = best_start; i < end && ok; i++) {
        snip_tok_t *t = &toks[i];
        ok = fts_buf_put(&out, best_text + at, t->start - at) == 0;
        if (t->term >= 0) {
            ok = ok && fts_buf_put(&out, "[", 1) == 0 &&
                 fts_buf_put(&out, best_text + t->start, t->end - t->start) ==
                     0 &&
                 fts_buf_put(&out, "]", 1) == 0;
        } else {
            ok = ok && fts_buf_put(&out, best_text + t->start,
                                   t->end - t->start) == 0;
        }
        at = t->end;
    }
    if (ok && end < n) {
        ok = fts_buf_put(&out, "...", 3) == 0;
    } else if (ok) {
        /* The window reaches the end: keep the closing punctuation. */
        ok = fts_buf_put(&out, best_text + at, strlen(best_text + at)) == 0;
    }
    free(toks);
    if (!ok) {
        fts_buf_free(&out);
        return NULL;
    }
    /* Collapse line breaks and tabs to spaces while cleaning the bytes. */
    for (size_t i = 0; i < out.size; i++) {
        if (out.data[i] == '\n' || out.data[i] == '\r' || out.data[i] == '\t') {
            out.data[i] = ' ';
        }
    }
    char *clean = text_utf8_sanitize((const char *)out.data, out.size);
    fts_buf_free(&out);
    return clean;
}
