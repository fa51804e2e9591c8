/*  store/fts/write.c: writing the full-text index: the segment table,
    the write buffer of the open batch, the update that indexes a write,
    and the flush that writes the buffer as a new segment (merge.c then
    merges what is due). fts.c tells how writing works. */
#include "store/fts/fts_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "country.h"

/* With store_fts_defer_merges, a commit still merges runs of segments
   covering at most this many documents (those of single writes: cheap);
   larger merges wait for store_fts_merge, except that a commit that
   leaves the index at S_SEGS_DEFERRED segments (each costs a search a
   seek per term) merges one run, the smallest due: a writer that is
   never idle keeps the index bounded that way, one merge every few
   commits, without a commit that merges everything due at once. */
#define S_MERGE_INLINE_DOCS 8192
#define S_SEGS_DEFERRED 48

/* ---- Segments: postings written by one flush, or merged. ---- */

dossier_status_t
fts_segs_get(store_fts_t *fts, MDB_txn *txn, segs_t *segs,
             dossier_error_t *err) {
    MDB_val key = {4, "segs"};
    MDB_val val;
    segs->next_id = 1;
    segs->n = 0;
    int rc = mdb_get(txn, fts->meta, &key, &val);
    if (rc == MDB_NOTFOUND) {
        return DOSSIER_OK;
    }
    if (rc != MDB_SUCCESS) {
        return fts_mdb_error(err, rc, "reading segments");
    }
    size_t n = val.mv_size >= 4 ? (val.mv_size - 4) / 20 : 0;
    if (val.mv_size < 4 || (val.mv_size - 4) % 20 || n > S_SEGS_MAX) {
        return fts_damaged(err, "segment table has the wrong size");
    }
    uint64_t slots_seen[(S_SLOTS + 63) / 64] = {0};
    const uint8_t *p = val.mv_data;
    segs->next_id = fts_get_le32(p);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = p + 4 + 20 * i;
        seg_t *sg = &segs->v[i];
        sg->id = fts_get_le32(e);
        sg->level = fts_get_le32(e + 4);
        sg->lo = fts_get_le32(e + 8);
        sg->hi = fts_get_le32(e + 12);
        sg->slot = fts_get_le32(e + 16);
        if (sg->lo > sg->hi || (i > 0 && sg->lo <= segs->v[i - 1].hi) ||
            sg->id >= segs->next_id) {
            return fts_damaged(err, "segment table is out of order");
        }
        if (sg->slot >= S_SLOTS ||
            (slots_seen[sg->slot / 64] >> (sg->slot % 64) & 1)) {
            return fts_damaged(err, "segment table names a slot twice");
        }
        slots_seen[sg->slot / 64] |= (uint64_t)1 << (sg->slot % 64);
    }
    segs->n = (uint32_t)n;
    return DOSSIER_OK;
}

dossier_status_t
fts_segs_put(store_fts_t *fts, MDB_txn *txn, const segs_t *segs,
             dossier_error_t *err) {
    uint8_t data[4 + 20 * S_SEGS_MAX];
    fts_le32(data, segs->next_id);
    for (uint32_t i = 0; i < segs->n; i++) {
        uint8_t *e = data + 4 + 20 * i;
        fts_le32(e, segs->v[i].id);
        fts_le32(e + 4, segs->v[i].level);
        fts_le32(e + 8, segs->v[i].lo);
        fts_le32(e + 12, segs->v[i].hi);
        fts_le32(e + 16, segs->v[i].slot);
    }
    MDB_val key = {4, "segs"};
    MDB_val val = {4 + 20 * (size_t)segs->n, data};
    int rc = mdb_put(txn, fts->meta, &key, &val, 0);
    return rc == MDB_SUCCESS ? DOSSIER_OK
                             : fts_mdb_error(err, rc, "writing segments");
}

