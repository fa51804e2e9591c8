/*  store/fts/fts_internal.h: what the files of the full-text index share.
    Private to the index: included only by the .c files of
    server/store/fts/ (the store and everyone else use fts.h).

    The index is split by part (fts.c lists the files). What more than
    one part needs is here, once: the handle's body, the layout's
    constants, the records of the collection state, attributes, segments
    and postings blocks, the write buffer (merge.c borrows its builder
    and scratch buffers), and each function that one part defines and
    others call, prefixed fts_ (a file's own helpers stay static, s_*).
    The byte, varint, hash and key helpers are static inline here, so
    that they stay inlined as they were in the one file: they run per
    posting, per byte, on the write and search paths.

    An fts_ function that returns dossier_status_t sets err (NULL
    allowed) on failure, and fts_last_rc when LMDB, memory or damaged
    data caused it (fts_mdb_error, fts_oom, fts_damaged); the store_fts_
    entry points clear fts_last_rc first and report EINVAL for a failure
    that left it 0. */
#ifndef DOSSIER_STORE_FTS_INTERNAL_H
#define DOSSIER_STORE_FTS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/fts/fts.h"
#include "store/fts/tokenize.h"

/* ---- The layout. ---- */

#define S_BLOCK_DOCS 128
#define S_BLOCK_BYTES 1600
#define S_DICT_COUNTRY 'c'
#define S_DICT_PUBLISHER 'p'
#define S_DICT_DOC_TYPE 'd'
#define S_END UINT32_MAX
/* A term's key prefix: its segment id (BE) and the term. */
#define S_PTERM_MAX (4 + TOKENIZE_MAX_TERM)
#define S_SEGS_MAX 64
#define S_SLOTS STORE_FTS_SEGMENT_SLOTS
_Static_assert(S_SLOTS > S_SEGS_MAX, "a merge writes a segment while the "
                                     "merged ones still hold their slots");

typedef struct store_fts_batch_t store_fts_batch_t;

struct store_fts_t {
    store_fts_batch_t *batch; /* the write buffer of the open batch */
    bool defer_merges;        /* store_fts_defer_merges */
    MDB_dbi post[S_SLOTS];    /* a segment's postings, by its slot */
    MDB_dbi ids;
    MDB_dbi docs;
    MDB_dbi attrs;
    MDB_dbi dict;
    MDB_dbi meta;
    MDB_dbi records;
};

/* ---- Small tools: buffers, varints, hashes; errors (codec.c). ---- */

typedef struct {
    uint8_t *data;
    size_t size;
    size_t cap;
} buf_t;

