/*  store/fts/document.c: what the full-text index holds of each document
    and of the collection besides postings: the collection state (next
    docno, live documents, total length), each document's attributes in
    chunks of 64, its docno by record id, the dictionary of attribute
    values (countries, publishers), and a document's terms (term ->
    frequency and positions, encoded as the write buffer takes them),
    with the public store_fts_terms_* and scratch calls that tokenize a
    report ahead of its write, on any thread. */
#include "store/fts/fts_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/fts/tokenize.h"
#include "text.h"

#define S_ATTRS_PER_CHUNK 64
#define S_ATTR_SIZE 24
#define S_DICT_KEY_MAX 400

/* ---- Collection state and per-document attributes. ---- */

dossier_status_t
fts_state_get(store_fts_t *fts, MDB_txn *txn, state_t *state,
              dossier_error_t *err) {
    MDB_val key = {5, "state"};
    MDB_val val;
    memset(state, 0, sizeof(*state));
    state->next_docno = 1; /* docno 0 is never used */
    int rc = mdb_get(txn, fts->meta, &key, &val);
    if (rc == MDB_NOTFOUND) {
        return DOSSIER_OK;
    }
    if (rc != MDB_SUCCESS) {
        return fts_mdb_error(err, rc, "reading state");
    }
    if (val.mv_size != 20) {
        return fts_damaged(err, "state has the wrong size");
    }
    const uint8_t *p = val.mv_data;
    state->next_docno = fts_get_le32(p);
    state->live = (uint64_t)fts_get_le32(p + 4) | (uint64_t)fts_get_le32(p + 8)
                                                      << 32;
    state->total_len =
        (uint64_t)fts_get_le32(p + 12) | (uint64_t)fts_get_le32(p + 16) << 32;
    return DOSSIER_OK;
}

dossier_status_t
fts_state_put(store_fts_t *fts, MDB_txn *txn, const state_t *state,
              dossier_error_t *err) {
    uint8_t data[20];
    fts_le32(data, state->next_docno);
    fts_le32(data + 4, (uint32_t)state->live);
    fts_le32(data + 8, (uint32_t)(state->live >> 32));
    fts_le32(data + 12, (uint32_t)state->total_len);
    fts_le32(data + 16, (uint32_t)(state->total_len >> 32));
    MDB_val key = {5, "state"};
    MDB_val val = {sizeof(data), data};
    int rc = mdb_put(txn, fts->meta, &key, &val, 0);
    return rc == MDB_SUCCESS ? DOSSIER_OK
                             : fts_mdb_error(err, rc, "writing state");
}

static void
s_attr_decode(const uint8_t *p, attr_t *a) {
    a->len = fts_get_le32(p);
    a->country = fts_get_le32(p + 4);
    a->publisher = fts_get_le32(p + 8);
    a->date = fts_get_le32(p + 12);
    a->year = (uint16_t)(p[16] | p[17] << 8);
    a->tier = p[18];
    a->live = p[19];
    a->doc_type = fts_get_le32(p + 20);
}

static void
s_attr_encode(uint8_t *p, const attr_t *a) {
    fts_le32(p, a->len);
    fts_le32(p + 4, a->country);
    fts_le32(p + 8, a->publisher);
    fts_le32(p + 12, a->date);
    p[16] = (uint8_t)a->year;
    p[17] = (uint8_t)(a->year >> 8);
    p[18] = a->tier;
    p[19] = a->live;
    fts_le32(p + 20, a->doc_type);
}

bool
fts_attrs_read(attrs_t *c, uint32_t docno, attr_t *a) {
    unsigned chunk = docno / S_ATTRS_PER_CHUNK;
    if (!c->have || c->chunk != chunk) {
        MDB_val key = {sizeof(chunk), &chunk};
        MDB_val val;
        int rc = mdb_get(c->txn, c->dbi, &key, &val);
        if (rc == MDB_NOTFOUND) {
            val.mv_data = NULL;
            val.mv_size = 0;
        } else if (rc != MDB_SUCCESS) {
            return false;
        }
        c->chunk = chunk;
        c->have = true;
        c->data = val.mv_data;
        c->size = val.mv_size;
    }
    size_t off = (size_t)(docno % S_ATTRS_PER_CHUNK) * S_ATTR_SIZE;
    if (off + S_ATTR_SIZE > c->size) {
        memset(a, 0, sizeof(*a));
        return true;
    }
    s_attr_decode(c->data + off, a);
    return true;
}

