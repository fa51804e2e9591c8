/*  env.c: the LMDB environment. store_open sizes the map and the room
    kept for deletes, takes the directory's lock, opens every named
    database (s_open_dbs), checks the schema and rebuilds the full-text
    index when it is missing or of an older layout; store_destroy undoes
    it all. Here too: the read transaction each thread caches
    (store_read_begin, store_read_end), doubling the map
    (store_map_double, and store_grow_ahead between batches), and LMDB
    codes turned into our status (store_lmdb_error). */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define S_DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define S_DEFAULT_MAX_MAP_SIZE ((size_t)64 << 30)
#define S_DEFAULT_MAX_READERS 126
#define S_MAX_RESERVE ((size_t)64 << 20)

/* ---- Errors: LMDB codes as our status ---- */

/*  True when the file system holding dir has less than 1 MiB free for
    us (statvfs f_bavail). */
static bool
s_disk_nearly_full(const char *dir) {
    struct statvfs fs;
    if (statvfs(dir, &fs) != 0) {
        return false;
    }
    return (unsigned long long)fs.f_bavail * fs.f_frsize < (1ULL << 20);
}

dossier_status_t
store_lmdb_error(const store_t *self, dossier_error_t *err, int rc,
                 const char *what) {
    switch (rc) {
    case MDB_MAP_FULL:
        return dossier_error_set(
            err, DOSSIER_RESOURCE_EXHAUSTED,
            "the store is full (map size %zu reached max_map_size %zu; the "
            "last %zu bytes are kept for deletes): raise max_map_size or "
            "free space",
            self->map_size, self->max_map_size,
            self->max_map_size - self->put_limit);
    case MDB_TXN_FULL:
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "%s: too many changes in one batch: commit "
                                 "smaller batches",
                                 what);
    case ENOSPC:
    case EDQUOT:
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "%s: the disk holding the store in %s is "
                                 "full: free space",
                                 what, self->dir);
    case EFBIG:
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "%s: the file size limit (ulimit -f) stops "
                                 "the store in %s from growing: raise it",
                                 what, self->dir);
    case EIO:
        if (s_disk_nearly_full(self->dir)) {
            /* LMDB reports a short write as EIO: on a full disk that is
               what a commit gets, not ENOSPC. */
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "%s: the disk holding the store in %s "
                                     "is full: free space",
                                     what, self->dir);
        }
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "%s: I/O error on the store in %s: check "
                                 "the disk",
                                 what, self->dir);
    case ENOMEM:
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "%s: out of memory", what);
    case MDB_READERS_FULL:
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "%s: too many concurrent readers of the "
                                 "store in %s: raise max_readers",
                                 what, self->dir);
    case MDB_PANIC:
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "%s: the store in %s hit a fatal error: "
                                 "restart dossierd",
                                 what, self->dir);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        return dossier_error_set(err, DOSSIER_DATA_LOSS,
                                 "%s: the store in %s is damaged (%s): "
                                 "restore it from a backup",
                                 what, self->dir, mdb_strerror(rc));
    default:
        return dossier_error_set(err, DOSSIER_INTERNAL, "%s: %s", what,
                                 mdb_strerror(rc));
    }
}

/* ---- Read transactions ---- */

/* One read transaction cached per thread (see store_internal.h). */
struct store_reader_t {
    store_t *store;
    MDB_txn *txn; /* reset while idle */
    bool busy;
    store_reader_t *prev, *next;
};

static void
s_reader_unlink(store_t *self, store_reader_t *r) {
    if (r->prev) {
        r->prev->next = r->next;
    } else {
        self->readers = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    }
}

/* pthread key destructor: a thread that read from the store ends. */
static void
s_reader_free(void *arg) {
    store_reader_t *r = arg;
    store_t *self = r->store;
    pthread_mutex_lock(&self->mutex);
    s_reader_unlink(self, r);
    pthread_mutex_unlock(&self->mutex);
    mdb_txn_abort(r->txn);
    free(r);
}

