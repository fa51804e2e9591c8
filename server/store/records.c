/*  records.c: the records by id. Reads: store_get and store_get_packed,
    and store_load, which the scans share. Writes: store_validate,
    store_put and store_delete, each run in the batch's transaction by
    s_write, which grows the map and retries when it is full and rebuilds
    the transaction from the batch's log when a write fails half-way. A
    record and its index entries, counters and postings change together
    (store_write_record, store_delete_record). */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"

bool
store_id_valid(const char *id, size_t len) {
    if (len < 1 || len > STORE_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
                  c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

dossier_status_t
store_check_id(const char *field, const char *id, dossier_error_t *err) {
    size_t size = id ? strlen(id) : 0;
    if (store_id_valid(id, size)) {
        return DOSSIER_OK;
    }
    if (size == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s is empty; give a record id", field);
    }
    if (size > STORE_ID_MAX) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s is %zu bytes; an id has at most %d", field,
                                 size, STORE_ID_MAX);
    }
    size_t at = 0;
    while (store_id_valid(id + at, 1)) {
        at++;
    }
    /* What came before the character is id grammar, fit to echo; the
       character itself is named (text_describe_char), so the reply stays
       valid UTF-8 whatever the request held. */
    char what[16];
    text_describe_char(id + at, size - at, what);
    return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                             "%s \"%.*s%s\" has %s at position %zu; an id is "
                             "1 to %d of the letters A-Z a-z, the digits 0-9 "
                             "and . _ : -",
                             field, (int)(at < 40 ? at : 40), id,
                             at < 40 ? "" : "...", what, at + 1, STORE_ID_MAX);
}

