/*  store_internal.h: what the files of the store module share. Included
    only by the .c files in server/store/ (not fts/, which has its own
    fts.h); the rest of the server sees store.h.

    The store is one module, store_*, in several files, one job each:
      env.c      open and close, read transactions, the map's size, LMDB
                 codes as our status
      indexes.c  the index keys, the counters in meta, store_index_update
      records.c  records by id: Get, validation, put and delete
      batch.c    write batches: the transaction, its log and replay,
                 growing the map, commit, merge, abort, the changes
      journal.c  the log databases: audit entries, idempotency keys
      list.c     List              history.c  History and Changes
      stats.c    Stats             search.c   Search (the index: fts/)
      check.c    the integrity check
      copy.c     the backup copy and store_file_info
    (restore.c, beside them, uses store.h only.) They share the bodies of
    store_t and store_batch_t (most of them read their fields), the
    constants of the on-disk layout, and a few helpers, declared here once
    each. Names: s_* and S_* belong to one file (static); store_* and
    STORE_* here are shared by the module's files and nobody else.

    Layout. One LMDB environment in the data directory, named databases:
      records           id -> packed dossier.v1.Report (exactly as
                        protobuf-c packs it, so Get can send it as is)
      by_country_year   country key, NUL, year (big-endian u32), id -> ""
      by_year           year (big-endian u32), id -> ""
      by_tier           tier (u8), id -> ""
      by_publisher      folded publisher (at most 200 bytes), NUL, id -> ""
      meta              "schema_version" -> decimal text;
                        "count/year/" BE u32 -> BE u64 records of that year;
                        "count/tier/" u8 -> BE u64 records of that tier
    Every index key ends with the id, so the ids under one prefix are in
    ascending order; listings merge such runs and are exactly id-ordered.
    One function, store_index_update, turns (old record, new record) into
    every index and counter change; s_open_dbs opens every database;
    store_check has one loop per database. Full text hooks into those
    three places.

    Locking. LMDB lets mdb_env_set_mapsize run only while this process has
    no active transaction, so every transaction (read or write) holds
    resize_lock shared, and growing the map holds it exclusive. Growing
    happens only in the (single) batch thread, after it has aborted its own
    transaction and dropped its shared hold, so nobody waits on the
    exclusive lock while holding the shared one. The lock prefers writers,
    so a steady stream of readers cannot starve a resize.

    Reads. Each thread keeps one read transaction per store, reset between
    reads and renewed by the next one (MDB_NOTLS: the slot is not tied to
    the thread by LMDB, we tie it with a pthread key). A reset transaction
    holds no snapshot, so it neither pins pages nor blocks a resize.

    Batches. A batch is one write transaction and a log of the writes
    made in it (a put's final bytes, a delete's id). A record write runs
    in the batch's transaction itself; one that fails half-way is undone
    by beginning the transaction again and replaying the log
    (store_batch_restart). Writes to the log databases run in nested
    transactions. When the map is full the batch aborts, doubles the map
    (up to put_limit; max_map_size for deletes, log-database writes and
    the commit) and replays the log. */
#ifndef DOSSIER_STORE_INTERNAL_H
#define DOSSIER_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/fts/fts.h"
#include "store/store.h"

/* The store's own databases (under 16) and the full-text index's. */
#define STORE_MAX_DBS (16 + STORE_FTS_DBS)
#define STORE_CKEY_SIZE 128     /* country key buffer: at most 127 bytes */
#define STORE_PUBLISHER_MAX 200 /* bytes of folded publisher in its key */
#define STORE_KEY_MAX 512       /* > every key we build; LMDB's limit is 511 */
#define STORE_YEAR_MIN 1900
#define STORE_YEAR_MAX 2200
#define STORE_TIER_MAX DOSSIER__V1__TIER__SPECIAL_CASE
#define STORE_SCHEMA_KEY "schema_version"
#define STORE_COUNT_YEAR "count/year/"
#define STORE_COUNT_TIER "count/tier/"
#define STORE_GROW_ATTEMPTS 64

