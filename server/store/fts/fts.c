/*  store/fts/fts.c: the full-text index of the store (see fts.h for the
    layout): opening the handle, rebuilding an index of an older layout,
    freeing it. The index's parts are in the files beside this one, which
    share fts_internal.h:
      codec.c     errors; postings blocks, encoded and decoded
      document.c  collection state, per-document attributes, the
                  dictionary of attribute values, a document's terms
      write.c     the segment table, the write buffer, update and flush
      merge.c     merging segments
      search.c    postings iterators, matching, ranking, facets, the
                  search request
      snippet.c   the snippets of search hits
      check.c     the check against the records
    and, with headers of their own, tokenize.c (the tokenizer) and
    query.c (the query parser).

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
    whole blocks are passed without decoding). The filters take part as
    terms of their own (fts_internal.h, "Filters as terms"): country,
    publisher, tier and document type one filter term each, a year range of up
   to 8 years the union of its years' terms, each skipping like a word; a wider
   or open-ended range is checked on the candidates' attributes. Each document
   matching every term and filter then passes the exclusions and the phrase
   checks (positions decoded only then) and is counted, so total_hits and facets
   are exact; unless the request accepts an estimate (estimate_total_hits, no
   facets): then a phrase is checked only where the document could still enter
   the page and for a uniform sample of the candidates, and total_hits is the
   candidates times the sample's pass rate (flagged total_hits_estimated).
   Scoring is BM25 (k1 1.2, b 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5))):
   a document is scored only when the sum of its blocks' bounds (BM25 of the
   block's largest frequency at its smallest length), then its own frequencies
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The layout of the index; an older one is rebuilt at open. 3: publishers
   folded with text_fold. 4: one postings database per segment slot. 5:
   filter terms (year, country, publisher, tier) as postings. 6: the
   document type as an attribute and a filter term. */
#define S_FORMAT 6

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
