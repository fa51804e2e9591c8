/*  store/fts/search.c: answering a search: postings iterators over the
    segments, the conjunction with its filters, exclusions and phrase
    checks, BM25 ranking into a heap of the best hits, facet counts, and
    the request (its checks, page tokens, the response; snippet.c makes
    the hits' snippets). fts.c tells how a search runs. */
#include "store/fts/fts_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "country.h"
#include "store/fts/query.h"
#include "store/summary.h"

#define S_BM25_K1 1.2
#define S_BM25_B 0.75
/* Candidates an estimated count samples, about (each costs a phrase
   check, ~2 us at 100,000 reports: 256 give a pass rate within ~2%), and
   the fewest it trusts over the pass rate of the best-scoring candidates
   checked. */
#define S_ESTIMATE_SAMPLE 256
#define S_ESTIMATE_SAMPLE_MIN 64
/* The widest year range searched as the union of its years' postings;
   a wider or open-ended one is checked on each candidate's attributes
   instead. Each year costs a df lookup per segment to open and an
   advance per candidate, and a range much wider than the bench's three
   years selects too much for driving by it to pay. */
#define S_YEAR_TERMS_MAX 8
/* Filters as postings: country, publisher, tier, years. */
#define S_FILTERS_MAX 5

/* ---- Search: postings iterators. ---- */

typedef struct {
    const store_fts_t *fts;
    MDB_txn *txn;
    MDB_cursor *cur; /* on the slot of the segment being read */
    uint32_t cur_slot;
    const char *term;
    size_t len;
    /* The segments, those holding the term, the one being read. */
    const segs_t *segs;
    uint64_t in_seg;
    uint32_t k;
    uint8_t pterm[S_PTERM_MAX];
    size_t plen;
    uint32_t df;
    double idf;
    bool end;
    block_t blk;
    bool decoded;
    uint32_t i;
    uint32_t docnos[S_BLOCK_DOCS];
    uint32_t tfs[S_BLOCK_DOCS];
    bool pos_ready;
    const uint8_t *pos_at[S_BLOCK_DOCS];
    double bound; /* BM25 bound of the current block */
    bool damaged;
} iter_t;

static double
s_bm25(double idf, uint32_t tf, uint32_t len, double avgdl) {
    double norm = S_BM25_K1 * (1.0 - S_BM25_B + S_BM25_B * len / avgdl);
    return idf * (tf * (S_BM25_K1 + 1.0)) / (tf + norm);
}

static bool
s_iter_load(iter_t *it, const MDB_val *key, const MDB_val *val, double avgdl) {
    if (!fts_block_parse(key, val, &it->blk)) {
        it->damaged = true;
        it->end = true;
        return false;
    }
    it->decoded = false;
    it->pos_ready = false;
    it->i = 0;
    it->bound = s_bm25(it->idf, it->blk.max_tf, it->blk.min_len, avgdl);
    return true;
}

/*  Loads the first block of the term in segment k. */
static void
s_iter_enter(iter_t *it, uint32_t k, double avgdl) {
    uint8_t kb[S_PTERM_MAX + 5];
    it->k = k;
    uint32_t slot = it->segs->v[k].slot;
    if (!it->cur || it->cur_slot != slot) {
        if (it->cur) {
            mdb_cursor_close(it->cur);
            it->cur = NULL;
        }
        if (mdb_cursor_open(it->txn, it->fts->post[slot], &it->cur) !=
            MDB_SUCCESS) {
            it->cur = NULL;
            it->damaged = true;
            it->end = true;
            return;
        }
        it->cur_slot = slot;
    }
    it->plen = fts_pterm(it->pterm, it->segs->v[k].id, it->term, it->len);
    memcpy(kb, it->pterm, it->plen);
    memset(kb + it->plen, 0, 5);
    MDB_val key = {it->plen + 5, kb}, val;
    int rc = mdb_cursor_get(it->cur, &key, &val, MDB_SET_RANGE);
    if (rc != MDB_SUCCESS ||
        !fts_is_block_key(&key, (const char *)it->pterm, it->plen)) {
        it->damaged = true; /* its df entry said it was there */
        it->end = true;
        return;
    }
    s_iter_load(it, &key, &val, avgdl);
}

/*  Moves to the first segment from index "from" on that holds the term
    and reaches docno d, or to the end. */
static void
s_iter_next_seg(iter_t *it, uint32_t from, uint32_t d, double avgdl) {
    for (uint32_t k = from; k < it->segs->n && k < 64; k++) {
        if ((it->in_seg >> k & 1) && it->segs->v[k].hi >= d) {
            s_iter_enter(it, k, avgdl);
            return;
        }
    }
    it->end = true;
}

/*  Moves to the next block of the term, or to the end. */
static void
s_iter_next_block(iter_t *it, double avgdl) {
    MDB_val key, val;
    int rc = mdb_cursor_get(it->cur, &key, &val, MDB_NEXT);
    if (rc == MDB_SUCCESS &&
        fts_is_block_key(&key, (const char *)it->pterm, it->plen)) {
        s_iter_load(it, &key, &val, avgdl);
        return;
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        it->damaged = true;
        it->end = true;
        return;
    }
    s_iter_next_seg(it, it->k + 1, 0, avgdl);
}

static void
s_iter_decode(iter_t *it) {
    if (!it->decoded) {
        if (!fts_block_docs(&it->blk, it->docnos, it->tfs)) {
            it->damaged = true;
            it->end = true;
            return;
        }
        it->decoded = true;
    }
}