dossier_status_t
store_read_begin(store_t *self, store_read_t *rd, dossier_error_t *err) {
    pthread_rwlock_rdlock(&self->resize_lock);
    store_reader_t *r = pthread_getspecific(self->reader_key);
    if (r && !r->busy) {
        int rc = mdb_txn_renew(r->txn);
        if (rc == 0) {
            r->busy = true;
            rd->reader = r;
            rd->txn = r->txn;
            return DOSSIER_OK;
        }
        /* A txn that cannot renew is dropped; begin a fresh one. */
        pthread_setspecific(self->reader_key, NULL);
        s_reader_free(r);
        r = NULL;
    }
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        pthread_rwlock_unlock(&self->resize_lock);
        return store_lmdb_error(self, err, rc, "cannot read the store");
    }
    rd->txn = txn;
    rd->reader = NULL;
    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r != NULL) {
            r->store = self;
            r->txn = txn;
            r->busy = true;
            if (pthread_setspecific(self->reader_key, r) != 0) {
                free(r);
                return DOSSIER_OK;
            }
            pthread_mutex_lock(&self->mutex);
            r->next = self->readers;
            if (r->next) {
                r->next->prev = r;
            }
            self->readers = r;
            pthread_mutex_unlock(&self->mutex);
            rd->reader = r;
        }
    }
    return DOSSIER_OK;
}

void
store_read_end(store_t *self, store_read_t *rd) {
    if (rd->reader) {
        mdb_txn_reset(rd->txn);
        rd->reader->busy = false;
    } else {
        mdb_txn_abort(rd->txn);
    }
    rd->txn = NULL;
    pthread_rwlock_unlock(&self->resize_lock);
}

/* ---- Open and close ---- */

static int
s_open_db(MDB_txn *txn, const char *name, MDB_dbi *dbi) {
    return mdb_dbi_open(txn, name, MDB_CREATE, dbi);
}

/* The one place where named databases are opened. */
static int
s_open_dbs(store_t *self, MDB_txn *txn) {
    int rc = s_open_db(txn, "records", &self->records);
    for (int i = 0; rc == 0 && i < STORE_IDX_COUNT; i++) {
        rc = s_open_db(txn, store_index_names[i], &self->index[i]);
    }
    if (rc == 0) {
        rc = s_open_db(txn, "audit", &self->audit);
    }
    if (rc == 0) {
        rc = s_open_db(txn, "idempotency", &self->idem);
    }
    if (rc == 0) {
        rc = s_open_db(txn, "idempotency_by_time", &self->idem_time);
    }
    if (rc == 0) {
        rc = s_open_db(txn, "record_versions", &self->versions);
    }
    if (rc == 0) {
        rc = s_open_db(txn, "tokens", &self->tokens);
    }
    if (rc == 0) {
        rc = store_fts_open(txn, self->records, &self->fts);
    }
    return rc;
}

int
store_map_double(store_t *self, size_t limit) {
    size_t want = self->map_size * 2;
    if (want < self->map_size || want > limit) {
        want = limit;
    }
    MDB_envinfo info;
    int rc = mdb_env_set_mapsize(self->env, want);
    if (rc == 0) {
        rc = mdb_env_info(self->env, &info);
    }
    if (rc == 0) {
        self->map_size = info.me_mapsize;
    }
    return rc;
}

void
store_grow_ahead(store_t *self) {
    MDB_envinfo info;
    MDB_stat stat;
    pthread_rwlock_rdlock(&self->resize_lock);
    size_t seen = self->map_size;
    bool past_quarter =
        mdb_env_info(self->env, &info) == 0 &&
        mdb_env_stat(self->env, &stat) == 0 &&
        (info.me_last_pgno + 1) * (size_t)stat.ms_psize > seen / 4;
    pthread_rwlock_unlock(&self->resize_lock);
    if (!past_quarter || seen >= self->put_limit) {
        return;
    }
    pthread_rwlock_wrlock(&self->resize_lock);
    if (self->map_size == seen) {
        (void)store_map_double(self, self->put_limit);
    }
    pthread_rwlock_unlock(&self->resize_lock);
}

/* Records indexed per transaction while the index is rebuilt. */
#define S_REBUILD_STEP 2000

/*  Runs a pending rebuild of the full-text index (store_fts_open marks
    one for a new index or an older layout) to its end, a committed step
    at a time, growing the map between steps and when a step fills it.
    Nothing else uses the store yet. */
static dossier_status_t
s_fts_rebuild(store_t *self, dossier_error_t *err) {
    for (int grown = 0;;) {
        MDB_txn *txn = NULL;
        bool done = false;
        size_t indexed = 0;
        int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
        if (rc == 0) {
            rc = store_fts_rebuild_step(self->fts, txn, S_REBUILD_STEP, &done,
                                        &indexed);
            if (rc == 0) {
                rc = mdb_txn_commit(txn);
            } else {
                mdb_txn_abort(txn);
            }
        }
        if (rc == 0) {
            self->rebuilt += indexed;
        }
        if (rc == MDB_MAP_FULL && grown < STORE_GROW_ATTEMPTS &&
            self->map_size < self->put_limit) {
            store_fts_reset(self->fts);
            rc = store_map_double(self, self->put_limit);
            if (rc == 0) {
                grown++;
                continue;
            }
        }
        if (rc != 0) {
            store_fts_reset(self->fts);
            return store_lmdb_error(self, err, rc,
                                    "cannot rebuild the full-text index");
        }
        if (done) {
            return DOSSIER_OK;
        }
        grown = 0;
        store_grow_ahead(self);
    }
}

