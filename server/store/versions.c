/*  versions.c: each record's past versions (the "record_versions"
    database), not to be confused with history.c, which is a country's
    tier by year (the History method).

    Every write that replaces a record first copies the stored bytes of
    the version it replaces here, under the record's id and that version;
    a delete copies the last version and adds a tombstone, one version
    later, saying who deleted it and when. A record put again after its
    delete continues its numbering after the tombstone, so a version
    number names one version for the life of the id. Both happen inside
    store_write_record and store_delete_record, so they belong to the
    write's transaction: replayed with it when the batch restarts,
    committed with it, and carried by every backup (one LMDB file).

    Key: id, a NUL, the version as big-endian 64 bits; so one record's
    versions are adjacent and ascending. Value: one byte, 'R' (a packed
    dossier.v1.Report, as the records database held it) or 'D' (a
    tombstone: a packed Report holding id, version, updated_at and
    updated_by of the delete), then the bytes.

    Retention (store_options_t.history_keep, 0: keep all): after a write
    keeps version v, the versions at or below v - keep go, oldest first,
    tombstones included. */
#include "store/store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_KIND_RECORD 'R'
#define S_KIND_DELETED 'D'
#define S_KEY_MAX (STORE_ID_MAX + 1 + 8)

/*  Writes the key of (id, version) into key; returns its size. */
static size_t
s_key(unsigned char *key, const char *id, size_t idlen, uint64_t version) {
    memcpy(key, id, idlen);
    key[idlen] = '\0';
    store_be64(key + idlen + 1, version);
    return idlen + 9;
}

/*  True when key k is one of id's; *version gets its version. */
static bool
s_key_of(const MDB_val *k, const char *id, size_t idlen, uint64_t *version) {
    if (k->mv_size != idlen + 9 || memcmp(k->mv_data, id, idlen) != 0 ||
        ((const unsigned char *)k->mv_data)[idlen] != '\0') {
        return false;
    }
    *version = store_get_be64((const unsigned char *)k->mv_data + idlen + 1);
    return true;
}

