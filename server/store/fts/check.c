/*  store/fts/check.c: store_fts_check, the full-text index checked
    against the records: each record's docno and attributes, its
    postings and those of its filter terms (summed into a digest compared
    with the stored blocks', and sought one by one only when the two
    differ), each stored block readable and of a live document of its
    segment, and the statistics. */
#include "store/fts/fts_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
        /* A filter term ("\x01" kind value) reads as "#y02004". */
        for (char *c = what; *c; c++) {
            *c = *c == '\x01' ? '#' : *c;
        }
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

/*  Whether the country, publisher and document type ids of attributes a
    are those of report r's values in the dictionary (a value it lacks
    reads as 0), in *same. */
static dossier_status_t
s_dict_agrees(store_fts_t *fts, MDB_txn *txn, const Dossier__V1__Report *r,
              const attr_t *a, bool *same, dossier_error_t *err) {
    char key_buf[256];
    uint32_t country = 0, publisher = 0, doc_type = 0;
    fts_report_country(r, key_buf, sizeof(key_buf));
    dossier_status_t st = DOSSIER_OK;
    if (key_buf[0]) {
        st = fts_dict_find(fts, txn, S_DICT_COUNTRY, key_buf, &country, err);
    }
    if (st == DOSSIER_OK && r->publisher && r->publisher[0]) {
        st = fts_dict_find(fts, txn, S_DICT_PUBLISHER, r->publisher, &publisher,
                           err);
    }
    if (st == DOSSIER_OK && r->doc_type && r->doc_type[0]) {
        st = fts_dict_find(fts, txn, S_DICT_DOC_TYPE, r->doc_type, &doc_type,
                           err);
    }
    *same = a->country == country && a->publisher == publisher &&
            a->doc_type == doc_type;
    return st;
}

/*  The slow half of step 1 of s_check, for when the digests differ:
    every record's every term, and every filter term of its attributes,
    seeked in its segment (s_check_postings), each problem named. */
static dossier_status_t
s_check_each_posting(store_fts_t *fts, MDB_txn *txn, MDB_cursor *const *pcurs,
                     const segs_t *segs, doc_t *doc, doc_t *filters,
                     report_t *rep, dossier_error_t *err) {
    attrs_t ac = {txn, fts->attrs, 0, false, NULL, 0};
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
        attr_t a;
        if (r && st == DOSSIER_OK && docno) {
            st = fts_doc_build(doc, r) != 0
                     ? fts_oom(err)
                     : s_check_postings(pcurs, segs, doc, id, docno, rep, err);
        }
        if (r && st == DOSSIER_OK && docno) {
            st = !fts_attrs_read(&ac, docno, &a)
                     ? fts_mdb_error(err, MDB_CORRUPTED, "reading attributes")
                 : fts_doc_filters(filters, &a) != 0
                     ? fts_oom(err)
                     : s_check_postings(pcurs, segs, filters, id, docno, rep,
                                        err);
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
    doc_t doc, filters;
    memset(&doc, 0, sizeof(doc));
    memset(&filters, 0, sizeof(filters));
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
            bool same = false;
            if (fts_doc_build(&doc, r) != 0) {
                st = fts_oom(err);
            } else if ((st = s_dict_agrees(fts, txn, r, &a, &same, err)) !=
                       DOSSIER_OK) {
                /* failed: st says why */
            } else if (!same || !a.live || a.len != doc.n_toks ||
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
                /* And the filter terms of its attributes, as checked. */
                if (fts_doc_filters(&filters, &a) != 0) {
                    st = fts_oom(err);
                } else {
                    postings += filters.n_terms;
                    s_digest_doc(&from_records, &filters, docno);
                }
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
        st = s_check_each_posting(fts, txn, pcurs, &segs, &doc, &filters, &rep,
                                  err);
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
    fts_doc_free(&filters);
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
