/*  store/fts/merge.c: merging segments. A run of segments of one level
    (S_MERGE_FANIN_0 of level 0, S_MERGE_FANIN above) becomes one segment
    of the next level: the terms merged in key order and appended, full
    blocks moved whole, the merged slots emptied by mdb_drop. A flush
    (write.c) merges what is due; store_fts_merge merges one run when
    store_fts_defer_merges left it for later. */
#include "store/fts/fts_internal.h"

#include <errno.h>
#include <string.h>

#include "store/fts/tokenize.h"

/* Segments merged at once: 4 of level 0 (one batch each, cheap to merge
   and costly to keep: each repeats every term's key), 8 above. */
#define S_MERGE_FANIN 8
#define S_MERGE_FANIN_0 4

/*  The term of a df entry key of a segment (prefix, term, NUL), or NULL
    when key is not one. */
static const uint8_t *
s_df_key_term(const MDB_val *key, uint32_t id, size_t *len) {
    const uint8_t *k = key->mv_data;
    if (key->mv_size < 6 || key->mv_size > S_PTERM_MAX + 1 ||
        fts_get_be32(k) != id || k[key->mv_size - 1] != 0 ||
        memchr(k + 4, 0, key->mv_size - 5) != NULL) {
        return NULL;
    }
    *len = key->mv_size - 5;
    return k + 4;
}

/*  A merge's view of one segment: the term its cursor is on, copied
    (the page under the cursor may move while the merge writes). */
typedef struct {
    bool live; /* on a term entry of the segment */
    uint32_t len;
    char term[TOKENIZE_MAX_TERM];
} merge_head_t;

/*  Sets h from the entry key a segment's cursor is on (rc: the cursor
    operation's result). */
static void
s_merge_head_set(merge_head_t *h, int rc, const MDB_val *key, uint32_t id) {
    size_t len = 0;
    const uint8_t *t = rc == MDB_SUCCESS ? s_df_key_term(key, id, &len) : NULL;
    h->live = t != NULL && len <= TOKENIZE_MAX_TERM;
    if (h->live) {
        memcpy(h->term, t, len);
        h->len = (uint32_t)len;
    }
}