dossier_status_t
fts_attr_write(store_fts_t *fts, MDB_txn *txn, uint32_t docno, const attr_t *a,
               dossier_error_t *err) {
    unsigned chunk = docno / S_ATTRS_PER_CHUNK;
    uint8_t data[S_ATTRS_PER_CHUNK * S_ATTR_SIZE];
    MDB_val key = {sizeof(chunk), &chunk};
    MDB_val val;
    memset(data, 0, sizeof(data));
    int rc = mdb_get(txn, fts->attrs, &key, &val);
    if (rc == MDB_SUCCESS) {
        memcpy(data, val.mv_data,
               val.mv_size < sizeof(data) ? val.mv_size : sizeof(data));
    } else if (rc != MDB_NOTFOUND) {
        return fts_mdb_error(err, rc, "reading attributes");
    }
    s_attr_encode(data + (docno % S_ATTRS_PER_CHUNK) * S_ATTR_SIZE, a);
    val.mv_size = sizeof(data);
    val.mv_data = data;
    rc = mdb_put(txn, fts->attrs, &key, &val, 0);
    return rc == MDB_SUCCESS ? DOSSIER_OK
                             : fts_mdb_error(err, rc, "writing attributes");
}

dossier_status_t
fts_ids_get(store_fts_t *fts, MDB_txn *txn, const char *id, uint32_t *docno,
            dossier_error_t *err) {
    MDB_val key = {strlen(id), (void *)id};
    MDB_val val;
    *docno = 0;
    if (key.mv_size == 0) {
        return DOSSIER_OK;
    }
    int rc = mdb_get(txn, fts->ids, &key, &val);
    if (rc == MDB_NOTFOUND) {
        return DOSSIER_OK;
    }
    if (rc != MDB_SUCCESS) {
        return fts_mdb_error(err, rc, "reading a docno");
    }
    if (val.mv_size != 4) {
        return fts_damaged(err, "docno has the wrong size");
    }
    *docno = fts_get_le32(val.mv_data);
    return DOSSIER_OK;
}

/* ---- The dictionary of attribute values (countries, publishers). ---- */

/*  The dictionary key of a value: kind, then the value (publishers
    and document types case- and accent-folded with text_fold, as List
    compares them), cut
    to S_DICT_KEY_MAX bytes. Returns its length, 0 when out of memory. */
static size_t
s_dict_key(char kind, const char *value, uint8_t *key) {
    char *folded = NULL;
    if (kind == S_DICT_PUBLISHER || kind == S_DICT_DOC_TYPE) {
        folded = text_fold(value, strlen(value));
        if (!folded) {
            return 0;
        }
        value = folded;
    }
    size_t len = strlen(value);
    if (len > S_DICT_KEY_MAX) {
        len = S_DICT_KEY_MAX;
    }
    key[0] = (uint8_t)kind;
    memcpy(key + 1, value, len);
    free(folded);
    return len + 1;
}

dossier_status_t
fts_dict_find(store_fts_t *fts, MDB_txn *txn, char kind, const char *value,
              uint32_t *id, dossier_error_t *err) {
    uint8_t k[S_DICT_KEY_MAX + 1];
    MDB_val key = {s_dict_key(kind, value, k), k};
    MDB_val val;
    *id = 0;
    if (key.mv_size == 0) {
        return fts_oom(err);
    }
    int rc = mdb_get(txn, fts->dict, &key, &val);
    if (rc == MDB_NOTFOUND) {
        return DOSSIER_OK;
    }
    if (rc != MDB_SUCCESS) {
        return fts_mdb_error(err, rc, "reading the dictionary");
    }
    if (val.mv_size != 4) {
        return fts_damaged(err, "dictionary entry has the wrong size");
    }
    *id = fts_get_le32(val.mv_data);
    return DOSSIER_OK;
}