uint32_t
fts_segs_free_slot(const segs_t *segs) {
    uint64_t used[(S_SLOTS + 63) / 64] = {0};
    for (uint32_t i = 0; i < segs->n; i++) {
        used[segs->v[i].slot / 64] |= (uint64_t)1 << (segs->v[i].slot % 64);
    }
    uint32_t slot = 0;
    while (used[slot / 64] >> (slot % 64) & 1) {
        slot++;
    }
    return slot;
}

int
fts_segs_find(const segs_t *segs, uint32_t docno) {
    uint32_t lo = 0, hi = segs->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (segs->v[mid].hi < docno) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < segs->n && segs->v[lo].lo <= docno ? (int)lo : -1;
}

/* ---- The batch: buffered postings. ---- */

store_fts_batch_t *
fts_batch_new(store_fts_t *fts) {
    store_fts_batch_t *self = calloc(1, sizeof(*self));
    if (self) {
        self->fts = fts;
        self->first_pending = S_END;
    }
    return self;
}

/* A term's buffer larger than this is freed at a flush; smaller ones are
   kept for the next batch's terms, which saves a malloc, a few reallocs
   and a free per term and batch. */
#define S_PEND_KEEP_BYTES 4096

static void
s_batch_clear(store_fts_batch_t *self) {
    for (uint32_t i = 0; i < self->n_pends; i++) {
        buf_t *data = &self->pends[i].data;
        if (data->cap > S_PEND_KEEP_BYTES) {
            fts_buf_free(data);
        }
        data->size = 0;
    }
    self->n_pends = 0;
    self->n_chars = 0;
    if (self->table) {
        memset(self->table, 0, self->table_cap * sizeof(*self->table));
    }
    self->n_dead = 0;
    self->n_undo = 0;
    self->undo_dead = 0;
    self->first_pending = S_END;
}

void
fts_batch_destroy(store_fts_batch_t **batch_p) {
    if (!batch_p || !*batch_p) {
        return;
    }
    store_fts_batch_t *self = *batch_p;
    s_batch_clear(self);
    for (uint32_t i = 0; i < self->cap_pends; i++) {
        fts_buf_free(&self->pends[i].data);
    }
    free(self->pends);
    free(self->table);
    free(self->chars);
    free(self->dead);
    free(self->undo);
    fts_doc_free(&self->doc);
    fts_doc_free(&self->filters);
    fts_buf_free(&self->builder.docs);
    fts_buf_free(&self->builder.pos);
    fts_buf_free(&self->scratch);
    fts_buf_free(&self->copy);
    free(self);
    *batch_p = NULL;
}

void
store_fts_reset(store_fts_t *fts) {
    s_batch_clear(fts->batch);
}

int
store_fts_rc(const store_fts_t *fts) {
    return fts->batch->rc;
}

static int
s_batch_grow_table(store_fts_batch_t *self) {
    uint32_t cap = self->table_cap ? self->table_cap * 2 : 4096;
    pend_slot_t *table = calloc(cap, sizeof(*table));
    if (!table) {
        return -1;
    }
    for (uint32_t i = 0; i < self->n_pends; i++) {
        uint32_t hash = self->pends[i].hash;
        uint32_t slot = hash & (cap - 1);
        while (table[slot].index) {
            slot = (slot + 1) & (cap - 1);
        }
        table[slot] = (pend_slot_t){hash, i + 1, self->pends[i].prefix};
    }
    free(self->table);
    self->table = table;
    self->table_cap = cap;
    return 0;
}

/*  Finds or adds the buffer of a document's term; returns its index or
    -1. */
