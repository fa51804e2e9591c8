/*  store/fts/fts.c: the full-text index of the store (see fts.h for the
    layout).

    Writing. A write batch tokenizes each new document once into a
    per-document term table, then appends its postings to the batch's
    in-memory buffer (per term, one byte buffer: docno delta, frequency,
    length, positions), while the docno, attributes and statistics go
    straight to LMDB. store_fts_flush writes the buffer as a new segment,
    in key order with MDB_APPEND (full pages, no reads), into a free slot
    (one postings database each), then merges segments: 4 of level 0 (one
    batch each) or 8 of a higher level make one of the next level, full
    blocks moving whole, and the merged slots are emptied by mdb_drop. So
    a bulk load costs a few sequential writes per term per batch, not an
    update per term per document, like an LSM tree. A document removed in
    the batch that indexed it is only marked dead in the buffer; one
    indexed in an earlier batch has its postings cut out of its segment's
    blocks at once.

    Reading. A search is a conjunction: the rarest term leads, the others
    skip to its documents by block (block headers carry the last docno, so
    whole blocks are passed without decoding). Each document matching
    every term then passes the filters, the exclusions and the phrase
    checks (positions decoded only then) and is counted, so total_hits and
    facets are exact; unless the request accepts an estimate
    (estimate_total_hits, no facets): then a phrase is checked only where
    the document could still enter the page and for a uniform sample of
    the candidates, and total_hits is the candidates times the sample's
    pass rate (flagged total_hits_estimated). Scoring is BM25 (k1 1.2,
    b 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5))): a document is
    scored only when the sum of its blocks' bounds (BM25 of the block's
    largest frequency at its smallest length), then its own frequencies
    at those lengths, can still enter the top k, and a one-term query
    with no per-document condition counts whole blocks that cannot,
    without decoding them.

    Segments hold disjoint, ascending docno ranges, so a term's postings
    are its segments' lists one after the other; an iterator walks them in
    order and seeks within one.

    Every byte read back from LMDB is bounds-checked: a damaged block is
    DOSSIER_DATA_LOSS, never a crash. */
#include "store/fts/fts_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "country.h"
#include "store/fts/query.h"
#include "store/fts/tokenize.h"
#include "text.h"

#define S_BM25_K1 1.2
#define S_BM25_B 0.75
/* Candidates an estimated count samples, about (each costs a phrase
   check, ~2 us at 100,000 reports: 256 give a pass rate within ~2%), and
   the fewest it trusts over the pass rate of the best-scoring candidates
   checked. */
#define S_ESTIMATE_SAMPLE 256
#define S_ESTIMATE_SAMPLE_MIN 64

#define S_SNIPPET_WORDS 30

/* The layout of the index; an older one is rebuilt at open. 3: publishers
   folded with text_fold. 4: one postings database per segment slot. */