/* ---- The indexes; the bodies of store_t and store_batch_t ---- */

enum {
    STORE_IDX_COUNTRY_YEAR,
    STORE_IDX_YEAR,
    STORE_IDX_TIER,
    STORE_IDX_PUBLISHER,
    STORE_IDX_COUNT
};

/* One read transaction cached per thread (see Reads above); its body is
   the read transactions' own. */
typedef struct store_reader_t store_reader_t;

struct store_t {
    MDB_env *env;
    MDB_dbi records;
    MDB_dbi meta;
    MDB_dbi index[STORE_IDX_COUNT];
    MDB_dbi audit;     /* big-endian seq -> packed dossier.v1.AuditEntry */
    MDB_dbi idem;      /* idempotency key -> the reply it got */
    MDB_dbi idem_time; /* be64 time in ms + key -> "": expiry order */
    MDB_dbi versions;  /* id NUL be64 version -> a kept version (versions.c) */
    MDB_dbi tokens;    /* token id -> its hash, times and Token (tokens.c) */
    uint64_t history_keep; /* versions kept per record, 0: all */
    char *dir;
    int lock_fd;
    size_t map_size; /* written only with resize_lock held exclusive */
    size_t max_map_size;
    size_t put_limit; /* max_map_size less the reserve kept for deletes */
    size_t os_page;
    pthread_rwlock_t resize_lock;
    pthread_mutex_t mutex; /* readers list and batch_active */
    pthread_cond_t batch_idle;
    bool batch_active;
    pthread_key_t reader_key;
    store_reader_t *readers;
    store_fts_t *fts;       /* the full-text index (fts/) */
    unsigned stale_readers; /* reader slots of dead processes cleared */
    uint64_t rebuilt;       /* records the index was rebuilt from at open */
};

typedef enum {
    STORE_OP_PUT,
    STORE_OP_DELETE,
    STORE_OP_KV_PUT,
    STORE_OP_KV_DEL
} store_op_kind_t;

/* A write kept for replay: a put's final bytes, or a delete's id; or a
   plain key/value put or delete in one of the log databases (audit,
   idempotency keys), key in id (key_size bytes) and value in packed. */
typedef struct {
    store_op_kind_t kind;
    char *id;
    uint8_t *packed;
    size_t size;
    MDB_dbi dbi;     /* KV ops */
    size_t key_size; /* KV ops */
    /* Record ops: what store_batch_change reports. */
    uint64_t version;
    uint32_t year;
    char country_code[8];
} store_op_t;

struct store_batch_t {
    store_t *store;
    MDB_txn *txn;           /* NULL once the batch failed beyond repair */
    bool holds_lock;        /* resize_lock held shared */
    int last_rc;            /* LMDB code of the last failure, 0 if none */
    dossier_error_t broken; /* why txn is NULL */
    store_op_t *ops;
    size_t n_ops, cap_ops;
    int64_t clock_ms; /* store_batch_set_clock's time; 0: the wall clock */
};

typedef struct {
    store_reader_t *reader; /* NULL: txn is a one-off, aborted at the end */
    MDB_txn *txn;
} store_read_t;

/* ---- Small helpers, inline: they run for every key built ---- */

/* Big-endian integers, as keys and counters hold them. */
static inline void
store_be32(unsigned char *out, uint32_t v) {
    out[0] = (unsigned char)(v >> 24);
    out[1] = (unsigned char)(v >> 16);
    out[2] = (unsigned char)(v >> 8);
    out[3] = (unsigned char)v;
}

static inline uint32_t
store_get_be32(const unsigned char *in) {
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
           (uint32_t)in[2] << 8 | (uint32_t)in[3];
}

static inline void
store_be64(unsigned char *out, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)v;
        v >>= 8;
    }
}

static inline uint64_t
store_get_be64(const unsigned char *in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | in[i];
    }
    return v;
}

/* True when s is neither NULL nor "". */
static inline bool
store_str_set(const char *s) {
    return s != NULL && s[0] != '\0';
}

/* ---- env.c: errors, read transactions, the map ---- */