dossier_status_t
fts_dict_intern(store_fts_t *fts, MDB_txn *txn, char kind, const char *value,
                uint32_t *id, dossier_error_t *err) {
    dossier_status_t st = fts_dict_find(fts, txn, kind, value, id, err);
    if (st != DOSSIER_OK || *id) {
        return st;
    }
    /* The next id of this kind lives under the reverse key of id 0. */
    uint8_t counter_key[5] = {(uint8_t)(kind | 0x80), 0, 0, 0, 0};
    MDB_val key = {sizeof(counter_key), counter_key};
    MDB_val val;
    uint32_t next = 1;
    int rc = mdb_get(txn, fts->dict, &key, &val);
    if (rc == MDB_SUCCESS && val.mv_size == 4) {
        next = fts_get_le32(val.mv_data);
    } else if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return fts_mdb_error(err, rc, "reading the dictionary");
    }
    uint8_t num[4];
    fts_le32(num, next + 1);
    val.mv_size = 4;
    val.mv_data = num;
    rc = mdb_put(txn, fts->dict, &key, &val, 0);
    if (rc == MDB_SUCCESS) {
        uint8_t k[S_DICT_KEY_MAX + 1];
        key.mv_size = s_dict_key(kind, value, k);
        key.mv_data = k;
        fts_le32(num, next);
        rc = key.mv_size ? mdb_put(txn, fts->dict, &key, &val, 0) : ENOMEM;
    }
    if (rc == MDB_SUCCESS) {
        uint8_t rkey[5] = {(uint8_t)(kind | 0x80)};
        fts_be32(rkey + 1, next);
        key.mv_size = sizeof(rkey);
        key.mv_data = rkey;
        size_t len = strlen(value);
        val.mv_size = len > S_DICT_KEY_MAX ? S_DICT_KEY_MAX : len;
        val.mv_data = (void *)value;
        rc = mdb_put(txn, fts->dict, &key, &val, 0);
    }
    if (rc != MDB_SUCCESS) {
        return fts_mdb_error(err, rc, "writing the dictionary");
    }
    *id = next;
    return DOSSIER_OK;
}

char *
fts_dict_value(store_fts_t *fts, MDB_txn *txn, char kind, uint32_t id) {
    uint8_t rkey[5] = {(uint8_t)(kind | 0x80)};
    fts_be32(rkey + 1, id);
    MDB_val key = {sizeof(rkey), rkey};
    MDB_val val;
    if (mdb_get(txn, fts->dict, &key, &val) != MDB_SUCCESS) {
        return NULL;
    }
    return text_utf8_sanitize(val.mv_data, val.mv_size);
}

/* ---- A document's terms: term -> frequency and positions. ---- */

/*  A term's hash in the term tables held in memory (a document's, a
    batch's; never stored): its prefix (token_t.prefix) and length mixed
    (murmur3's finalizer), with FNV-1a over any bytes past the first 8.
    The prefix comes from the tokenizer, so a term of up to 8 bytes, most
    of them, is hashed without a pass over its bytes. */
static uint32_t
s_term_hash(uint64_t prefix, const char *term, size_t len) {
    uint64_t h = prefix ^ len;
    if (len > 8) {
        uint32_t rest = fts_hash(term + 8, len - 8);
        h ^= (uint64_t)rest << 32 | rest;
    }
    return (uint32_t)fts_mix64(h);
}

void
fts_doc_free(doc_t *d) {
    free(d->terms);
    free(d->chars);
    free(d->table);
    free(d->tok_term);
    free(d->tok_pos);
    free(d->positions);
    free(d->enc);
    memset(d, 0, sizeof(*d));
}

static void
s_doc_reset(doc_t *d) {
    d->n_terms = 0;
    d->n_chars = 0;
    d->n_toks = 0;
    if (d->table) {
        memset(d->table, 0, d->table_cap * sizeof(uint32_t));
    }
}

static int
s_doc_grow_table(doc_t *d) {
    uint32_t cap = d->table_cap ? d->table_cap * 2 : 1024;
    uint32_t *table = calloc(cap, sizeof(uint32_t));
    if (!table) {
        return -1;
    }
    for (uint32_t i = 0; i < d->n_terms; i++) {
        uint32_t slot = d->terms[i].hash & (cap - 1);
        while (table[slot]) {
            slot = (slot + 1) & (cap - 1);
        }
        table[slot] = i + 1;
    }
    free(d->table);
    d->table = table;
    d->table_cap = cap;
    return 0;
}