/*  The batch's time (store_batch_now_ms) as "2026-11-27T20:54:02.123Z". */
static void
s_now(const store_batch_t *batch, char out[32]) {
    int64_t ms = store_batch_now_ms(batch);
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

dossier_status_t
store_load(store_t *self, MDB_txn *txn, const char *id, size_t idlen,
           Dossier__V1__Report **report_p, dossier_error_t *err) {
    MDB_val k = {idlen, (void *)id}, v;
    int rc = mdb_get(txn, self->records, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return dossier_error_set(err, DOSSIER_NOT_FOUND, "no report %.*s",
                                 (int)idlen, id);
    }
    if (rc != 0) {
        return store_lmdb_error(self, err, rc, "cannot read a report");
    }
    Dossier__V1__Report *r =
        dossier__v1__report__unpack(NULL, v.mv_size, v.mv_data);
    if (r == NULL) {
        return dossier_error_set(err, DOSSIER_DATA_LOSS,
                                 "report %.*s is stored as unreadable bytes: "
                                 "restore it from a backup or put it again",
                                 (int)idlen, id);
    }
    *report_p = r;
    return DOSSIER_OK;
}

/* ---- Reads ---- */

dossier_status_t
store_get(store_t *self, const char *id, Dossier__V1__Report **report_p,
          dossier_error_t *err) {
    dossier_status_t status = store_check_id("id", id, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    store_read_t rd;
    status = store_read_begin(self, &rd, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    status = store_load(self, rd.txn, id, strlen(id), report_p, err);
    store_read_end(self, &rd);
    return status;
}

dossier_status_t
store_get_packed(store_t *self, const char *id,
                 void (*fn)(const void *data, size_t size, void *arg),
                 void *arg, dossier_error_t *err) {
    dossier_status_t status = store_check_id("id", id, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    store_read_t rd;
    status = store_read_begin(self, &rd, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    MDB_val k = {strlen(id), (void *)id}, v;
    int rc = mdb_get(rd.txn, self->records, &k, &v);
    if (rc == 0) {
        fn(v.mv_data, v.mv_size, arg);
    } else if (rc == MDB_NOTFOUND) {
        status = dossier_error_set(err, DOSSIER_NOT_FOUND, "no report %s", id);
    } else {
        status = store_lmdb_error(self, err, rc, "cannot read a report");
    }
    store_read_end(self, &rd);
    return status;
}

/* ---- Writes ---- */

int
store_write_record(store_t *self, MDB_txn *txn, const Dossier__V1__Report *old,
                   const Dossier__V1__Report *new, const uint8_t *packed,
                   size_t size, const store_fts_terms_t *terms) {
    int rc = old ? store_versions_save(self, txn, old->id, old->version) : 0;
    if (rc == 0) {
        rc = store_index_update(self, txn, old, new);
    }
    if (rc != 0) {
        return rc;
    }
    MDB_val k = {strlen(new->id), new->id}, v = {size, (void *)packed};
    rc = mdb_put(txn, self->records, &k, &v, 0);
    if (rc == 0 && store_fts_update_terms(self->fts, txn, old, new, terms,
                                          NULL) != DOSSIER_OK) {
        rc = store_fts_rc(self->fts);
    }
    return rc;
}

int
store_delete_record(store_t *self, MDB_txn *txn, const Dossier__V1__Report *old,
                    const uint8_t *tombstone, size_t size) {
    int rc = store_versions_save(self, txn, old->id, old->version);
    if (rc == 0 && tombstone) {
        rc = store_versions_tombstone(self, txn, old->id, old->version + 1,
                                      tombstone, size);
    }
    if (rc == 0) {
        rc = store_index_update(self, txn, old, NULL);
    }
    if (rc != 0) {
        return rc;
    }
    MDB_val k = {strlen(old->id), old->id};
    rc = mdb_del(txn, self->records, &k, NULL);
    if (rc == 0 &&
        store_fts_update(self->fts, txn, old, NULL, NULL) != DOSSIER_OK) {
        rc = store_fts_rc(self->fts);
    }
    return rc;
}

int
store_load_old(store_t *self, MDB_txn *txn, const char *id,
               Dossier__V1__Report **old_p) {
    MDB_val k = {strlen(id), (void *)id}, v;
    *old_p = NULL;
    int rc = mdb_get(txn, self->records, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    *old_p = dossier__v1__report__unpack(NULL, v.mv_size, v.mv_data);
    return *old_p ? 0 : -1;
}

dossier_status_t
store_validate(const Dossier__V1__Report *report, dossier_error_t *err) {
    if (report == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "no report given");
    }
    dossier_status_t status = store_check_id("report.id", report->id, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    if (report->year != 0 &&
        (report->year < STORE_YEAR_MIN || report->year > STORE_YEAR_MAX)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "report %s has year %u; a year is 0 "
                                 "(unknown) or %d to %d",
                                 report->id, report->year, STORE_YEAR_MIN,
                                 STORE_YEAR_MAX);
    }
    if ((unsigned)report->tier > STORE_TIER_MAX) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "report %s has tier %d, which is not a "
                                 "known tier",
                                 report->id, (int)report->tier);
    }
    /* Every string field, found through the descriptor so none is missed. */
    const ProtobufCMessageDescriptor *d = &dossier__v1__report__descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        if (fd->type != PROTOBUF_C_TYPE_STRING) {
            continue;
        }
        const char *base = (const char *)report;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + fd->quantifier_offset);
            char *const *v = *(char *const *const *)(base + fd->offset);
            for (size_t j = 0; j < n; j++) {
                if (v[j] == NULL || !text_utf8_valid(v[j], strlen(v[j]))) {
                    return dossier_error_set(
                        err, DOSSIER_INVALID_ARGUMENT,
                        "report %s: %s[%zu] is not valid UTF-8", report->id,
                        fd->name, j);
                }
            }
        } else {
            const char *s = *(const char *const *)(base + fd->offset);
            if (s != NULL && !text_utf8_valid(s, strlen(s))) {
                return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                         "report %s: %s is not valid UTF-8",
                                         report->id, fd->name);
            }
        }
    }
    return DOSSIER_OK;
}

