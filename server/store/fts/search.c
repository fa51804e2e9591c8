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
/* Filters as postings: country, publisher, tier, document type, years. */
#define S_FILTERS_MAX 5
/* Early termination: the lead's postings in the uniform sample of its
   blocks that are walked exactly, about (32 blocks: a match rate within
   ~2% for the bench's queries, ~0.3 ms at 1,000,000 reports). */
#define S_BLOCK_SAMPLE 4096
/* What became of a lead block under early termination. */
#define S_BLOCK_SAMPLED 1 /* walked exactly: heap not full, or sampled */
#define S_BLOCK_WALKED 2  /* walked: its bound could enter the top k */
#define S_BLOCK_SKIPPED 3 /* skipped: its bound could not */
/* The strata of the estimate: postings in blocks skipped, postings
   pruned one by one in walked blocks, and the rest of walked blocks;
   and the fewest sampled postings whose rate a stratum trusts. */
#define S_STRATUM_SKIP 0
#define S_STRATUM_PRUNE 1
#define S_STRATUM_WALK 2
#define S_STRATA 3
#define S_STRATUM_MIN 512
/* The least idf, as a share of the lead's, of a term whose blocks'
   bounds a shadow reads (see s_early_prepare). */
#define S_SHADOW_IDF_SHARE 0.15

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
    /* Early termination (estimate_total_hits, relevance order, no
       facets): the lead's blocks are taken one at a time; one whose
       score bound (its own and, from the shadow iterators, which read
       block headers only, the largest of each other term's blocks over
       its docno range) cannot enter the top k is skipped without being
       decoded. total is then estimated: the matches counted exactly,
       plus the skipped blocks' postings times the match rate of the
       unbiased blocks (those walked before the heap filled and a
       uniform sample of the others, 1 in 2^block_bits by a hash of
       their first docno, checked exactly, phrases too). */
    bool early;
    iter_t *shadows; /* per positive term; NULL for one term */
    uint32_t block_bits;
    bool block_open; /* the lead's current block, by segment and first */
    uint32_t block_k;
    uint32_t block_first;
    uint32_t block_postings;
    uint32_t tf_min;     /* the least lead frequency that may enter */
    double *range_bound; /* per term, its bound over the block's docnos */
    bool *loose;         /* per term, bounded by its idf, not shadowed */
    uint32_t n_shadowed;
    /* Its postings flagged (s_block_flags), by index, and the matches
       among them (in a sampled block). */
    uint64_t block_flags[S_BLOCK_DOCS / 64];
    uint32_t block_flagged;
    uint64_t block_flagged_matches;
    bool flags_pending;
    uint64_t block_total_at; /* total when it was opened */
    int block_class;         /* S_BLOCK_* */
    bool block_exact;        /* phrases checked for every candidate in it */
    bool block_classify;     /* sampled with the heap full: to a stratum */
    bool block_would_skip;   /* sampled, and its bound could not enter */
    uint64_t exact_matches;
    uint64_t sample_matches;
    uint64_t sample_postings;
    /* Per S_STRATUM_*: the sample's postings and matches, and the
       postings left out to estimate. */
    uint64_t strata[S_STRATA][2];
    uint64_t rest[S_STRATA];
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

/*  True when the lead's posting i of the open block is flagged: its
    bound cannot enter the top k (s_block_flags). */
static bool
s_flagged(const search_t *s, uint32_t i) {
    return s->block_flags[i / 64] >> (i % 64) & 1;
}

/*  True when the iterators of phrase (all on document d) hold its terms
    at consecutive positions. */
