/*  store.h: the LMDB store of reports (the only module that sees LMDB).

    One LMDB environment in a data directory holds named databases: the
    records by id (each value is the packed dossier.v1.Report, so it can be
    sent as a Get reply without decoding), secondary indexes (country+year,
    year, tier, publisher), the full-text index, and "meta" with the schema
    version. Every write changes a record and all its index entries in one
    write transaction, so they never disagree.

    Threads: any number of threads may read at once (store_get, store_list,
    ...). Writes go through a store_batch_t, one batch at a time per store
    (LMDB has one writer); a batch groups several writes into one durable
    commit (group commit) while each write inside it succeeds or fails on
    its own. Reports handed out are the caller's, freed with
    dossier__v1__report__free_unpacked(report, NULL) or the matching
    *__free_unpacked of the response message. */
#ifndef DOSSIER_STORE_H
#define DOSSIER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dossier/v1/report.pb-c.h"
#include "dossier/v1/reports.pb-c.h"
#include "status.h"

/*  Bump when the on-disk layout changes; a store written by a newer
    schema is refused at open. */
#define STORE_SCHEMA_VERSION 1

/* store_list page sizes: 0 means the default; above the maximum is
   DOSSIER_INVALID_ARGUMENT. */
#define STORE_DEFAULT_PAGE_SIZE 50
/* The longest record id, in bytes (store_check_id). */
#define STORE_ID_MAX 128
#define STORE_MAX_PAGE_SIZE 1000

typedef struct store_t store_t;
typedef struct store_batch_t store_batch_t;

typedef struct {
    /* Initial map size in bytes; 0: 64 MiB. Grows (doubling) when full. */
    size_t map_size;
    /* Never grow beyond this; 0: 64 GiB. A write that needs more fails
       with DOSSIER_RESOURCE_EXHAUSTED and the store keeps serving. The
       last 1/16 of it (32 pages to 64 MiB) is kept for deletes, which in
       LMDB need fresh pages too, so a full store can always be emptied:
       puts stop short of it. */
    size_t max_map_size;
    /* MDB_NOSYNC: faster, loses the last commits on power failure. Off
       unless the operator asks. */
    bool no_sync;
    /* Maximum concurrent read transactions; 0: 126. */
    unsigned max_readers;
    /* Leave the merges of large full-text index segments (those bulk
       writes make) to store_batch_merge, which the caller runs when idle,
       instead of doing them in the commit that made them due: a bulk
       import then commits without rewriting the index it already wrote.
       Small merges, and all of them once the index holds many segments,
       still happen at commit. */
    bool defer_merges;
    /* Versions a record keeps besides its current one (its history,
       tombstones included); 0: all of them. */
    uint64_t history_keep;
} store_options_t;

/*  Opens (creating if needed) the store in directory dir, which must
    exist. options may be NULL for the defaults. Clears stale reader slots
    left by dead processes. Fails with DOSSIER_FAILED_PRECONDITION when the
    store's schema is newer than STORE_SCHEMA_VERSION, DOSSIER_UNAVAILABLE
    when the directory cannot be opened. On success *store_p is the caller's,
    closed with store_destroy.
    The store takes an exclusive lock (flock on DIR/dossierd.lock): a
    second store_open of the same directory, in this process or another,
    fails with DOSSIER_UNAVAILABLE until the first is destroyed. */
dossier_status_t store_open(const char *dir, const store_options_t *options,
                            store_t **store_p, dossier_error_t *err);

/*  Closes the store; takes NULL; sets *store_p to NULL. No batch may be
    open and no other thread may be using the store. Each thread that read
    keeps a cached read transaction, released when the thread exits or here;
    a thread that used the store must not be exiting while this runs. */
void store_destroy(store_t **store_p);

/*  The number of stale reader slots (left by dead processes) that
    store_open cleared with mdb_reader_check, for the start-up log. */
unsigned store_stale_readers(const store_t *self);

/*  The records store_open indexed again because the store's full-text
    index was missing or of an older layout (0: it was current), for the
    start-up log. */
uint64_t store_index_rebuilt(const store_t *self);

/* ---- Backup ---- */