/*  Byte order of two heads' terms (strcmp's, as no term holds a NUL). */
static int
s_merge_head_cmp(const merge_head_t *a, const merge_head_t *b) {
    int c = memcmp(a->term, b->term, a->len < b->len ? a->len : b->len);
    return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

dossier_status_t
fts_merge(store_fts_batch_t *self, MDB_txn *txn, segs_t *segs, uint32_t first,
          uint32_t n, dossier_error_t *err) {
    store_fts_t *fts = self->fts;
    MDB_cursor *cur[S_MERGE_FANIN] = {NULL};
    MDB_cursor *append = NULL;
    merge_head_t head[S_MERGE_FANIN] = {{0}};
    MDB_val key[S_MERGE_FANIN], val;
    dossier_status_t st = DOSSIER_OK;
    uint32_t id = segs->next_id;
    uint32_t slot = fts_segs_free_slot(segs);
    MDB_dbi post = fts->post[slot];
    int rc = mdb_cursor_open(txn, post, &append);
    for (uint32_t i = 0; rc == MDB_SUCCESS && i < n; i++) {
        rc = mdb_cursor_open(txn, fts->post[segs->v[first + i].slot], &cur[i]);
        if (rc == MDB_SUCCESS) {
            uint8_t prefix[4];
            fts_be32(prefix, segs->v[first + i].id);
            key[i].mv_size = 4;
            key[i].mv_data = prefix;
            rc = mdb_cursor_get(cur[i], &key[i], &val, MDB_SET_RANGE);
            s_merge_head_set(&head[i], rc, &key[i], segs->v[first + i].id);
            rc = rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
        }
    }
    if (rc != MDB_SUCCESS) {
        st = fts_mdb_error(err, rc, "opening segments");
        goto done;
    }
    builder_t *b = &self->builder;
    for (;;) {
        /* The smallest term at the heads. */
        const merge_head_t *min = NULL;
        for (uint32_t i = 0; i < n; i++) {
            if (head[i].live && (!min || s_merge_head_cmp(&head[i], min) < 0)) {
                min = &head[i];
            }
        }
        if (!min) {
            break;
        }
        char term[TOKENIZE_MAX_TERM];
        size_t tlen = min->len;
        memcpy(term, min->term, tlen);
        /* df: the sum of the heads holding the term. */
        uint32_t df = 0;
        bool has[S_MERGE_FANIN] = {false};
        for (uint32_t i = 0; i < n; i++) {
            if (head[i].live && head[i].len == tlen &&
                memcmp(head[i].term, term, tlen) == 0) {
                MDB_val dv;
                rc = mdb_cursor_get(cur[i], &key[i], &dv, MDB_GET_CURRENT);
                if (rc != MDB_SUCCESS || dv.mv_size != 4) {
                    st = fts_damaged(err, "unreadable term entry");
                    goto done;
                }
                df += fts_get_le32(dv.mv_data);
                has[i] = true;
            }
        }
        uint8_t pterm[S_PTERM_MAX];
        size_t plen = fts_pterm(pterm, id, term, tlen);
        st = fts_df_append(append, pterm, plen, df, err);
        if (st != DOSSIER_OK) {
            goto done;
        }
        fts_builder_reset(b);
        for (uint32_t i = 0; i < n; i++) {
            if (!has[i]) {
                continue;
            }
            uint8_t src[S_PTERM_MAX];
            size_t slen = fts_pterm(src, segs->v[first + i].id, term, tlen);
            for (;;) {
                rc = mdb_cursor_get(cur[i], &key[i], &val, MDB_NEXT);
                if (rc != MDB_SUCCESS ||
                    !fts_is_block_key(&key[i], (const char *)src, slen)) {
                    break;
                }
                /* Copy the block: appending may move pages. */
                self->copy.size = 0;
                if (fts_buf_put(&self->copy, key[i].mv_data, key[i].mv_size) !=
                        0 ||
                    fts_buf_put(&self->copy, val.mv_data, val.mv_size) != 0) {
                    st = fts_oom(err);
                    goto done;
                }
                MDB_val ck = {key[i].mv_size, self->copy.data};
                MDB_val cv = {val.mv_size, self->copy.data + key[i].mv_size};
                block_t blk;
                uint32_t docnos[S_BLOCK_DOCS], tfs[S_BLOCK_DOCS];
                if (!fts_block_parse(&ck, &cv, &blk)) {
                    st = fts_damaged(err, "unreadable postings block");
                    goto done;
                }
                if (blk.count == S_BLOCK_DOCS ||
                    cv.mv_size >= S_BLOCK_BYTES / 2) {
                    /* A full block moves as it is, under the new id
                       (after what the builder holds): no re-encoding. */
                    if (b->count > 0) {
                        st = fts_builder_write(post, txn, append,
                                               (const char *)pterm, plen, b,
                                               &self->scratch, err);
                        if (st != DOSSIER_OK) {
                            goto done;
                        }
                        fts_builder_reset(b);
                    }
                    uint8_t nk[S_PTERM_MAX + 5];
                    memcpy(nk, pterm, plen);
                    nk[plen] = 0;
                    fts_be32(nk + plen + 1, blk.first);
                    MDB_val nkey = {plen + 5, nk};
                    rc = mdb_cursor_put(append, &nkey, &cv, MDB_APPEND);
                    if (rc != MDB_SUCCESS) {
                        st = fts_mdb_error(err, rc, "writing postings");
                        goto done;
                    }
                    continue;
                }
                if (!fts_block_docs(&blk, docnos, tfs)) {
                    st = fts_damaged(err, "unreadable postings block");
                    goto done;
                }
                const uint8_t *p = blk.pos;
                for (uint32_t d = 0; d < blk.count; d++) {
                    const uint8_t *start = p;
                    for (uint32_t j = 0; j < tfs[d]; j++) {
                        uint32_t v;
                        if (!fts_varint(&p, blk.pos_end, &v)) {
                            st = fts_damaged(err, "unreadable positions");
                            goto done;
                        }
                    }
                    st = fts_builder_push(post, txn, append, pterm, plen, b,
                                          &self->scratch, docnos[d], tfs[d],
                                          blk.min_len, start,
                                          (size_t)(p - start), err);
                    if (st != DOSSIER_OK) {
                        goto done;
                    }
                }
            }
            if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
                st = fts_mdb_error(err, rc, "reading a segment");
                goto done;
            }
            s_merge_head_set(&head[i], rc, &key[i], segs->v[first + i].id);
        }
        if (b->count > 0) {
            st = fts_builder_write(post, txn, append, (const char *)pterm, plen,
                                   b, &self->scratch, err);
            if (st != DOSSIER_OK) {
                goto done;
            }
        }
    }
    /* Emptied whole: its pages go back to the free list in one walk of
       the tree's branch pages, not a delete (and rebalance) per entry. */
    for (uint32_t i = 0; i < n && st == DOSSIER_OK; i++) {
        mdb_cursor_close(cur[i]);
        cur[i] = NULL;
        rc = mdb_drop(txn, fts->post[segs->v[first + i].slot], 0);
        if (rc != MDB_SUCCESS) {
            st = fts_mdb_error(err, rc, "removing a merged segment");
        }
    }
    if (st == DOSSIER_OK) {
        seg_t merged = {id, segs->v[first].level + 1, segs->v[first].lo,
                        segs->v[first + n - 1].hi, slot};
        segs->next_id++;
        segs->v[first] = merged;
        memmove(&segs->v[first + 1], &segs->v[first + n],
                (segs->n - first - n) * sizeof(seg_t));
        segs->n -= n - 1;
    }
done:
    for (uint32_t i = 0; i < n; i++) {
        if (cur[i]) {
            mdb_cursor_close(cur[i]);
        }
    }
    if (append) {
        mdb_cursor_close(append);
    }
    return st;
}