/*  Returns the first docno >= d of the term (S_END past the last). */
static uint32_t
s_iter_advance(iter_t *it, uint32_t d, double avgdl) {
    while (!it->end && it->blk.last < d) {
        if (d > it->segs->v[it->k].hi) {
            s_iter_next_seg(it, it->k + 1, d, avgdl);
            continue;
        }
        uint32_t k = it->k;
        s_iter_next_block(it, avgdl);
        if (it->end || it->k != k || it->blk.last >= d) {
            continue;
        }
        /* Far ahead in this segment: seek rather than walk. */
        MDB_val key, val;
        bool found = false;
        if (fts_seek_block(it->cur, (const char *)it->pterm, it->plen, d, &key,
                           &val, &found, NULL) != DOSSIER_OK ||
            !found) {
            it->damaged = true;
            it->end = true;
            break;
        }
        s_iter_load(it, &key, &val, avgdl);
    }
    if (it->end) {
        return S_END;
    }
    s_iter_decode(it);
    if (it->end) {
        return S_END;
    }
    while (it->i < it->blk.count && it->docnos[it->i] < d) {
        it->i++;
    }
    if (it->i == it->blk.count) {
        /* Cannot happen with a consistent header (last >= d). */
        it->damaged = true;
        it->end = true;
        return S_END;
    }
    return it->docnos[it->i];
}

static uint32_t
s_iter_tf(const iter_t *it) {
    return it->tfs[it->i];
}

/*  Decodes the positions of the current document into *out (n of them).
    Returns false on damage or no memory. */
static bool
s_iter_positions(iter_t *it, uint32_t **out, uint32_t *cap, uint32_t *n) {
    if (!it->pos_ready) {
        const uint8_t *p = it->blk.pos;
        for (uint32_t k = 0; k < it->blk.count; k++) {
            it->pos_at[k] = p;
            for (uint32_t j = 0; j < it->tfs[k]; j++) {
                uint32_t v;
                if (!fts_varint(&p, it->blk.pos_end, &v)) {
                    it->damaged = true;
                    return false;
                }
            }
        }
        it->pos_ready = true;
    }
    uint32_t tf = it->tfs[it->i];
    if (*cap < tf) {
        uint32_t *grown = realloc(*out, tf * sizeof(uint32_t));
        if (!grown) {
            return false;
        }
        *out = grown;
        *cap = tf;
    }
    const uint8_t *p = it->pos_at[it->i];
    uint32_t prev = 0;
    for (uint32_t j = 0; j < tf; j++) {
        uint32_t v = 0;
        if (!fts_varint(&p, it->blk.pos_end, &v)) {
            it->damaged = true;
            return false;
        }
        prev += v;
        (*out)[j] = prev;
    }
    *n = tf;
    return true;
}

/*  Opens an iterator on term over segments segs, positioned on its
    first block. */
static dossier_status_t
s_iter_open(store_fts_t *fts, MDB_txn *txn, const segs_t *segs, iter_t *it,
            const char *term, uint32_t n_docs, double avgdl,
            dossier_error_t *err) {
    memset(it, 0, sizeof(*it));
    it->fts = fts;
    it->txn = txn;
    it->term = term;
    it->len = strlen(term);
    it->segs = segs;
    it->end = true;
    for (uint32_t k = 0; k < segs->n; k++) {
        uint8_t pterm[S_PTERM_MAX];
        size_t plen = fts_pterm(pterm, segs->v[k].id, term, it->len);
        uint32_t df = 0;
        dossier_status_t st = fts_df_get(fts->post[segs->v[k].slot], txn,
                                         (const char *)pterm, plen, &df, err);
        if (st != DOSSIER_OK) {
            return st;
        }
        if (df) {
            it->in_seg |= (uint64_t)1 << k;
            it->df += df;
        }
    }
    if (it->df == 0) {
        return DOSSIER_OK;
    }
    double n = n_docs > it->df ? n_docs : it->df;
    it->idf = log(1.0 + (n - it->df + 0.5) / (it->df + 0.5));
    it->end = false;
    s_iter_next_seg(it, 0, 0, avgdl);
    return it->damaged ? fts_damaged(err, "unreadable postings block")
                       : DOSSIER_OK;
}

static void
s_iter_close(iter_t *it) {
    if (it->cur) {
        mdb_cursor_close(it->cur);
        it->cur = NULL;
    }
}

/* ---- Search: matching, ranking, facets. ---- */

typedef struct {
    double score;
    uint32_t key; /* year or date for those orders, else 0 */
    uint32_t docno;
} hit_t;

/*  True when a ranks before b (better). */
static bool
s_hit_better(const hit_t *a, const hit_t *b) {
    if (a->key != b->key) {
        return a->key > b->key;
    }
    if (a->score != b->score) {
        return a->score > b->score;
    }
    return a->docno < b->docno;
}

/*  A heap of the best k hits, worst on top. */
typedef struct {
    hit_t *hits;
    uint32_t n;
    uint32_t k;
} heap_t;

static void
s_heap_push(heap_t *h, const hit_t *hit) {
    if (h->k == 0) {
        return;
    }
    if (h->n == h->k) {
        if (!s_hit_better(hit, &h->hits[0])) {
            return;
        }
        /* Replace the worst and sift down. */
        uint32_t i = 0;
        h->hits[0] = *hit;
        for (;;) {
            uint32_t l = 2 * i + 1, r = l + 1, w = i;
            if (l < h->n && s_hit_better(&h->hits[w], &h->hits[l])) {
                w = l;
            }
            if (r < h->n && s_hit_better(&h->hits[w], &h->hits[r])) {
                w = r;
            }
            if (w == i) {
                break;
            }
            hit_t t = h->hits[i];
            h->hits[i] = h->hits[w];
            h->hits[w] = t;
            i = w;
        }
        return;
    }
    uint32_t i = h->n++;
    h->hits[i] = *hit;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!s_hit_better(&h->hits[parent], &h->hits[i])) {
            break;
        }
        hit_t t = h->hits[i];
        h->hits[i] = h->hits[parent];
        h->hits[parent] = t;
        i = parent;
    }
}

static int
s_hit_order(const void *a, const void *b) {
    return s_hit_better(a, b) ? -1 : s_hit_better(b, a) ? 1 : 0;
}