/*  Writes a consistent, compacted copy of the store (one snapshot, free
    pages left out) to fd, an open, empty, writable file the caller owns:
    not closed or fsynced here. Any thread. The copy runs in a forked
    child process with its own read-only environment, so readers, the
    writer and even a growing map go on meanwhile (the child's snapshot
    pins old pages, so the file may grow while it runs). Returns
    DOSSIER_OK, DOSSIER_RESOURCE_EXHAUSTED when the file's disk is full, or
    another code with err set. */
dossier_status_t store_copy_to_fd(store_t *self, int fd, dossier_error_t *err);

typedef struct {
    uint64_t records;        /* entries of the records database */
    unsigned schema_version; /* STORE_SCHEMA_VERSION it was written with */
    uint64_t file_bytes;
} store_file_info_t;

/*  Looks into path, a single store file (a data.mdb, or a copy made by
    store_copy_to_fd) without writing anything next to it; no process may
    be writing the file meanwhile. Fills *info. Returns DOSSIER_OK,
    DOSSIER_NOT_FOUND when there is no such file, or
    DOSSIER_FAILED_PRECONDITION with a sentence when it is not an LMDB
    file, not a Dossier store, or of a newer schema than this build. */
dossier_status_t store_file_info(const char *path, store_file_info_t *info,
                                 dossier_error_t *err);

/* ---- Reads: safe from any thread, each in its own read transaction. ---- */

/*  Writes into buf (size bytes, NUL-terminated) the country key under which
    report is indexed: country_key() of report->country_code when set, else
    of report->country. Store filters compare against at most 127 bytes of
    it. report is borrowed. Returns buf. */
char *store_report_country_key(const Dossier__V1__Report *report, char *buf,
                               size_t size);

/*  Fetches a record. On success *report_p is the caller's. */
dossier_status_t store_get(store_t *self, const char *id,
                           Dossier__V1__Report **report_p,
                           dossier_error_t *err);

/*  Fetches a record's packed bytes (a serialized dossier.v1.Report) and
    hands them to fn(data, size, arg) inside the read transaction, so the
    caller copies them once, straight into a reply. data is valid only
    during the call; fn must not call store functions. Returns
    DOSSIER_NOT_FOUND without calling fn when there is no such record. */
dossier_status_t store_get_packed(store_t *self, const char *id,
                                  void (*fn)(const void *data, size_t size,
                                             void *arg),
                                  void *arg, dossier_error_t *err);

/*  Like store_get_packed, for one version of a record: 0 the current one
    (as store_get_packed, with a NOT_FOUND message that says when the
    record was deleted), else that version, current or kept in its
    history. A version not kept, or one that is the record's deletion, is
    DOSSIER_NOT_FOUND with a sentence. */
dossier_status_t
store_get_version_packed(store_t *self, const char *id, uint64_t version,
                         void (*fn)(const void *data, size_t size, void *arg),
                         void *arg, dossier_error_t *err);

/*  The versions of record id, newest first: the stored record, then the
    versions kept (deletions included), at most page_size (0: 100) of
    them, older than before_version (0: from the newest). On success
    *response_p is the caller's; DOSSIER_NOT_FOUND when the id has neither
    a record nor a history. */
dossier_status_t store_list_versions(
    store_t *self, const char *id, uint32_t page_size, uint64_t before_version,
    Dossier__V1__ListVersionsResponse **response_p, dossier_error_t *err);

/*  Filters for store_list. Unset (NULL / 0) fields do not filter. A
    record without a year (0) never matches a year range. */
typedef struct {
    /* A country key as produced by country_key() (common/country.h). */
    const char *country_key;
    uint32_t year_min;
    uint32_t year_max;
    Dossier__V1__Tier tier;
    /* Compared case-insensitively. */
    const char *publisher;
    /* Compared case-insensitively. No index leads by it: with no other
       filter, a listing reads the records in id order and keeps these. */
    const char *doc_type;
} store_filter_t;

