/*  indexes.c: the secondary indexes and the counters in meta, as
    store_internal.h lays them out: the key of a record in each index
    (store_index_key), the id at the end of such a key
    (store_index_id_offset), the counters' keys, and store_index_update,
    the one place where a record change becomes index and counter
    changes. */
#include "store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "country.h"
#include "text.h"

const char *const store_index_names[STORE_IDX_COUNT] = {
    "by_country_year",
    "by_year",
    "by_tier",
    "by_publisher",
};

char *
store_report_country_key(const Dossier__V1__Report *report, char *buf,
                         size_t size) {
    if (store_str_set(report->country_code)) {
        return country_key(report->country_code, buf, size);
    }
    return country_key(report->country ? report->country : "", buf, size);
}

size_t
store_index_key(int idx, const Dossier__V1__Report *r, unsigned char *buf) {
    size_t idlen = strlen(r->id);
    size_t n = 0;
    switch (idx) {
    case STORE_IDX_COUNTRY_YEAR: {
        char ckey[STORE_CKEY_SIZE];
        store_report_country_key(r, ckey, sizeof ckey);
        n = strlen(ckey);
        memcpy(buf, ckey, n);
        buf[n++] = '\0';
        store_be32(buf + n, r->year);
        n += 4;
        break;
    }
    case STORE_IDX_YEAR:
        store_be32(buf, r->year);
        n = 4;
        break;
    case STORE_IDX_TIER:
        buf[0] = (unsigned char)r->tier;
        n = 1;
        break;
    case STORE_IDX_PUBLISHER: {
        const char *pub = r->publisher ? r->publisher : "";
        char *folded = text_fold(pub, strlen(pub));
        if (folded == NULL) {
            return 0;
        }
        n = strlen(folded);
        if (n > STORE_PUBLISHER_MAX) {
            n = STORE_PUBLISHER_MAX;
        }
        memcpy(buf, folded, n);
        free(folded);
        buf[n++] = '\0';
        break;
    }
    default:
        return 0;
    }
    memcpy(buf + n, r->id, idlen);
    return n + idlen;
}

size_t
store_index_id_offset(int idx, const unsigned char *key, size_t len) {
    size_t off = 0;
    const unsigned char *nul;
    switch (idx) {
    case STORE_IDX_COUNTRY_YEAR:
        nul = memchr(key, 0, len);
        off = nul ? (size_t)(nul - key) + 1 + 4 : 0;
        break;
    case STORE_IDX_YEAR:
        off = 4;
        break;
    case STORE_IDX_TIER:
        off = 1;
        break;
    case STORE_IDX_PUBLISHER:
        nul = memchr(key, 0, len);
        off = nul ? (size_t)(nul - key) + 1 : 0;
        break;
    default:
        break;
    }
    if (off == 0 || off >= len || len - off > STORE_ID_MAX) {
        return 0;
    }
    return off;
}

/* ---- Counters in meta ---- */

size_t
store_counter_key(const char *prefix, const unsigned char *suffix, size_t slen,
                  unsigned char *buf) {
    size_t n = strlen(prefix);
    memcpy(buf, prefix, n);
    memcpy(buf + n, suffix, slen);
    return n + slen;
}

static int
s_counter_add(store_t *self, MDB_txn *txn, const unsigned char *key,
              size_t klen, int delta) {
    MDB_val k = {klen, (void *)key}, v;
    uint64_t count = 0;
    int rc = mdb_get(txn, self->meta, &k, &v);
    if (rc == 0 && v.mv_size == 8) {
        count = store_get_be64(v.mv_data);
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    if (delta < 0) {
        count = count > 0 ? count - 1 : 0;
    } else {
        count++;
    }
    if (count == 0) {
        rc = mdb_del(txn, self->meta, &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    unsigned char buf[8];
    store_be64(buf, count);
    v.mv_size = 8;
    v.mv_data = buf;
    return mdb_put(txn, self->meta, &k, &v, 0);
}

static int
s_counters_update(store_t *self, MDB_txn *txn, const Dossier__V1__Report *r,
                  int delta) {
    unsigned char key[64], y[4], t[1];
    store_be32(y, r->year);
    t[0] = (unsigned char)r->tier;
    int rc = s_counter_add(
        self, txn, key, store_counter_key(STORE_COUNT_YEAR, y, 4, key), delta);
    if (rc == 0) {
        rc = s_counter_add(self, txn, key,
                           store_counter_key(STORE_COUNT_TIER, t, 1, key),
                           delta);
    }
    return rc;
}

int
store_index_update(store_t *self, MDB_txn *txn, const Dossier__V1__Report *old,
                   const Dossier__V1__Report *new) {
    static unsigned char empty[1];
    unsigned char kold[STORE_KEY_MAX], knew[STORE_KEY_MAX];
    for (int i = 0; i < STORE_IDX_COUNT; i++) {
        size_t lold = old ? store_index_key(i, old, kold) : 0;
        size_t lnew = new ? store_index_key(i, new, knew) : 0;
        if ((old && lold == 0) || (new &&lnew == 0)) {
            return ENOMEM;
        }
        if (old && new &&lold == lnew && memcmp(kold, knew, lold) == 0) {
            continue;
        }
        if (old) {
            MDB_val k = {lold, kold};
            int rc = mdb_del(txn, self->index[i], &k, NULL);
            if (rc != 0 && rc != MDB_NOTFOUND) {
                return rc;
            }
        }
        if (new) {
            MDB_val k = {lnew, knew}, v = {0, empty};
            int rc = mdb_put(txn, self->index[i], &k, &v, 0);
            if (rc != 0) {
                return rc;
            }
        }
    }
    if (old && new && old->year == new->year && old->tier == new->tier) {
        return 0;
    }
    int rc = old ? s_counters_update(self, txn, old, -1) : 0;
    if (rc == 0 && new) {
        rc = s_counters_update(self, txn, new, +1);
    }
    return rc;
}