/*  Counts of one facet by small integer value. */
typedef struct {
    uint64_t *counts;
    uint32_t cap;
} counts_t;

static int
s_count(counts_t *c, uint32_t value) {
    if (value >= (1u << 24)) {
        return -1; /* no dictionary grows that large: damage */
    }
    if (value >= c->cap) {
        uint32_t cap = c->cap ? c->cap : 64;
        while (cap <= value) {
            cap *= 2;
        }
        uint64_t *counts = realloc(c->counts, cap * sizeof(uint64_t));
        if (!counts) {
            return -1;
        }
        memset(counts + c->cap, 0, (cap - c->cap) * sizeof(uint64_t));
        c->counts = counts;
        c->cap = cap;
    }
    c->counts[value]++;
    return 0;
}

/*  A filter as postings: the union of its terms' lists (one term but for
    a year range). Its iterators are not scored. */
typedef struct {
    iter_t *iters;
    uint32_t n;
    uint64_t df; /* the sum of its terms', a bound on its documents */
    char (*terms)[FTS_FILTER_TERM_MAX];
} filter_t;

/*  One phrase of a query, as indexes into the search's iterators. */
typedef struct {
    uint32_t *iters;
    uint32_t n;
} phrase_t;

typedef struct {
    store_fts_t *fts;
    MDB_txn *txn;
    segs_t segs;
    double avgdl;
    uint32_t n_docs;
    /* Positive terms, unique; iters[order[0]] is the rarest. */
    iter_t *iters;
    uint32_t n_iters;
    uint32_t *order;
    /* Excluded terms and phrases have their own iterators. */
    iter_t *xiters;
    uint32_t n_xiters;
    phrase_t *phrases; /* positive phrases of 2+ terms, over iters */
    uint32_t n_phrases;
    phrase_t *xphrases; /* excluded clauses, over xiters */
    uint32_t n_xphrases;
    /* Filters: as postings, and a year range too wide for that (checked
       on the attributes: filter_attrs). */
    filter_t filters[S_FILTERS_MAX];
    uint32_t n_filters;
    bool filter_attrs;
    uint32_t year_min;
    uint32_t year_max;
    Dossier__V1__SearchOrder order_by;
    bool facets;
    /* Phrases checked only for candidates that can enter the heap:
       total then counts the candidates (every positive term, filters,
       exclusions), checked and passed the phrase checks made. */
    bool defer_phrases;
    uint64_t checked;
    uint64_t passed;
    /* And a uniform sample of the candidates (by a hash of the docno, 1
       in 2^sample_bits, about S_ESTIMATE_SAMPLE of them), all checked:
       the checked ones above are the best scoring, which hold the phrase
       more often than the rest (+9.5% on the bench's TIP phrases when
       estimated from them alone). */
    uint32_t sample_bits;
    uint64_t sampled;
    uint64_t sample_passed;
    attrs_t attrs;
    heap_t heap;
    uint64_t total;
    counts_t by_year, by_tier, by_country, by_publisher, by_doc_type;
    /* Scratch for phrase checks. */
    uint32_t *pos[QUERY_MAX_TERMS];
    uint32_t pos_cap[QUERY_MAX_TERMS];
    uint32_t pos_n[QUERY_MAX_TERMS];
    bool oom;
} search_t;

/*  True when the iterators of phrase (all on document d) hold its terms
    at consecutive positions. */
static bool
s_phrase_at(search_t *s, iter_t *iters, const phrase_t *ph) {
    for (uint32_t j = 0; j < ph->n; j++) {
        if (!s_iter_positions(&iters[ph->iters[j]], &s->pos[j], &s->pos_cap[j],
                              &s->pos_n[j])) {
            s->oom = !iters[ph->iters[j]].damaged;
            return false;
        }
    }
    /* For each start in the first list, look for start + j in list j;
       lists ascend, so each is walked once. */
    uint32_t at[QUERY_MAX_TERMS] = {0};
    for (uint32_t a = 0; a < s->pos_n[0]; a++) {
        uint32_t start = s->pos[0][a];
        bool all = true;
        for (uint32_t j = 1; j < ph->n && all; j++) {
            uint32_t want = start + j;
            while (at[j] < s->pos_n[j] && s->pos[j][at[j]] < want) {
                at[j]++;
            }
            all = at[j] < s->pos_n[j] && s->pos[j][at[j]] == want;
        }
        if (all) {
            return true;
        }
    }
    return false;
}

/*  True when the current document of the iterators holds every positive
    phrase (false too on damage or no memory: see s->oom). */
static bool
s_phrases_pass(search_t *s) {
    for (uint32_t p = 0; p < s->n_phrases; p++) {
        if (!s_phrase_at(s, s->iters, &s->phrases[p])) {
            return false;
        }
    }
    return true;
}

/*  True when document d passes the exclusions (false too on damage or no
    memory: see s->oom). */
static bool
s_doc_passes_exclusions(search_t *s, uint32_t d) {
    for (uint32_t x = 0; x < s->n_xphrases; x++) {
        const phrase_t *ph = &s->xphrases[x];
        bool all = true;
        for (uint32_t j = 0; j < ph->n && all; j++) {
            all = s_iter_advance(&s->xiters[ph->iters[j]], d, s->avgdl) == d;
        }
        if (all && (ph->n == 1 || s_phrase_at(s, s->xiters, ph))) {
            return false;
        }
    }
    return true;
}

static bool
s_attrs_pass(const search_t *s, const attr_t *a) {
    if (!a->live) {
        return false;
    }
    if ((s->year_min || s->year_max) && a->year == 0) {
        return false; /* as List: no year never matches a range */
    }
    if (s->year_min && a->year < s->year_min) {
        return false;
    }
    return !s->year_max || a->year <= s->year_max;
}