/*  Lists records matching filter in id order, at most page_size of them
    (0: STORE_DEFAULT_PAGE_SIZE; at most STORE_MAX_PAGE_SIZE, else
    DOSSIER_INVALID_ARGUMENT), continuing after page_token (NULL or "" for the
    first page; else a token from a previous call with the same filter).
    full: every field, else the summary view (no body, cite_as,
    disclaimer). On success *response_p is the caller's; its
    next_page_token is "" on the last page. A malformed token, or one
    issued for another filter, is DOSSIER_INVALID_ARGUMENT; year_min after
    year_max or an unknown tier too. */
dossier_status_t store_list(store_t *self, const store_filter_t *filter,
                            uint32_t page_size, const char *page_token,
                            bool full, Dossier__V1__ListResponse **response_p,
                            dossier_error_t *err);

/*  A country's tier per year in the series doc_type (NULL: Trafficking in
    Persons Report), ascending by year. country_key as for store_filter_t.
    On success *response_p is the caller's (country names filled from the
    newest record). doc_type is compared case-insensitively; records
    without a year are left out; when several records give one year, the
    most recently updated counts. No record: DOSSIER_NOT_FOUND. */
dossier_status_t store_history(store_t *self, const char *country_key,
                               const char *doc_type,
                               Dossier__V1__HistoryResponse **response_p,
                               dossier_error_t *err);

/*  Countries whose tier in year differs from their tier in year - 1, in
    the series doc_type (NULL: TIP report), by country name (folded).
    Only countries with a tier in both years count. year must be 1901 to
    2200, else DOSSIER_INVALID_ARGUMENT. On success *response_p is the
    caller's. */
dossier_status_t store_changes(store_t *self, uint32_t year,
                               const char *doc_type,
                               Dossier__V1__ChangesResponse **response_p,
                               dossier_error_t *err);

/*  Counts by year and tier, sizes. Fills records, by_year, by_tier
    (ascending; years and tiers without records left out), db_bytes,
    map_bytes, index_segments and index_merge_due of a response the
    caller owns (*response_p on success; the server adds its own
    fields). */
dossier_status_t store_stats(store_t *self,
                             Dossier__V1__StatsResponse **response_p,
                             dossier_error_t *err);

/*  Full-text search (server/store/fts/): the records matching
    request->query (terms that must all match, "quoted phrases",
    -excluded terms and -"excluded phrases"; see server/store/fts/query.h) and
    request->filter, ranked by BM25 (k1 1.2, b 0.75) or ordered by year or
    publication date (newest first), page by page (page_size 0: 10; more
    than max_page_size, 0 meaning 1000, is DOSSIER_INVALID_ARGUMENT), with
    a snippet per hit and, when request->facets, the match counts per
    year, tier, country and publisher. total_hits is exact, except that
    with request->estimate_total_hits (and no facets) it may be an
    estimate, flagged total_hits_estimated (docs/PROTOCOL.md says when).
    A query with nothing to look
   for, an unterminated quote, a bad filter or a foreign page_token is
    DOSSIER_INVALID_ARGUMENT with a message. request is borrowed; on
    success *response_p is the caller's, freed with
    dossier__v1__search_response__free_unpacked(response, NULL). */
dossier_status_t store_search(store_t *self,
                              const Dossier__V1__SearchRequest *request,
                              uint32_t max_page_size,
                              Dossier__V1__SearchResponse **response_p,
                              dossier_error_t *err);

/*  Walks every record and index entry and checks they agree (each record
    indexed exactly where its fields say, no index entry without its
    record, full-text postings matching). Returns DOSSIER_OK, or
    DOSSIER_DATA_LOSS with the first disagreement described in err.
    *problems_p (if not NULL) gets the number of disagreements found. */
dossier_status_t store_check(store_t *self, uint64_t *problems_p,
                             dossier_error_t *err);

/* ---- Writes: one batch at a time, from one thread. ---- */

/*  Starts a write batch. On success *batch_p is the caller's, ended by
    store_batch_commit or store_batch_abort, all from the calling thread
    (LMDB ties a write transaction to its thread). Waits while another
    batch of this store is open. */
dossier_status_t store_batch_begin(store_t *self, store_batch_t **batch_p,
                                   dossier_error_t *err);