/*  Reads the schema version from meta, writing ours into a new store.
    Refuses a newer one. */
static dossier_status_t
s_check_schema(store_t *self, MDB_txn *txn, dossier_error_t *err) {
    MDB_val k = {strlen(STORE_SCHEMA_KEY), STORE_SCHEMA_KEY}, v;
    int rc = mdb_get(txn, self->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "%d", STORE_SCHEMA_VERSION);
        v.mv_size = (size_t)n;
        v.mv_data = buf;
        rc = mdb_put(txn, self->meta, &k, &v, 0);
        if (rc != 0) {
            return store_lmdb_error(self, err, rc,
                                    "cannot initialize the store");
        }
        return DOSSIER_OK;
    }
    if (rc != 0) {
        return store_lmdb_error(self, err, rc,
                                "cannot read the schema version");
    }
    unsigned long version = 0;
    const char *p = v.mv_data;
    bool ok = v.mv_size > 0 && v.mv_size <= 9;
    for (size_t i = 0; ok && i < v.mv_size; i++) {
        ok = p[i] >= '0' && p[i] <= '9';
        version = version * 10 + (unsigned long)(p[i] - '0');
    }
    if (!ok || version == 0) {
        return dossier_error_set(err, DOSSIER_DATA_LOSS,
                                 "store in %s has an unreadable schema "
                                 "version: restore it from a backup",
                                 self->dir);
    }
    if (version > STORE_SCHEMA_VERSION) {
        return dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                                 "store in %s has schema version %lu; this "
                                 "dossierd supports up to %d: upgrade "
                                 "dossierd",
                                 self->dir, version, STORE_SCHEMA_VERSION);
    }
    return DOSSIER_OK;
}

static size_t
s_round_up(size_t n, size_t unit) {
    return (n + unit - 1) / unit * unit;
}

/* Frees an opened store; its reader key is already deleted. */
static void
s_free_store(store_t *self) {
    store_fts_destroy(&self->fts);
    if (self->env) {
        mdb_env_close(self->env);
    }
    if (self->lock_fd >= 0) {
        close(self->lock_fd);
    }
    pthread_cond_destroy(&self->batch_idle);
    pthread_mutex_destroy(&self->mutex);
    pthread_rwlock_destroy(&self->resize_lock);
    free(self->dir);
    free(self);
}

static dossier_status_t
s_open_env(store_t *self, const store_options_t *options,
           dossier_error_t *err) {
    unsigned flags = MDB_NOTLS | (options->no_sync ? MDB_NOSYNC : 0);
    unsigned readers =
        options->max_readers ? options->max_readers : S_DEFAULT_MAX_READERS;
    int rc = mdb_env_create(&self->env);
    if (rc != 0) {
        self->env = NULL;
        return store_lmdb_error(self, err, rc, "cannot create the store");
    }
    rc = mdb_env_set_maxreaders(self->env, readers);
    if (rc == 0) {
        rc = mdb_env_set_maxdbs(self->env, STORE_MAX_DBS);
    }
    if (rc == 0) {
        rc = mdb_env_set_mapsize(self->env, self->map_size);
    }
    if (rc == 0) {
        rc = mdb_env_open(self->env, self->dir, flags, 0640);
    }
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
        return dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                                 "%s/data.mdb is not a store this dossierd "
                                 "can read (%s)",
                                 self->dir, mdb_strerror(rc));
    }
    if (rc != 0) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot open the store in %s: %s", self->dir,
                                 mdb_strerror(rc));
    }
    int dead = 0;
    mdb_reader_check(self->env, &dead);
    self->stale_readers = dead > 0 ? (unsigned)dead : 0;
    MDB_envinfo info;
    mdb_env_info(self->env, &info);
    self->map_size = info.me_mapsize;
    return DOSSIER_OK;
}

static dossier_status_t
s_open_lock(store_t *self, dossier_error_t *err) {
    size_t n = strlen(self->dir) + sizeof "/dossierd.lock";
    char *path = malloc(n);
    if (path == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    snprintf(path, n, "%s/dossierd.lock", self->dir);
    self->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    free(path);
    if (self->lock_fd < 0) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot open the store in %s: %s", self->dir,
                                 strerror(errno));
    }
    if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK) {
            return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                     "the store in %s is already open (by "
                                     "another dossierd?)",
                                     self->dir);
        }
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot lock the store in %s: %s", self->dir,
                                 strerror(e));
    }
    return DOSSIER_OK;
}