static dossier_status_t
s_version_check(const char *id, uint64_t current, uint64_t expected,
                dossier_error_t *err) {
    if (expected == 0 || expected == current) {
        return DOSSIER_OK;
    }
    if (current == 0) {
        return dossier_error_set(err, DOSSIER_ABORTED,
                                 "report %s does not exist, not at version "
                                 "%llu",
                                 id, (unsigned long long)expected);
    }
    return dossier_error_set(
        err, DOSSIER_ABORTED, "report %s is at version %llu, not %llu", id,
        (unsigned long long)current, (unsigned long long)expected);
}

/*  Packs r as it would be stored without the server's fields into a
    malloc'd buffer (*size_p its bytes); NULL when out of memory. */
static uint8_t *
s_pack_content(const Dossier__V1__Report *r, size_t *size_p) {
    Dossier__V1__Report content = *r;
    content.version = 0;
    content.created_at = content.updated_at = (char *)"";
    content.created_by = content.updated_by = (char *)"";
    size_t size = dossier__v1__report__get_packed_size(&content);
    uint8_t *packed = malloc(size ? size : 1);
    if (packed) {
        dossier__v1__report__pack(&content, packed);
        *size_p = size;
    }
    return packed;
}

/*  True when a and b differ only in the server's fields (false when out
    of memory: then the write happens, which is never wrong). */