typedef struct {
    /* 0: no check; else the stored version must equal it (DOSSIER_ABORTED
       naming the current version otherwise; a missing record has version
       0, so expected_version > 0 on a missing record is ABORTED too). */
    uint64_t expected_version;
    /* DOSSIER_ALREADY_EXISTS if the id exists. */
    bool create_only;
    /* The authenticated user, recorded as created_by / updated_by. */
    const char *user;
    /* When true and the stored record has the same source_sha256 as
       report, nothing is written and result->unchanged is set. */
    bool skip_if_same_source;
    /* When true and the stored record equals report in every field but
       the server's (version, created_*, updated_*), nothing is written
       and result->unchanged is set (PutBatch's skip_unchanged). */
    bool skip_if_identical;
    /* The report's terms from store_fts_terms_new(report) (borrowed), so
       the write does not tokenize; NULL: it does. */
    const struct store_fts_terms_t *terms;
    /* True when report passed store_validate and has not changed since,
       so the write (on the writer thread) does not check it again. */
    bool validated;
} store_put_args_t;

typedef struct {
    /* The new version; with DOSSIER_ABORTED, the current one (0: the
       record does not exist). */
    uint64_t version;
    bool created;
    bool unchanged;
} store_put_result_t;

/*  Checks a record id against the one grammar of ids: 1 to
    STORE_ID_MAX (128) bytes of [A-Za-z0-9._:-]. field names the id in the
    message ("GetRequest.id"), which says what is wrong and what is
    accepted. Returns DOSSIER_OK or DOSSIER_INVALID_ARGUMENT; id may be
    NULL (refused). Any thread; no store needed. */
dossier_status_t store_check_id(const char *field, const char *id,
                                dossier_error_t *err);

/*  Checks what store_put checks of report before writing it: the id is
    well formed, the year plausible, the tier known, every string valid
    UTF-8. Returns DOSSIER_OK, or DOSSIER_INVALID_ARGUMENT with the reason
    in err. report is borrowed. Safe from any thread (no store needed), so
    a parse worker can take this off the writer. */
dossier_status_t store_validate(const Dossier__V1__Report *report,
                                dossier_error_t *err);

/*  Inserts or replaces report (validated: id well formed, year plausible;
    else DOSSIER_INVALID_ARGUMENT). The store sets version, created_at /
    created_by (kept from the old record on replace), updated_at /
    updated_by; report itself is borrowed and not modified. The write
    and every index change happen together or not at all; a failure
    leaves the batch usable for the next write. Durable only once the
    batch commits. result is also written on DOSSIER_ABORTED (then its
    version is the stored record's, for the caller to report). */
dossier_status_t store_put(store_batch_t *batch,
                           const Dossier__V1__Report *report,
                           const store_put_args_t *args,
                           store_put_result_t *result, dossier_error_t *err);

/*  Deletes a record and its index entries. expected_version as for
    store_put. *version_p (if not NULL) gets the deleted version, or with
    DOSSIER_ABORTED the current one (0: no such record). */
dossier_status_t store_delete(store_batch_t *batch, const char *id,
                              uint64_t expected_version, uint64_t *version_p,
                              dossier_error_t *err);

/*  store_delete by user (NULL: "anonymous"), whom the record's tombstone
    names (store_list_versions). */
dossier_status_t store_delete_by(store_batch_t *batch, const char *id,
                                 uint64_t expected_version, const char *user,
                                 uint64_t *version_p, dossier_error_t *err);

/*  Commits the batch durably (fsync unless no_sync) and frees it; sets
    *batch_p to NULL whatever the outcome. On failure none of the batch's
    writes happened. */
dossier_status_t store_batch_commit(store_batch_t **batch_p,
                                    dossier_error_t *err);

/*  Merges, in the batch, the first run of full-text index segments due
    for a merge (see store_options_t.defer_merges): one merge, however
    large, so the caller can take other work between merges. *merged:
    whether it did (then commit the batch; else abort it); *more: whether
    another merge is due after this one. On failure the half-done merge is
    undone, the batch's other writes stay, and the error is returned. */
dossier_status_t store_batch_merge(store_batch_t *batch, bool *merged,
                                   bool *more, dossier_error_t *err);