static int64_t
s_pend_find(store_fts_batch_t *self, const char *term, const doc_term_t *t) {
    if ((self->n_pends + 1) * 2 > self->table_cap &&
        s_batch_grow_table(self) != 0) {
        return -1;
    }
    uint32_t hash = t->hash, len = t->len;
    uint32_t slot = hash & (self->table_cap - 1);
    for (const pend_slot_t *e; (e = &self->table[slot])->index != 0;
         slot = (slot + 1) & (self->table_cap - 1)) {
        if (e->hash != hash || e->prefix != t->prefix) {
            continue;
        }
        uint32_t index = e->index - 1;
        if (len < 8) {
            return index; /* the prefix holds the length too */
        }
        pend_t *p = &self->pends[index];
        if (p->len == len &&
            memcmp(self->chars + p->off + 8, term + 8, len - 8) == 0) {
            return index;
        }
    }
    if (self->n_pends == self->cap_pends) {
        uint32_t cap = self->cap_pends ? self->cap_pends * 2 : 4096;
        pend_t *pends = realloc(self->pends, cap * sizeof(*pends));
        if (!pends) {
            return -1;
        }
        /* New slots start without a buffer. */
        memset(pends + self->cap_pends, 0,
               (cap - self->cap_pends) * sizeof(*pends));
        self->pends = pends;
        self->cap_pends = cap;
    }
    if (self->n_chars + len + 1 > self->cap_chars) {
        size_t cap = self->cap_chars ? self->cap_chars * 2 : 65536;
        while (cap < self->n_chars + len + 1) {
            cap *= 2;
        }
        char *chars = realloc(self->chars, cap);
        if (!chars) {
            return -1;
        }
        self->chars = chars;
        self->cap_chars = cap;
    }
    pend_t *p = &self->pends[self->n_pends];
    buf_t kept = p->data; /* emptied by s_batch_clear */
    memset(p, 0, sizeof(*p));
    p->data = kept;
    p->prefix = t->prefix;
    p->hash = hash;
    p->off = (uint32_t)self->n_chars;
    p->len = len;
    memcpy(self->chars + self->n_chars, term, len);
    self->chars[self->n_chars + len] = '\0';
    self->n_chars += len + 1;
    self->table[slot] = (pend_slot_t){hash, self->n_pends + 1, t->prefix};
    return self->n_pends++;
}

/*  Rolls the buffers back to the undo records (after a failure). */
static void
s_batch_rollback(store_fts_batch_t *self) {
    for (uint32_t i = self->n_undo; i-- > 0;) {
        undo_t *u = &self->undo[i];
        pend_t *p = &self->pends[u->index];
        p->count = u->count;
        p->last = u->last;
        p->data.size = u->size;
    }
    self->n_undo = 0;
    if (self->undo_dead) {
        for (uint32_t i = 0; i < self->n_dead; i++) {
            if (self->dead[i] == self->undo_dead) {
                memmove(&self->dead[i], &self->dead[i + 1],
                        (self->n_dead - i - 1) * sizeof(uint32_t));
                self->n_dead--;
                break;
            }
        }
        self->undo_dead = 0;
    }
}

/*  Appends the document d as docno to the buffers. */
static int
s_batch_append(store_fts_batch_t *self, const doc_t *d, uint32_t docno) {
    /* Undo records accumulate over the appends of one update. */
    uint32_t need = self->n_undo + d->n_terms;
    if (self->cap_undo < need) {
        undo_t *undo = realloc(self->undo, need * sizeof(*undo));
        if (!undo) {
            return -1;
        }
        self->undo = undo;
        self->cap_undo = need;
    }
    for (uint32_t i = 0; i < d->n_terms; i++) {
        /* The table is larger than the caches: ask for the slots of the
           terms a few steps ahead. */
        if (i + 8 < d->n_terms && self->table) {
            __builtin_prefetch(
                &self->table[d->terms[i + 8].hash & (self->table_cap - 1)]);
        }
        const doc_term_t *t = &d->terms[i];
        int64_t index = s_pend_find(self, d->chars + t->off, t);
        if (index < 0) {
            return -1;
        }
        pend_t *p = &self->pends[index];
        undo_t *u = &self->undo[self->n_undo++];
        u->index = (uint32_t)index;
        u->count = p->count;
        u->last = p->last;
        u->size = p->data.size;
        if (fts_buf_reserve(&p->data, 5 + (size_t)t->enc_len) != 0) {
            return -1;
        }
        uint8_t *out = p->data.data + p->data.size;
        out = fts_put_varint(out, docno - p->last);
        memcpy(out, d->enc + t->enc_off, t->enc_len);
        out += t->enc_len;
        p->data.size = (size_t)(out - p->data.data);
        p->count++;
        p->last = docno;
    }
    if (docno < self->first_pending) {
        self->first_pending = docno;
    }
    return 0;
}