static int
s_doc_add(doc_t *d, const token_t *tok) {
    if ((d->n_terms + 1) * 2 > d->table_cap && s_doc_grow_table(d) != 0) {
        return -1;
    }
    uint32_t hash = s_term_hash(tok->prefix, tok->term, tok->len);
    uint32_t slot = hash & (d->table_cap - 1);
    uint32_t index = UINT32_MAX;
    while (d->table[slot]) {
        doc_term_t *t = &d->terms[d->table[slot] - 1];
        /* Equal prefixes: equal first 8 bytes, all of a short term. */
        if (t->hash == hash && t->len == tok->len && t->prefix == tok->prefix &&
            (tok->len <= 8 ||
             memcmp(d->chars + t->off + 8, tok->term + 8, tok->len - 8) == 0)) {
            index = d->table[slot] - 1;
            break;
        }
        slot = (slot + 1) & (d->table_cap - 1);
    }
    if (index == UINT32_MAX) {
        if (d->n_terms == d->cap_terms) {
            uint32_t cap = d->cap_terms ? d->cap_terms * 2 : 256;
            doc_term_t *terms = realloc(d->terms, cap * sizeof(*terms));
            if (!terms) {
                return -1;
            }
            d->terms = terms;
            d->cap_terms = cap;
        }
        if (d->n_chars + tok->len + 1 > d->cap_chars) {
            size_t cap = d->cap_chars ? d->cap_chars * 2 : 4096;
            while (cap < d->n_chars + tok->len + 1) {
                cap *= 2;
            }
            char *chars = realloc(d->chars, cap);
            if (!chars) {
                return -1;
            }
            d->chars = chars;
            d->cap_chars = cap;
        }
        index = d->n_terms++;
        doc_term_t *t = &d->terms[index];
        t->hash = hash;
        t->prefix = tok->prefix;
        t->off = (uint32_t)d->n_chars;
        t->len = (uint32_t)tok->len;
        t->tf = 0;
        memcpy(d->chars + d->n_chars, tok->term, tok->len + 1);
        d->n_chars += tok->len + 1;
        d->table[slot] = index + 1;
    }
    if (d->n_toks == d->cap_toks) {
        uint32_t cap = d->cap_toks ? d->cap_toks * 2 : 1024;
        uint32_t *a = realloc(d->tok_term, cap * sizeof(uint32_t));
        if (!a) {
            return -1;
        }
        d->tok_term = a;
        uint32_t *b = realloc(d->tok_pos, cap * sizeof(uint32_t));
        if (!b) {
            return -1;
        }
        d->tok_pos = b;
        uint32_t *c = realloc(d->positions, cap * sizeof(uint32_t));
        if (!c) {
            return -1;
        }
        d->positions = c;
        d->cap_toks = cap;
    }
    d->terms[index].tf++;
    d->tok_term[d->n_toks] = index;
    d->tok_pos[d->n_toks] = tok->position;
    d->n_toks++;
    return 0;
}

/*  Encodes each term's posting but its docno delta into d->enc, as the
    batch buffers it (see pend_t): tf, the document's length (doc_len),
    the
    positions' size, then the positions as varint deltas. */
static int
s_doc_encode(doc_t *d, uint32_t doc_len) {
    /* At most 5 bytes a varint: tf, length, size, and one per position. */
    size_t room = (size_t)d->n_terms * 15 + (size_t)d->n_toks * 5;
    if (room > d->cap_enc) {
        uint8_t *enc = realloc(d->enc, room);
        if (!enc) {
            return -1;
        }
        d->enc = enc;
        d->cap_enc = room;
    }
    uint8_t *out = d->enc;
    for (uint32_t i = 0; i < d->n_terms; i++) {
        doc_term_t *t = &d->terms[i];
        const uint32_t *pos = d->positions + t->first;
        uint32_t pos_bytes = 0;
        for (uint32_t j = 0, prev = 0; j < t->tf; j++) {
            pos_bytes += fts_varint_size(pos[j] - prev);
            prev = pos[j];
        }
        uint8_t *start = out;
        out = fts_put_varint(out, t->tf);
        out = fts_put_varint(out, doc_len);
        out = fts_put_varint(out, pos_bytes);
        for (uint32_t j = 0, prev = 0; j < t->tf; j++) {
            out = fts_put_varint(out, pos[j] - prev);
            prev = pos[j];
        }
        t->enc_off = (uint32_t)(start - d->enc);
        t->enc_len = (uint32_t)(out - start);
    }
    return 0;
}

int
fts_doc_build(doc_t *d, const Dossier__V1__Report *report) {
    s_doc_reset(d);
    uint32_t position = 0;
    for (size_t p = 0; p <= report->n_body; p++) {
        const char *text = p == 0 ? report->title : report->body[p - 1];
        if (!text) {
            continue;
        }
        tokenize_t tok;
        token_t token;
        tokenize_init(&tok, text, strlen(text), position);
        while (tokenize_next(&tok, &token)) {
            if (s_doc_add(d, &token) != 0) {
                return -1;
            }
        }
        position = tokenize_position(&tok) + 1;
    }
    uint32_t first = 0;
    for (uint32_t i = 0; i < d->n_terms; i++) {
        d->terms[i].first = first;
        first += d->terms[i].tf;
        d->terms[i].tf = 0; /* refilled below */
    }
    for (uint32_t k = 0; k < d->n_toks; k++) {
        doc_term_t *t = &d->terms[d->tok_term[k]];
        d->positions[t->first + t->tf++] = d->tok_pos[k];
    }
    return s_doc_encode(d, d->n_toks);
}

