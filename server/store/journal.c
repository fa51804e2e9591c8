/*  journal.c: the log databases beside the records, written inside a
    batch: "audit" (the audit entries, by big-endian sequence number) and
    "idempotency" with "idempotency_by_time" (the replies writes got, by
    key and in time order for expiry). Each write is one key/value put or
    delete (store_kv_write) in a nested transaction, logged in the batch like
    a record write so that it is replayed when the map grows.
    store_audit_scan reads the audit log in a read transaction;
    store_audit_prune and store_idem_expire delete from the oldest end. */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

/*  See store_internal.h. */
dossier_status_t
store_kv_write(store_batch_t *batch, MDB_dbi dbi, const void *key,
               size_t key_size, const void *value, size_t size,
               bool use_reserve, dossier_error_t *err) {
    store_t *self = batch->store;
    for (int attempt = 0;; attempt++) {
        dossier_status_t status = store_batch_usable(batch, err);
        if (status == DOSSIER_OK) {
            status = store_batch_log_reserve(batch, err);
        }
        if (status != DOSSIER_OK) {
            return status;
        }
        store_op_t op = {
            .kind = value ? STORE_OP_KV_PUT : STORE_OP_KV_DEL,
            .id = malloc(key_size ? key_size : 1),
            .packed = value ? malloc(size ? size : 1) : NULL,
            .size = value ? size : 0,
            .dbi = dbi,
            .key_size = key_size,
        };
        if (op.id == NULL || (value && op.packed == NULL)) {
            free(op.id);
            free(op.packed);
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "out of memory");
        }
        memcpy(op.id, key, key_size);
        if (value) {
            memcpy(op.packed, value, size);
        }
        MDB_txn *child;
        int rc = mdb_txn_begin(self->env, batch->txn, 0, &child);
        if (rc == 0) {
            MDB_val k = {key_size, op.id}, v = {op.size, op.packed};
            rc = value ? mdb_put(child, dbi, &k, &v, 0)
                       : mdb_del(child, dbi, &k, NULL);
            if (rc == 0) {
                rc = mdb_txn_commit(child);
            } else {
                mdb_txn_abort(child);
            }
        }
        if (rc == 0) {
            batch->ops[batch->n_ops++] = op;
            return DOSSIER_OK;
        }
        free(op.id);
        free(op.packed);
        if (rc == MDB_NOTFOUND && value == NULL) {
            return DOSSIER_OK;
        }
        batch->last_rc = rc;
        status = store_lmdb_error(self, err, rc, "cannot write the log");
        if (rc != MDB_MAP_FULL || attempt >= STORE_GROW_ATTEMPTS) {
            return status;
        }
        status = store_batch_grow(batch, use_reserve, err);
        if (status != DOSSIER_OK) {
            return status;
        }
    }
}

dossier_status_t
store_audit_next_seq(store_batch_t *batch, uint64_t *seq_p,
                     dossier_error_t *err) {
    dossier_status_t status = store_batch_usable(batch, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(batch->txn, batch->store->audit, &cur);
    if (rc != 0) {
        return store_lmdb_error(batch->store, err, rc,
                                "cannot read the audit log");
    }
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        *seq_p = 1;
        return DOSSIER_OK;
    }
    if (rc != 0) {
        return store_lmdb_error(batch->store, err, rc,
                                "cannot read the audit log");
    }
    if (k.mv_size != 8) {
        return dossier_error_set(err, DOSSIER_DATA_LOSS,
                                 "the audit log has a %zu-byte key; keys are "
                                 "8-byte sequence numbers",
                                 k.mv_size);
    }
    *seq_p = store_get_be64(k.mv_data) + 1;
    return DOSSIER_OK;
}

dossier_status_t
store_audit_put(store_batch_t *batch, uint64_t seq, const void *entry,
                size_t size, dossier_error_t *err) {
    if (batch == NULL || seq == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "no write batch or no sequence number");
    }
    unsigned char key[8];
    store_be64(key, seq);
    return store_kv_write(batch, batch->store->audit, key, sizeof key, entry,
                          size, true, err);
}