static int
s_batch_mark_dead(store_fts_batch_t *self, uint32_t docno) {
    if (self->n_dead == self->cap_dead) {
        uint32_t cap = self->cap_dead ? self->cap_dead * 2 : 64;
        uint32_t *dead = realloc(self->dead, cap * sizeof(uint32_t));
        if (!dead) {
            return -1;
        }
        self->dead = dead;
        self->cap_dead = cap;
    }
    uint32_t i = self->n_dead;
    while (i > 0 && self->dead[i - 1] > docno) {
        self->dead[i] = self->dead[i - 1];
        i--;
    }
    self->dead[i] = docno;
    self->n_dead++;
    self->undo_dead = docno;
    return 0;
}

static bool
s_batch_is_dead(const store_fts_batch_t *self, uint32_t docno) {
    uint32_t lo = 0, hi = self->n_dead;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (self->dead[mid] < docno) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < self->n_dead && self->dead[lo] == docno;
}

/*  Parses "YYYY-MM-DD" (or a prefix) into yyyymmdd; 0 when not a date. */
static uint32_t
s_parse_date(const char *s) {
    if (!s) {
        return 0;
    }
    uint32_t parts[3] = {0, 0, 0};
    int widths[3] = {4, 2, 2};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < widths[i]; j++) {
            if (!isdigit((unsigned char)*s)) {
                return i > 0 && j == 0 ? parts[0] * 10000 + parts[1] * 100 : 0;
            }
            parts[i] = parts[i] * 10 + (uint32_t)(*s++ - '0');
        }
        if (i < 2 && *s != '-') {
            return parts[0] * 10000 + parts[1] * 100 + parts[2];
        }
        if (i < 2) {
            s++;
        }
    }
    return parts[0] * 10000 + parts[1] * 100 + parts[2];
}

void
fts_report_country(const Dossier__V1__Report *r, char *buf, size_t size) {
    buf[0] = '\0';
    if (r->country_code && r->country_code[0]) {
        country_key(r->country_code, buf, size);
    } else if (r->country && r->country[0]) {
        country_key(r->country, buf, size);
    }
}