static inline int
fts_buf_reserve(buf_t *b, size_t extra) {
    if (b->size + extra <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->size + extra) {
        cap *= 2;
    }
    uint8_t *data = realloc(b->data, cap);
    if (!data) {
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static inline int
fts_buf_put(buf_t *b, const void *data, size_t size) {
    if (fts_buf_reserve(b, size) != 0) {
        return -1;
    }
    if (size) {
        memcpy(b->data + b->size, data, size);
    }
    b->size += size;
    return 0;
}

/*  The bytes of v as a varint. */
static inline uint32_t
fts_varint_size(uint32_t v) {
    return v < 1u << 7    ? 1
           : v < 1u << 14 ? 2
           : v < 1u << 21 ? 3
           : v < 1u << 28 ? 4
                          : 5;
}

/*  Writes v as a varint at out (room for 5 bytes); returns the end. */
static inline uint8_t *
fts_put_varint(uint8_t *out, uint32_t v) {
    while (v >= 0x80) {
        *out++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *out++ = (uint8_t)v;
    return out;
}

static inline int
fts_buf_varint(buf_t *b, uint32_t v) {
    if (fts_buf_reserve(b, 5) != 0) {
        return -1;
    }
    b->size = (size_t)(fts_put_varint(b->data + b->size, v) - b->data);
    return 0;
}

static inline void
fts_buf_free(buf_t *b) {
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/*  Reads a varint at *p (not past end); false on a truncated or overlong
    one. */
static inline bool
fts_varint(const uint8_t **p, const uint8_t *end, uint32_t *v) {
    uint32_t out = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        if (*p >= end) {
            return false;
        }
        uint8_t c = *(*p)++;
        out |= (uint32_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *v = out;
            return true;
        }
    }
    return false;
}

static inline void
fts_be32(uint8_t *out, uint32_t v) {
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

static inline uint32_t
fts_get_be32(const uint8_t *in) {
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
           (uint32_t)in[2] << 8 | in[3];
}

static inline uint32_t
fts_get_le32(const uint8_t *in) {
    return (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
           (uint32_t)in[3] << 24;
}

static inline void
fts_le32(uint8_t *out, uint32_t v) {
    out[0] = (uint8_t)v;
    out[1] = (uint8_t)(v >> 8);
    out[2] = (uint8_t)(v >> 16);
    out[3] = (uint8_t)(v >> 24);
}

/* murmur3's 64-bit finalizer. */
static inline uint64_t
fts_mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static inline uint32_t
fts_hash(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    }
    return h;
}

/*  The LMDB code (or ENOMEM, MDB_CORRUPTED) of this thread's last
    failure, for store_fts_rc. */
extern _Thread_local int fts_last_rc;

/*  Sets err (code from LMDB's rc: RESOURCE_EXHAUSTED for a full map or
    no memory, DATA_LOSS for a corrupted page, else INTERNAL) and
    fts_last_rc; returns the code. */
dossier_status_t fts_mdb_error(dossier_error_t *err, int rc, const char *what);

/*  Out of memory: DOSSIER_RESOURCE_EXHAUSTED, fts_last_rc ENOMEM. */
dossier_status_t fts_oom(dossier_error_t *err);

/*  Damaged index data: DOSSIER_DATA_LOSS naming what,
    fts_last_rc MDB_CORRUPTED. */
dossier_status_t fts_damaged(dossier_error_t *err, const char *what);

/* ---- Collection state and per-document attributes (document.c). ---- */

typedef struct {
    uint32_t next_docno;
    uint64_t live;
    uint64_t total_len;
} state_t;

/*  Reads the collection state from the meta database into *state (a new
    index's when absent: next docno 1). */
dossier_status_t fts_state_get(store_fts_t *fts, MDB_txn *txn, state_t *state,
                               dossier_error_t *err);

/*  Writes state to the meta database. */
dossier_status_t fts_state_put(store_fts_t *fts, MDB_txn *txn,
                               const state_t *state, dossier_error_t *err);

typedef struct {
    uint32_t len;
    uint32_t country;
    uint32_t publisher;
    uint32_t date;     /* yyyymmdd, 0 unknown */
    uint32_t doc_type; /* dictionary id, 0 none */
    uint16_t year;
    uint8_t tier;
    uint8_t live;
} attr_t;

/*  A read cursor over the attribute chunks that keeps the last chunk, so
    a run of nearby docnos costs one lookup. */
typedef struct {
    MDB_txn *txn;
    MDB_dbi dbi;
    unsigned chunk;
    bool have;
    const uint8_t *data;
    size_t size;
} attrs_t;

/*  Reads docno's attributes; a document never indexed reads as not live.
    Returns false on an LMDB failure. */
bool fts_attrs_read(attrs_t *c, uint32_t docno, attr_t *a);

/*  The country key of report r as the store's indexes use it (as
    store_report_country_key: country_key of its code when set, else of
    its name) into buf (size bytes); "" when it names none. */
void fts_report_country(const Dossier__V1__Report *r, char *buf, size_t size);

/*  Writes docno's attributes a into its chunk (read, changed, put back). */
dossier_status_t fts_attr_write(store_fts_t *fts, MDB_txn *txn, uint32_t docno,
                                const attr_t *a, dossier_error_t *err);

/*  The docno of record id in *docno (0 when it has none). */
dossier_status_t fts_ids_get(store_fts_t *fts, MDB_txn *txn, const char *id,
                             uint32_t *docno, dossier_error_t *err);

/* ---- The dictionary of attribute values (document.c). ---- */

/*  Finds value's id (0 when absent). */
dossier_status_t fts_dict_find(store_fts_t *fts, MDB_txn *txn, char kind,
                               const char *value, uint32_t *id,
                               dossier_error_t *err);

/*  Finds or adds value (non-empty) and returns its id in *id. */
dossier_status_t fts_dict_intern(store_fts_t *fts, MDB_txn *txn, char kind,
                                 const char *value, uint32_t *id,
                                 dossier_error_t *err);

/*  The value of id as a malloc'd string (NULL when out of memory or
    absent). */
char *fts_dict_value(store_fts_t *fts, MDB_txn *txn, char kind, uint32_t id);

/* ---- A document's terms (document.c). ---- */

typedef struct {
    uint64_t prefix; /* token_t.prefix */
    uint32_t hash;
    uint32_t off; /* into chars */
    uint32_t len;
    uint32_t tf;
    uint32_t first; /* into sorted positions, after s_doc_finish */
    /* The term's posting after its docno delta (tf, the document's
       length, the positions' size, the positions), into enc: encoded
       where the document is built, often a parse worker, so the writer
       only copies it. */
    uint32_t enc_off;
    uint32_t enc_len;
} doc_term_t;

typedef struct {
    doc_term_t *terms;
    uint32_t n_terms;
    uint32_t cap_terms;
    char *chars;
    size_t n_chars;
    size_t cap_chars;
    uint32_t *table; /* open addressing: index + 1, 0 empty */
    uint32_t table_cap;
    /* Tokens in order: term index and position. */
    uint32_t *tok_term;
    uint32_t *tok_pos;
    uint32_t n_toks;
    uint32_t cap_toks;
    uint32_t *positions; /* grouped by term after s_doc_finish */
    uint8_t *enc;        /* the terms' encoded postings (doc_term_t.enc_off) */
    size_t cap_enc;
} doc_t;

/*  Frees d's buffers and empties it. */
void fts_doc_free(doc_t *d);

/*  Tokenizes the title and the body of report into d: positions run on
    across paragraphs with a gap of one, so no phrase spans two. Then
    groups positions by term: term t's are positions[t.first ..
    t.first + t.tf). */
int fts_doc_build(doc_t *d, const Dossier__V1__Report *report);

/*  Filters as terms. A document's year, country, publisher, tier and
    document type are each a term of the index too, "\x01" and a kind
    letter before the value (the year in five digits, so year terms sort
    as years; country, publisher and document type by their dictionary
    ids): the tokenizer never makes a
    term holding "\x01", so no query word reaches them. A filtered search
    then intersects their postings like a word's, skipping by block, and
    never reads a candidate's attributes for them. Each posting has
    frequency 1, position 0 and the document's length; filter terms add
    nothing to the document's length. */
#define FTS_FILTER_COUNTRY 'c'
#define FTS_FILTER_PUBLISHER 'p'
#define FTS_FILTER_TIER 't'
#define FTS_FILTER_YEAR 'y'
#define FTS_FILTER_DOC_TYPE 'd'
/* Room for a filter term and its NUL. */
#define FTS_FILTER_TERM_MAX 16

/*  Writes the filter term of kind (FTS_FILTER_*) for value (non-zero)
    into out (FTS_FILTER_TERM_MAX bytes); returns its length. */
int fts_filter_term(char kind, uint32_t value, char *out);

/*  Builds d (emptied first) as the filter terms of a document with
    attributes a: one for each attribute that is set. Returns 0, or -1
    when out of memory. */
int fts_doc_filters(doc_t *d, const attr_t *a);

/* A document's terms: doc's terms, enc and chars live in the same
   allocation, right after it. */
struct store_fts_terms_t {
    doc_t doc;
};

/* ---- Segments (write.c). ---- */

/*  A segment holds the postings of the documents [lo, hi]; segments are
    disjoint, kept in docno order; a merge of S_MERGE_FANIN segments of one
    level (S_MERGE_FANIN_0 of level 0) makes one of the next level. */
typedef struct {
    uint32_t id;
    uint32_t level;
    uint32_t lo;
    uint32_t hi;
    uint32_t slot; /* its postings database, fts->post[slot] */
} seg_t;

typedef struct {
    uint32_t next_id;
    uint32_t n;
    seg_t v[S_SEGS_MAX];
} segs_t;

/*  Reads the segment table into *segs (none when absent); a table out of
    order, or naming a slot twice, is damage. */
dossier_status_t fts_segs_get(store_fts_t *fts, MDB_txn *txn, segs_t *segs,
                              dossier_error_t *err);

/*  Writes the segment table segs. */
dossier_status_t fts_segs_put(store_fts_t *fts, MDB_txn *txn,
                              const segs_t *segs, dossier_error_t *err);

/*  The lowest slot no segment of segs uses (there is always one: a
    merge's output is written while its inputs keep their slots, and
    S_SLOTS > S_SEGS_MAX). Free slots are empty: a merge drops the
    slots of the segments it replaces. */
uint32_t fts_segs_free_slot(const segs_t *segs);

/*  The index of the segment holding docno, or -1. */
int fts_segs_find(const segs_t *segs, uint32_t docno);

/*  Writes the key prefix of term in segment id into out; returns its
    length. */
static inline size_t
fts_pterm(uint8_t *out, uint32_t id, const char *term, size_t len) {
    fts_be32(out, id);
    memcpy(out + 4, term, len);
    return len + 4;
}

/* ---- Postings blocks (codec.c). ---- */

typedef struct {
    uint32_t first;
    uint32_t last;
    uint32_t count;
    uint32_t max_tf;
    uint32_t min_len;
    const uint8_t *docs;
    const uint8_t *docs_end;
    const uint8_t *pos;
    const uint8_t *pos_end;
} block_t;

/*  True when key is a block key of term (term "\0" docno). */
static inline bool
fts_is_block_key(const MDB_val *key, const char *term, size_t len) {
    return key->mv_size == len + 5 && memcmp(key->mv_data, term, len) == 0 &&
           ((const uint8_t *)key->mv_data)[len] == 0;
}

/*  Reads the header of the block key/val (borrowed: b points into val)
    into b; false when it is malformed. */
bool fts_block_parse(const MDB_val *key, const MDB_val *val, block_t *b);

/*  Decodes a block's docnos and frequencies (count entries). */
bool fts_block_docs(const block_t *b, uint32_t *docnos, uint32_t *tfs);

/*  A block being written: its regions encoded, its header kept apart. */
typedef struct {
    uint32_t first;
    uint32_t last;
    uint32_t count;
    uint32_t max_tf;
    uint32_t min_len;
    buf_t docs;
    buf_t pos;
} builder_t;

/*  Empties b for a new block (its buffers kept). */
void fts_builder_reset(builder_t *b);

/*  Writes b as the block of term (a key prefix, len bytes) from b's first
    docno: appended with cursor append, or put into post when append is
    NULL. scratch is room to encode it in. */
dossier_status_t fts_builder_write(MDB_dbi post, MDB_txn *txn,
                                   MDB_cursor *append, const char *term,
                                   size_t len, builder_t *b, buf_t *scratch,
                                   dossier_error_t *err);

/*  Adds a posting to the builder, first writing the builder out (at the
    end of the tree) when the posting would overflow it. */
dossier_status_t fts_builder_push(MDB_dbi post, MDB_txn *txn,
                                  MDB_cursor *append, const uint8_t *pterm,
                                  size_t plen, builder_t *b, buf_t *scratch,
                                  uint32_t docno, uint32_t tf, uint32_t len,
                                  const uint8_t *pos, size_t pos_size,
                                  dossier_error_t *err);

/*  Writes a term's df entry (segment prefix pterm) at the end of the
    tree. */
dossier_status_t fts_df_append(MDB_cursor *append, const uint8_t *pterm,
                               size_t plen, uint32_t df, dossier_error_t *err);

/*  Moves cursor to the block of term that would hold docno (the last
    block whose first docno is <= docno). *found false when there is none.
    On success key/val hold the block. */
dossier_status_t fts_seek_block(MDB_cursor *cur, const char *term, size_t len,
                                uint32_t docno, MDB_val *key, MDB_val *val,
                                bool *found, dossier_error_t *err);

/*  Reads term's document frequency (0 when the term is absent). */
dossier_status_t fts_df_get(MDB_dbi post, MDB_txn *txn, const char *term,
                            size_t len, uint32_t *df, dossier_error_t *err);

/*  Cuts docno's posting of term out of its block (a document indexed in
    an earlier batch). A posting that is not there is left alone. */
dossier_status_t fts_remove_posting(MDB_dbi post, MDB_txn *txn, MDB_cursor *cur,
                                    const char *term, size_t len,
                                    uint32_t docno, builder_t *builder,
                                    buf_t *scratch, dossier_error_t *err);

/* ---- The write buffer (write.c). ---- */

typedef struct {
    uint64_t prefix; /* token_t.prefix */
    uint32_t hash;
    uint32_t off; /* into the batch's chars */
    uint32_t len;
    uint32_t count;
    uint32_t last; /* last docno appended */
    /* Per document, in one buffer (one cache miss per append): varints
       docno delta, tf, length, bytes of positions, then the positions
       (tf varint deltas). */
    buf_t data;
} pend_t;

typedef struct {
    uint32_t index;
    uint32_t count;
    uint32_t last;
    size_t size;
} undo_t;

typedef struct {
    uint32_t hash;
    uint32_t index; /* of the term's pend_t + 1; 0: empty */
    uint64_t prefix;
} pend_slot_t;

struct store_fts_batch_t {
    store_fts_t *fts;
    pend_t *pends;
    uint32_t n_pends;
    uint32_t cap_pends;
    /* Open addressing on the terms' hashes. A slot holds the term's
       prefix too, so a probe finds a term of up to 7 bytes without
       touching its pend_t or characters: one cache miss fewer per
       posting, two for most terms. */
    pend_slot_t *table;
    uint32_t table_cap;
    char *chars;
    size_t n_chars;
    size_t cap_chars;
    /* Docnos buffered here are >= first_pending. */
    uint32_t first_pending;
    /* Buffered documents removed again in this batch, ascending. */
    uint32_t *dead;
    uint32_t n_dead;
    uint32_t cap_dead;
    /* The last update's buffered effects, undone when it fails. */
    undo_t *undo;
    uint32_t n_undo;
    uint32_t cap_undo;
    uint32_t undo_dead; /* docno marked dead by it, 0 none */
    doc_t doc;
    doc_t filters; /* a document's filter terms (fts_doc_filters) */
    builder_t builder;
    buf_t scratch;
    buf_t copy; /* a block read while the tree is written */
    segs_t segs;
    int rc; /* of the last failure */
};

/*  A new, empty write buffer of fts; NULL when out of memory. */
store_fts_batch_t *fts_batch_new(store_fts_t *fts);

/*  Frees the buffer; takes NULL; nulls *batch_p. */
void fts_batch_destroy(store_fts_batch_t **batch_p);

/*  Indexes one write in txn (store_fts_update_terms without the rc
    bookkeeping): terms is new_report's, or NULL to tokenize it here. */
dossier_status_t fts_update(store_fts_batch_t *batch, MDB_txn *txn,
                            const Dossier__V1__Report *old_report,
                            const Dossier__V1__Report *new_report,
                            const doc_t *terms, dossier_error_t *err);

/*  Writes the buffer as a new segment in txn, merges what is due, and
    empties the buffer (store_fts_flush without the rc bookkeeping). */
dossier_status_t fts_flush(store_fts_batch_t *batch, MDB_txn *txn,
                           dossier_error_t *err);

/* ---- Merges (merge.c). ---- */

/*  Merges segments v[first .. first + n) (adjacent, one level) into one
    new segment of the next level, written into a free slot, and empties
    their slots. */
dossier_status_t fts_merge(store_fts_batch_t *self, MDB_txn *txn, segs_t *segs,
                           uint32_t first, uint32_t n, dossier_error_t *err);

/*  A run of one level long enough to merge (S_MERGE_FANIN_0 segments of
    level 0, S_MERGE_FANIN above) whose merge covers fewer than max_docs
    documents: the first such run, or with smallest the one covering the
    fewest (the oldest of equals). Returns its first segment's index,
    *fanin set, or -1 when none is due. Only a run's first segments
    merge: levels then never rise from older to newer segments, which
    keeps every run mergeable, and any due run may merge first (its new
    segment, one level up, follows a run of higher levels or nothing). */
int fts_merge_pick(const segs_t *segs, uint32_t max_docs, bool smallest,
                   uint32_t *fanin);

/*  Merges every run due (of at most max_docs documents), lowest first. */
dossier_status_t fts_merge_levels(store_fts_batch_t *self, MDB_txn *txn,
                                  segs_t *segs, uint32_t max_docs,
                                  dossier_error_t *err);

/* ---- Snippets (snippet.c). ---- */

/*  A passage of about S_SNIPPET_WORDS words of report around the best
    match, query terms in brackets; malloc'd, valid UTF-8; NULL when out
    of memory. */
char *fts_snippet(const Dossier__V1__Report *r, char *const *terms,
                  uint32_t n_terms);

#endif