dossier_status_t
store_audit_scan(store_t *self, uint64_t from, size_t max_scan,
                 bool (*fn)(uint64_t seq, const void *entry, size_t size,
                            void *arg),
                 void *arg, uint64_t *next_p, dossier_error_t *err) {
    store_read_t rd;
    dossier_status_t status = store_read_begin(self, &rd, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(rd.txn, self->audit, &cur);
    if (rc != 0) {
        store_read_end(self, &rd);
        return store_lmdb_error(self, err, rc, "cannot read the audit log");
    }
    unsigned char start[8];
    store_be64(start, from);
    MDB_val k = {sizeof start, start}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    uint64_t next = 0;
    size_t scanned = 0;
    while (rc == 0) {
        if (k.mv_size != 8) {
            status = dossier_error_set(err, DOSSIER_DATA_LOSS,
                                       "the audit log has a %zu-byte key",
                                       k.mv_size);
            break;
        }
        uint64_t seq = store_get_be64(k.mv_data);
        scanned++;
        bool more = fn(seq, v.mv_data, v.mv_size, arg);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        if (rc == 0 && (!more || scanned >= max_scan)) {
            next = k.mv_size == 8 ? store_get_be64(k.mv_data) : 0;
            break;
        }
    }
    if (status == DOSSIER_OK && rc != 0 && rc != MDB_NOTFOUND) {
        status = store_lmdb_error(self, err, rc, "cannot read the audit log");
    }
    mdb_cursor_close(cur);
    store_read_end(self, &rd);
    if (status == DOSSIER_OK && next_p) {
        *next_p = next;
    }
    return status;
}

dossier_status_t
store_idem_get(store_batch_t *batch, const void *key, size_t key_size,
               uint8_t **value_p, size_t *size_p, dossier_error_t *err) {
    dossier_status_t status = store_batch_usable(batch, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    if (key_size == 0 || key_size > STORE_KEY_MAX - 9) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "an idempotency key of %zu bytes", key_size);
    }
    MDB_val k = {key_size, (void *)key}, v;
    int rc = mdb_get(batch->txn, batch->store->idem, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return dossier_error_set(err, DOSSIER_NOT_FOUND,
                                 "no such idempotency key");
    }
    if (rc != 0) {
        return store_lmdb_error(batch->store, err, rc,
                                "cannot read the idempotency keys");
    }
    if (v.mv_size < 8) {
        return dossier_error_set(err, DOSSIER_DATA_LOSS,
                                 "an idempotency key's entry is truncated");
    }
    uint8_t *copy = malloc(v.mv_size - 8 ? v.mv_size - 8 : 1);
    if (copy == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    memcpy(copy, (const uint8_t *)v.mv_data + 8, v.mv_size - 8);
    *value_p = copy;
    *size_p = v.mv_size - 8;
    return DOSSIER_OK;
}

dossier_status_t
store_idem_put(store_batch_t *batch, const void *key, size_t key_size,
               const void *value, size_t size, int64_t time_ms,
               dossier_error_t *err) {
    dossier_status_t status = store_batch_usable(batch, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    if (key_size == 0 || key_size > STORE_KEY_MAX - 9) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "an idempotency key of %zu bytes", key_size);
    }
    /* The entry starts with its time, so expiry can find its time key. */
    uint8_t *entry = malloc(8 + size);
    unsigned char tkey[STORE_KEY_MAX];
    if (entry == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    store_be64(entry, (uint64_t)time_ms);
    memcpy(entry + 8, value, size);
    MDB_val k = {key_size, (void *)key}, v;
    if (mdb_get(batch->txn, batch->store->idem, &k, &v) == 0 &&
        v.mv_size >= 8) {
        /* Replaced: its old time key goes. */
        memcpy(tkey, v.mv_data, 8);
        memcpy(tkey + 8, key, key_size);
        status = store_kv_write(batch, batch->store->idem_time, tkey,
                                8 + key_size, NULL, 0, true, err);
    }
    if (status == DOSSIER_OK) {
        status = store_kv_write(batch, batch->store->idem, key, key_size, entry,
                                8 + size, true, err);
    }
    if (status == DOSSIER_OK) {
        memcpy(tkey, entry, 8);
        memcpy(tkey + 8, key, key_size);
        status = store_kv_write(batch, batch->store->idem_time, tkey,
                                8 + key_size, "", 0, true, err);
    }
    free(entry);
    return status;
}

dossier_status_t
store_idem_expire(store_batch_t *batch, int64_t before_ms, size_t keep_max,
                  size_t max_deletes, size_t *deleted_p, dossier_error_t *err) {
    dossier_status_t status = store_batch_usable(batch, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    store_t *self = batch->store;
    MDB_stat st;
    int rc = mdb_stat(batch->txn, self->idem_time, &st);
    if (rc != 0) {
        return store_lmdb_error(self, err, rc,
                                "cannot read the idempotency keys");
    }
    size_t entries = st.ms_entries;
    /* Collect first: the deletes run in nested transactions, which a
       cursor of the parent must not outlive. */
    size_t n = 0;
    unsigned char(*keys)[STORE_KEY_MAX] =
        max_deletes ? malloc(max_deletes * sizeof *keys) : NULL;
    size_t *sizes = max_deletes ? malloc(max_deletes * sizeof *sizes) : NULL;
    if (max_deletes && (keys == NULL || sizes == NULL)) {
        free(keys);
        free(sizes);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    MDB_cursor *cur;
    rc = n < max_deletes ? mdb_cursor_open(batch->txn, self->idem_time, &cur)
                         : MDB_NOTFOUND;
    if (rc == 0) {
        MDB_val k, v;
        int got = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        while (got == 0 && n < max_deletes) {
            bool old = k.mv_size >= 8 &&
                       (int64_t)store_get_be64(k.mv_data) < before_ms;
            if (!(old || entries - n > keep_max) || k.mv_size > STORE_KEY_MAX) {
                break;
            }
            memcpy(keys[n], k.mv_data, k.mv_size);
            sizes[n++] = k.mv_size;
            got = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    for (size_t i = 0; status == DOSSIER_OK && i < n; i++) {
        status = store_kv_write(batch, self->idem_time, keys[i], sizes[i], NULL,
                                0, true, err);
        if (status == DOSSIER_OK && sizes[i] > 8) {
            status = store_kv_write(batch, self->idem, keys[i] + 8,
                                    sizes[i] - 8, NULL, 0, true, err);
        }
    }
    free(keys);
    free(sizes);
    if (status == DOSSIER_OK && deleted_p) {
        *deleted_p = n;
    }
    return status;
}

dossier_status_t
store_audit_prune(store_batch_t *batch, size_t keep_max,
                  bool (*is_old)(const void *entry, size_t size, void *arg),
                  void *arg, size_t max_deletes, size_t *deleted_p,
                  dossier_error_t *err) {
    dossier_status_t status = store_batch_usable(batch, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    store_t *self = batch->store;
    MDB_stat st;
    int rc = mdb_stat(batch->txn, self->audit, &st);
    if (rc != 0) {
        return store_lmdb_error(self, err, rc, "cannot read the audit log");
    }
    size_t entries = st.ms_entries;
    /* Collect first, as store_idem_expire does: the deletes run in
       nested transactions, which a cursor of the parent must not
       outlive. */
    size_t n = 0;
    uint64_t *seqs = max_deletes ? malloc(max_deletes * sizeof *seqs) : NULL;
    if (max_deletes && seqs == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    MDB_cursor *cur;
    rc = max_deletes ? mdb_cursor_open(batch->txn, self->audit, &cur)
                     : MDB_NOTFOUND;
    if (rc == 0) {
        MDB_val k, v;
        int got = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        /* Never the last entry: the next sequence number follows it. */
        while (got == 0 && n < max_deletes && entries - n > 1 &&
               k.mv_size == 8) {
            bool over = entries - n > keep_max;
            if (!over && !(is_old && is_old(v.mv_data, v.mv_size, arg))) {
                break;
            }
            seqs[n++] = store_get_be64(k.mv_data);
            got = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    } else if (rc != MDB_NOTFOUND) {
        free(seqs);
        return store_lmdb_error(self, err, rc, "cannot read the audit log");
    }
    for (size_t i = 0; status == DOSSIER_OK && i < n; i++) {
        unsigned char key[8];
        store_be64(key, seqs[i]);
        status = store_kv_write(batch, self->audit, key, sizeof key, NULL, 0,
                                true, err);
    }
    free(seqs);
    if (status == DOSSIER_OK && deleted_p) {
        *deleted_p = n;
    }
    return status;
}

/* ---- The Raft log's position ---- */

#define S_APPLIED_KEY "raft_applied_index"

dossier_status_t
store_batch_set_applied(store_batch_t *batch, uint64_t index,
                        dossier_error_t *err) {
    unsigned char value[8];
    store_be64(value, index);
    return store_kv_write(batch, batch->store->meta, S_APPLIED_KEY,
                          strlen(S_APPLIED_KEY), value, sizeof value, true,
                          err);
}

dossier_status_t
store_applied_index(store_t *self, uint64_t *index_p, dossier_error_t *err) {
    store_read_t rd;
    dossier_status_t status = store_read_begin(self, &rd, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    MDB_val k = {strlen(S_APPLIED_KEY), S_APPLIED_KEY}, v;
    int rc = mdb_get(rd.txn, self->meta, &k, &v);
    *index_p = rc == 0 && v.mv_size == 8 ? store_get_be64(v.mv_data) : 0;
    store_read_end(self, &rd);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return store_lmdb_error(self, err, rc, "cannot read the Raft index");
    }
    return DOSSIER_OK;
}
