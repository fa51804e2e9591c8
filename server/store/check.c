/*  check.c: store_check, the integrity check. In one read transaction it
    walks every database once: each record is readable, keyed by its own
    id and indexed where its fields say; each index entry belongs to a
    record whose fields give it; the counters in meta equal the counts of
    the records; then the full-text index checks its postings
    (store_fts_check). The first disagreement becomes the error's
    sentence, the rest are only counted. */
#include "store/store_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t problems;
    dossier_error_t *err;
} s_check_t;

static void s_problem(s_check_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_problem(s_check_t *c, const char *fmt, ...) {
    if (c->problems++ == 0 && c->err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        c->err->code = DOSSIER_DATA_LOSS;
        vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
        va_end(ap);
    }
}

/* Year and tier counts recomputed from the records. */
typedef struct {
    uint64_t years[STORE_YEAR_MAX + 1];
    uint64_t tiers[STORE_TIER_MAX + 1];
} s_counts_t;

/*  Every record: readable, keyed by its own id, indexed where its fields
    say. */
static int
s_check_records(store_t *self, MDB_txn *txn, s_check_t *c, s_counts_t *n) {
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->records, &cur);
    if (rc != 0) {
        return rc;
    }
    MDB_val k, v;
    MDB_cursor_op op = MDB_FIRST;
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        op = MDB_NEXT;
        int idlen = k.mv_size > STORE_ID_MAX ? STORE_ID_MAX : (int)k.mv_size;
        Dossier__V1__Report *r =
            dossier__v1__report__unpack(NULL, v.mv_size, v.mv_data);
        if (r == NULL) {
            s_problem(c, "report %.*s is stored as unreadable bytes", idlen,
                      (const char *)k.mv_data);
            continue;
        }
        if (strlen(r->id) != k.mv_size ||
            memcmp(r->id, k.mv_data, k.mv_size) != 0) {
            s_problem(c, "the record stored under %.*s has id %s", idlen,
                      (const char *)k.mv_data, r->id);
            dossier__v1__report__free_unpacked(r, NULL);
            continue;
        }
        if (r->year <= STORE_YEAR_MAX) {
            n->years[r->year]++;
        } else {
            s_problem(c, "report %s has year %u", r->id, r->year);
        }
        if ((unsigned)r->tier <= STORE_TIER_MAX) {
            n->tiers[r->tier]++;
        } else {
            s_problem(c, "report %s has tier %d", r->id, (int)r->tier);
        }
        for (int i = 0; i < STORE_IDX_COUNT && rc == 0; i++) {
            unsigned char key[STORE_KEY_MAX];
            MDB_val ik = {store_index_key(i, r, key), key}, iv;
            if (ik.mv_size == 0) {
                rc = ENOMEM;
                break;
            }
            int grc = mdb_get(txn, self->index[i], &ik, &iv);
            if (grc == MDB_NOTFOUND) {
                s_problem(c, "report %s is missing from index %s", r->id,
                          store_index_names[i]);
            } else if (grc != 0) {
                rc = grc;
            }
        }
        dossier__v1__report__free_unpacked(r, NULL);
        if (rc != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Every entry of index idx belongs to a record whose fields give it. */
static int
s_check_index(store_t *self, MDB_txn *txn, int idx, s_check_t *c) {
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->index[idx], &cur);
    if (rc != 0) {
        return rc;
    }
    MDB_val k, v;
    MDB_cursor_op op = MDB_FIRST;
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        op = MDB_NEXT;
        size_t off = store_index_id_offset(idx, k.mv_data, k.mv_size);
        if (off == 0) {
            s_problem(c, "index %s holds a malformed key",
                      store_index_names[idx]);
            continue;
        }
        const char *id = (const char *)k.mv_data + off;
        int idlen = (int)(k.mv_size - off);
        Dossier__V1__Report *r;
        dossier_status_t st =
            store_load(self, txn, id, k.mv_size - off, &r, NULL);
        if (st == DOSSIER_NOT_FOUND) {
            s_problem(c, "index %s names report %.*s, which does not exist",
                      store_index_names[idx], idlen, id);
            continue;
        }
        if (st != DOSSIER_OK) {
            continue; /* reported by the records pass */
        }
        unsigned char key[STORE_KEY_MAX];
        size_t klen = store_index_key(idx, r, key);
        dossier__v1__report__free_unpacked(r, NULL);
        if (klen == 0) {
            rc = ENOMEM;
            break;
        }
        if (klen != k.mv_size || memcmp(key, k.mv_data, klen) != 0) {
            s_problem(c,
                      "index %s has an entry for report %.*s that its "
                      "fields do not give",
                      store_index_names[idx], idlen, id);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The counters in meta equal the counts of the records. */
static int
s_check_counters(store_t *self, MDB_txn *txn, const s_counts_t *n,
                 s_check_t *c) {
    unsigned char key[64], suffix[4];
    for (uint32_t y = 0; y <= STORE_YEAR_MAX; y++) {
        store_be32(suffix, y);
        MDB_val k = {store_counter_key(STORE_COUNT_YEAR, suffix, 4, key), key},
                v;
        int rc = mdb_get(txn, self->meta, &k, &v);
        if (rc != 0 && rc != MDB_NOTFOUND) {
            return rc;
        }
        uint64_t stored =
            rc == 0 && v.mv_size == 8 ? store_get_be64(v.mv_data) : 0;
        if (stored != n->years[y]) {
            s_problem(c,
                      "the count of reports of year %u says %llu, the "
                      "records %llu",
                      y, (unsigned long long)stored,
                      (unsigned long long)n->years[y]);
        }
    }
    for (unsigned t = 0; t <= STORE_TIER_MAX; t++) {
        suffix[0] = (unsigned char)t;
        MDB_val k = {store_counter_key(STORE_COUNT_TIER, suffix, 1, key), key},
                v;
        int rc = mdb_get(txn, self->meta, &k, &v);
        if (rc != 0 && rc != MDB_NOTFOUND) {
            return rc;
        }
        uint64_t stored =
            rc == 0 && v.mv_size == 8 ? store_get_be64(v.mv_data) : 0;
        if (stored != n->tiers[t]) {
            s_problem(c,
                      "the count of reports of tier %u says %llu, the "
                      "records %llu",
                      t, (unsigned long long)stored,
                      (unsigned long long)n->tiers[t]);
        }
    }
    return 0;
}

dossier_status_t
store_check(store_t *self, uint64_t *problems_p, dossier_error_t *err) {
    s_counts_t *counts = calloc(1, sizeof *counts);
    if (counts == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    store_read_t rd;
    dossier_status_t status = store_read_begin(self, &rd, err);
    if (status != DOSSIER_OK) {
        free(counts);
        return status;
    }
    s_check_t c = {0, err};
    int rc = s_check_records(self, rd.txn, &c, counts);
    for (int i = 0; rc == 0 && i < STORE_IDX_COUNT; i++) {
        rc = s_check_index(self, rd.txn, i, &c);
    }
    if (rc == 0) {
        rc = s_check_counters(self, rd.txn, counts, &c);
    }
    if (rc == 0) {
        rc = store_fts_check(self->fts, rd.txn, &c.problems, err);
    }
    store_read_end(self, &rd);
    free(counts);
    if (rc != 0) {
        return store_lmdb_error(self, err, rc, "cannot check the store");
    }
    if (problems_p) {
        *problems_p = c.problems;
    }
    return c.problems ? DOSSIER_DATA_LOSS : DOSSIER_OK;
}