static bool
s_phrase_at(search_t *s, iter_t *iters, const phrase_t *ph) {
    for (uint32_t j = 0; j < ph->n; j++) {
        if (!fts_iter_positions(&iters[ph->iters[j]], &s->pos[j],
                                &s->pos_cap[j], &s->pos_n[j])) {
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
            all = fts_iter_advance(&s->xiters[ph->iters[j]], d, s->avgdl) == d;
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
        uint32_t e = fts_iter_advance(&f->iters[i], d, s->avgdl);
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
    /* An early-terminated search checks phrases exactly in the blocks
       its estimate samples. */
    bool defer = s->defer_phrases && !s->block_exact;
    if (!s_doc_passes_exclusions(s, d) || (!defer && !s_phrases_pass(s))) {
        return !s->oom;
    }
    s->total++;
    if (s->block_classify && s->block_flagged &&
        s_flagged(s, s->iters[s->order[0]].i)) {
        s->block_flagged_matches++;
    }
    int held = -1; /* the phrases: -1 not checked yet, else 0 or 1 */
    if (defer && !s->early &&
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
            best.score += fts_bm25(s->iters[t].idf, fts_iter_tf(&s->iters[t]),
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
        hit.score += fts_bm25(s->iters[t].idf, fts_iter_tf(&s->iters[t]), a.len,
                              s->avgdl);
    }
    if (defer) {
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

/*  True for one term, unfiltered, by relevance, without facets: its
    count is exact and cheap (a block whose bound cannot enter the top k
    is counted from its header). A phrase of one repeated term ("very
    very") has one iterator but still needs its positions. */
static bool
s_simple(const search_t *s) {
    return s->n_iters == 1 && s->n_filters == 0 && !s->filter_attrs &&
           !s->facets && s->n_phrases == 0 && s->n_xphrases == 0 &&
           s->order_by == 0;
}

/*  The largest score bound of shadow sh's blocks over docnos [first,
    last] into *bound; false when none of them holds a posting there.
    Leaves sh on the first block whose last docno is >= last (it may
    reach into the next range too), or past it. */
static bool
s_shadow_bound(iter_t *sh, uint32_t first, uint32_t last, double avgdl,
               double *bound) {
    fts_iter_seek(sh, first, avgdl);
    if (sh->end || sh->blk.first > last) {
        return false;
    }
    double b = sh->bound;
    while (sh->blk.last < last) {
        fts_iter_next_block(sh, avgdl);
        if (sh->end || sh->blk.first > last) {
            break;
        }
        b = sh->bound > b ? sh->bound : b;
    }
    *bound = b;
    return true;
}

/*  The estimated matches of rest postings of stratum (postings, matches
    in the sample), or at the whole sample's rate when the stratum's
    sample is too small to trust. */
static double
s_stratum_estimate(const search_t *s, uint64_t rest, const uint64_t *stratum) {
    if (rest == 0) {
        return 0;
    }
    if (stratum[0] >= S_STRATUM_MIN) {
        return (double)rest * (double)stratum[1] / (double)stratum[0];
    }
    return s->sample_postings ? (double)rest * (double)s->sample_matches /
                                    (double)s->sample_postings
                              : 0;
}

/*  Accounts the lead's open block (early termination) to the estimate:
    a sampled block to the sample, and, when the heap was full as it
    opened, to the stratum of what would have become of its postings
    (skipped with the block, pruned one by one, walked), so that each
    stratum left out elsewhere is estimated at its own rate (the
    postings pruned have low frequencies, and documents that differ in
    other ways too). */
static void
s_block_close(search_t *s) {
    if (!s->block_open) {
        return;
    }
    uint64_t matches = s->total - s->block_total_at;
    uint64_t postings = s->block_postings;
    if (s->block_class == S_BLOCK_SAMPLED) {
        s->exact_matches += matches;
        s->sample_matches += matches;
        s->sample_postings += postings;
        if (s->block_classify && s->block_would_skip) {
            s->strata[S_STRATUM_SKIP][0] += postings;
            s->strata[S_STRATUM_SKIP][1] += matches;
        } else if (s->block_classify) {
            s->strata[S_STRATUM_PRUNE][0] += s->block_flagged;
            s->strata[S_STRATUM_PRUNE][1] += s->block_flagged_matches;
            s->strata[S_STRATUM_WALK][0] += postings - s->block_flagged;
            s->strata[S_STRATUM_WALK][1] += matches - s->block_flagged_matches;
        }
    } else if (s->block_class == S_BLOCK_WALKED) {
        /* Exact but for the postings flagged, unless its phrases were
           checked only where they could enter the top k. */
        s->rest[S_STRATUM_PRUNE] += s->block_flagged;
        if (s->defer_phrases) {
            s->rest[S_STRATUM_WALK] += postings - s->block_flagged;
        } else {
            s->exact_matches += matches;
        }
    } else {
        s->rest[S_STRATUM_SKIP] += postings;
    }
    s->block_open = false;
}

/*  The lead's bound over its open block, with the other terms' bounds
    over its docnos (their blocks' largest, from the shadows: kept in
    range_bound); -1 when some term has no posting there. Summed in the
    order a score is (so rounding cannot put a bound below a score). */
static double
s_block_bound(search_t *s, const iter_t *lead) {
    double bound = 0;
    for (uint32_t t = 0; t < s->n_iters; t++) {
        double b = s->iters[t].bound;
        if (&s->iters[t] == lead) {
            /* its block's bound */
        } else if (s->loose[t]) {
            b = s->iters[t].idf * (FTS_BM25_K1 + 1);
        } else if (!s_shadow_bound(&s->shadows[t], lead->blk.first,
                                   lead->blk.last, s->avgdl, &b)) {
            return -1; /* a term absent from the range: no match */
        }
        if (s->range_bound) {
            s->range_bound[t] = b;
        }
        bound += b;
    }
    return bound;
}

/*  Opens the lead's current block (early termination): closes the one
    before, and says what becomes of this one. Returns true when it is
    to be walked, false when its score bound cannot enter the top k. */
static bool
s_block_open(search_t *s, const iter_t *lead) {
    s_block_close(s);
    s->block_open = true;
    s->block_k = lead->k;
    s->block_first = lead->blk.first;
    s->block_postings = lead->blk.count;
    s->block_total_at = s->total;
    s->block_flagged = 0;
    s->block_flagged_matches = 0;
    s->block_flags[0] = s->block_flags[1] = 0;
    s->flags_pending = false;
    s->block_class = S_BLOCK_SAMPLED;
    s->block_exact = true;
    s->block_classify = false;
    s->block_would_skip = false;
    if (s->heap.n < s->heap.k) {
        return true; /* before the heap fills: a uniform sample too */
    }
    bool sampled =
        s->block_bits == 0 ||
        (uint32_t)(lead->blk.first * 2654435761u) >> (32 - s->block_bits) == 0;
    double bound = s_block_bound(s, lead);
    hit_t best = {bound, 0, lead->blk.first};
    bool may = bound >= 0 && s_hit_better(&best, &s->heap.hits[0]);
    if (sampled) {
        s->block_classify = true;
        s->block_would_skip = !may;
    } else if (!may) {
        s->block_class = S_BLOCK_SKIPPED;
        return false;
    } else {
        s->block_class = S_BLOCK_WALKED;
        s->block_exact = false;
    }
    if (!may || s->n_filters > 0 || s->filter_attrs) {
        /* A filtered walk lands on few of the lead's postings: pruning
           them one by one would not pay, nor be estimated in step. */
        return true;
    }
    /* The least frequency of the lead whose score, with the block's
       bounds of the others, may enter (the bound at max_tf may). */
    for (s->tf_min = 1; s->tf_min < lead->blk.max_tf; s->tf_min++) {
        best.score = 0;
        for (uint32_t t = 0; t < s->n_iters; t++) {
            best.score += &s->iters[t] == lead
                              ? fts_bm25(lead->idf, s->tf_min,
                                         lead->blk.min_len, s->avgdl)
                              : s->range_bound[t];
        }
        if (s_hit_better(&best, &s->heap.hits[0])) {
            break;
        }
    }
    s->flags_pending = true;
    return true;
}

/*  True when the lead is on a block s_block_open has not seen. */
static bool
s_block_new(const search_t *s, const iter_t *lead) {
    return !s->block_open || s->block_k != lead->k ||
           s->block_first != lead->blk.first;
}

/*  Flags the postings of the lead's open block (decoded) whose bound
    cannot enter the top k: the lead's own frequency below tf_min, or
    its score at the block's smallest length with the other terms'
    blocks around the docno (their headers, from the shadows) too low.
    A walked block skips them; a sampled one counts them apart. */
static void
s_block_flags(search_t *s, iter_t *lead) {
    s->flags_pending = false;
    for (uint32_t i = 0; i < lead->blk.count; i++) {
        bool flag = lead->tfs[i] < s->tf_min;
        if (!flag && s->n_shadowed) {
            uint32_t d = lead->docnos[i];
            double bound = 0;
            for (uint32_t t = 0; t < s->n_iters; t++) {
                iter_t *it = &s->iters[t];
                if (it == lead) {
                    bound += fts_bm25(it->idf, lead->tfs[i], it->blk.min_len,
                                      s->avgdl);
                    continue;
                }
                if (s->loose[t]) {
                    bound += s->range_bound[t];
                    continue;
                }
                /* A shadow past d's block (s_shadow_bound leaves it on
                   the one after the range): the range's bound. */
                iter_t *sh = &s->shadows[t];
                fts_iter_seek(sh, d, s->avgdl);
                bound += !sh->end && sh->blk.first <= d ? sh->bound
                                                        : s->range_bound[t];
            }
            hit_t best = {bound, 0, d};
            flag = !s_hit_better(&best, &s->heap.hits[0]);
        }
        if (flag) {
            s->block_flags[i / 64] |= (uint64_t)1 << (i % 64);
            s->block_flagged++;
        }
    }
}

/*  In a walked block, the lead's first posting from its current one on
    that is not flagged: its docno, or the next block's first, or
    S_END. */
static uint32_t
s_unflagged_next(search_t *s, iter_t *lead) {
    uint32_t i = lead->i;
    while (i < lead->blk.count && s_flagged(s, i)) {
        i++;
    }
    if (i < lead->blk.count) {
        lead->i = i;
        return lead->docnos[i];
    }
    if (lead->blk.last == S_END - 1) {
        return S_END;
    }
    return fts_iter_advance(lead, lead->blk.last + 1, s->avgdl);
}

/*  Skips the lead's blocks while s_block_open says so, from the current
    one (opened and to be skipped), reading headers only. Returns the
    lead's first docno in the next block to walk, or S_END. */
static uint32_t
s_blocks_skip(search_t *s, iter_t *lead) {
    for (;;) {
        if (lead->blk.last == S_END - 1) {
            return S_END;
        }
        uint32_t next = lead->blk.last + 1;
        fts_iter_next_block(lead, s->avgdl);
        fts_iter_seek(lead, next, s->avgdl);
        if (lead->end) {
            return S_END;
        }
        if (s_block_open(s, lead)) {
            return fts_iter_advance(lead, next, s->avgdl);
        }
    }
}

/*  Runs the conjunction of the positive terms. Returns false on damage
    or no memory. */
static bool
s_run(search_t *s) {
    iter_t *lead = &s->iters[s->order[0]];
    bool simple = s_simple(s);
    uint32_t d = fts_iter_advance(lead, 0, s->avgdl);
    while (d != S_END) {
        if (s->early && s_block_new(s, lead) && !s_block_open(s, lead)) {
            d = s_blocks_skip(s, lead);
            continue;
        }
        if (s->flags_pending) {
            s_block_flags(s, lead);
        }
        if (s->block_class == S_BLOCK_WALKED && s->block_flagged &&
            s_flagged(s, lead->i)) {
            d = s_unflagged_next(s, lead);
            continue;
        }
        if (simple && s->heap.n == s->heap.k && lead->i == 0) {
            /* A block whose bound cannot beat the k-th hit: count it. */
            hit_t best = {lead->bound, 0, d};
            if (!s_hit_better(&best, &s->heap.hits[0])) {
                s->total += lead->blk.count;
                uint32_t next = lead->blk.last + 1;
                if (lead->blk.last == S_END - 1) {
                    break;
                }
                fts_iter_next_block(lead, s->avgdl);
                d = fts_iter_advance(lead, next, s->avgdl);
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
                d = e == S_END ? S_END : fts_iter_advance(lead, e, s->avgdl);
            }
        }
        for (uint32_t t = 1; t < s->n_iters && all; t++) {
            uint32_t e = fts_iter_advance(&s->iters[s->order[t]], d, s->avgdl);
            if (e != d) {
                all = false;
                d = e == S_END ? S_END : fts_iter_advance(lead, e, s->avgdl);
            }
        }
        if (!all) {
            continue;
        }
        if (!s_consider(s, d)) {
            return false;
        }
        d = fts_iter_advance(lead, d + 1, s->avgdl);
    }
    s_block_close(s);
    for (uint32_t t = 0; t < s->n_iters; t++) {
        if (s->iters[t].damaged || (s->shadows && s->shadows[t].damaged)) {
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

static void
s_search_free(search_t *s) {
    for (uint32_t t = 0; t < s->n_iters; t++) {
        fts_iter_close(&s->iters[t]);
        if (s->shadows) {
            fts_iter_close(&s->shadows[t]);
        }
    }
    free(s->shadows);
    free(s->range_bound);
    free(s->loose);
    for (uint32_t t = 0; t < s->n_xiters; t++) {
        fts_iter_close(&s->xiters[t]);
    }
    for (uint32_t f = 0; f < s->n_filters; f++) {
        for (uint32_t i = 0; i < s->filters[f].n; i++) {
            fts_iter_close(&s->filters[f].iters[i]);
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
            fts_iter_open(s->fts, s->txn, &s->segs, it, f->terms[f->n],
                          s->n_docs, s->avgdl, err);
        if (st != DOSSIER_OK) {
            fts_iter_close(it);
            return st;
        }
        if (it->df == 0) {
            fts_iter_close(it); /* a value no document has: left out */
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
            fts_iter_open(s->fts, s->txn, &s->segs, &s->iters[i], terms[i],
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
            fts_iter_open(s->fts, s->txn, &s->segs, &s->xiters[i], xterms[i],
                          s->n_docs, s->avgdl, err);
        s->n_xiters = i + 1;
        if (st != DOSSIER_OK) {
            return st;
        }
    }
    /* A word both required and excluded ("women -women") matches
       nothing: said at once, not after a walk of all its postings. */
    for (uint32_t x = 0; x < s->n_xphrases; x++) {
        const phrase_t *ph = &s->xphrases[x];
        for (uint32_t i = 0; ph->n == 1 && i < n; i++) {
            if (strcmp(s->xiters[ph->iters[0]].term, s->iters[i].term) == 0) {
                *none = true;
            }
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

/*  Prepares early termination: the sample's size, and a shadow
    iterator per positive term when there are two or more. */
static dossier_status_t
s_early_prepare(search_t *s, dossier_error_t *err) {
    /* A phrase's sample checks positions: a quarter as many. */
    uint32_t df = s->iters[s->order[0]].df;
    uint64_t sample = s->n_phrases ? S_BLOCK_SAMPLE / 4 : S_BLOCK_SAMPLE;
    while (s->block_bits < 31 && sample << (s->block_bits + 1) <= df) {
        s->block_bits++;
    }
    if (s->n_iters < 2) {
        return DOSSIER_OK;
    }
    s->shadows = calloc(s->n_iters, sizeof(iter_t));
    s->range_bound = calloc(s->n_iters, sizeof(double));
    s->loose = calloc(s->n_iters, sizeof(bool));
    if (!s->shadows || !s->range_bound || !s->loose) {
        return fts_oom(err);
    }
    for (uint32_t t = 0; t < s->n_iters; t++) {
        iter_t *sh = &s->shadows[t];
        /* A word far more common than the lead (idf under
           S_SHADOW_IDF_SHARE of the lead's) weighs little in a score:
           bounded by BM25's limit, its idf (k1 + 1), it spares the
           shadow's walk over its many blocks (three terms at 1,000,000
           reports: 6.0 to 4.1 ms; an absolute idf threshold instead
           left a phrase of two common words unpruned, 18 ms). */
        s->loose[t] =
            t != s->order[0] &&
            s->iters[t].idf < S_SHADOW_IDF_SHARE * s->iters[s->order[0]].idf;
        if (s->loose[t] || t == s->order[0]) {
            sh->end = true;
            continue;
        }
        s->n_shadowed++;
        /* The term's iterator as opened, on a cursor of its own. */
        *sh = s->iters[t];
        sh->cur = NULL;
        sh->end = sh->df == 0;
        if (!sh->end) {
            fts_iter_next_seg(sh, 0, 0, s->avgdl);
        }
        if (sh->damaged) {
            return fts_damaged(err, "unreadable postings block");
        }
    }
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
    uint32_t hash = fts_search_request_hash(req);
    if (req->page_token && req->page_token[0] &&
        !fts_search_token_parse(req->page_token, hash, &offset)) {
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
    /* Early termination where the count may be estimated, only the
       ranking's top k is asked for, and the lead's postings are many
       enough for a sample of its blocks to leave some out (fewer are
       walked in well under a millisecond; a phrase's are then checked
       as the deferred check says). */
    s.early = req->estimate_total_hits && !req->facets && s.order_by == 0 &&
              !none && !no_term && s.n_iters > 0 && !s_simple(&s) &&
              s.iters[s.order[0]].df >= 2 * S_BLOCK_SAMPLE;
    if (s.early) {
        st = s_early_prepare(&s, err);
        if (st != DOSSIER_OK) {
            goto done;
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
    if (s.early) {
        /* Every block counted exactly: the count is exact. */
        uint64_t rest = s.rest[0] + s.rest[1] + s.rest[2];
        if (rest == 0) {
            s.total = s.exact_matches; /* every block counted exactly */
        } else {
            double more = 0;
            for (int k = 0; k < S_STRATA; k++) {
                more += s_stratum_estimate(&s, s.rest[k], s.strata[k]);
            }
            uint64_t n = s.exact_matches + (uint64_t)llround(more);
            /* At least the matches found. */
            uint64_t found = s.exact_matches + s.passed;
            s.total = n < found ? found : n;
            estimated = true;
        }
    } else if (s.defer_phrases) {
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
        st = fts_search_hit(fts, txn, s.heap.hits[first + i].docno,
                            s.heap.hits[first + i].score, terms, s.n_iters,
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
        if (!resp->facets ||
            !fts_search_facet_add(fts, txn, resp, "year", s.by_year.counts,
                                  s.by_year.cap, 'y') ||
            !fts_search_facet_add(fts, txn, resp, "tier", s.by_tier.counts,
                                  s.by_tier.cap, 't') ||
            !fts_search_facet_add(fts, txn, resp, "country",
                                  s.by_country.counts, s.by_country.cap,
                                  S_DICT_COUNTRY) ||
            !fts_search_facet_add(fts, txn, resp, "publisher",
                                  s.by_publisher.counts, s.by_publisher.cap,
                                  S_DICT_PUBLISHER) ||
            !fts_search_facet_add(fts, txn, resp, "doc_type",
                                  s.by_doc_type.counts, s.by_doc_type.cap,
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
