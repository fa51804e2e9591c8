/*  batch.c: write batches. A batch is the store's one write transaction
    (store_batch_begin waits while another batch is open) and a log of the
    writes made in it: a record put's final bytes, a delete's id, a log
    database's key and value. When the map fills, store_batch_grow aborts
    the transaction, doubles the map and replays the log into a new one;
    store_batch_restart replays it to undo a write that failed half-way.
    The commit writes the full-text postings the batch buffered first, and
    grows the map too when the commit itself needs room. The log also
    tells the caller which records changed (store_batch_change). */
#include "store/store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

dossier_status_t
store_batch_begin(store_t *self, store_batch_t **batch_p,
                  dossier_error_t *err) {
    store_batch_t *batch = calloc(1, sizeof *batch);
    if (batch == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    batch->store = self;
    pthread_mutex_lock(&self->mutex);
    while (self->batch_active) {
        pthread_cond_wait(&self->batch_idle, &self->mutex);
    }
    self->batch_active = true;
    pthread_mutex_unlock(&self->mutex);
    store_grow_ahead(self);

    pthread_rwlock_rdlock(&self->resize_lock);
    int rc = mdb_txn_begin(self->env, NULL, 0, &batch->txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size, then retry. */
        pthread_rwlock_unlock(&self->resize_lock);
        pthread_rwlock_wrlock(&self->resize_lock);
        rc = mdb_env_set_mapsize(self->env, 0);
        MDB_envinfo info;
        mdb_env_info(self->env, &info);
        self->map_size = info.me_mapsize;
        pthread_rwlock_unlock(&self->resize_lock);
        pthread_rwlock_rdlock(&self->resize_lock);
        if (rc == 0) {
            rc = mdb_txn_begin(self->env, NULL, 0, &batch->txn);
        }
    }
    if (rc != 0) {
        pthread_rwlock_unlock(&self->resize_lock);
        pthread_mutex_lock(&self->mutex);
        self->batch_active = false;
        pthread_cond_signal(&self->batch_idle);
        pthread_mutex_unlock(&self->mutex);
        free(batch);
        return store_lmdb_error(self, err, rc, "cannot start a write");
    }
    batch->holds_lock = true;
    *batch_p = batch;
    return DOSSIER_OK;
}

/* Replays one logged write into the batch's (fresh) transaction. */
static int
s_replay_op(store_t *self, MDB_txn *txn, const store_op_t *op) {
    if (op->kind == STORE_OP_KV_PUT || op->kind == STORE_OP_KV_DEL) {
        MDB_val k = {op->key_size, op->id}, v = {op->size, op->packed};
        int rc = op->kind == STORE_OP_KV_PUT ? mdb_put(txn, op->dbi, &k, &v, 0)
                                             : mdb_del(txn, op->dbi, &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    Dossier__V1__Report *old;
    int rc = store_load_old(self, txn, op->id, &old);
    if (rc < 0 && op->kind == STORE_OP_DELETE) {
        /* As the delete did: drop the unreadable record. */
        MDB_val k = {strlen(op->id), op->id};
        return mdb_del(txn, self->records, &k, NULL);
    }
    if (rc != 0) {
        return rc < 0 ? MDB_CORRUPTED : rc;
    }
    if (op->kind == STORE_OP_DELETE) {
        rc =
            old ? store_delete_record(self, txn, old, op->packed, op->size) : 0;
    } else {
        Dossier__V1__Report *new =
            dossier__v1__report__unpack(NULL, op->size, op->packed);
        rc = new ? store_write_record(self, txn, old, new, op->packed, op->size,
                                      NULL)
                 : ENOMEM;
        dossier__v1__report__free_unpacked(new, NULL);
    }
    dossier__v1__report__free_unpacked(old, NULL);
    return rc;
}

void
store_batch_break(store_batch_t *batch, dossier_status_t code,
                  const char *msg) {
    batch->broken.code = code;
    snprintf(batch->broken.message, sizeof batch->broken.message,
             "the batch failed and none of its writes will happen: %.200s",
             msg);
}

/*  Begins the batch's transaction (batch->txn NULL) and replays its log
    into it, the full-text buffer too (it indexes again). Returns 0, or an
    LMDB code with batch->txn NULL again. */
static int
s_batch_replay(store_batch_t *batch) {
    store_t *self = batch->store;
    store_fts_reset(self->fts);
    int rc = mdb_txn_begin(self->env, NULL, 0, &batch->txn);
    if (rc != 0) {
        batch->txn = NULL;
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < batch->n_ops; i++) {
        rc = s_replay_op(self, batch->txn, &batch->ops[i]);
    }
    if (rc != 0) {
        mdb_txn_abort(batch->txn);
        batch->txn = NULL;
    }
    return rc;
}

dossier_status_t
store_batch_grow(store_batch_t *batch, bool use_reserve, dossier_error_t *err) {
    store_t *self = batch->store;
    size_t seen = self->map_size;
    size_t limit = use_reserve ? self->max_map_size : self->put_limit;
    for (int attempt = 0; attempt < STORE_GROW_ATTEMPTS; attempt++) {
        if (self->map_size >= limit) {
            dossier_status_t st = store_lmdb_error(self, err, MDB_MAP_FULL, "");
            if (batch->txn == NULL) {
                store_batch_break(batch, st, err ? err->message : "store full");
            }
            return st;
        }
        if (batch->txn) {
            mdb_txn_abort(batch->txn);
            batch->txn = NULL;
        }
        pthread_rwlock_unlock(&self->resize_lock);
        pthread_rwlock_wrlock(&self->resize_lock);
        int rc = 0;
        if (self->map_size == seen) {
            rc = store_map_double(self, limit);
        }
        seen = self->map_size;
        pthread_rwlock_unlock(&self->resize_lock);
        pthread_rwlock_rdlock(&self->resize_lock);
        if (rc != 0) {
            dossier_status_t st =
                store_lmdb_error(self, err, rc, "cannot grow the store");
            store_batch_break(batch, st, err ? err->message : mdb_strerror(rc));
            return st;
        }
        rc = s_batch_replay(batch);
        if (rc == 0) {
            return DOSSIER_OK;
        }
        if (rc != MDB_MAP_FULL) {
            dossier_status_t st =
                store_lmdb_error(self, err, rc, "cannot replay the batch");
            store_batch_break(batch, st, err ? err->message : mdb_strerror(rc));
            return st;
        }
        /* The replay itself did not fit: grow again. */
    }
    store_batch_break(batch, DOSSIER_INTERNAL, "the map would not grow");
    return dossier_error_set(err, DOSSIER_INTERNAL,
                             "the store's map would not grow");
}

dossier_status_t
store_batch_usable(store_batch_t *batch, dossier_error_t *err) {
    if (batch == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "no write batch");
    }
    if (batch->txn == NULL) {
        return dossier_error_set(err, batch->broken.code, "%s",
                                 batch->broken.message);
    }
    return DOSSIER_OK;
}

dossier_status_t
store_batch_log_reserve(store_batch_t *batch, dossier_error_t *err) {
    if (batch->n_ops < batch->cap_ops) {
        return DOSSIER_OK;
    }
    size_t cap = batch->cap_ops ? batch->cap_ops * 2 : 16;
    store_op_t *ops = realloc(batch->ops, cap * sizeof *ops);
    if (ops == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    batch->ops = ops;
    batch->cap_ops = cap;
    return DOSSIER_OK;
}

dossier_status_t
store_batch_restart(store_batch_t *batch, dossier_error_t *err) {
    mdb_txn_abort(batch->txn);
    batch->txn = NULL;
    int rc = s_batch_replay(batch);
    if (rc != 0) {
        dossier_status_t st =
            store_lmdb_error(batch->store, err, rc, "cannot replay the batch");
        store_batch_break(batch, st, err ? err->message : mdb_strerror(rc));
        return st;
    }
    return DOSSIER_OK;
}

static void
s_batch_free(store_batch_t *batch) {
    store_t *self = batch->store;
    store_fts_reset(self->fts);
    if (batch->txn) {
        mdb_txn_abort(batch->txn);
    }
    if (batch->holds_lock) {
        bool shrink = self->map_size > self->put_limit;
        pthread_rwlock_unlock(&self->resize_lock);
        if (shrink) {
            /* Give back the reserve a delete took: LMDB keeps what is
               in use, so this only stops puts from filling the rest. */
            pthread_rwlock_wrlock(&self->resize_lock);
            if (mdb_env_set_mapsize(self->env, self->put_limit) == 0) {
                MDB_envinfo info;
                mdb_env_info(self->env, &info);
                self->map_size = info.me_mapsize;
            }
            pthread_rwlock_unlock(&self->resize_lock);
        }
    }
    for (size_t i = 0; i < batch->n_ops; i++) {
        free(batch->ops[i].id);
        free(batch->ops[i].packed);
    }
    free(batch->ops);
    free(batch);
    pthread_mutex_lock(&self->mutex);
    self->batch_active = false;
    pthread_cond_signal(&self->batch_idle);
    pthread_mutex_unlock(&self->mutex);
}

dossier_status_t
store_batch_commit(store_batch_t **batch_p, dossier_error_t *err) {
    if (batch_p == NULL || *batch_p == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "no write batch");
    }
    store_batch_t *batch = *batch_p;
    *batch_p = NULL;
    store_t *self = batch->store;
    dossier_status_t status = DOSSIER_OK;
    for (int attempt = 0;; attempt++) {
        status = store_batch_usable(batch, err);
        if (status != DOSSIER_OK) {
            break;
        }
        /* The full-text postings buffered by the batch go in first. */
        int rc = store_fts_flush(self->fts, batch->txn, NULL) == DOSSIER_OK
                     ? mdb_txn_commit(batch->txn)
                     : (mdb_txn_abort(batch->txn), store_fts_rc(self->fts));
        batch->txn = NULL; /* freed by LMDB whatever the outcome */
        if (rc == 0) {
            break;
        }
        status = store_lmdb_error(self, err, rc, "cannot commit");
        if (rc != MDB_MAP_FULL || attempt >= STORE_GROW_ATTEMPTS) {
            break;
        }
        /* Committing needed room the map lacks (free list pages). */
        status = store_batch_grow(batch, true, err);
        if (status != DOSSIER_OK) {
            break;
        }
    }
    s_batch_free(batch);
    return status;
}

dossier_status_t
store_batch_merge(store_batch_t *batch, bool *merged, bool *more,
                  dossier_error_t *err) {
    *merged = *more = false;
    dossier_status_t status = store_batch_usable(batch, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    status = store_fts_merge(batch->store->fts, batch->txn, merged, more, err);
    if (status != DOSSIER_OK) {
        batch->last_rc = store_fts_rc(batch->store->fts);
        /* The half-written merge goes; the batch's writes stay. */
        dossier_error_t restart_err = {0};
        (void)store_batch_restart(batch, &restart_err);
    }
    return status;
}

void
store_batch_abort(store_batch_t **batch_p) {
    if (batch_p == NULL || *batch_p == NULL) {
        return;
    }
    s_batch_free(*batch_p);
    *batch_p = NULL;
}

size_t
store_batch_mark(const store_batch_t *batch) {
    return batch ? batch->n_ops : 0;
}

bool
store_batch_change(const store_batch_t *batch, size_t *cursor,
                   store_change_t *change) {
    while (batch && *cursor < batch->n_ops) {
        const store_op_t *op = &batch->ops[(*cursor)++];
        if (op->kind == STORE_OP_PUT || op->kind == STORE_OP_DELETE) {
            change->id = op->id;
            change->version = op->version;
            change->deleted = op->kind == STORE_OP_DELETE;
            change->country_code = op->country_code;
            change->year = op->year;
            return true;
        }
    }
    return false;
}

void
store_batch_set_clock(store_batch_t *batch, int64_t wall_ms) {
    batch->clock_ms = wall_ms;
}

int64_t
store_batch_now_ms(const store_batch_t *batch) {
    if (batch->clock_ms) {
        return batch->clock_ms;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
