/*  store/fts/codec.c: the full-text index's errors and its postings
    blocks: a block's header parsed and its docnos and frequencies
    decoded, blocks built and written (appended at the end of a new
    segment, or put back after a posting was cut out), df entries read
    and written, and the seek to the block that holds a docno. The
    layout of a block is in fts.h; the byte and varint tools are inline
    in fts_internal.h. Every decoder here is bounds-checked: damaged
    bytes are false or DOSSIER_DATA_LOSS, never a crash. */
#include "store/fts/fts_internal.h"

#include <errno.h>
#include <string.h>

/* ---- Errors. ---- */

_Thread_local int fts_last_rc;

dossier_status_t
fts_mdb_error(dossier_error_t *err, int rc, const char *what) {
    fts_last_rc = rc;
    dossier_status_t code = DOSSIER_INTERNAL;
    if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL || rc == ENOMEM) {
        code = DOSSIER_RESOURCE_EXHAUSTED;
    } else if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND) {
        code = DOSSIER_DATA_LOSS;
    }
    return dossier_error_set(err, code, "full-text index: %s: %s", what,
                             mdb_strerror(rc));
}

dossier_status_t
fts_oom(dossier_error_t *err) {
    fts_last_rc = ENOMEM;
    return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                             "full-text index: out of memory");
}

dossier_status_t
fts_damaged(dossier_error_t *err, const char *what) {
    fts_last_rc = MDB_CORRUPTED;
    return dossier_error_set(err, DOSSIER_DATA_LOSS,
                             "full-text index damaged: %s", what);
}

/* ---- Postings blocks. ---- */

bool
fts_block_parse(const MDB_val *key, const MDB_val *val, block_t *b) {
    const uint8_t *p = val->mv_data;
    const uint8_t *end = p + val->mv_size;
    uint32_t span = 0;
    uint32_t docs_bytes = 0;
    b->first = fts_get_be32((const uint8_t *)key->mv_data + key->mv_size - 4);
    if (!fts_varint(&p, end, &b->count) || !fts_varint(&p, end, &span) ||
        !fts_varint(&p, end, &b->max_tf) || !fts_varint(&p, end, &b->min_len) ||
        !fts_varint(&p, end, &docs_bytes)) {
        return false;
    }
    if (b->count == 0 || b->count > S_BLOCK_DOCS ||
        span > UINT32_MAX - b->first || docs_bytes > (size_t)(end - p)) {
        return false;
    }
    b->last = b->first + span;
    b->docs = p;
    b->docs_end = p + docs_bytes;
    b->pos = b->docs_end;
    b->pos_end = end;
    return true;
}

bool
fts_block_docs(const block_t *b, uint32_t *docnos, uint32_t *tfs) {
    const uint8_t *p = b->docs;
    uint32_t docno = b->first;
    /* Each position takes a byte at least: frequencies are bounded by the
       positions' bytes, so damage cannot ask for a huge buffer. */
    size_t positions = 0, room = (size_t)(b->pos_end - b->pos);
    for (uint32_t i = 0; i < b->count; i++) {
        uint32_t delta = 0;
        if (b->docs_end - p >= 2 && !((p[0] | p[1]) & 0x80)) {
            /* Most postings: a delta and a frequency of one byte each. */
            delta = p[0];
            tfs[i] = p[1];
            p += 2;
        } else if (!fts_varint(&p, b->docs_end, &delta) ||
                   !fts_varint(&p, b->docs_end, &tfs[i])) {
            return false;
        }
        if (tfs[i] == 0 || (positions += tfs[i]) > room ||
            (i == 0 && delta != 0) || (i > 0 && delta == 0) ||
            delta > UINT32_MAX - docno) {
            return false;
        }
        docno += delta;
        docnos[i] = docno;
    }
    return p == b->docs_end && docno == b->last;
}

void
fts_builder_reset(builder_t *b) {
    b->count = 0;
    b->max_tf = 0;
    b->min_len = UINT32_MAX;
    b->docs.size = 0;
    b->pos.size = 0;
}