int
fts_filter_term(char kind, uint32_t value, char *out) {
    /* Years fixed-width, so that their terms sort as the years do. */
    return snprintf(out, FTS_FILTER_TERM_MAX,
                    kind == FTS_FILTER_YEAR ? "\x01%c%05u" : "\x01%c%u", kind,
                    value);
}

int
fts_doc_filters(doc_t *d, const attr_t *a) {
    s_doc_reset(d);
    const struct {
        char kind;
        uint32_t value;
    } filters[] = {{FTS_FILTER_COUNTRY, a->country},
                   {FTS_FILTER_PUBLISHER, a->publisher},
                   {FTS_FILTER_TIER, a->tier},
                   {FTS_FILTER_DOC_TYPE, a->doc_type},
                   {FTS_FILTER_YEAR, a->year}};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        if (!filters[i].value) {
            continue; /* unknown: no filter ever selects it */
        }
        token_t tok;
        memset(&tok, 0, sizeof(tok));
        int len = fts_filter_term(filters[i].kind, filters[i].value, tok.term);
        tok.len = (size_t)len;
        for (int k = 0; k < 8; k++) {
            tok.prefix = tok.prefix << 8 | (k < len ? (uint8_t)tok.term[k] : 0);
        }
        /* Each term once, at position 0: one posting of frequency 1. */
        if (s_doc_add(d, &tok) != 0) {
            return -1;
        }
    }
    for (uint32_t i = 0; i < d->n_terms; i++) {
        d->terms[i].first = i;
        d->positions[i] = 0;
    }
    return s_doc_encode(d, a->len);
}

struct store_fts_scratch_t {
    doc_t doc;
};

/* A scratch table grown past this many slots by an outsized document is
   let go, so the memset of every later document's reset stays small. */
#define S_SCRATCH_TABLE_MAX (1u << 16)

store_fts_scratch_t *
store_fts_scratch_new(void) {
    return calloc(1, sizeof(store_fts_scratch_t));
}

void
store_fts_scratch_destroy(store_fts_scratch_t **scratch_p) {
    if (!scratch_p || !*scratch_p) {
        return;
    }
    fts_doc_free(&(*scratch_p)->doc);
    free(*scratch_p);
    *scratch_p = NULL;
}

/*  Copies what the writer reads of built document d (the terms, their
    encoded postings, their characters) into one new allocation. */
static store_fts_terms_t *
s_terms_copy(const doc_t *d) {
    size_t terms_size = (size_t)d->n_terms * sizeof(doc_term_t);
    const doc_term_t *last = d->n_terms ? &d->terms[d->n_terms - 1] : NULL;
    size_t enc_size = last ? (size_t)last->enc_off + last->enc_len : 0;
    store_fts_terms_t *self =
        malloc(sizeof(*self) + terms_size + enc_size + d->n_chars);
    if (!self) {
        return NULL;
    }
    memset(&self->doc, 0, sizeof(self->doc));
    uint8_t *p = (uint8_t *)(self + 1);
    self->doc.terms = (doc_term_t *)(void *)p;
    memcpy(p, d->terms, terms_size);
    p += terms_size;
    self->doc.enc = p;
    memcpy(p, d->enc, enc_size);
    p += enc_size;
    self->doc.chars = (char *)p;
    memcpy(p, d->chars, d->n_chars);
    self->doc.n_terms = d->n_terms;
    self->doc.n_toks = d->n_toks;
    self->doc.n_chars = d->n_chars;
    return self;
}

store_fts_terms_t *
store_fts_terms_new(const Dossier__V1__Report *report,
                    store_fts_scratch_t *scratch) {
    store_fts_scratch_t own = {0};
    doc_t *d = scratch ? &scratch->doc : &own.doc;
    store_fts_terms_t *self =
        fts_doc_build(d, report) == 0 ? s_terms_copy(d) : NULL;
    if (!scratch) {
        fts_doc_free(d);
    } else if (d->table_cap > S_SCRATCH_TABLE_MAX) {
        free(d->table);
        d->table = NULL;
        d->table_cap = 0;
    }
    return self;
}

void
store_fts_terms_destroy(store_fts_terms_t **terms_p) {
    if (!terms_p || !*terms_p) {
        return;
    }
    free(*terms_p); /* its arrays are in the same allocation */
    *terms_p = NULL;
}