/*  Maps an LMDB (or errno) code to our status with a sentence. what says
    what was being done. */
dossier_status_t store_lmdb_error(const store_t *self, dossier_error_t *err,
                                  int rc, const char *what);

/*  Begins a read: renews this thread's cached read transaction or begins
    a new one, which becomes the thread's cache when it has none (a
    one-off otherwise); rd->txn is the transaction. Holds resize_lock
    shared from a successful return until store_read_end, which must
    follow. Returns DOSSIER_OK, or the LMDB failure with err set. */
dossier_status_t store_read_begin(store_t *self, store_read_t *rd,
                                  dossier_error_t *err);

/*  Ends a read: resets the cached transaction (aborts a one-off) and
    drops resize_lock. rd->txn is NULL afterwards. */
void store_read_end(store_t *self, store_read_t *rd);

/*  Doubles the map, to at most limit, and records the size LMDB took.
    The caller holds resize_lock exclusive or is alone with the store.
    Returns 0 or an LMDB code. */
int store_map_double(store_t *self, size_t limit);

/*  Doubles the map (up to put_limit) between batches once more than a
    quarter of it is used, so that a bulk load rarely fills it inside a
    batch: there, growing aborts the batch's transaction and replays its
    writes (store_batch_grow). A quarter, not a half: a batch that merges
    large index segments writes their copies before it frees the
    originals. The map is address space, not disk. Best effort: a failure
    leaves the growing to store_batch_grow. Takes resize_lock itself; the
    caller holds no transaction. */
void store_grow_ahead(store_t *self);

/* ---- indexes.c: index keys, counters, their one update ---- */

/* The database name of each index, by STORE_IDX_*. */
extern const char *const store_index_names[STORE_IDX_COUNT];

/*  Builds the key of report in index idx into buf (STORE_KEY_MAX bytes).
    Returns its length, or 0 when out of memory. */
size_t store_index_key(int idx, const Dossier__V1__Report *r,
                       unsigned char *buf);

/*  Where the id starts in a key of index idx, or 0 when the key is
    malformed (every valid key has a non-empty prefix). */
size_t store_index_id_offset(int idx, const unsigned char *key, size_t len);

/*  Builds into buf the key in meta of a counter: prefix
    (STORE_COUNT_YEAR or STORE_COUNT_TIER) then suffix (slen bytes: the
    BE year or the tier). Returns its length. */
size_t store_counter_key(const char *prefix, const unsigned char *suffix,
                         size_t slen, unsigned char *buf);

/*  The one place where a record change becomes index changes: old (NULL
    when inserting) and new (NULL when deleting), inside txn. Returns 0 or
    an LMDB/errno code. */
int store_index_update(store_t *self, MDB_txn *txn,
                       const Dossier__V1__Report *old,
                       const Dossier__V1__Report *new);

/* ---- records.c: records by id ---- */

/*  True when id (len bytes) is a well-formed report id: 1 to
    STORE_ID_MAX characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'. */
bool store_id_valid(const char *id, size_t len);

/*  Reads and unpacks record id (idlen bytes, not necessarily
    NUL-terminated) in txn; on success *report_p is the caller's. Returns
    DOSSIER_NOT_FOUND (with a message) when missing, DOSSIER_DATA_LOSS
    when its bytes do not unpack. */
dossier_status_t store_load(store_t *self, MDB_txn *txn, const char *id,
                            size_t idlen, Dossier__V1__Report **report_p,
                            dossier_error_t *err);

/*  Loads the stored record id in txn into *old_p (NULL when missing).
    Returns 0, an LMDB code, or -1 when its bytes are unreadable. */
int store_load_old(store_t *self, MDB_txn *txn, const char *id,
                   Dossier__V1__Report **old_p);

/*  Writes new (packed: bytes of size) over old (NULL: none) in txn,
    keeping old's bytes among the record's versions (versions.c).
    terms: new's from store_fts_terms_new, or NULL. Returns 0 or an
    LMDB/errno code. */