/*  The first docno >= d in filter f's union (S_END past the last). */
static uint32_t
s_filter_advance(search_t *s, filter_t *f, uint32_t d) {
    uint32_t first = S_END;
    for (uint32_t i = 0; i < f->n; i++) {
        uint32_t e = s_iter_advance(&f->iters[i], d, s->avgdl);
        if (e < first) {
            first = e;
        }
    }
    return first;
}

/*  Handles document d, known to hold every positive term. */
static bool
s_consider(search_t *s, uint32_t d) {
    attr_t a;
    bool have_attrs = false;
    if (s->filter_attrs) {
        if (!fts_attrs_read(&s->attrs, d, &a)) {
            return false;
        }
        have_attrs = true;
        if (!s_attrs_pass(s, &a)) {
            return true;
        }
    }
    if (!s_doc_passes_exclusions(s, d) ||
        (!s->defer_phrases && !s_phrases_pass(s))) {
        return !s->oom;
    }
    s->total++;
    int held = -1; /* the phrases: -1 not checked yet, else 0 or 1 */
    if (s->defer_phrases &&
        (s->sample_bits == 0 ||
         (uint32_t)(d * 2654435761u) >> (32 - s->sample_bits) == 0)) {
        held = s_phrases_pass(s);
        if (!held && s->oom) {
            return false;
        }
        s->sampled++;
        s->sample_passed += (uint64_t)held;
    }
    bool need_attrs = s->facets || s->order_by != 0;
    if (need_attrs && !have_attrs) {
        if (!fts_attrs_read(&s->attrs, d, &a)) {
            return false;
        }
        have_attrs = true;
    }
    if (s->facets) {
        if ((a.year && s_count(&s->by_year, a.year) != 0) ||
            (a.tier && s_count(&s->by_tier, a.tier) != 0) ||
            (a.country && s_count(&s->by_country, a.country) != 0) ||
            (a.publisher && s_count(&s->by_publisher, a.publisher) != 0) ||
            (a.doc_type && s_count(&s->by_doc_type, a.doc_type) != 0)) {
            s->oom = true;
            return false;
        }
    }
    hit_t hit = {0.0, 0, d};
    if (s->order_by == DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_YEAR) {
        hit.key = a.year;
    } else if (s->order_by ==
               DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_PUBLICATION_DATE) {
        hit.key = a.date;
    }
    if (s->heap.n == s->heap.k) {
        /* Can it still enter? The blocks' bounds say, without lengths. */
        double bound = 0;
        for (uint32_t t = 0; t < s->n_iters; t++) {
            bound += s->iters[t].bound;
        }
        hit_t best = {bound, hit.key, d};
        if (!s_hit_better(&best, &s->heap.hits[0])) {
            return true;
        }
        /* Tighter, still without the length: the document's own
           frequencies at the blocks' smallest lengths. */
        best.score = 0;
        for (uint32_t t = 0; t < s->n_iters; t++) {
            best.score += s_bm25(s->iters[t].idf, s_iter_tf(&s->iters[t]),
                                 s->iters[t].blk.min_len, s->avgdl);
        }
        if (!s_hit_better(&best, &s->heap.hits[0])) {
            return true;
        }
    }
    if (!have_attrs) {
        if (!fts_attrs_read(&s->attrs, d, &a)) {
            return false;
        }
    }
    for (uint32_t t = 0; t < s->n_iters; t++) {
        hit.score +=
            s_bm25(s->iters[t].idf, s_iter_tf(&s->iters[t]), a.len, s->avgdl);
    }
    if (s->defer_phrases) {
        /* The positions only where they can change the page: a document
           that would not enter the heap even with its phrases needs no
           check, as s_heap_push would drop it. */
        if (s->heap.n == s->heap.k && !s_hit_better(&hit, &s->heap.hits[0])) {
            return true;
        }
        s->checked++;
        if (held < 0) {
            held = s_phrases_pass(s);
        }
        if (!held) {
            return !s->oom;
        }
        s->passed++;
    }
    s_heap_push(&s->heap, &hit);
    return true;
}

/*  Runs the conjunction of the positive terms. Returns false on damage
    or no memory. */
static bool
s_run(search_t *s) {
    iter_t *lead = &s->iters[s->order[0]];
    /* A phrase of one repeated term ("very very") has one iterator but
       still needs its positions. */
    bool simple = s->n_iters == 1 && s->n_filters == 0 && !s->filter_attrs &&
                  !s->facets && s->n_phrases == 0 && s->n_xphrases == 0 &&
                  s->order_by == 0;
    uint32_t d = s_iter_advance(lead, 0, s->avgdl);
    while (d != S_END) {
        if (simple && s->heap.n == s->heap.k && lead->i == 0) {
            /* A block whose bound cannot beat the k-th hit: count it. */
            hit_t best = {lead->bound, 0, d};
            if (!s_hit_better(&best, &s->heap.hits[0])) {
                s->total += lead->blk.count;
                uint32_t next = lead->blk.last + 1;
                if (lead->blk.last == S_END - 1) {
                    break;
                }
                s_iter_next_block(lead, s->avgdl);
                d = s_iter_advance(lead, next, s->avgdl);
                continue;
            }
        }
        /* The filters first (rarest first; most often rarer than the
           terms), then the other terms: each that is past d moves the
           lead up to it. */
        bool all = true;
        for (uint32_t f = 0; f < s->n_filters && all; f++) {
            uint32_t e = s_filter_advance(s, &s->filters[f], d);
            if (e != d) {
                all = false;
                d = e == S_END ? S_END : s_iter_advance(lead, e, s->avgdl);
            }
        }
        for (uint32_t t = 1; t < s->n_iters && all; t++) {
            uint32_t e = s_iter_advance(&s->iters[s->order[t]], d, s->avgdl);
            if (e != d) {
                all = false;
                d = e == S_END ? S_END : s_iter_advance(lead, e, s->avgdl);
            }
        }
        if (!all) {
            continue;
        }
        if (!s_consider(s, d)) {
            return false;
        }
        d = s_iter_advance(lead, d + 1, s->avgdl);
    }
    for (uint32_t t = 0; t < s->n_iters; t++) {
        if (s->iters[t].damaged) {
            return false;
        }
    }
    for (uint32_t t = 0; t < s->n_xiters; t++) {
        if (s->xiters[t].damaged) {
            return false;
        }
    }
    for (uint32_t f = 0; f < s->n_filters; f++) {
        for (uint32_t i = 0; i < s->filters[f].n; i++) {
            if (s->filters[f].iters[i].damaged) {
                return false;
            }
        }
    }
    return true;
}