int
fts_merge_pick(const segs_t *segs, uint32_t max_docs, bool smallest,
               uint32_t *fanin) {
    int best = -1;
    uint32_t best_docs = max_docs;
    for (uint32_t i = 0; i < segs->n; i++) {
        uint32_t level = segs->v[i].level;
        uint32_t need = level == 0 ? S_MERGE_FANIN_0 : S_MERGE_FANIN;
        uint32_t n = 1;
        while (i + n < segs->n && segs->v[i + n].level == level) {
            n++;
        }
        uint32_t docs =
            n >= need ? segs->v[i + need - 1].hi - segs->v[i].lo : UINT32_MAX;
        if (n >= need && docs < best_docs) {
            best = (int)i;
            best_docs = docs;
            *fanin = need;
            if (!smallest) {
                break;
            }
        }
        i += n - 1;
    }
    return best;
}

/*  The first run due of fewer than max_docs documents (fts_merge_pick). */
static int
s_merge_due(const segs_t *segs, uint32_t max_docs, uint32_t *fanin) {
    return fts_merge_pick(segs, max_docs, false, fanin);
}

dossier_status_t
fts_merge_levels(store_fts_batch_t *self, MDB_txn *txn, segs_t *segs,
                 uint32_t max_docs, dossier_error_t *err) {
    uint32_t fanin;
    for (int first; (first = s_merge_due(segs, max_docs, &fanin)) >= 0;) {
        dossier_status_t st =
            fts_merge(self, txn, segs, (uint32_t)first, fanin, err);
        if (st != DOSSIER_OK) {
            return st;
        }
    }
    return DOSSIER_OK;
}

void
store_fts_defer_merges(store_fts_t *fts, bool defer) {
    fts->defer_merges = defer;
}

dossier_status_t
store_fts_merge(store_fts_t *fts, MDB_txn *txn, bool *merged, bool *more,
                dossier_error_t *err) {
    store_fts_batch_t *batch = fts->batch;
    segs_t *segs = &batch->segs;
    *merged = *more = false;
    fts_last_rc = 0;
    dossier_status_t st = fts_segs_get(fts, txn, segs, err);
    uint32_t fanin;
    int first = st == DOSSIER_OK ? s_merge_due(segs, UINT32_MAX, &fanin) : -1;
    if (first >= 0) {
        st = fts_merge(batch, txn, segs, (uint32_t)first, fanin, err);
        if (st == DOSSIER_OK) {
            st = fts_segs_put(fts, txn, segs, err);
        }
        if (st == DOSSIER_OK) {
            *merged = true;
            *more = s_merge_due(segs, UINT32_MAX, &fanin) >= 0;
        }
    }
    batch->rc = st == DOSSIER_OK ? 0 : (fts_last_rc ? fts_last_rc : EINVAL);
    return st;
}

dossier_status_t
store_fts_segments(store_fts_t *fts, MDB_txn *txn, uint32_t *n, bool *merge_due,
                   dossier_error_t *err) {
    segs_t segs;
    uint32_t fanin;
    dossier_status_t st = fts_segs_get(fts, txn, &segs, err);
    *n = st == DOSSIER_OK ? segs.n : 0;
    *merge_due =
        st == DOSSIER_OK && s_merge_due(&segs, UINT32_MAX, &fanin) >= 0;
    return st;
}