/*  Sets the time batch's writes record (a record's created_at and
    updated_at, a tombstone's time, a token's revocation) to wall_ms,
    milliseconds since the epoch; 0 goes back to the wall clock. A
    cluster's nodes apply a Raft entry with its leader's time, so that
    every node stores the same bytes. */
void store_batch_set_clock(store_batch_t *batch, int64_t wall_ms);

/*  The time batch's writes record: store_batch_set_clock's, else the
    wall clock's now, in milliseconds since the epoch. */
int64_t store_batch_now_ms(const store_batch_t *batch);

/*  Discards the batch's writes and frees it; takes NULL. */
void store_batch_abort(store_batch_t **batch_p);

/* ---- Inside a batch: the audit log, idempotency keys, changes ----

   Named databases beside the records: "audit" (big-endian sequence
   number -> a packed dossier.v1.AuditEntry, appended to and pruned from
   the oldest end), "idempotency"
   (key -> the reply a write got, opaque to the store) and
   "idempotency_by_time" (the same keys in time order, for expiry).
   Their writes belong to the batch like record writes: durable with its
   commit, gone with its abort, replayed when the map grows. */

/*  The sequence number the next audit entry of batch gets: one more than
    the last in the log (including entries put earlier in this batch),
    1 for an empty log. */
dossier_status_t store_audit_next_seq(store_batch_t *batch, uint64_t *seq_p,
                                      dossier_error_t *err);

/*  Stores entry (size bytes, copied) as audit entry seq (> 0). An entry
    may use the room kept for deletes, so that a write that fitted is
    never left without its entry. */
dossier_status_t store_audit_put(store_batch_t *batch, uint64_t seq,
                                 const void *entry, size_t size,
                                 dossier_error_t *err);

/*  Reads the audit log in one read transaction from sequence number from
    (the first entry at or after it), calling fn(seq, entry, size, arg)
    for each (entry valid during the call only; fn must not call the
    store) until fn returns false, max_scan entries were read, or the log
    ends. *next_p (if not NULL) gets the seq of the entry after the last
    one read, or 0 when the log ended there. */
dossier_status_t store_audit_scan(store_t *self, uint64_t from, size_t max_scan,
                                  bool (*fn)(uint64_t seq, const void *entry,
                                             size_t size, void *arg),
                                  void *arg, uint64_t *next_p,
                                  dossier_error_t *err);

/*  Deletes the oldest audit entries of batch, in sequence order, while
    more than keep_max entries are kept (SIZE_MAX: no bound by count) or
    while is_old (NULL: no bound by age) says the first one left is old;
    at most max_deletes in this call (bounding the work of one batch),
    and never the last entry, so that a sequence number is never used
    twice. is_old(entry, size, arg) gets the packed entry, borrowed for
    the call; it must not call the store. *deleted_p (if not NULL) gets
    how many went. */
dossier_status_t store_audit_prune(store_batch_t *batch, size_t keep_max,
                                   bool (*is_old)(const void *entry,
                                                  size_t size, void *arg),
                                   void *arg, size_t max_deletes,
                                   size_t *deleted_p, dossier_error_t *err);

/*  The value stored with idempotency key (key_size bytes, 1 to 500) in
    batch, as written earlier (this batch included). On DOSSIER_OK
    *value_p is a malloc'd copy of *size_p bytes, the caller's;
    DOSSIER_NOT_FOUND when the key is unknown (or expired). */
dossier_status_t store_idem_get(store_batch_t *batch, const void *key,
                                size_t key_size, uint8_t **value_p,
                                size_t *size_p, dossier_error_t *err);

/*  Stores value (size bytes, copied) under key, stamped with time_ms
    (milliseconds of the wall clock) for store_idem_expire; replaces an
    existing entry. */
dossier_status_t store_idem_put(store_batch_t *batch, const void *key,
                                size_t key_size, const void *value, size_t size,
                                int64_t time_ms, dossier_error_t *err);

/*  Deletes the oldest idempotency keys: those stamped before before_ms,
    and more while over keep_max keys are kept, at most max_deletes of
    them in this call (bounding the work of one batch). *deleted_p (if
    not NULL) gets how many went. */