dossier_status_t
store_open(const char *dir, const store_options_t *options, store_t **store_p,
           dossier_error_t *err) {
    static const store_options_t defaults;
    if (options == NULL) {
        options = &defaults;
    }
    if (dir == NULL || dir[0] == '\0') {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "no data directory given");
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot open the store in %s: %s", dir,
                                 strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot open the store in %s: not a "
                                 "directory",
                                 dir);
    }
    store_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    self->lock_fd = -1;
    self->dir = strdup(dir);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
#ifdef __GLIBC__
    pthread_rwlockattr_setkind_np(&attr,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    int e1 = pthread_rwlock_init(&self->resize_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    int e2 = pthread_mutex_init(&self->mutex, NULL);
    int e3 = pthread_cond_init(&self->batch_idle, NULL);
    int e4 = pthread_key_create(&self->reader_key, s_reader_free);
    if (self->dir == NULL || e1 || e2 || e3 || e4) {
        /* Partial init is not worth unwinding piece by piece. */
        free(self->dir);
        free(self);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory opening the store");
    }
    long page = sysconf(_SC_PAGESIZE);
    self->os_page = page > 0 ? (size_t)page : 4096;
    self->max_map_size =
        options->max_map_size ? options->max_map_size : S_DEFAULT_MAX_MAP_SIZE;
    self->max_map_size = s_round_up(self->max_map_size, self->os_page);
    self->map_size = options->map_size ? options->map_size : S_DEFAULT_MAP_SIZE;
    if (self->map_size > self->max_map_size) {
        self->map_size = self->max_map_size;
    }
    self->map_size = s_round_up(self->map_size, self->os_page);
    /* LMDB copies pages on write, so even a delete needs free pages: keep
       the top of the map for deletes and commits, or a full store could
       never be emptied. */
    size_t reserve = self->max_map_size / 16;
    if (reserve < 32 * self->os_page) {
        reserve = 32 * self->os_page;
    }
    if (reserve > S_MAX_RESERVE) {
        reserve = S_MAX_RESERVE;
    }
    if (reserve > self->max_map_size / 4) {
        reserve = self->max_map_size / 4 / self->os_page * self->os_page;
    }
    self->put_limit = self->max_map_size - reserve;
    if (self->map_size > self->put_limit) {
        self->map_size = self->put_limit;
    }

    dossier_status_t status = s_open_lock(self, err);
    if (status == DOSSIER_OK) {
        status = s_open_env(self, options, err);
    }
    MDB_txn *txn = NULL;
    if (status != DOSSIER_OK) {
        goto free_store;
    }
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0) {
        status = store_lmdb_error(self, err, rc, "cannot open the store");
        goto free_store;
    }
    rc = s_open_db(txn, "meta", &self->meta);
    if (rc != 0) {
        status = store_lmdb_error(self, err, rc, "cannot open the store");
        goto abort_txn;
    }
    status = s_check_schema(self, txn, err);
    if (status != DOSSIER_OK) {
        goto abort_txn;
    }
    rc = s_open_dbs(self, txn);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc != 0) {
        status = store_lmdb_error(self, err, rc, "cannot open the store");
        goto abort_txn;
    }
    status = s_fts_rebuild(self, err);
    if (status != DOSSIER_OK) {
        goto abort_txn;
    }
    store_fts_defer_merges(self->fts, options->defer_merges);
    self->history_keep = options->history_keep;
    *store_p = self;
    return DOSSIER_OK;

abort_txn:
    if (txn) {
        mdb_txn_abort(txn);
    }
free_store:
    pthread_key_delete(self->reader_key);
    s_free_store(self);
    return status;
}

void
store_destroy(store_t **store_p) {
    if (store_p == NULL || *store_p == NULL) {
        return;
    }
    store_t *self = *store_p;
    *store_p = NULL;
    /* After this no thread's destructor will touch our readers. */
    pthread_key_delete(self->reader_key);
    pthread_mutex_lock(&self->mutex);
    while (self->readers) {
        store_reader_t *r = self->readers;
        self->readers = r->next;
        mdb_txn_abort(r->txn);
        free(r);
    }
    pthread_mutex_unlock(&self->mutex);
    s_free_store(self);
}

unsigned
store_stale_readers(const store_t *self) {
    return self->stale_readers;
}

uint64_t
store_index_rebuilt(const store_t *self) {
    return self->rebuilt;
}