int store_write_record(store_t *self, MDB_txn *txn,
                       const Dossier__V1__Report *old,
                       const Dossier__V1__Report *new, const uint8_t *packed,
                       size_t size, const store_fts_terms_t *terms);

/*  Deletes old (the stored record), its index entries and its postings
    in txn, keeping its bytes and then tombstone (size bytes, from
    store_versions_tombstone_pack, version old->version + 1) among its
    versions. Returns 0 or an LMDB/errno code. */
int store_delete_record(store_t *self, MDB_txn *txn,
                        const Dossier__V1__Report *old,
                        const uint8_t *tombstone, size_t size);

/* ---- journal.c: plain key/value writes in a batch ---- */

/*  One key/value put (value not NULL, size bytes) or delete in the named
    database dbi of the batch (the log databases, the tokens), in a
    nested transaction like a record write, logged for replay when the
    map grows. A delete of a missing key is not an error. use_reserve
    lets it take the room kept for deletes: the audit line of a write
    that fitted must fit too. */
dossier_status_t store_kv_write(store_batch_t *batch, MDB_dbi dbi,
                                const void *key, size_t key_size,
                                const void *value, size_t size,
                                bool use_reserve, dossier_error_t *err);

/* ---- batch.c: the write transaction, its log, growing the map ---- */

/*  DOSSIER_OK when batch can take a write: DOSSIER_INVALID_ARGUMENT for
    no batch, the code and sentence it broke with when it is broken. */
dossier_status_t store_batch_usable(store_batch_t *batch, dossier_error_t *err);

/*  Makes room in the batch's log for one more write, before the write,
    so that a write that happened can always be logged.
    DOSSIER_RESOURCE_EXHAUSTED when out of memory. */
dossier_status_t store_batch_log_reserve(store_batch_t *batch,
                                         dossier_error_t *err);

/*  Marks the batch broken with code and msg, which every later write
    and the commit then report. The caller has aborted batch->txn and set
    it to NULL. */
void store_batch_break(store_batch_t *batch, dossier_status_t code,
                       const char *msg);

/*  Grows the map for a batch whose last write hit MDB_MAP_FULL: aborts
    its transaction (if any), doubles the map (at most put_limit, or
    max_map_size when use_reserve: deletes and commits), begins again and
    replays the log. The batch stays usable when the map is already at its
    limit (RESOURCE_EXHAUSTED, nothing aborted) and is broken (txn NULL)
    when growing or replaying fails. */
dossier_status_t store_batch_grow(store_batch_t *batch, bool use_reserve,
                                  dossier_error_t *err);

/*  Begins the batch's transaction again and replays its log: what a
    write that failed half-way left in it is gone, the logged writes are
    back (the full-text buffer too: the replay indexes again). The batch
    is broken (txn NULL) when that fails. */
dossier_status_t store_batch_restart(store_batch_t *batch,
                                     dossier_error_t *err);

/* ---- versions.c: the versions each record keeps ---- */

/*  Copies the stored bytes of record id, at version, into its kept
    versions (nothing when there is no such record), then drops what the
    retention no longer keeps. Call before the write replaces it. Returns
    an LMDB code. */
int store_versions_save(store_t *self, MDB_txn *txn, const char *id,
                        uint64_t version);

/*  Keeps packed (size bytes, a tombstone from
    store_versions_tombstone_pack) as version of id: its deletion. */
int store_versions_tombstone(store_t *self, MDB_txn *txn, const char *id,
                             uint64_t version, const uint8_t *packed,
                             size_t size);

/*  *version: the newest version kept for id, 0 when none. Returns an
    LMDB code. */
int store_versions_last(store_t *self, MDB_txn *txn, const char *id,
                        uint64_t *version);

/*  A tombstone's bytes: a packed Report of id, version, updated_at time
    and updated_by user; malloc'd (the caller frees), *size_p its size;
    NULL when out of memory. */
uint8_t *store_versions_tombstone_pack(const char *id, uint64_t version,
                                       const char *time, const char *user,
                                       size_t *size_p);

#endif