static bool
s_same_content(const Dossier__V1__Report *a, const Dossier__V1__Report *b) {
    size_t na = 0, nb = 0;
    uint8_t *pa = s_pack_content(a, &na);
    uint8_t *pb = s_pack_content(b, &nb);
    bool same = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

/*  The put itself, in txn. On success with a write, op gets the final
    bytes (the caller's to keep or free). batch->last_rc gets the LMDB
    code of an LMDB failure. */
static dossier_status_t
s_put_txn(store_batch_t *batch, MDB_txn *txn, const Dossier__V1__Report *report,
          const store_put_args_t *args, store_put_result_t *res, store_op_t *op,
          bool *touched, dossier_error_t *err) {
    store_t *self = batch->store;
    Dossier__V1__Report *old;
    int rc = store_load_old(self, txn, report->id, &old);
    if (rc < 0) {
        return dossier_error_set(err, DOSSIER_DATA_LOSS,
                                 "report %s is stored as unreadable bytes: "
                                 "delete it first",
                                 report->id);
    }
    if (rc != 0) {
        batch->last_rc = rc;
        return store_lmdb_error(self, err, rc, "cannot read a report");
    }
    uint64_t current = old ? old->version : 0;
    dossier_status_t status = DOSSIER_OK;
    if (args->create_only && old) {
        status = dossier_error_set(err, DOSSIER_ALREADY_EXISTS,
                                   "report %s already exists (version %llu)",
                                   report->id, (unsigned long long)current);
    }
    if (status == DOSSIER_OK) {
        status =
            s_version_check(report->id, current, args->expected_version, err);
    }
    if (status != DOSSIER_OK) {
        res->version = current; /* named by ABORTED */
        dossier__v1__report__free_unpacked(old, NULL);
        return status;
    }
    if (old &&
        ((args->skip_if_same_source && store_str_set(report->source_sha256) &&
          strcmp(old->source_sha256, report->source_sha256) == 0) ||
         (args->skip_if_identical && s_same_content(old, report)))) {
        res->version = current;
        res->created = false;
        res->unchanged = true;
        dossier__v1__report__free_unpacked(old, NULL);
        return DOSSIER_OK;
    }
    /* A record put again after its delete goes on numbering after its
       tombstone, so that a version names one version for good. */
    uint64_t base = current;
    if (!old) {
        rc = store_versions_last(self, txn, report->id, &base);
        if (rc != 0) {
            batch->last_rc = rc;
            return store_lmdb_error(self, err, rc, "cannot read versions");
        }
    }
    char now[32];
    s_now(batch, now);
    const char *user = store_str_set(args->user) ? args->user : "anonymous";
    /* A shallow copy with the server's fields: report stays untouched. */
    Dossier__V1__Report new = *report;
    new.version = base + 1;
    new.created_at = old ? old->created_at : now;
    new.created_by = old ? old->created_by : (char *)user;
    new.updated_at = now;
    new.updated_by = (char *)user;
    size_t size = dossier__v1__report__get_packed_size(&new);
    uint8_t *packed = malloc(size ? size : 1);
    if (packed == NULL) {
        dossier__v1__report__free_unpacked(old, NULL);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier__v1__report__pack(&new, packed);
    *touched = true;
    rc = store_write_record(self, txn, old, &new, packed, size, args->terms);
    dossier__v1__report__free_unpacked(old, NULL);
    if (rc != 0) {
        free(packed);
        batch->last_rc = rc;
        return store_lmdb_error(self, err, rc, "cannot write a report");
    }
    op->kind = STORE_OP_PUT;
    op->packed = packed;
    op->size = size;
    op->version = new.version;
    op->year = new.year;
    snprintf(op->country_code, sizeof op->country_code, "%s",
             new.country_code ? new.country_code : "");
    res->version = new.version;
    res->created = current == 0;
    res->unchanged = false;
    return DOSSIER_OK;
}

static dossier_status_t
s_delete_txn(store_batch_t *batch, MDB_txn *txn, const char *id,
             uint64_t expected_version, const char *user, uint64_t *version,
             store_op_t *op, bool *touched, dossier_error_t *err) {
    store_t *self = batch->store;
    Dossier__V1__Report *old;
    int rc = store_load_old(self, txn, id, &old);
    if (rc < 0) {
        /* Unreadable bytes: remove the record; its index entries, if
           any, are unknown and store_check will name them. */
        MDB_val k = {strlen(id), (void *)id};
        *touched = true;
        rc = mdb_del(txn, self->records, &k, NULL);
        if (rc == 0) {
            *version = 0;
            return DOSSIER_OK;
        }
    }
    if (rc != 0) {
        batch->last_rc = rc;
        return store_lmdb_error(self, err, rc, "cannot read a report");
    }
    if (old == NULL) {
        if (expected_version != 0) {
            *version = 0; /* named by ABORTED */
            return s_version_check(id, 0, expected_version, err);
        }
        return dossier_error_set(err, DOSSIER_NOT_FOUND, "no report %s", id);
    }
    dossier_status_t status =
        s_version_check(id, old->version, expected_version, err);
    *version = old->version; /* the deleted one, or named by ABORTED */
    if (status == DOSSIER_OK) {
        char now[32];
        s_now(batch, now);
        op->packed = store_versions_tombstone_pack(
            id, old->version + 1, now, store_str_set(user) ? user : "anonymous",
            &op->size);
        if (!op->packed) {
            dossier__v1__report__free_unpacked(old, NULL);
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "out of memory");
        }
        op->version = old->version;
        op->year = old->year;
        snprintf(op->country_code, sizeof op->country_code, "%s",
                 old->country_code ? old->country_code : "");
        *touched = true;
        rc = store_delete_record(self, txn, old, op->packed, op->size);
        if (rc != 0) {
            batch->last_rc = rc;
            status = store_lmdb_error(self, err, rc, "cannot delete a report");
        }
    }
    dossier__v1__report__free_unpacked(old, NULL);
    return status;
}

/*  Runs one write (put when report is not NULL, else delete of id) in the
    batch's transaction, growing the map and retrying when it is full.

    Not in a nested transaction: LMDB copies every page a child touches
    that its parent already dirtied (a malloc, zeroing and a copy), about
    18 pages per imported document, 12% of a bulk load's instructions
    under callgrind. Every refusal (version, create_only, unreadable
    record, unchanged) is decided before the first write, so a write that
    fails after it began is rare (an LMDB error, a damaged index block,
    out of memory): the batch's transaction is then rebuilt from the
    batch's log (store_batch_restart), and the failed write leaves no trace
    while its neighbours still commit. */
static dossier_status_t
s_write(store_batch_t *batch, const Dossier__V1__Report *report,
        const store_put_args_t *args, const char *id, uint64_t expected,
        store_put_result_t *res, uint64_t *version, dossier_error_t *err) {
    if (batch == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "no write batch");
    }
    for (int attempt = 0;; attempt++) {
        dossier_status_t status = store_batch_usable(batch, err);
        if (status == DOSSIER_OK) {
            status = store_batch_log_reserve(batch, err);
        }
        if (status != DOSSIER_OK) {
            return status;
        }
        store_op_t op = {0};
        bool touched = false;
        batch->last_rc = 0;
        if (report) {
            status = s_put_txn(batch, batch->txn, report, args, res, &op,
                               &touched, err);
        } else {
            status = s_delete_txn(batch, batch->txn, id, expected,
                                  args ? args->user : NULL, version, &op,
                                  &touched, err);
            op.kind = STORE_OP_DELETE;
        }
        bool logged =
            status == DOSSIER_OK && (report == NULL || op.packed != NULL);
        if (logged) {
            op.id = strdup(report ? report->id : id);
            if (op.id == NULL) {
                /* Cannot replay it later: undo by failing the batch. */
                free(op.packed);
                mdb_txn_abort(batch->txn);
                batch->txn = NULL;
                store_batch_break(batch, DOSSIER_RESOURCE_EXHAUSTED,
                                  "out of memory");
                return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                         "out of memory");
            }
            batch->ops[batch->n_ops++] = op;
            return DOSSIER_OK;
        }
        free(op.packed);
        if (status == DOSSIER_OK) {
            return DOSSIER_OK; /* unchanged: nothing to log */
        }
        if (batch->last_rc == MDB_MAP_FULL && attempt < STORE_GROW_ATTEMPTS) {
            /* Aborts, grows, replays the log; then try again. */
            dossier_status_t grown =
                store_batch_grow(batch, report == NULL, err);
            if (grown == DOSSIER_OK) {
                continue;
            }
            if (batch->txn) {
                /* At its limit, the map did not grow and store_batch_grow left
                   the transaction as it was: unusable after MDB_MAP_FULL. */
                dossier_error_t restart_err = {0};
                (void)store_batch_restart(batch, &restart_err);
            }
            return grown;
        }
        if (touched || batch->last_rc != 0) {
            /* An LMDB error leaves the transaction unusable, and a write
               cut short its half: start the batch over from its log. */
            /* Should that fail, the batch is broken and says why to the
               writes that follow; this one reports its own failure. */
            dossier_error_t restart_err = {0};
            (void)store_batch_restart(batch, &restart_err);
        }
        return status;
    }
}