/*  Removes the indexed document docno (with the terms of report). */
static dossier_status_t
s_remove_doc(store_fts_batch_t *self, MDB_txn *txn, const char *id,
             uint32_t docno, const Dossier__V1__Report *report, state_t *state,
             bool *mark_dead, dossier_error_t *err) {
    store_fts_t *fts = self->fts;
    attrs_t ac = {txn, fts->attrs, 0, false, NULL, 0};
    attr_t a;
    if (!fts_attrs_read(&ac, docno, &a)) {
        return fts_mdb_error(err, MDB_CORRUPTED, "reading attributes");
    }
    if (docno >= self->first_pending) {
        *mark_dead = true; /* still in the buffer: skipped at flush */
    } else if (report) {
        if (fts_doc_build(&self->doc, report) != 0) {
            return fts_oom(err);
        }
        segs_t *segs = &self->segs;
        dossier_status_t st = fts_segs_get(fts, txn, segs, err);
        if (st != DOSSIER_OK) {
            return st;
        }
        int seg = fts_segs_find(segs, docno);
        if (seg < 0) {
            goto unmapped; /* a document without terms */
        }
        MDB_dbi post = fts->post[segs->v[seg].slot];
        MDB_cursor *cur = NULL;
        int rc = mdb_cursor_open(txn, post, &cur);
        if (rc != MDB_SUCCESS) {
            return fts_mdb_error(err, rc, "opening postings");
        }
        /* Its words' postings, then its filter terms' (of its attributes
           as indexed). */
        const doc_t *parts[2] = {&self->doc, &self->filters};
        if (fts_doc_filters(&self->filters, &a) != 0) {
            mdb_cursor_close(cur);
            return fts_oom(err);
        }
        for (int part = 0; part < 2; part++) {
            const doc_t *d = parts[part];
            for (uint32_t i = 0; i < d->n_terms; i++) {
                const doc_term_t *t = &d->terms[i];
                uint8_t pterm[S_PTERM_MAX];
                size_t plen = fts_pterm(pterm, segs->v[seg].id,
                                        d->chars + t->off, t->len);
                st = fts_remove_posting(post, txn, cur, (const char *)pterm,
                                        plen, docno, &self->builder,
                                        &self->scratch, err);
                if (st != DOSSIER_OK) {
                    mdb_cursor_close(cur);
                    return st;
                }
            }
        }
        mdb_cursor_close(cur);
    }
unmapped:;
    MDB_val key = {strlen(id), (void *)id};
    int rc = mdb_del(txn, fts->ids, &key, NULL);
    if (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) {
        unsigned k = docno;
        key.mv_size = sizeof(k);
        key.mv_data = &k;
        rc = mdb_del(txn, fts->docs, &key, NULL);
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return fts_mdb_error(err, rc, "removing a docno");
    }
    if (a.live) {
        state->live = state->live ? state->live - 1 : 0;
        state->total_len =
            state->total_len >= a.len ? state->total_len - a.len : 0;
    }
    memset(&a, 0, sizeof(a));
    return fts_attr_write(fts, txn, docno, &a, err);
}

dossier_status_t
fts_update(store_fts_batch_t *batch, MDB_txn *txn,
           const Dossier__V1__Report *old_report,
           const Dossier__V1__Report *new_report, const doc_t *terms,
           dossier_error_t *err) {
    store_fts_t *fts = batch->fts;
    batch->n_undo = 0;
    batch->undo_dead = 0;
    state_t state;
    dossier_status_t st = fts_state_get(fts, txn, &state, err);
    if (st != DOSSIER_OK) {
        return st;
    }
    const char *id =
        new_report ? new_report->id : (old_report ? old_report->id : NULL);
    if (!id || !id[0]) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "full-text index: a record without an id");
    }
    /* The old version: by its docno, whatever old_report says. */
    uint32_t old_docno = 0;
    st = fts_ids_get(fts, txn, id, &old_docno, err);
    if (st != DOSSIER_OK) {
        return st;
    }
    bool mark_dead = false;
    if (old_docno) {
        st = s_remove_doc(batch, txn, id, old_docno, old_report, &state,
                          &mark_dead, err);
        if (st != DOSSIER_OK) {
            return st;
        }
    }
    uint32_t docno = 0;
    uint32_t doc_len = 0;
    const doc_t *doc = terms ? terms : &batch->doc;
    if (new_report) {
        if (state.next_docno == S_END) {
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "full-text index: out of docnos");
        }
        docno = state.next_docno++;
        if (!terms && fts_doc_build(&batch->doc, new_report) != 0) {
            return fts_oom(err);
        }
        doc_len = doc->n_toks;
        char key_buf[256];
        attr_t a = {
            .len = doc_len,
            .date = s_parse_date(new_report->publication_date),
            .year = (uint16_t)(new_report->year > 65535 ? 0 : new_report->year),
            .tier = (uint8_t)new_report->tier,
            .live = 1,
        };
        fts_report_country(new_report, key_buf, sizeof(key_buf));
        if (key_buf[0]) {
            st = fts_dict_intern(fts, txn, S_DICT_COUNTRY, key_buf, &a.country,
                                 err);
        }
        if (st == DOSSIER_OK && new_report->publisher &&
            new_report->publisher[0]) {
            st = fts_dict_intern(fts, txn, S_DICT_PUBLISHER,
                                 new_report->publisher, &a.publisher, err);
        }
        if (st == DOSSIER_OK && new_report->doc_type &&
            new_report->doc_type[0]) {
            st = fts_dict_intern(fts, txn, S_DICT_DOC_TYPE,
                                 new_report->doc_type, &a.doc_type, err);
        }
        if (st == DOSSIER_OK) {
            st = fts_attr_write(fts, txn, docno, &a, err);
        }
        if (st == DOSSIER_OK && fts_doc_filters(&batch->filters, &a) != 0) {
            st = fts_oom(err);
        }
        if (st != DOSSIER_OK) {
            return st;
        }
        uint8_t num[4];
        fts_le32(num, docno);
        MDB_val key = {strlen(id), (void *)id};
        MDB_val val = {4, num};
        int rc = mdb_put(txn, fts->ids, &key, &val, 0);
        if (rc == MDB_SUCCESS) {
            unsigned k = docno;
            key.mv_size = sizeof(k);
            key.mv_data = &k;
            val.mv_size = strlen(id);
            val.mv_data = (void *)id;
            rc = mdb_put(txn, fts->docs, &key, &val, MDB_APPEND);
        }
        if (rc != MDB_SUCCESS) {
            return fts_mdb_error(err, rc, "writing a docno");
        }
        state.live++;
        state.total_len += doc_len;
    }
    st = fts_state_put(fts, txn, &state, err);
    if (st != DOSSIER_OK) {
        return st;
    }
    /* LMDB is done; now the buffers, undone on failure. */
    if (mark_dead && s_batch_mark_dead(batch, old_docno) != 0) {
        return fts_oom(err);
    }
    if (new_report && (s_batch_append(batch, doc, docno) != 0 ||
                       s_batch_append(batch, &batch->filters, docno) != 0)) {
        s_batch_rollback(batch);
        return fts_oom(err);
    }
    return DOSSIER_OK;
}