/* ---- Search: the request. ---- */

static uint32_t
s_request_hash(const Dossier__V1__SearchRequest *req) {
    uint32_t h = 2166136261u;
    const char *q = req->query ? req->query : "";
    h ^= fts_hash(q, strlen(q));
    h *= 16777619u;
    const Dossier__V1__ReportFilter *f = req->filter;
    if (f) {
        const char *c = f->country ? f->country : "";
        const char *p = f->publisher ? f->publisher : "";
        const char *t = f->doc_type ? f->doc_type : "";
        h = (h ^ fts_hash(c, strlen(c))) * 16777619u;
        h = (h ^ fts_hash(p, strlen(p))) * 16777619u;
        h = (h ^ fts_hash(t, strlen(t))) * 16777619u;
        h = (h ^ f->year_min) * 16777619u;
        h = (h ^ f->year_max) * 16777619u;
        h = (h ^ (uint32_t)f->tier) * 16777619u;
    }
    h = (h ^ (uint32_t)req->order) * 16777619u;
    return h;
}

static bool
s_token_parse(const char *token, uint32_t hash, uint32_t *offset) {
    if (strlen(token) != 16) {
        return false;
    }
    uint32_t v[2] = {0, 0};
    for (int i = 0; i < 16; i++) {
        char c = token[i];
        uint32_t digit;
        if (c >= '0' && c <= '9') {
            digit = (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = (uint32_t)(c - 'a' + 10);
        } else {
            return false;
        }
        v[i / 8] = v[i / 8] << 4 | digit;
    }
    if (v[1] != hash) {
        return false;
    }
    *offset = v[0];
    return true;
}

static void
s_search_free(search_t *s) {
    for (uint32_t t = 0; t < s->n_iters; t++) {
        s_iter_close(&s->iters[t]);
    }
    for (uint32_t t = 0; t < s->n_xiters; t++) {
        s_iter_close(&s->xiters[t]);
    }
    for (uint32_t f = 0; f < s->n_filters; f++) {
        for (uint32_t i = 0; i < s->filters[f].n; i++) {
            s_iter_close(&s->filters[f].iters[i]);
        }
        free(s->filters[f].iters);
        free(s->filters[f].terms);
    }
    for (uint32_t p = 0; p < s->n_phrases; p++) {
        free(s->phrases[p].iters);
    }
    for (uint32_t p = 0; p < s->n_xphrases; p++) {
        free(s->xphrases[p].iters);
    }
    for (int j = 0; j < QUERY_MAX_TERMS; j++) {
        free(s->pos[j]);
    }
    free(s->iters);
    free(s->xiters);
    free(s->order);
    free(s->phrases);
    free(s->xphrases);
    free(s->heap.hits);
    free(s->by_year.counts);
    free(s->by_tier.counts);
    free(s->by_country.counts);
    free(s->by_publisher.counts);
    free(s->by_doc_type.counts);
}

/*  Index of term among the first n of iters, adding it when absent. */
static uint32_t
s_iter_slot(iter_t *iters, uint32_t *n, const char *term) {
    for (uint32_t i = 0; i < *n; i++) {
        if (strcmp(iters[i].term, term) == 0) {
            return i;
        }
    }
    iters[*n].term = term;
    return (*n)++;
}

/*  Adds the filter of kind for values [lo, hi] (one value but for
    years): the union of their terms' postings. Sets *none when no
    document holds any of them. */
static dossier_status_t
s_filter_add(search_t *s, char kind, uint32_t lo, uint32_t hi, bool *none,
             dossier_error_t *err) {
    filter_t *f = &s->filters[s->n_filters++];
    uint32_t n = hi - lo + 1;
    f->iters = calloc(n, sizeof(iter_t));
    f->terms = calloc(n, sizeof(*f->terms));
    if (!f->iters || !f->terms) {
        return fts_oom(err);
    }
    for (uint32_t v = lo; v <= hi; v++) {
        fts_filter_term(kind, v, f->terms[f->n]);
        iter_t *it = &f->iters[f->n];
        dossier_status_t st =
            s_iter_open(s->fts, s->txn, &s->segs, it, f->terms[f->n], s->n_docs,
                        s->avgdl, err);
        if (st != DOSSIER_OK) {
            s_iter_close(it);
            return st;
        }
        if (it->df == 0) {
            s_iter_close(it); /* a value no document has: left out */
            continue;
        }
        f->df += it->df;
        f->n++;
    }
    if (f->n == 0) {
        *none = true;
    }
    return DOSSIER_OK;
}

/*  The filters of f (none when NULL) into s: as postings where they can
    be, the rest on the attributes. Sets *none when some filter selects
    no document. */
static dossier_status_t
s_filters_prepare(search_t *s, const Dossier__V1__ReportFilter *f, bool *none,
                  dossier_error_t *err) {
    if (!f) {
        return DOSSIER_OK;
    }
    dossier_status_t st = DOSSIER_OK;
    if (f->country && f->country[0]) {
        char key_buf[256];
        uint32_t id = 0;
        country_key(f->country, key_buf, sizeof(key_buf));
        st = fts_dict_find(s->fts, s->txn, S_DICT_COUNTRY, key_buf, &id, err);
        if (st == DOSSIER_OK && id == 0) {
            *none = true;
        } else if (st == DOSSIER_OK) {
            st = s_filter_add(s, FTS_FILTER_COUNTRY, id, id, none, err);
        }
    }
    if (st == DOSSIER_OK && f->publisher && f->publisher[0]) {
        uint32_t id = 0;
        st = fts_dict_find(s->fts, s->txn, S_DICT_PUBLISHER, f->publisher, &id,
                           err);
        if (st == DOSSIER_OK && id == 0) {
            *none = true;
        } else if (st == DOSSIER_OK) {
            st = s_filter_add(s, FTS_FILTER_PUBLISHER, id, id, none, err);
        }
    }
    if (st == DOSSIER_OK && f->doc_type && f->doc_type[0]) {
        uint32_t id = 0;
        st = fts_dict_find(s->fts, s->txn, S_DICT_DOC_TYPE, f->doc_type, &id,
                           err);
        if (st == DOSSIER_OK && id == 0) {
            *none = true;
        } else if (st == DOSSIER_OK) {
            st = s_filter_add(s, FTS_FILTER_DOC_TYPE, id, id, none, err);
        }
    }
    if (st == DOSSIER_OK && f->tier) {
        st = s_filter_add(s, FTS_FILTER_TIER, (uint32_t)f->tier,
                          (uint32_t)f->tier, none, err);
    }
    if (st != DOSSIER_OK || (!f->year_min && !f->year_max)) {
        return st;
    }
    /* Years above 65535 are indexed as no year (attr_t.year): a range
       past it selects none of them. */
    if (f->year_min && f->year_max &&
        f->year_max - f->year_min < S_YEAR_TERMS_MAX) {
        uint32_t hi = f->year_max > 65535 ? 65535 : f->year_max;
        if (f->year_min > hi) {
            *none = true;
            return DOSSIER_OK;
        }
        return s_filter_add(s, FTS_FILTER_YEAR, f->year_min, hi, none, err);
    }
    s->year_min = f->year_min;
    s->year_max = f->year_max;
    s->filter_attrs = true;
    return DOSSIER_OK;
}

/*  Builds the iterators and phrases of query q. Sets *none when some
    positive term is in no document. */
static dossier_status_t
s_search_prepare(search_t *s, const query_t *q, bool *none,
                 dossier_error_t *err) {
    /* As many iterators as the query has terms (an iterator is 2 KiB of
       block buffers: QUERY_MAX_TERMS of each kind would be 150 KiB to
       zero per search). */
    uint32_t n_pos = 0, n_neg = 0;
    for (uint32_t c = 0; c < q->n_clauses; c++) {
        *(q->clauses[c].excluded ? &n_neg : &n_pos) += q->clauses[c].n_terms;
    }
    n_pos = n_pos ? n_pos : 1;
    n_neg = n_neg ? n_neg : 1;
    s->iters = calloc(n_pos, sizeof(iter_t));
    s->xiters = calloc(n_neg, sizeof(iter_t));
    s->order = calloc(n_pos, sizeof(uint32_t));
    s->phrases = calloc(q->n_clauses, sizeof(phrase_t));
    s->xphrases = calloc(q->n_clauses, sizeof(phrase_t));
    if (!s->iters || !s->xiters || !s->order || !s->phrases || !s->xphrases) {
        return fts_oom(err);
    }
    const char *terms[QUERY_MAX_TERMS];
    const char *xterms[QUERY_MAX_TERMS];
    uint32_t n = 0, xn = 0;
    /* Slots first (terms borrowed from q), then open each iterator. */
    for (uint32_t c = 0; c < q->n_clauses; c++) {
        const query_clause_t *cl = &q->clauses[c];
        phrase_t *ph = cl->excluded      ? &s->xphrases[s->n_xphrases++]
                       : cl->n_terms > 1 ? &s->phrases[s->n_phrases++]
                                         : NULL;
        if (ph) {
            ph->iters = calloc(cl->n_terms, sizeof(uint32_t));
            if (!ph->iters) {
                return fts_oom(err);
            }
            ph->n = cl->n_terms;
        }
        for (uint32_t t = 0; t < cl->n_terms; t++) {
            uint32_t slot = cl->excluded
                                ? s_iter_slot(s->xiters, &xn, cl->terms[t])
                                : s_iter_slot(s->iters, &n, cl->terms[t]);
            if (ph) {
                ph->iters[t] = slot;
            }
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        terms[i] = s->iters[i].term;
    }
    for (uint32_t i = 0; i < xn; i++) {
        xterms[i] = s->xiters[i].term;
    }
    *none = false;
    for (uint32_t i = 0; i < n; i++) {
        dossier_status_t st =
            s_iter_open(s->fts, s->txn, &s->segs, &s->iters[i], terms[i],
                        s->n_docs, s->avgdl, err);
        s->n_iters = i + 1;
        if (st != DOSSIER_OK) {
            return st;
        }
        if (s->iters[i].df == 0) {
            *none = true;
        }
    }
    for (uint32_t i = 0; i < xn; i++) {
        dossier_status_t st =
            s_iter_open(s->fts, s->txn, &s->segs, &s->xiters[i], xterms[i],
                        s->n_docs, s->avgdl, err);
        s->n_xiters = i + 1;
        if (st != DOSSIER_OK) {
            return st;
        }
    }
    /* Rarest first: it leads the conjunction. */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i;
        while (j > 0 && s->iters[s->order[j - 1]].df > s->iters[i].df) {
            s->order[j] = s->order[j - 1];
            j--;
        }
        s->order[j] = i;
    }
    return DOSSIER_OK;
}

static int
s_facet_order(const void *a, const void *b) {
    const Dossier__V1__FacetCount *x = *(Dossier__V1__FacetCount *const *)a;
    const Dossier__V1__FacetCount *y = *(Dossier__V1__FacetCount *const *)b;
    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    return strcmp(x->value, y->value);
}

/*  Adds facet field from counts c to response; names values with fn. */
static bool
s_facet_add(search_t *s, Dossier__V1__SearchResponse *resp, const char *field,
            const counts_t *c, char kind) {
    Dossier__V1__Facet *facet = malloc(sizeof(*facet));
    if (!facet) {
        return false;
    }
    dossier__v1__facet__init(facet);
    resp->facets[resp->n_facets++] = facet;
    facet->field = strdup(field);
    if (!facet->field) {
        return false;
    }
    uint32_t n = 0;
    for (uint32_t v = 0; v < c->cap; v++) {
        n += c->counts[v] > 0;
    }
    if (n == 0) {
        return true;
    }
    facet->counts = calloc(n, sizeof(*facet->counts));
    if (!facet->counts) {
        return false;
    }
    for (uint32_t v = 0; v < c->cap; v++) {
        if (!c->counts[v]) {
            continue;
        }
        Dossier__V1__FacetCount *fc = malloc(sizeof(*fc));
        if (!fc) {
            return false;
        }
        dossier__v1__facet_count__init(fc);
        facet->counts[facet->n_counts++] = fc;
        fc->count = c->counts[v];
        char num[16];
        char *value = NULL;
        if (kind == 'y') {
            snprintf(num, sizeof(num), "%u", v);
            value = strdup(num);
        } else if (kind == 't') {
            const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
                &dossier__v1__tier__descriptor, (int)v);
            snprintf(num, sizeof(num), "%u", v);
            value = strdup(ev ? ev->name : num);
        } else {
            value = fts_dict_value(s->fts, s->txn, kind, v);
        }
        if (!value) {
            return false;
        }
        fc->value = value;
    }
    qsort(facet->counts, facet->n_counts, sizeof(*facet->counts),
          s_facet_order);
    return true;
}

