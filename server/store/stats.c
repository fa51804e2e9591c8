/*  stats.c: store_stats, the store's numbers for the Stats reply: records
    by year and by tier (from the counters in meta, which every write
    keeps current, so no record is read), the sizes of the file and the
    map, and the full-text index's segments. */
#include "store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static dossier_status_t
s_stats_in(store_t *self, MDB_txn *txn, Dossier__V1__StatsResponse *resp,
           dossier_error_t *err) {
    MDB_stat st;
    int rc = mdb_stat(txn, self->records, &st);
    if (rc != 0) {
        return store_lmdb_error(self, err, rc, "cannot read statistics");
    }
    resp->records = st.ms_entries;
    MDB_envinfo info;
    MDB_stat env_st;
    mdb_env_info(self->env, &info);
    mdb_env_stat(self->env, &env_st);
    resp->db_bytes = (uint64_t)(info.me_last_pgno + 1) * env_st.ms_psize;
    resp->map_bytes = info.me_mapsize;
    bool merge_due = false;
    dossier_status_t status = store_fts_segments(
        self->fts, txn, &resp->index_segments, &merge_due, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    resp->index_merge_due = merge_due;

    MDB_cursor *cur;
    rc = mdb_cursor_open(txn, self->meta, &cur);
    if (rc != 0) {
        return store_lmdb_error(self, err, rc, "cannot read statistics");
    }
    /* Counters are few (years x tiers): two passes, count then fill. */
    size_t ny = 0, nt = 0;
    const size_t ly = strlen(STORE_COUNT_YEAR), lt = strlen(STORE_COUNT_TIER);
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        if (pass == 1) {
            resp->by_year = calloc(ny ? ny : 1, sizeof *resp->by_year);
            resp->by_tier = calloc(nt ? nt : 1, sizeof *resp->by_tier);
            if (!resp->by_year || !resp->by_tier) {
                rc = ENOMEM;
                break;
            }
        }
        MDB_val k, v;
        MDB_cursor_op op = MDB_FIRST;
        while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
            op = MDB_NEXT;
            if (v.mv_size != 8) {
                continue;
            }
            uint64_t count = store_get_be64(v.mv_data);
            if (k.mv_size == ly + 4 &&
                memcmp(k.mv_data, STORE_COUNT_YEAR, ly) == 0) {
                if (pass == 0) {
                    ny++;
                    continue;
                }
                Dossier__V1__YearCount *y = malloc(sizeof *y);
                if (y == NULL) {
                    rc = ENOMEM;
                    break;
                }
                dossier__v1__year_count__init(y);
                y->year = store_get_be32((const unsigned char *)k.mv_data + ly);
                y->count = count;
                resp->by_year[resp->n_by_year++] = y;
            } else if (k.mv_size == lt + 1 &&
                       memcmp(k.mv_data, STORE_COUNT_TIER, lt) == 0) {
                if (pass == 0) {
                    nt++;
                    continue;
                }
                Dossier__V1__TierCount *t = malloc(sizeof *t);
                if (t == NULL) {
                    rc = ENOMEM;
                    break;
                }
                dossier__v1__tier_count__init(t);
                t->tier = ((const unsigned char *)k.mv_data)[lt];
                t->count = count;
                resp->by_tier[resp->n_by_tier++] = t;
            }
        }
        if (rc == MDB_NOTFOUND) {
            rc = 0;
        }
    }
    mdb_cursor_close(cur);
    if (rc != 0) {
        return store_lmdb_error(self, err, rc, "cannot read statistics");
    }
    return DOSSIER_OK;
}

dossier_status_t
store_stats(store_t *self, Dossier__V1__StatsResponse **response_p,
            dossier_error_t *err) {
    Dossier__V1__StatsResponse *resp = malloc(sizeof *resp);
    if (resp == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier__v1__stats_response__init(resp);
    store_read_t rd;
    dossier_status_t status = store_read_begin(self, &rd, err);
    if (status == DOSSIER_OK) {
        status = s_stats_in(self, rd.txn, resp, err);
        store_read_end(self, &rd);
    }
    if (status != DOSSIER_OK) {
        dossier__v1__stats_response__free_unpacked(resp, NULL);
        return status;
    }
    *response_p = resp;
    return DOSSIER_OK;
}