dossier_status_t
store_put(store_batch_t *batch, const Dossier__V1__Report *report,
          const store_put_args_t *args, store_put_result_t *result,
          dossier_error_t *err) {
    static const store_put_args_t no_args;
    if (!args || !args->validated) {
        dossier_status_t status = store_validate(report, err);
        if (status != DOSSIER_OK) {
            return status;
        }
    }
    store_put_result_t res = {0};
    dossier_status_t status = s_write(batch, report, args ? args : &no_args,
                                      NULL, 0, &res, NULL, err);
    if ((status == DOSSIER_OK || status == DOSSIER_ABORTED) && result) {
        *result = res;
    }
    return status;
}

dossier_status_t
store_delete(store_batch_t *batch, const char *id, uint64_t expected_version,
             uint64_t *version_p, dossier_error_t *err) {
    return store_delete_by(batch, id, expected_version, NULL, version_p, err);
}

dossier_status_t
store_delete_by(store_batch_t *batch, const char *id, uint64_t expected_version,
                const char *user, uint64_t *version_p, dossier_error_t *err) {
    dossier_status_t status = store_check_id("id", id, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    store_put_args_t args = {.user = user};
    uint64_t version = 0;
    status =
        s_write(batch, NULL, &args, id, expected_version, NULL, &version, err);
    if ((status == DOSSIER_OK || status == DOSSIER_ABORTED) && version_p) {
        *version_p = version;
    }
    return status;
}