typedef struct {
    uint64_t prefix; /* the term's first 8 bytes, big-endian, 0-padded */
    const char *term;
    uint32_t index;
} pend_ref_t;

/*  Byte order of the terms, as strcmp: most are told apart by their
    prefixes, without a call or a look at the characters. */
static int
s_pend_order(const void *a, const void *b) {
    const pend_ref_t *x = a, *y = b;
    if (x->prefix != y->prefix) {
        return x->prefix < y->prefix ? -1 : 1;
    }
    return strcmp(x->term, y->term);
}

/*  Sorts refs[0 .. n) into s_pend_order, using tmp (n more) as room: by
    the prefixes, a byte at a time from the last (a stable radix sort,
    skipping bytes all prefixes share), then each run of equal prefixes
    by its terms' remaining bytes. Most runs are one term long. A flush
    sorts tens of thousands of terms; this is a few passes over them,
    where a comparison sort made ~15 calls to s_pend_order per term. */
static void
s_sort_refs(pend_ref_t *refs, pend_ref_t *tmp, uint32_t n) {
    pend_ref_t *from = refs, *to = tmp;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        uint32_t count[256] = {0};
        for (uint32_t i = 0; i < n; i++) {
            count[(from[i].prefix >> shift) & 0xFF]++;
        }
        if (count[(from[0].prefix >> shift) & 0xFF] == n) {
            continue; /* every prefix has this byte */
        }
        for (uint32_t d = 0, sum = 0; d < 256; d++) {
            uint32_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (uint32_t i = 0; i < n; i++) {
            to[count[(from[i].prefix >> shift) & 0xFF]++] = from[i];
        }
        pend_ref_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != refs) {
        memcpy(refs, from, n * sizeof(*refs));
    }
    for (uint32_t i = 0; i < n;) {
        uint32_t end = i + 1;
        while (end < n && refs[end].prefix == refs[i].prefix) {
            end++;
        }
        if (end - i > 1) {
            qsort(refs + i, end - i, sizeof(*refs), s_pend_order);
        }
        i = end;
    }
}