static int
s_builder_add(builder_t *b, uint32_t docno, uint32_t tf, uint32_t len,
              const uint8_t *pos, size_t pos_size) {
    if (b->count == 0) {
        b->first = docno;
        b->last = docno;
    }
    if (fts_buf_varint(&b->docs, docno - b->last) != 0 ||
        fts_buf_varint(&b->docs, tf) != 0 ||
        fts_buf_put(&b->pos, pos, pos_size) != 0) {
        return -1;
    }
    b->last = docno;
    b->count++;
    if (tf > b->max_tf) {
        b->max_tf = tf;
    }
    if (len < b->min_len) {
        b->min_len = len;
    }
    return 0;
}

dossier_status_t
fts_builder_write(MDB_dbi post, MDB_txn *txn, MDB_cursor *append,
                  const char *term, size_t len, builder_t *b, buf_t *scratch,
                  dossier_error_t *err) {
    uint8_t k[S_PTERM_MAX + 5];
    memcpy(k, term, len);
    k[len] = 0;
    fts_be32(k + len + 1, b->first);
    scratch->size = 0;
    if (fts_buf_varint(scratch, b->count) != 0 ||
        fts_buf_varint(scratch, b->last - b->first) != 0 ||
        fts_buf_varint(scratch, b->max_tf) != 0 ||
        fts_buf_varint(scratch, b->min_len) != 0 ||
        fts_buf_varint(scratch, (uint32_t)b->docs.size) != 0 ||
        fts_buf_put(scratch, b->docs.data, b->docs.size) != 0 ||
        fts_buf_put(scratch, b->pos.data, b->pos.size) != 0) {
        return fts_oom(err);
    }
    MDB_val key = {len + 5, k};
    MDB_val val = {scratch->size, scratch->data};
    int rc = append ? mdb_cursor_put(append, &key, &val, MDB_APPEND)
                    : mdb_put(txn, post, &key, &val, 0);
    return rc == MDB_SUCCESS ? DOSSIER_OK
                             : fts_mdb_error(err, rc, "writing postings");
}

dossier_status_t
fts_seek_block(MDB_cursor *cur, const char *term, size_t len, uint32_t docno,
               MDB_val *key, MDB_val *val, bool *found, dossier_error_t *err) {
    uint8_t k[S_PTERM_MAX + 5];
    memcpy(k, term, len);
    k[len] = 0;
    fts_be32(k + len + 1, docno);
    key->mv_size = len + 5;
    key->mv_data = k;
    *found = false;
    int rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && fts_is_block_key(key, term, len) &&
        fts_get_be32((const uint8_t *)key->mv_data + len + 1) == docno) {
        *found = true;
        return DOSSIER_OK;
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_cursor_get(cur, key, val, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cur, key, val, MDB_LAST);
    }
    if (rc == MDB_NOTFOUND) {
        return DOSSIER_OK;
    }
    if (rc != MDB_SUCCESS) {
        return fts_mdb_error(err, rc, "seeking postings");
    }
    *found = fts_is_block_key(key, term, len);
    return DOSSIER_OK;
}

dossier_status_t
fts_df_get(MDB_dbi post, MDB_txn *txn, const char *term, size_t len,
           uint32_t *df, dossier_error_t *err) {
    uint8_t k[S_PTERM_MAX + 1];
    memcpy(k, term, len);
    k[len] = 0;
    MDB_val key = {len + 1, k};
    MDB_val val;
    *df = 0;
    int rc = mdb_get(txn, post, &key, &val);
    if (rc == MDB_NOTFOUND) {
        return DOSSIER_OK;
    }
    if (rc != MDB_SUCCESS) {
        return fts_mdb_error(err, rc, "reading a term");
    }
    if (val.mv_size != 4) {
        return fts_damaged(err, "term frequency has the wrong size");
    }
    *df = fts_get_le32(val.mv_data);
    return DOSSIER_OK;
}

static dossier_status_t
s_df_put(MDB_dbi post, MDB_txn *txn, const char *term, size_t len, uint32_t df,
         dossier_error_t *err) {
    uint8_t k[S_PTERM_MAX + 1];
    memcpy(k, term, len);
    k[len] = 0;
    MDB_val key = {len + 1, k};
    int rc;
    if (df == 0) {
        rc = mdb_del(txn, post, &key, NULL);
        if (rc == MDB_NOTFOUND) {
            rc = MDB_SUCCESS;
        }
    } else {
        uint8_t num[4];
        fts_le32(num, df);
        MDB_val val = {4, num};
        rc = mdb_put(txn, post, &key, &val, 0);
    }
    return rc == MDB_SUCCESS ? DOSSIER_OK
                             : fts_mdb_error(err, rc, "writing a term");
}

