/*  store/fts/iter.c: a search's postings iterators: a term's blocks
    read in docno order over the segments that hold it, skipping by
    block header (and by seek when far ahead), decoding a block's docnos
    and frequencies only when a document in it is wanted, and its
    positions only for a phrase check. search.c drives them;
    fts_internal.h documents each. */
#include "store/fts/fts_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    it->bound = fts_bm25(it->idf, it->blk.max_tf, it->blk.min_len, avgdl);
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
void
fts_iter_next_seg(iter_t *it, uint32_t from, uint32_t d, double avgdl) {
    for (uint32_t k = from; k < it->segs->n && k < 64; k++) {
        if ((it->in_seg >> k & 1) && it->segs->v[k].hi >= d) {
            s_iter_enter(it, k, avgdl);
            return;
        }
    }
    it->end = true;
}

/*  Moves to the next block of the term, or to the end. */
void
fts_iter_next_block(iter_t *it, double avgdl) {
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
    fts_iter_next_seg(it, it->k + 1, 0, avgdl);
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

/*  Moves to the block of the term that would hold d (the first whose
    last docno is >= d), or to the end, reading block headers only. */
void
fts_iter_seek(iter_t *it, uint32_t d, double avgdl) {
    while (!it->end && it->blk.last < d) {
        if (d > it->segs->v[it->k].hi) {
            fts_iter_next_seg(it, it->k + 1, d, avgdl);
            continue;
        }
        uint32_t k = it->k;
        fts_iter_next_block(it, avgdl);
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
}

/*  Returns the first docno >= d of the term (S_END past the last). */
uint32_t
fts_iter_advance(iter_t *it, uint32_t d, double avgdl) {
    fts_iter_seek(it, d, avgdl);
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

/*  Decodes the positions of the current document into *out (n of them).
    Returns false on damage or no memory. */
bool
fts_iter_positions(iter_t *it, uint32_t **out, uint32_t *cap, uint32_t *n) {
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
dossier_status_t
fts_iter_open(store_fts_t *fts, MDB_txn *txn, const segs_t *segs, iter_t *it,
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
    fts_iter_next_seg(it, 0, 0, avgdl);
    return it->damaged ? fts_damaged(err, "unreadable postings block")
                       : DOSSIER_OK;
}

void
fts_iter_close(iter_t *it) {
    if (it->cur) {
        mdb_cursor_close(it->cur);
        it->cur = NULL;
    }
}