/*  Drops id's versions at or below upto. */
static int
s_prune(store_t *self, MDB_txn *txn, const char *id, size_t idlen,
        uint64_t upto) {
    MDB_cursor *cursor;
    int rc = mdb_cursor_open(txn, self->versions, &cursor);
    if (rc != 0) {
        return rc;
    }
    unsigned char key[S_KEY_MAX];
    MDB_val k = {s_key(key, id, idlen, 0), key}, v;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    uint64_t version = 0;
    while (rc == 0 && s_key_of(&k, id, idlen, &version) && version <= upto) {
        rc = mdb_cursor_del(cursor, 0);
        if (rc == 0) {
            rc = mdb_cursor_get(cursor, &k, &v, MDB_GET_CURRENT);
        }
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*  Puts (id, version) -> kind + bytes, then applies the retention. */
static int
s_put(store_t *self, MDB_txn *txn, const char *id, uint64_t version, char kind,
      const void *bytes, size_t size) {
    size_t idlen = strlen(id);
    if (idlen > STORE_ID_MAX) {
        return MDB_BAD_VALSIZE;
    }
    unsigned char key[S_KEY_MAX];
    MDB_val k = {s_key(key, id, idlen, version), key};
    MDB_val v = {size + 1, NULL};
    int rc = mdb_put(txn, self->versions, &k, &v, MDB_RESERVE);
    if (rc != 0) {
        return rc;
    }
    ((unsigned char *)v.mv_data)[0] = (unsigned char)kind;
    memcpy((unsigned char *)v.mv_data + 1, bytes, size);
    if (self->history_keep > 0 && version > self->history_keep) {
        rc = s_prune(self, txn, id, idlen, version - self->history_keep);
    }
    return rc;
}

int
store_versions_save(store_t *self, MDB_txn *txn, const char *id,
                    uint64_t version) {
    MDB_val k = {strlen(id), (void *)id}, v;
    int rc = mdb_get(txn, self->records, &k, &v);
    if (rc != 0) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    /* Copied out first: in a write transaction, the put below may spill
       dirty pages, and v may point into one (a record written earlier
       in this batch). */
    void *copy = malloc(v.mv_size ? v.mv_size : 1);
    if (!copy) {
        return ENOMEM;
    }
    memcpy(copy, v.mv_data, v.mv_size);
    rc = s_put(self, txn, id, version, S_KIND_RECORD, copy, v.mv_size);
    free(copy);
    return rc;
}

int
store_versions_tombstone(store_t *self, MDB_txn *txn, const char *id,
                         uint64_t version, const uint8_t *packed, size_t size) {
    return s_put(self, txn, id, version, S_KIND_DELETED, packed, size);
}

int
store_versions_last(store_t *self, MDB_txn *txn, const char *id,
                    uint64_t *version) {
    *version = 0;
    size_t idlen = strlen(id);
    if (idlen > STORE_ID_MAX) {
        return 0;
    }
    MDB_cursor *cursor;
    int rc = mdb_cursor_open(txn, self->versions, &cursor);
    if (rc != 0) {
        return rc;
    }
    unsigned char key[S_KEY_MAX];
    MDB_val k = {s_key(key, id, idlen, UINT64_MAX), key}, v;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    if (rc == 0) {
        rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
    }
    uint64_t found = 0;
    if (rc == 0 && s_key_of(&k, id, idlen, &found)) {
        *version = found;
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

uint8_t *
store_versions_tombstone_pack(const char *id, uint64_t version,
                              const char *time, const char *user,
                              size_t *size_p) {
    Dossier__V1__Report t = DOSSIER__V1__REPORT__INIT;
    t.id = (char *)id;
    t.version = version;
    t.updated_at = (char *)time;
    t.updated_by = (char *)user;
    size_t size = dossier__v1__report__get_packed_size(&t);
    uint8_t *packed = malloc(size ? size : 1);
    if (packed) {
        dossier__v1__report__pack(&t, packed);
        *size_p = size;
    }
    return packed;
}

/* ---- Reads ---- */

dossier_status_t
store_get_version_packed(store_t *self, const char *id, uint64_t version,
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
    size_t idlen = strlen(id);
    MDB_val k = {idlen, (void *)id}, v;
    int rc = mdb_get(rd.txn, self->records, &k, &v);
    if (rc == 0) {
        /* The current record's version, unpacked only when asked for
           one: a plain Get stays a copy of the stored bytes. */
        bool same = version == 0;
        if (!same) {
            Dossier__V1__Report *current =
                dossier__v1__report__unpack(NULL, v.mv_size, v.mv_data);
            same = current && current->version == version;
            dossier__v1__report__free_unpacked(current, NULL);
        }
        if (same) {
            fn(v.mv_data, v.mv_size, arg);
            store_read_end(self, &rd);
            return DOSSIER_OK;
        }
    } else if (rc != MDB_NOTFOUND) {
        status = store_lmdb_error(self, err, rc, "cannot read a report");
        store_read_end(self, &rd);
        return status;
    }
    unsigned char key[S_KEY_MAX];
    uint64_t last = 0;
    rc = version ? MDB_NOTFOUND : store_versions_last(self, rd.txn, id, &last);
    if (version) {
        MDB_val vk = {s_key(key, id, idlen, version), key};
        rc = mdb_get(rd.txn, self->versions, &vk, &v);
    }
    if (version && rc == 0 && v.mv_size > 1 &&
        ((const unsigned char *)v.mv_data)[0] == S_KIND_RECORD) {
        fn((const unsigned char *)v.mv_data + 1, v.mv_size - 1, arg);
    } else if (version && rc == 0) {
        status = dossier_error_set(err, DOSSIER_NOT_FOUND,
                                   "version %llu of report %s is its "
                                   "deletion; `dossier log %s` lists the "
                                   "versions kept",
                                   (unsigned long long)version, id, id);
    } else if (version && rc == MDB_NOTFOUND) {
        status = dossier_error_set(err, DOSSIER_NOT_FOUND,
                                   "report %s has no version %llu kept; "
                                   "`dossier log %s` lists the versions kept",
                                   id, (unsigned long long)version, id);
    } else if (rc != 0) {
        status = store_lmdb_error(self, err, rc, "cannot read a report");
    } else if (last) {
        status = dossier_error_set(err, DOSSIER_NOT_FOUND,
                                   "no report %s: it was deleted (version "
                                   "%llu); `dossier log %s` lists the "
                                   "versions kept",
                                   id, (unsigned long long)last, id);
    } else {
        status = dossier_error_set(err, DOSSIER_NOT_FOUND, "no report %s", id);
    }
    store_read_end(self, &rd);
    return status;
}

/*  Frees what s_version_entry strdup'd into entry. */
static void
s_entry_clear(Dossier__V1__RecordVersion *entry) {
    free(entry->time);
    free(entry->user);
    free(entry->source_sha256);
    free(entry->title);
    memset(entry, 0, sizeof *entry);
}

/*  Fills out from a packed Report (the version's fields); false when the
    bytes do not unpack. Strings are strdup'd (freed with the response). */
static bool
s_version_entry(const void *data, size_t size, bool deleted, bool current,
                Dossier__V1__RecordVersion *out) {
    Dossier__V1__Report *r = dossier__v1__report__unpack(NULL, size, data);
    if (!r) {
        return false;
    }
    dossier__v1__record_version__init(out);
    out->version = r->version;
    out->time = strdup(r->updated_at ? r->updated_at : "");
    out->user = strdup(r->updated_by ? r->updated_by : "");
    out->source_sha256 = strdup(r->source_sha256 ? r->source_sha256 : "");
    out->title = strdup(r->title ? r->title : "");
    out->deleted = deleted;
    out->current = current;
    dossier__v1__report__free_unpacked(r, NULL);
    if (!(out->time && out->user && out->source_sha256 && out->title)) {
        s_entry_clear(out);
        return false;
    }
    return true;
}

static dossier_status_t
s_push(Dossier__V1__ListVersionsResponse *resp, size_t cap,
       Dossier__V1__RecordVersion *entry, dossier_error_t *err) {
    Dossier__V1__RecordVersion *copy =
        resp->n_versions < cap ? malloc(sizeof *copy) : NULL;
    if (!copy) {
        s_entry_clear(entry);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    *copy = *entry;
    resp->versions[resp->n_versions++] = copy;
    return DOSSIER_OK;
}

dossier_status_t
store_list_versions(store_t *self, const char *id, uint32_t page_size,
                    uint64_t before_version,
                    Dossier__V1__ListVersionsResponse **response_p,
                    dossier_error_t *err) {
    dossier_status_t status = store_check_id("ListVersionsRequest.id", id, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    if (page_size == 0) {
        page_size = 100;
    }
    Dossier__V1__ListVersionsResponse *resp = malloc(sizeof *resp);
    Dossier__V1__RecordVersion **items =
        calloc(page_size, sizeof(Dossier__V1__RecordVersion *));
    if (!resp || !items) {
        free(resp);
        free(items);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier__v1__list_versions_response__init(resp);
    resp->versions = items;
    resp->id = strdup(id);
    if (!resp->id) {
        resp->id = (char *)protobuf_c_empty_string;
        dossier__v1__list_versions_response__free_unpacked(resp, NULL);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    store_read_t rd;
    status = store_read_begin(self, &rd, err);
    if (status != DOSSIER_OK) {
        dossier__v1__list_versions_response__free_unpacked(resp, NULL);
        return status;
    }
    size_t idlen = strlen(id);
    Dossier__V1__RecordVersion entry;
    bool any = false;
    /* The stored record first: it is the newest. */
    MDB_val k = {idlen, (void *)id}, v;
    int rc = mdb_get(rd.txn, self->records, &k, &v);
    if (rc == 0) {
        any = true;
        if (!s_version_entry(v.mv_data, v.mv_size, false, true, &entry)) {
            status = dossier_error_set(err, DOSSIER_DATA_LOSS,
                                       "report %s is stored as unreadable "
                                       "bytes",
                                       id);
        } else if (before_version == 0 || entry.version < before_version) {
            status = s_push(resp, page_size, &entry, err);
        } else {
            s_entry_clear(&entry);
        }
    } else if (rc != MDB_NOTFOUND) {
        status = store_lmdb_error(self, err, rc, "cannot read a report");
    }
    /* Then the kept versions, newest first. */
    MDB_cursor *cursor = NULL;
    if (status == DOSSIER_OK) {
        rc = mdb_cursor_open(rd.txn, self->versions, &cursor);
        if (rc != 0) {
            status = store_lmdb_error(self, err, rc, "cannot read versions");
        }
    }
    if (status == DOSSIER_OK) {
        unsigned char key[S_KEY_MAX];
        uint64_t start = before_version ? before_version : UINT64_MAX;
        k = (MDB_val){s_key(key, id, idlen, start), key};
        rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
        rc = rc == 0 ? mdb_cursor_get(cursor, &k, &v, MDB_PREV)
                     : mdb_cursor_get(cursor, &k, &v, MDB_LAST);
        uint64_t version = 0;
        while (rc == 0 && status == DOSSIER_OK &&
               s_key_of(&k, id, idlen, &version)) {
            any = true;
            if (resp->n_versions == page_size) {
                resp->next_before_version = version + 1;
                break;
            }
            const unsigned char *bytes = v.mv_data;
            if (v.mv_size < 2 ||
                !s_version_entry(bytes + 1, v.mv_size - 1,
                                 bytes[0] == S_KIND_DELETED, false, &entry)) {
                status = dossier_error_set(err, DOSSIER_DATA_LOSS,
                                           "version %llu of report %s is "
                                           "stored as unreadable bytes",
                                           (unsigned long long)version, id);
                break;
            }
            entry.version = version;
            status = s_push(resp, page_size, &entry, err);
            rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
        }
        if (status == DOSSIER_OK && rc != 0 && rc != MDB_NOTFOUND) {
            status = store_lmdb_error(self, err, rc, "cannot read versions");
        }
        mdb_cursor_close(cursor);
    }
    store_read_end(self, &rd);
    if (status == DOSSIER_OK && !any) {
        status = dossier_error_set(err, DOSSIER_NOT_FOUND,
                                   "no report %s, and no history of one", id);
    }
    if (status != DOSSIER_OK) {
        dossier__v1__list_versions_response__free_unpacked(resp, NULL);
        return status;
    }
    *response_p = resp;
    return DOSSIER_OK;
}