/*  Makes the hit of docno: the summary view of its record, the score, a
    snippet. *hit_p is NULL when the record is missing or unreadable (the
    index disagrees with the records: store_check reports it). */
static dossier_status_t
s_make_hit(search_t *s, const hit_t *h, char *const *terms, uint32_t n_terms,
           Dossier__V1__SearchHit **hit_p, dossier_error_t *err) {
    unsigned k = h->docno;
    MDB_val key = {sizeof(k), &k};
    MDB_val val;
    *hit_p = NULL;
    int rc = mdb_get(s->txn, s->fts->docs, &key, &val);
    if (rc == MDB_SUCCESS) {
        key = val;
        rc = mdb_get(s->txn, s->fts->records, &key, &val);
    }
    if (rc == MDB_NOTFOUND) {
        /* Damage (store_check names it): leave the hit out rather than
           fail the whole search. */
        return DOSSIER_OK;
    }
    if (rc != MDB_SUCCESS) {
        return fts_mdb_error(err, rc, "reading a record");
    }
    Dossier__V1__Report *r =
        dossier__v1__report__unpack(NULL, val.mv_size, val.mv_data);
    if (!r) {
        return DOSSIER_OK; /* the same: unreadable bytes */
    }
    Dossier__V1__SearchHit *hit = malloc(sizeof(*hit));
    char *snippet = fts_snippet(r, terms, n_terms);
    if (!hit || !snippet) {
        free(hit);
        free(snippet);
        dossier__v1__report__free_unpacked(r, NULL);
        return fts_oom(err);
    }
    store_report_summarize(r); /* hits carry the summary view */
    dossier__v1__search_hit__init(hit);
    hit->report = r;
    hit->score = h->score;
    hit->snippet = snippet;
    *hit_p = hit;
    return DOSSIER_OK;
}