#define S_FORMAT 4

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
    /* Filters. */
    bool filter_attrs;
    uint32_t country;
    uint32_t publisher;
    uint32_t year_min;
    uint32_t year_max;
    uint32_t tier;
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
    counts_t by_year, by_tier, by_country, by_publisher;
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
    if (s->country && a->country != s->country) {
        return false;
    }
    if (s->publisher && a->publisher != s->publisher) {
        return false;
    }
    if ((s->year_min || s->year_max) && a->year == 0) {
        return false; /* as List: no year never matches a range */
    }
    if (s->year_min && a->year < s->year_min) {
        return false;
    }
    if (s->year_max && a->year > s->year_max) {
        return false;
    }
    return !s->tier || a->tier == s->tier;
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
            (a.publisher && s_count(&s->by_publisher, a.publisher) != 0)) {
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
    bool simple = s->n_iters == 1 && !s->filter_attrs && !s->facets &&
                  s->n_phrases == 0 && s->n_xphrases == 0 && s->order_by == 0;
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
        bool all = true;
        for (uint32_t t = 1; t < s->n_iters; t++) {
            uint32_t e = s_iter_advance(&s->iters[s->order[t]], d, s->avgdl);
            if (e != d) {
                all = false;
                d = e == S_END ? S_END : s_iter_advance(lead, e, s->avgdl);
                break;
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
        h = (h ^ fts_hash(c, strlen(c))) * 16777619u;
        h = (h ^ fts_hash(p, strlen(p))) * 16777619u;
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

/*  Builds the iterators and phrases of query q. Sets *none when some
    positive term is in no document. */
static dossier_status_t
s_search_prepare(search_t *s, const query_t *q, bool *none,
                 dossier_error_t *err) {
    s->iters = calloc(QUERY_MAX_TERMS, sizeof(iter_t));
    s->xiters = calloc(QUERY_MAX_TERMS, sizeof(iter_t));
    s->order = calloc(QUERY_MAX_TERMS, sizeof(uint32_t));
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
    /* The summary view: no body, cite_as, disclaimer. */
    for (size_t i = 0; i < r->n_body; i++) {
        free(r->body[i]);
    }
    free(r->body);
    r->body = NULL;
    r->n_body = 0;
    if (r->cite_as != protobuf_c_empty_string) {
        free(r->cite_as);
        r->cite_as = (char *)protobuf_c_empty_string;
    }
    if (r->disclaimer != protobuf_c_empty_string) {
        free(r->disclaimer);
        r->disclaimer = (char *)protobuf_c_empty_string;
    }
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
    if (f) {
        char key_buf[256];
        s.year_min = f->year_min;
        s.year_max = f->year_max;
        s.tier = (uint32_t)f->tier;
        if (f->country && f->country[0]) {
            country_key(f->country, key_buf, sizeof(key_buf));
            st = fts_dict_find(fts, txn, S_DICT_COUNTRY, key_buf, &s.country,
                               err);
            none = none || (st == DOSSIER_OK && s.country == 0);
        }
        if (st == DOSSIER_OK && f->publisher && f->publisher[0]) {
            st = fts_dict_find(fts, txn, S_DICT_PUBLISHER, f->publisher,
                               &s.publisher, err);
            none = none || (st == DOSSIER_OK && s.publisher == 0);
        }
        if (st != DOSSIER_OK) {
            goto done;
        }
        s.filter_attrs =
            s.country || s.publisher || s.year_min || s.year_max || s.tier;
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
        resp->facets = calloc(4, sizeof(*resp->facets));
        if (!resp->facets || !s_facet_add(&s, resp, "year", &s.by_year, 'y') ||
            !s_facet_add(&s, resp, "tier", &s.by_tier, 't') ||
            !s_facet_add(&s, resp, "country", &s.by_country, S_DICT_COUNTRY) ||
            !s_facet_add(&s, resp, "publisher", &s.by_publisher,
                         S_DICT_PUBLISHER)) {
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

/*  Tokenizes text into *st and finds its best window of S_SNIPPET_WORDS
    terms (most distinct query terms, then most matches): *best_score,
    *best_start. */
static int
s_snippet_scan(const char *text, char *const *terms, const size_t *lens,
               uint32_t n_terms, snip_text_t *st, uint32_t *best_score,
               uint32_t *best_start) {
    tokenize_t tz;
    token_t token;
    uint32_t n = 0;
    tokenize_init(&tz, text, strlen(text), 0);
    while (tokenize_next(&tz, &token)) {
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
    /* Body paragraphs first, the title when no paragraph matches. */
    for (size_t p = 0; p <= r->n_body; p++) {
        const char *text = p < r->n_body ? r->body[p] : r->title;
        if (!text || !text[0]) {
            continue;
        }
        uint32_t score = 0, start = 0;
        if (s_snippet_scan(text, terms, lens, n_terms, scan, &score, &start) !=
            0) {
            free(texts[0].toks);
            free(texts[1].toks);
            return NULL;
        }
        if (!best_text || score > best_score) {
            best_text = text;
            best_score = score;
            best_start = start;
            snip_text_t *t = best;
            best = scan;
            scan = t;
        }
    }
    free(scan->toks);
    snip_tok_t *toks = best->toks;
    uint32_t n = best->n;
    buf_t out = {NULL, 0, 0};
    if (!best_text || n == 0) {
        free(toks);
        return strdup("");
    }
    uint32_t end =
        best_start + S_SNIPPET_WORDS < n ? best_start + S_SNIPPET_WORDS : n;
    bool ok = true;
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

/* ---- Check. ---- */

typedef struct {
    uint64_t *problems;
    dossier_error_t *err;
} report_t;

static void s_problem(report_t *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*  A multiset of postings as three numbers: the sum and the xor of their
    fingerprints, and their count. The check builds one from the records'
    terms and one from the stored blocks, in whatever order each is read,
    and compares them: one walk of each side instead of a B-tree seek per
    posting. Two different multisets agree on all three by chance with a
    probability far below that of the disk fault the check looks for. */
typedef struct {
    uint64_t sum;
    uint64_t xored;
    uint64_t count;
} digest_t;

/* The fingerprint of a term's bytes (FNV-1a, 64 bits, mixed). */
static uint64_t
s_term_fp(const char *term, size_t len) {
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t)term[i]) * 1099511628211ull;
    }
    return fts_mix64(h);
}

/* One position more in a posting's running fingerprint. */
static uint64_t
s_pos_fp(uint64_t h, uint32_t position) {
    return (h ^ position) * 1099511628211ull + 0x9e3779b97f4a7c15ull;
}

/* Adds the posting of term (its fingerprint) in docno, tf times at the
   positions whose running fingerprint is pos_fp. */
static void
s_digest_add(digest_t *d, uint64_t term_fp, uint32_t docno, uint32_t tf,
             uint64_t pos_fp) {
    uint64_t fp =
        fts_mix64(term_fp ^ fts_mix64(((uint64_t)docno << 32 | tf) ^ pos_fp));
    d->sum += fp;
    d->xored ^= fp;
    d->count++;
}

static bool
s_digest_equal(const digest_t *a, const digest_t *b) {
    return a->sum == b->sum && a->xored == b->xored && a->count == b->count;
}

/* Adds every posting of document d (built in doc) as docno. */
static void
s_digest_doc(digest_t *dig, const doc_t *doc, uint32_t docno) {
    for (uint32_t i = 0; i < doc->n_terms; i++) {
        const doc_term_t *t = &doc->terms[i];
        uint64_t pos_fp = 0;
        for (uint32_t j = 0; j < t->tf; j++) {
            pos_fp = s_pos_fp(pos_fp, doc->positions[t->first + j]);
        }
        s_digest_add(dig, s_term_fp(doc->chars + t->off, t->len), docno, t->tf,
                     pos_fp);
    }
}

static void
s_problem(report_t *rep, const char *fmt, ...) {
    if (*rep->problems == 0) {
        char what[200];
        va_list args;
        va_start(args, fmt);
        vsnprintf(what, sizeof(what), fmt, args);
        va_end(args);
        dossier_error_set(rep->err, DOSSIER_DATA_LOSS,
                          "full-text index disagrees with the records: %s",
                          what);
    }
    (*rep->problems)++;
}

/*  Checks that every term of document d (built in doc) has its posting,
    with the same frequency and positions. Adds the postings to
    *postings. */
static dossier_status_t
s_check_postings(MDB_cursor *const *curs, const segs_t *segs, doc_t *doc,
                 const char *id, uint32_t docno, report_t *rep,
                 dossier_error_t *err) {
    int seg = fts_segs_find(segs, docno);
    if (seg < 0 && doc->n_terms > 0) {
        s_problem(rep, "record %s: docno %u is in no segment", id, docno);
        return DOSSIER_OK;
    }
    MDB_cursor *cur = seg >= 0 ? curs[segs->v[seg].slot] : NULL;
    for (uint32_t i = 0; i < doc->n_terms; i++) {
        doc_term_t *t = &doc->terms[i];
        const char *term = doc->chars + t->off;
        uint8_t pterm[S_PTERM_MAX];
        size_t plen = fts_pterm(pterm, segs->v[seg].id, term, t->len);
        MDB_val key, val;
        bool found = false;
        dossier_status_t st = fts_seek_block(cur, (const char *)pterm, plen,
                                             docno, &key, &val, &found, err);
        if (st != DOSSIER_OK) {
            return st;
        }
        block_t b;
        uint32_t docnos[S_BLOCK_DOCS], tfs[S_BLOCK_DOCS];
        if (found && (!fts_block_parse(&key, &val, &b) ||
                      !fts_block_docs(&b, docnos, tfs))) {
            s_problem(rep, "term \"%s\": unreadable block at docno %u", term,
                      docno);
            continue;
        }
        uint32_t at = 0;
        while (found && at < b.count && docnos[at] < docno) {
            at++;
        }
        if (!found || at == b.count || docnos[at] != docno) {
            s_problem(rep, "record %s lacks its posting of a term (docno %u)",
                      id, docno);
            continue;
        }
        if (tfs[at] != t->tf || tfs[at] > b.max_tf) {
            s_problem(rep, "record %s: a term's frequency differs (docno %u)",
                      id, docno);
            continue;
        }
        const uint8_t *p = b.pos;
        bool ok = true;
        for (uint32_t k = 0; k < at && ok; k++) {
            for (uint32_t j = 0; j < tfs[k] && ok; j++) {
                uint32_t v;
                ok = fts_varint(&p, b.pos_end, &v);
            }
        }
        uint32_t prev = 0;
        for (uint32_t j = 0; j < t->tf && ok; j++) {
            uint32_t v = 0;
            ok = fts_varint(&p, b.pos_end, &v) &&
                 prev + v == doc->positions[t->first + j];
            prev += v;
        }
        if (!ok) {
            s_problem(rep, "record %s: a term's positions differ (docno %u)",
                      id, docno);
        }
    }
    return DOSSIER_OK;
}

/*  The slow half of step 1 of s_check, for when the digests differ:
    every record's every term seeked in its segment (s_check_postings),
    each problem named. */
static dossier_status_t
s_check_each_posting(store_fts_t *fts, MDB_txn *txn, MDB_cursor *const *pcurs,
                     const segs_t *segs, doc_t *doc, report_t *rep,
                     dossier_error_t *err) {
    MDB_cursor *rcur = NULL;
    int rc = mdb_cursor_open(txn, fts->records, &rcur);
    if (rc != MDB_SUCCESS) {
        return fts_mdb_error(err, rc, "opening cursors");
    }
    dossier_status_t st = DOSSIER_OK;
    MDB_val key, val;
    char id[256];
    for (rc = mdb_cursor_get(rcur, &key, &val, MDB_FIRST);
         rc == MDB_SUCCESS && st == DOSSIER_OK;
         rc = mdb_cursor_get(rcur, &key, &val, MDB_NEXT)) {
        size_t n = key.mv_size < sizeof(id) - 1 ? key.mv_size : sizeof(id) - 1;
        memcpy(id, key.mv_data, n);
        id[n] = '\0';
        uint32_t docno = 0;
        Dossier__V1__Report *r =
            dossier__v1__report__unpack(NULL, val.mv_size, val.mv_data);
        if (r) {
            st = fts_ids_get(fts, txn, id, &docno, err);
        }
        if (r && st == DOSSIER_OK && docno) {
            st = fts_doc_build(doc, r) != 0
                     ? fts_oom(err)
                     : s_check_postings(pcurs, segs, doc, id, docno, rep, err);
        }
        dossier__v1__report__free_unpacked(r, NULL);
    }
    mdb_cursor_close(rcur);
    if (st == DOSSIER_OK && rc != MDB_NOTFOUND && rc != MDB_SUCCESS) {
        st = fts_mdb_error(err, rc, "walking records");
    }
    return st;
}

/*  Checks the entries of one slot (step 2 of s_check): every df entry
    names the slot's segment, every block is readable and holds live
    documents of the segment's range, adding up to its df. Adds the
    postings to *stored and to the digest dig. */
static dossier_status_t
s_check_slot(MDB_cursor *pcur, uint32_t slot, const segs_t *segs, attrs_t *ac,
             report_t *rep, uint64_t *stored, digest_t *dig,
             dossier_error_t *err) {
    uint8_t pterm[S_PTERM_MAX + 1] = {0};
    size_t plen = 0;
    const char *term = "";
    uint64_t term_fp = 0;
    const seg_t *seg = NULL;
    uint32_t df = 0, seen = 0;
    bool in_term = false;
    MDB_val key, val;
    int rc;
    for (rc = mdb_cursor_get(pcur, &key, &val, MDB_FIRST);;
         rc = mdb_cursor_get(pcur, &key, &val, MDB_NEXT)) {
        /* Keys: segment id (4 bytes), term, NUL, and for a block the
           first docno; the term's NUL is the first after the id. */
        const uint8_t *k = key.mv_data;
        const uint8_t *nul = rc == MDB_SUCCESS && key.mv_size > 5
                                 ? memchr(k + 4, 0, key.mv_size - 4)
                                 : NULL;
        bool is_df = nul && nul == k + key.mv_size - 1;
        if ((rc != MDB_SUCCESS || is_df) && in_term && seen != df) {
            s_problem(rep, "term \"%s\": df says %u documents", term, df);
        }
        if (rc != MDB_SUCCESS) {
            break;
        }
        if (is_df) {
            int at = -1;
            for (uint32_t x = 0; x < segs->n; x++) {
                if (segs->v[x].id == fts_get_be32(k) &&
                    segs->v[x].slot == slot) {
                    at = (int)x;
                }
            }
            size_t n = key.mv_size - 1;
            if (at < 0 || n > S_PTERM_MAX || val.mv_size != 4) {
                s_problem(rep, "a term entry of no segment (id %u)",
                          fts_get_be32(k));
                in_term = false;
                continue;
            }
            seg = &segs->v[at];
            memcpy(pterm, k, n);
            plen = n;
            pterm[n] = 0;
            term = (const char *)pterm + 4;
            term_fp = s_term_fp(term, n - 4);
            df = fts_get_le32(val.mv_data);
            seen = 0;
            in_term = true;
            continue;
        }
        block_t b;
        uint32_t docnos[S_BLOCK_DOCS], tfs[S_BLOCK_DOCS];
        if (!in_term || !fts_is_block_key(&key, (const char *)pterm, plen) ||
            !fts_block_parse(&key, &val, &b) ||
            !fts_block_docs(&b, docnos, tfs)) {
            s_problem(rep, "term \"%s\": a malformed block (after %u docs)",
                      term, seen);
            continue;
        }
        const uint8_t *p = b.pos;
        bool pos_ok = true;
        for (uint32_t i = 0; i < b.count; i++) {
            attr_t a;
            if (!fts_attrs_read(ac, docnos[i], &a)) {
                return fts_mdb_error(err, MDB_CORRUPTED, "reading attributes");
            }
            if (!a.live || a.len < b.min_len || tfs[i] > b.max_tf ||
                docnos[i] < seg->lo || docnos[i] > seg->hi) {
                s_problem(rep,
                          "term \"%s\": posting of docno %u without "
                          "its record",
                          term, docnos[i]);
            }
            /* Each document's positions: tf varint deltas from 0. */
            uint64_t pos_fp = 0;
            for (uint32_t j = 0, at = 0; j < tfs[i] && pos_ok; j++) {
                uint32_t v = 0;
                pos_ok = fts_varint(&p, b.pos_end, &v);
                at += v;
                pos_fp = s_pos_fp(pos_fp, at);
            }
            s_digest_add(dig, term_fp, docnos[i], tfs[i], pos_fp);
        }
        if (!pos_ok) {
            s_problem(rep, "term \"%s\": unreadable positions (after %u docs)",
                      term, seen);
        }
        seen += b.count;
        *stored += b.count;
    }
    if (rc != MDB_NOTFOUND) {
        return fts_mdb_error(err, rc, "walking postings");
    }
    return DOSSIER_OK;
}

static dossier_status_t
s_check(store_fts_t *fts, MDB_txn *txn, uint64_t *problems,
        dossier_error_t *err) {
    report_t rep = {problems, err};
    uint64_t before = *problems;
    state_t state;
    segs_t segs;
    dossier_status_t st = fts_state_get(fts, txn, &state, err);
    if (st == DOSSIER_OK) {
        st = fts_segs_get(fts, txn, &segs, err);
    }
    if (st != DOSSIER_OK) {
        return st;
    }
    doc_t doc;
    memset(&doc, 0, sizeof(doc));
    MDB_cursor *rcur = NULL, *pcurs[S_SLOTS] = {NULL};
    int rc = mdb_cursor_open(txn, fts->records, &rcur);
    for (uint32_t slot = 0; rc == MDB_SUCCESS && slot < S_SLOTS; slot++) {
        rc = mdb_cursor_open(txn, fts->post[slot], &pcurs[slot]);
    }
    if (rc != MDB_SUCCESS) {
        st = fts_mdb_error(err, rc, "opening cursors");
        goto done;
    }
    attrs_t ac = {txn, fts->attrs, 0, false, NULL, 0};
    uint64_t records = 0, total_len = 0, postings = 0;
    MDB_val key, val;
    char id[256];
    digest_t from_records = {0}, from_blocks = {0};
    /* 1. Every record: its docno and attributes; its postings go into a
       digest, compared with the stored blocks' in step 2. */
    for (rc = mdb_cursor_get(rcur, &key, &val, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(rcur, &key, &val, MDB_NEXT)) {
        size_t n = key.mv_size < sizeof(id) - 1 ? key.mv_size : sizeof(id) - 1;
        memcpy(id, key.mv_data, n);
        id[n] = '\0';
        Dossier__V1__Report *r =
            dossier__v1__report__unpack(NULL, val.mv_size, val.mv_data);
        if (!r) {
            continue; /* the store's own check reports it */
        }
        records++;
        uint32_t docno = 0;
        st = fts_ids_get(fts, txn, id, &docno, err);
        attr_t a;
        if (st == DOSSIER_OK && docno == 0) {
            s_problem(&rep, "record %s is not in the index", id);
        } else if (st == DOSSIER_OK && !fts_attrs_read(&ac, docno, &a)) {
            st = fts_mdb_error(err, MDB_CORRUPTED, "reading attributes");
        } else if (st == DOSSIER_OK) {
            if (fts_doc_build(&doc, r) != 0) {
                st = fts_oom(err);
            } else if (!a.live || a.len != doc.n_toks ||
                       a.year != (r->year > 65535 ? 0 : r->year) ||
                       a.tier != (uint8_t)r->tier) {
                s_problem(&rep, "record %s: attributes of docno %u differ", id,
                          docno);
            } else {
                unsigned k = docno;
                MDB_val dk = {sizeof(k), &k}, dv;
                if (mdb_get(txn, fts->docs, &dk, &dv) != MDB_SUCCESS ||
                    dv.mv_size != strlen(r->id) ||
                    memcmp(dv.mv_data, r->id, dv.mv_size) != 0) {
                    s_problem(&rep, "record %s: docno %u names another id", id,
                              docno);
                }
                total_len += doc.n_toks;
                postings += doc.n_terms;
                s_digest_doc(&from_records, &doc, docno);
            }
        }
        dossier__v1__report__free_unpacked(r, NULL);
        if (st != DOSSIER_OK) {
            goto done;
        }
    }
    if (rc != MDB_NOTFOUND) {
        st = fts_mdb_error(err, rc, "walking records");
        goto done;
    }
    /* 2. Every block: in the known segment of its slot, readable, of
       live documents of the segment's range, adding up to its df entry. */
    uint64_t stored = 0;
    for (uint32_t slot = 0; slot < S_SLOTS; slot++) {
        st = s_check_slot(pcurs[slot], slot, &segs, &ac, &rep, &stored,
                          &from_blocks, err);
        if (st != DOSSIER_OK) {
            goto done;
        }
    }
    /* The digests differ: some record's postings are missing or changed
       (or some block holds postings no record has). Find which, by
       seeking every posting of every record, and name them. */
    if (!s_digest_equal(&from_records, &from_blocks)) {
        uint64_t named = *problems;
        st = s_check_each_posting(fts, txn, pcurs, &segs, &doc, &rep, err);
        if (st != DOSSIER_OK) {
            goto done;
        }
        if (*problems == named) {
            s_problem(&rep, "the postings stored differ from the records' "
                            "terms");
        }
    }
    if (stored != postings) {
        s_problem(&rep, "%u postings more or less than the records hold",
                  (uint32_t)(stored > postings ? stored - postings
                                               : postings - stored));
    }
    /* 3. The maps and the statistics. */
    MDB_stat ids_stat, docs_stat;
    rc = mdb_stat(txn, fts->ids, &ids_stat);
    if (rc == MDB_SUCCESS) {
        rc = mdb_stat(txn, fts->docs, &docs_stat);
    }
    if (rc != MDB_SUCCESS) {
        st = fts_mdb_error(err, rc, "reading sizes");
        goto done;
    }
    if (ids_stat.ms_entries != records || docs_stat.ms_entries != records) {
        s_problem(&rep, "docnos for %u records", (uint32_t)records);
    }
    if (state.live != records || state.total_len != total_len) {
        s_problem(&rep, "statistics say %u documents", (uint32_t)state.live);
    }
done:
    for (uint32_t slot = 0; slot < S_SLOTS; slot++) {
        if (pcurs[slot]) {
            mdb_cursor_close(pcurs[slot]);
        }
    }
    if (rcur) {
        mdb_cursor_close(rcur);
    }
    fts_doc_free(&doc);
    if (st != DOSSIER_OK) {
        return st;
    }
    return *problems > before ? DOSSIER_DATA_LOSS : DOSSIER_OK;
}

int
store_fts_check(store_fts_t *fts, MDB_txn *txn, uint64_t *problems,
                dossier_error_t *err) {
    fts_last_rc = 0;
    dossier_status_t st = s_check(fts, txn, problems, err);
    if (st == DOSSIER_OK || st == DOSSIER_DATA_LOSS) {
        return 0;
    }
    return fts_last_rc ? fts_last_rc : EINVAL;
}

/* The meta key of a pending rebuild; its value is the id of the last
   record indexed ("" before the first). */
#define S_REBUILD_KEY "rebuild"

int
store_fts_rebuild_step(store_fts_t *fts, MDB_txn *txn, size_t max_docs,
                       bool *done, size_t *indexed) {
    *done = false;
    *indexed = 0;
    fts_last_rc = 0;
    MDB_val mkey = {strlen(S_REBUILD_KEY), S_REBUILD_KEY}, mval;
    int rc = mdb_get(txn, fts->meta, &mkey, &mval);
    if (rc == MDB_NOTFOUND) {
        *done = true;
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    /* Copied: the cursor below may move pages of the meta database. */
    char last[512];
    size_t last_size = mval.mv_size < sizeof last ? mval.mv_size : 0;
    memcpy(last, mval.mv_data, last_size);
    MDB_cursor *cur = NULL;
    rc = mdb_cursor_open(txn, fts->records, &cur);
    MDB_val key = {last_size, last}, val;
    if (rc == 0) {
        rc = mdb_cursor_get(cur, &key, &val,
                            last_size ? MDB_SET_RANGE : MDB_FIRST);
        if (rc == 0 && last_size && key.mv_size == last_size &&
            memcmp(key.mv_data, last, last_size) == 0) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        }
    }
    dossier_status_t st = DOSSIER_OK;
    size_t n = 0;
    for (; rc == 0 && st == DOSSIER_OK && n < max_docs;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        Dossier__V1__Report *r =
            dossier__v1__report__unpack(NULL, val.mv_size, val.mv_data);
        if (r) { /* unreadable bytes: store_check names them */
            st = fts_update(fts->batch, txn, NULL, r, NULL, NULL);
            dossier__v1__report__free_unpacked(r, NULL);
        }
        n++;
        if (key.mv_size >= sizeof last) {
            rc = MDB_CORRUPTED; /* ids are at most 128 bytes */
            break;
        }
        memcpy(last, key.mv_data, key.mv_size);
        last_size = key.mv_size;
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    if (st != DOSSIER_OK) {
        return fts_last_rc ? fts_last_rc : EINVAL;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    bool finished = rc == MDB_NOTFOUND;
    state_t state;
    if (fts_state_get(fts, txn, &state, NULL) != DOSSIER_OK ||
        fts_state_put(fts, txn, &state, NULL) != DOSSIER_OK ||
        fts_flush(fts->batch, txn, NULL) != DOSSIER_OK) {
        return fts_last_rc ? fts_last_rc : EINVAL;
    }
    if (finished) {
        rc = mdb_del(txn, fts->meta, &mkey, NULL);
    } else {
        MDB_val progress = {last_size, last};
        rc = mdb_put(txn, fts->meta, &mkey, &progress, 0);
    }
    *done = finished && rc == 0;
    *indexed = n;
    return rc;
}

static int
s_open(MDB_txn *txn, MDB_dbi records, store_fts_t **fts_p) {
    store_fts_t *self = calloc(1, sizeof(*self));
    if (!self) {
        return ENOMEM;
    }
    self->batch = fts_batch_new(self);
    if (!self->batch) {
        free(self);
        return ENOMEM;
    }
    struct {
        char name[16];
        unsigned flags;
        MDB_dbi *dbi;
    } dbs[STORE_FTS_DBS] = {
        {"fts_ids", 0, &self->ids},
        {"fts_docs", MDB_INTEGERKEY, &self->docs},
        {"fts_attrs", MDB_INTEGERKEY, &self->attrs},
        {"fts_dict", 0, &self->dict},
        {"fts_meta", 0, &self->meta},
    };
    /* Slot 0 keeps the name of the one postings database of format 3,
       so that an upgrade empties it. */
    for (int i = 0; i < S_SLOTS; i++) {
        if (i == 0) {
            snprintf(dbs[5].name, sizeof dbs[5].name, "fts_post");
        } else {
            snprintf(dbs[5 + i].name, sizeof dbs[5 + i].name, "fts_post_%02d",
                     i);
        }
        dbs[5 + i].dbi = &self->post[i];
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < STORE_FTS_DBS; i++) {
        rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | MDB_CREATE,
                          dbs[i].dbi);
    }
    self->records = records;
    /* A store written before the index existed, or by an older layout:
       index its records now. */
    MDB_val key = {6, "format"}, val;
    if (rc == 0) {
        rc = mdb_get(txn, self->meta, &key, &val);
        bool current = rc == 0 && val.mv_size == 4 &&
                       fts_get_le32(val.mv_data) == S_FORMAT;
        rc = rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
        for (int i = 0; rc == 0 && !current && i < STORE_FTS_DBS; i++) {
            rc = mdb_drop(txn, *dbs[i].dbi, 0);
        }
        if (rc == 0 && !current) {
            /* Rebuilt by store_fts_rebuild_step, a step per transaction:
               one transaction for a whole store would need all of its
               index in memory and in the map at once. */
            MDB_val rkey = {strlen(S_REBUILD_KEY), S_REBUILD_KEY};
            MDB_val from = {0, ""};
            rc = mdb_put(txn, self->meta, &rkey, &from, 0);
        }
        if (rc == 0 && !current) {
            uint8_t num[4];
            fts_le32(num, S_FORMAT);
            val.mv_size = 4;
            val.mv_data = num;
            rc = mdb_put(txn, self->meta, &key, &val, 0);
        }
    }
    if (rc != 0) {
        store_fts_destroy(&self);
        return rc;
    }
    *fts_p = self;
    return 0;
}

int
store_fts_open(MDB_txn *txn, MDB_dbi records, store_fts_t **fts_p) {
    return s_open(txn, records, fts_p);
}

void
store_fts_destroy(store_fts_t **fts_p) {
    if (!fts_p || !*fts_p) {
        return;
    }
    fts_batch_destroy(&(*fts_p)->batch);
    free(*fts_p);
    *fts_p = NULL;
}