dossier_status_t
fts_remove_posting(MDB_dbi post, MDB_txn *txn, MDB_cursor *cur,
                   const char *term, size_t len, uint32_t docno,
                   builder_t *builder, buf_t *scratch, dossier_error_t *err) {
    MDB_val key, val;
    bool found = false;
    dossier_status_t st =
        fts_seek_block(cur, term, len, docno, &key, &val, &found, err);
    if (st != DOSSIER_OK || !found) {
        return st;
    }
    block_t b;
    uint32_t docnos[S_BLOCK_DOCS], tfs[S_BLOCK_DOCS];
    if (!fts_block_parse(&key, &val, &b) || !fts_block_docs(&b, docnos, tfs)) {
        return fts_damaged(err, "unreadable postings block");
    }
    if (docno > b.last) {
        return DOSSIER_OK;
    }
    /* Rebuild without docno; keep the header's bounds (still bounds). */
    fts_builder_reset(builder);
    const uint8_t *p = b.pos;
    bool removed = false;
    for (uint32_t i = 0; i < b.count; i++) {
        const uint8_t *start = p;
        for (uint32_t j = 0; j < tfs[i]; j++) {
            uint32_t v;
            if (!fts_varint(&p, b.pos_end, &v)) {
                return fts_damaged(err, "unreadable positions");
            }
        }
        if (docnos[i] == docno) {
            removed = true;
            continue;
        }
        if (s_builder_add(builder, docnos[i], tfs[i], b.min_len, start,
                          (size_t)(p - start)) != 0) {
            return fts_oom(err);
        }
    }
    if (!removed) {
        return DOSSIER_OK;
    }
    builder->max_tf = b.max_tf;
    builder->min_len = b.min_len;
    if (builder->count == 0 || builder->first != b.first) {
        int rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS) {
            return fts_mdb_error(err, rc, "removing postings");
        }
    }
    if (builder->count > 0) {
        st = fts_builder_write(post, txn, NULL, term, len, builder, scratch,
                               err);
        if (st != DOSSIER_OK) {
            return st;
        }
    }
    uint32_t df = 0;
    st = fts_df_get(post, txn, term, len, &df, err);
    if (st != DOSSIER_OK) {
        return st;
    }
    return s_df_put(post, txn, term, len, df ? df - 1 : 0, err);
}

dossier_status_t
fts_df_append(MDB_cursor *append, const uint8_t *pterm, size_t plen,
              uint32_t df, dossier_error_t *err) {
    uint8_t k[S_PTERM_MAX + 1];
    memcpy(k, pterm, plen);
    k[plen] = 0;
    uint8_t num[4];
    fts_le32(num, df);
    MDB_val key = {plen + 1, k};
    MDB_val val = {4, num};
    int rc = mdb_cursor_put(append, &key, &val, MDB_APPEND);
    return rc == MDB_SUCCESS ? DOSSIER_OK
                             : fts_mdb_error(err, rc, "writing a term");
}

dossier_status_t
fts_builder_push(MDB_dbi post, MDB_txn *txn, MDB_cursor *append,
                 const uint8_t *pterm, size_t plen, builder_t *b,
                 buf_t *scratch, uint32_t docno, uint32_t tf, uint32_t len,
                 const uint8_t *pos, size_t pos_size, dossier_error_t *err) {
    size_t bytes = b->docs.size + b->pos.size + pos_size;
    if (b->count == S_BLOCK_DOCS || (b->count > 0 && bytes > S_BLOCK_BYTES)) {
        dossier_status_t st = fts_builder_write(
            post, txn, append, (const char *)pterm, plen, b, scratch, err);
        if (st != DOSSIER_OK) {
            return st;
        }
        fts_builder_reset(b);
    }
    if (s_builder_add(b, docno, tf, len, pos, pos_size) != 0) {
        return fts_oom(err);
    }
    return DOSSIER_OK;
}