dossier_status_t
store_fts_search(store_fts_t *fts, MDB_txn *txn,
                 const Dossier__V1__SearchRequest *req, uint32_t max_page_size,
                 Dossier__V1__SearchResponse **response_p,
                 dossier_error_t *err) {
    if (max_page_size == 0) {
        max_page_size = STORE_FTS_MAX_PAGE_SIZE;
    }
    uint32_t page_size = req->page_size ? req->page_size : STORE_FTS_PAGE_SIZE;
    if (page_size > max_page_size) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "page_size %u is more than the largest, %u",
                                 req->page_size, max_page_size);
    }
    if (req->order != DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_RELEVANCE &&
        req->order != DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_YEAR &&
        req->order !=
            DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_PUBLICATION_DATE) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "unknown search order %d", (int)req->order);
    }
    const Dossier__V1__ReportFilter *f = req->filter;
    if (f && (f->tier < 0 || f->tier > DOSSIER__V1__TIER__SPECIAL_CASE)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "unknown tier %d", (int)f->tier);
    }
    if (f && f->year_min && f->year_max && f->year_min > f->year_max) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "year_min %u is after year_max %u",
                                 f->year_min, f->year_max);
    }
    uint32_t offset = 0;
    uint32_t hash = s_request_hash(req);
    if (req->page_token && req->page_token[0] &&
        !s_token_parse(req->page_token, hash, &offset)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "page_token is not one this search "
                                 "returned (same query, filter and order)");
    }
    query_t *q = NULL;
    const char *text = req->query ? req->query : "";
    dossier_status_t st = query_parse(text, strlen(text), &q, err);
    if (st != DOSSIER_OK) {
        return st;
    }
    search_t s;
    memset(&s, 0, sizeof(s));
    s.fts = fts;
    s.txn = txn;
    s.order_by = req->order;
    s.facets = req->facets;
    s.attrs.txn = txn;
    s.attrs.dbi = fts->attrs;
    Dossier__V1__SearchResponse *resp = NULL;
    bool none = false;
    state_t state;
    st = fts_state_get(fts, txn, &state, err);
    if (st == DOSSIER_OK) {
        st = fts_segs_get(fts, txn, &s.segs, err);
    }
    if (st != DOSSIER_OK) {
        goto done;
    }
    s.n_docs = state.live > UINT32_MAX ? UINT32_MAX : (uint32_t)state.live;
    s.avgdl = state.live ? (double)state.total_len / (double)state.live : 1.0;
    if (s.avgdl <= 0) {
        s.avgdl = 1.0;
    }
    st = s_filters_prepare(&s, f, &none, err);
    if (st != DOSSIER_OK) {
        goto done;
    }
    /* The rarest filter is checked first: it moves the lead furthest. */
    for (uint32_t i = 1; i < s.n_filters; i++) {
        for (uint32_t j = i; j > 0 && s.filters[j].df < s.filters[j - 1].df;
             j--) {
            filter_t t = s.filters[j];
            s.filters[j] = s.filters[j - 1];
            s.filters[j - 1] = t;
        }
    }
    bool no_term = false;
    st = s_search_prepare(&s, q, &no_term, err);
    if (st != DOSSIER_OK) {
        goto done;
    }
    /* An estimate where exact counting costs a position check per
       candidate; never with facets, whose counts are exact. Filters and
       exclusions stay exact, applied before a candidate is counted. */
    s.defer_phrases =
        req->estimate_total_hits && !req->facets && s.n_phrases > 0;
    if (s.defer_phrases && s.n_iters > 0) {
        /* The rarest term's df bounds the candidates. */
        uint32_t df = s.iters[s.order[0]].df;
        while (s.sample_bits < 31 &&
               ((uint64_t)S_ESTIMATE_SAMPLE << (s.sample_bits + 1)) <= df) {
            s.sample_bits++;
        }
    }
    uint64_t k64 = (uint64_t)offset + page_size;
    s.heap.k = (uint32_t)(k64 > 10000000 ? 10000000 : k64);
    s.heap.hits = malloc(s.heap.k * sizeof(hit_t));
    if (!s.heap.hits) {
        st = fts_oom(err);
        goto done;
    }
    if (!none && !no_term && !s_run(&s)) {
        st = s.oom ? fts_oom(err)
                   : fts_damaged(err, "unreadable postings or attributes");
        goto done;
    }
    bool estimated = false;
    if (s.defer_phrases) {
        /* Every candidate checked (the heap never filled): exact. Else,
           as Xapian's get_matches_estimated: the candidates times the
           share that held the phrases, in the uniform sample, or among
           the checked best-scoring ones while the sample is too small.
           The checked ones include every hit kept, so the estimate is at
           least the heap's size. */
        if (s.checked == s.total) {
            s.total = s.passed;
        } else if (s.checked > 0 || s.sampled > 0) {
            /* The uniform sample's pass rate once it is large enough to
               be worth more than the best-scoring checks' (the bench's
               phrases: within 1%). */
            bool sample = s.sampled >= S_ESTIMATE_SAMPLE_MIN || !s.checked;
            double rate = sample ? (double)s.sample_passed / (double)s.sampled
                                 : (double)s.passed / (double)s.checked;
            uint64_t n = (uint64_t)llround((double)s.total * rate);
            s.total = n < s.passed ? s.passed : n;
            estimated = true;
        } else {
            estimated = true; /* no page to fill: the candidates, a bound */
        }
    }
    /* The page: hits [offset, offset + page_size) of the ranking. */
    qsort(s.heap.hits, s.heap.n, sizeof(hit_t), s_hit_order);
    resp = malloc(sizeof(*resp));
    if (!resp) {
        st = fts_oom(err);
        goto done;
    }
    dossier__v1__search_response__init(resp);
    resp->total_hits = s.total;
    resp->total_hits_estimated = estimated;
    uint32_t first = offset < s.heap.n ? offset : s.heap.n;
    uint32_t count = s.heap.n - first;
    if (count) {
        resp->hits = calloc(count, sizeof(*resp->hits));
        if (!resp->hits) {
            st = fts_oom(err);
            goto done;
        }
    }
    char *terms[QUERY_MAX_TERMS];
    for (uint32_t t = 0; t < s.n_iters; t++) {
        terms[t] = (char *)s.iters[t].term;
    }
    for (uint32_t i = 0; i < count; i++) {
        st = s_make_hit(&s, &s.heap.hits[first + i], terms, s.n_iters,
                        &resp->hits[resp->n_hits], err);
        if (st != DOSSIER_OK) {
            goto done;
        }
        resp->n_hits += resp->hits[resp->n_hits] != NULL;
    }
    if ((uint64_t)first + count < s.total) {
        char token[17];
        snprintf(token, sizeof(token), "%08x%08x", first + count, hash);
        resp->next_page_token = strdup(token);
        if (!resp->next_page_token) {
            resp->next_page_token = (char *)protobuf_c_empty_string;
            st = fts_oom(err);
            goto done;
        }
    }
    if (req->facets) {
        resp->facets = calloc(5, sizeof(*resp->facets));
        if (!resp->facets || !s_facet_add(&s, resp, "year", &s.by_year, 'y') ||
            !s_facet_add(&s, resp, "tier", &s.by_tier, 't') ||
            !s_facet_add(&s, resp, "country", &s.by_country, S_DICT_COUNTRY) ||
            !s_facet_add(&s, resp, "publisher", &s.by_publisher,
                         S_DICT_PUBLISHER) ||
            !s_facet_add(&s, resp, "doc_type", &s.by_doc_type,
                         S_DICT_DOC_TYPE)) {
            st = fts_oom(err);
            goto done;
        }
    }
done:
    if (st != DOSSIER_OK && resp) {
        dossier__v1__search_response__free_unpacked(resp, NULL);
        resp = NULL;
    }
    s_search_free(&s);
    query_destroy(&q);
    if (st == DOSSIER_OK) {
        *response_p = resp;
    }
    return st;
}