/*  Walks one buffered posting list: s_pend_next yields each posting. */
typedef struct {
    const uint8_t *p, *end;
    uint32_t docno;
    uint32_t left;
} pend_walk_t;

static int
s_pend_next(pend_walk_t *w, uint32_t *docno, uint32_t *tf, uint32_t *len,
            const uint8_t **pos, size_t *pos_size) {
    if (w->left == 0) {
        return 0;
    }
    uint32_t delta = 0, bytes = 0;
    if (!fts_varint(&w->p, w->end, &delta) || !fts_varint(&w->p, w->end, tf) ||
        !fts_varint(&w->p, w->end, len) || !fts_varint(&w->p, w->end, &bytes) ||
        bytes > (size_t)(w->end - w->p)) {
        return -1;
    }
    w->docno += delta;
    *pos = w->p;
    *pos_size = bytes;
    w->p += bytes;
    w->left--;
    *docno = w->docno;
    return 1;
}

static void
s_pend_walk(const pend_t *p, pend_walk_t *w) {
    w->p = p->data.data;
    w->end = w->p + p->data.size;
    w->docno = 0;
    w->left = p->count;
}

/*  Writes one term's buffered postings as the term's part of segment id,
    at the end of the tree. */
static dossier_status_t
s_flush_term(store_fts_batch_t *self, MDB_txn *txn, MDB_dbi post,
             MDB_cursor *append, uint32_t id, const pend_t *p,
             dossier_error_t *err) {
    uint8_t pterm[S_PTERM_MAX];
    size_t plen = fts_pterm(pterm, id, self->chars + p->off, p->len);
    builder_t *b = &self->builder;
    uint32_t docno, tf, len;
    const uint8_t *pos;
    size_t pos_size;
    pend_walk_t w;
    /* The df entry goes first, so count the live postings first. */
    uint32_t df = p->count;
    if (self->n_dead) {
        df = 0;
        s_pend_walk(p, &w);
        int more;
        while ((more = s_pend_next(&w, &docno, &tf, &len, &pos, &pos_size)) >
               0) {
            df += !s_batch_is_dead(self, docno);
        }
        if (more < 0) {
            return dossier_error_set(err, DOSSIER_INTERNAL,
                                     "full-text buffer is inconsistent");
        }
    }
    if (df == 0) {
        return DOSSIER_OK;
    }
    dossier_status_t st = fts_df_append(append, pterm, plen, df, err);
    if (st != DOSSIER_OK) {
        return st;
    }
    fts_builder_reset(b);
    s_pend_walk(p, &w);
    int more;
    while ((more = s_pend_next(&w, &docno, &tf, &len, &pos, &pos_size)) > 0) {
        if (self->n_dead && s_batch_is_dead(self, docno)) {
            continue;
        }
        st = fts_builder_push(post, txn, append, pterm, plen, b, &self->scratch,
                              docno, tf, len, pos, pos_size, err);
        if (st != DOSSIER_OK) {
            return st;
        }
    }
    if (more < 0) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "full-text buffer is inconsistent");
    }
    return fts_builder_write(post, txn, append, (const char *)pterm, plen, b,
                             &self->scratch, err);
}

/* How many terms ahead fts_flush asks for a term's buffer. */
#define S_FLUSH_AHEAD 8