dossier_status_t store_idem_expire(store_batch_t *batch, int64_t before_ms,
                                   size_t keep_max, size_t max_deletes,
                                   size_t *deleted_p, dossier_error_t *err);

/* ---- The Raft log's position (journal.c) ----

   In a cluster (server/cluster/), each batch an entry of the Raft log
   carried stores that entry's index in "meta", in the same transaction,
   so that a node restarting (raft replays its log from the start when
   there is no snapshot) skips the entries its store already holds. */

/*  Stores index as the last Raft log entry applied, in batch. */
dossier_status_t store_batch_set_applied(store_batch_t *batch, uint64_t index,
                                         dossier_error_t *err);

/*  The last Raft log entry applied to the store, 0 when none ever was:
    into *index_p. */
dossier_status_t store_applied_index(store_t *self, uint64_t *index_p,
                                     dossier_error_t *err);

/* ---- API tokens (tokens.c) ----

   The named database "tokens": a token's id -> its secret's SHA-256, its
   expiry and revocation times and the packed dossier.v1.Token (which
   never holds the secret). Written in batches like the records, so a
   token is durable with its batch's commit and carried by what carries
   a batch; a backup copies it with the rest of the environment. Reads
   renew the thread's read transaction, so a commit is seen by the next
   read: nothing is cached across calls. */

/* Bytes of a token id (lower-case hex), and of a secret's hash. */
#define STORE_TOKEN_ID_SIZE 12
#define STORE_TOKEN_HASH_SIZE 32

typedef struct {
    uint8_t secret_sha256[STORE_TOKEN_HASH_SIZE];
    int64_t expires_ms; /* wall-clock ms since the epoch; 0: never */
    int64_t revoked_ms; /* 0: not revoked */
    /* The public part; filled by the reads (the caller's, freed with
       dossier__v1__token__free_unpacked), borrowed by store_token_put,
       which keys the entry by token->id. */
    Dossier__V1__Token *token;
} store_token_t;

/*  Reads token id (any string: one of another shape is simply not
    found) in a read transaction of its own. On DOSSIER_OK fills *out
    (out->token the caller's); DOSSIER_NOT_FOUND when there is no such
    token; DOSSIER_DATA_LOSS when its entry does not decode. Any
    thread. */
dossier_status_t store_token_get(store_t *self, const char *id,
                                 store_token_t *out, dossier_error_t *err);

/*  store_token_get inside batch, which sees its own earlier writes. */
dossier_status_t store_token_read(store_batch_t *batch, const char *id,
                                  store_token_t *out, dossier_error_t *err);

/*  Stores token (borrowed; token->token->id is the key, 1 to 64 bytes),
    replacing an entry with its id. Durable once the batch commits. */
dossier_status_t store_token_put(store_batch_t *batch,
                                 const store_token_t *token,
                                 dossier_error_t *err);

/*  Every token's public part, in id order, at most max of them (more is
    DOSSIER_RESOURCE_EXHAUSTED). On success *response_p is the caller's
    (dossier__v1__list_tokens_response__free_unpacked). Any thread. */
dossier_status_t store_token_list(store_t *self, size_t max,
                                  Dossier__V1__ListTokensResponse **response_p,
                                  dossier_error_t *err);

/*  A record write of the batch, as store_batch_change reports it. The
    strings are borrowed from the batch and valid until it ends. */
typedef struct {
    const char *id;
    /* The new version; for a delete, the version the record had. */
    uint64_t version;
    bool deleted;
    const char *country_code; /* "" when unknown */
    uint32_t year;
} store_change_t;

/*  A position in the batch's writes: pass it to store_batch_change to see
    only the record writes made after it. */
size_t store_batch_mark(const store_batch_t *batch);

/*  The next record write at or after *cursor (a mark), in the order they
    happened; advances *cursor. Returns false when there is none. Writes
    that changed nothing (an unchanged re-import) are not there. */
bool store_batch_change(const store_batch_t *batch, size_t *cursor,
                        store_change_t *change);

#endif