dossier_status_t
fts_flush(store_fts_batch_t *batch, MDB_txn *txn, dossier_error_t *err) {
    store_fts_t *fts = batch->fts;
    /* The terms' order, then as much room for sorting it. */
    pend_ref_t *order =
        batch->n_pends ? malloc(2 * (size_t)batch->n_pends * sizeof(*order))
                       : NULL;
    if (batch->n_pends && !order) {
        return fts_oom(err);
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < batch->n_pends; i++) {
        if (batch->pends[i].count > 0) {
            order[n].prefix = batch->pends[i].prefix;
            order[n].term = batch->chars + batch->pends[i].off;
            order[n++].index = i;
        }
    }
    if (n == 0) {
        free(order);
        s_batch_clear(batch);
        return DOSSIER_OK;
    }
    /* Terms in key order: the new segment is written by appending. */
    s_sort_refs(order, order + batch->n_pends, n);
    segs_t *segs = &batch->segs;
    state_t state;
    dossier_status_t st = fts_segs_get(fts, txn, segs, err);
    if (st == DOSSIER_OK) {
        st = fts_state_get(fts, txn, &state, err);
    }
    if (st != DOSSIER_OK) {
        free(order);
        return st;
    }
    if (segs->n == S_SEGS_MAX || segs->next_id == UINT32_MAX) {
        free(order);
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "full-text index: too many segments");
    }
    uint32_t id = segs->next_id++;
    uint32_t slot = fts_segs_free_slot(segs);
    MDB_cursor *append = NULL;
    int rc = mdb_cursor_open(txn, fts->post[slot], &append);
    if (rc != MDB_SUCCESS) {
        free(order);
        return fts_mdb_error(err, rc, "opening postings");
    }
    for (uint32_t i = 0; i < n && st == DOSSIER_OK; i++) {
        /* Terms go in key order, their buffers lie anywhere and were
           written a whole batch ago: ask for a later term's buffer
           header, and once that is in, its data. */
        if (i + S_FLUSH_AHEAD * 2 < n) {
            __builtin_prefetch(
                &batch->pends[order[i + S_FLUSH_AHEAD * 2].index].data);
        }
        if (i + S_FLUSH_AHEAD < n) {
            __builtin_prefetch(
                batch->pends[order[i + S_FLUSH_AHEAD].index].data.data);
        }
        st = s_flush_term(batch, txn, fts->post[slot], append, id,
                          &batch->pends[order[i].index], err);
    }
    mdb_cursor_close(append);
    free(order);
    if (st == DOSSIER_OK) {
        seg_t seg = {id, 0, batch->first_pending, state.next_docno - 1, slot};
        segs->v[segs->n++] = seg;
        st = fts_merge_levels(
            batch, txn, segs,
            fts->defer_merges ? S_MERGE_INLINE_DOCS : UINT32_MAX, err);
        uint32_t fanin;
        int first;
        if (st == DOSSIER_OK && fts->defer_merges &&
            segs->n >= S_SEGS_DEFERRED &&
            (first = fts_merge_pick(segs, UINT32_MAX, true, &fanin)) >= 0) {
            st = fts_merge(batch, txn, segs, (uint32_t)first, fanin, err);
        }
    }
    if (st == DOSSIER_OK) {
        st = fts_segs_put(fts, txn, segs, err);
    }
    if (st == DOSSIER_OK) {
        s_batch_clear(batch);
    }
    return st;
}

dossier_status_t
store_fts_update_terms(store_fts_t *fts, MDB_txn *txn,
                       const Dossier__V1__Report *old_report,
                       const Dossier__V1__Report *new_report,
                       const store_fts_terms_t *terms, dossier_error_t *err) {
    store_fts_batch_t *batch = fts->batch;
    fts_last_rc = 0;
    dossier_status_t st = fts_update(batch, txn, old_report, new_report,
                                     terms ? &terms->doc : NULL, err);
    batch->rc = st == DOSSIER_OK ? 0 : (fts_last_rc ? fts_last_rc : EINVAL);
    return st;
}

dossier_status_t
store_fts_update(store_fts_t *fts, MDB_txn *txn,
                 const Dossier__V1__Report *old_report,
                 const Dossier__V1__Report *new_report, dossier_error_t *err) {
    return store_fts_update_terms(fts, txn, old_report, new_report, NULL, err);
}

dossier_status_t
store_fts_flush(store_fts_t *fts, MDB_txn *txn, dossier_error_t *err) {
    store_fts_batch_t *batch = fts->batch;
    fts_last_rc = 0;
    dossier_status_t st = fts_flush(batch, txn, err);
    batch->rc = st == DOSSIER_OK ? 0 : (fts_last_rc ? fts_last_rc : EINVAL);
    return st;
}
