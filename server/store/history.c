/*  history.c: the tier series. store_history gives a country's tier per
    year in one series of reports (from the country+year index), and
    store_changes the countries whose tier moved between two years (from
    the year index); where several records give one country and year,
    the most recently updated counts (s_preferred). */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

#define S_DEFAULT_SERIES "Trafficking in Persons Report"

static bool
s_same_series(const Dossier__V1__Report *r, const char *doc_type) {
    return r->doc_type != NULL && strcasecmp(r->doc_type, doc_type) == 0;
}

/* Of two records for one country and year, the one that counts. */
static bool
s_preferred(const Dossier__V1__Report *a, const Dossier__V1__Report *b) {
    int c = strcmp(a->updated_at, b->updated_at);
    return c > 0 || (c == 0 && strcmp(a->id, b->id) > 0);
}

static char *
s_strdup_or_empty(const char *s) {
    if (!store_str_set(s)) {
        return (char *)protobuf_c_empty_string;
    }
    return strdup(s);
}

/*  Appends (year, r) to resp, or replaces the last entry when it has the
    same year and r is preferred. best[] keeps the record of each entry. */
static dossier_status_t
s_history_add(Dossier__V1__HistoryResponse *resp, Dossier__V1__Report ***best,
              Dossier__V1__Report *r, dossier_error_t *err) {
    size_t n = resp->n_entries;
    if (n > 0 && resp->entries[n - 1]->year == r->year) {
        Dossier__V1__Report *cur = (*best)[n - 1];
        if (!s_preferred(r, cur)) {
            dossier__v1__report__free_unpacked(r, NULL);
            return DOSSIER_OK;
        }
        dossier__v1__history_entry__free_unpacked(resp->entries[n - 1], NULL);
        dossier__v1__report__free_unpacked(cur, NULL);
        resp->n_entries = --n;
    }
    Dossier__V1__HistoryEntry **entries =
        realloc(resp->entries, (n + 1) * sizeof *entries);
    Dossier__V1__Report **b = realloc(*best, (n + 1) * sizeof *b);
    if (entries) {
        resp->entries = entries;
    }
    if (b) {
        *best = b;
    }
    Dossier__V1__HistoryEntry *e = malloc(sizeof *e);
    if (entries == NULL || b == NULL || e == NULL) {
        free(e);
        dossier__v1__report__free_unpacked(r, NULL);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier__v1__history_entry__init(e);
    e->year = r->year;
    e->tier = r->tier;
    e->report_id = strdup(r->id);
    e->tier_note = s_strdup_or_empty(r->tier_note);
    if (e->report_id == NULL || e->tier_note == NULL) {
        if (e->report_id == NULL) {
            e->report_id = (char *)protobuf_c_empty_string;
        }
        if (e->tier_note == NULL) {
            e->tier_note = (char *)protobuf_c_empty_string;
        }
        dossier__v1__history_entry__free_unpacked(e, NULL);
        dossier__v1__report__free_unpacked(r, NULL);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    resp->entries[n] = e;
    b[n] = r;
    resp->n_entries = n + 1;
    return DOSSIER_OK;
}

/*  Loads the record an index entry names: the id is the tail of key (an
    entry of index idx). A malformed key, or an entry whose record is
    gone, means index and records disagree: DOSSIER_DATA_LOSS. */
static dossier_status_t
s_load_indexed(store_t *self, MDB_txn *txn, int idx, const MDB_val *key,
               Dossier__V1__Report **report_p, dossier_error_t *err) {
    size_t off = store_index_id_offset(idx, key->mv_data, key->mv_size);
    if (off == 0) {
        return dossier_error_set(err, DOSSIER_DATA_LOSS,
                                 "index %s holds a malformed key: run check",
                                 store_index_names[idx]);
    }
    dossier_status_t status =
        store_load(self, txn, (const char *)key->mv_data + off,
                   key->mv_size - off, report_p, err);
    if (status == DOSSIER_NOT_FOUND) {
        status = dossier_error_set(err, DOSSIER_DATA_LOSS,
                                   "index %s names a report that does not "
                                   "exist: run check",
                                   store_index_names[idx]);
    }
    return status;
}

static dossier_status_t
s_history_in(store_t *self, MDB_txn *txn, const char *ckey,
             const char *doc_type, Dossier__V1__HistoryResponse *resp,
             dossier_error_t *err) {
    unsigned char prefix[STORE_KEY_MAX];
    char trunc[STORE_CKEY_SIZE];
    snprintf(trunc, sizeof trunc, "%s", ckey);
    size_t plen = strlen(trunc);
    memcpy(prefix, trunc, plen);
    prefix[plen++] = '\0';
    Dossier__V1__Report **best = NULL;
    MDB_cursor *cur;
    dossier_status_t status = DOSSIER_OK;
    int rc = mdb_cursor_open(txn, self->index[STORE_IDX_COUNTRY_YEAR], &cur);
    if (rc != 0) {
        return store_lmdb_error(self, err, rc, "cannot read a history");
    }
    MDB_val k = {plen, prefix}, v;
    MDB_cursor_op op = MDB_SET_RANGE;
    while (rc == 0 && status == DOSSIER_OK) {
        rc = mdb_cursor_get(cur, &k, &v, op);
        op = MDB_NEXT;
        if (rc != 0 || k.mv_size < plen || memcmp(k.mv_data, prefix, plen)) {
            break;
        }
        Dossier__V1__Report *r;
        status = s_load_indexed(self, txn, STORE_IDX_COUNTRY_YEAR, &k, &r, err);
        if (status != DOSSIER_OK) {
            break;
        }
        if (r->year == 0 || !s_same_series(r, doc_type)) {
            dossier__v1__report__free_unpacked(r, NULL);
            continue;
        }
        status = s_history_add(resp, &best, r, err);
    }
    mdb_cursor_close(cur);
    if (status == DOSSIER_OK && rc != 0 && rc != MDB_NOTFOUND) {
        status = store_lmdb_error(self, err, rc, "cannot read a history");
    }
    if (status == DOSSIER_OK && resp->n_entries == 0) {
        status = dossier_error_set(err, DOSSIER_NOT_FOUND,
                                   "no \"%s\" report for country %s", doc_type,
                                   ckey);
    }
    if (status == DOSSIER_OK) {
        const Dossier__V1__Report *newest = best[resp->n_entries - 1];
        resp->country = s_strdup_or_empty(newest->country);
        resp->country_code = s_strdup_or_empty(newest->country_code);
        if (resp->country == NULL || resp->country_code == NULL) {
            if (resp->country == NULL) {
                resp->country = (char *)protobuf_c_empty_string;
            }
            if (resp->country_code == NULL) {
                resp->country_code = (char *)protobuf_c_empty_string;
            }
            status = dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                       "out of memory");
        }
    }
    for (size_t i = 0; i < resp->n_entries; i++) {
        dossier__v1__report__free_unpacked(best[i], NULL);
    }
    free(best);
    return status;
}

dossier_status_t
store_history(store_t *self, const char *country_key, const char *doc_type,
              Dossier__V1__HistoryResponse **response_p, dossier_error_t *err) {
    if (!store_str_set(country_key)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "a history needs a country");
    }
    if (!store_str_set(doc_type)) {
        doc_type = S_DEFAULT_SERIES;
    }
    Dossier__V1__HistoryResponse *resp = malloc(sizeof *resp);
    if (resp == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier__v1__history_response__init(resp);
    store_read_t rd;
    dossier_status_t status = store_read_begin(self, &rd, err);
    if (status == DOSSIER_OK) {
        status = s_history_in(self, rd.txn, country_key, doc_type, resp, err);
        store_read_end(self, &rd);
    }
    if (status != DOSSIER_OK) {
        dossier__v1__history_response__free_unpacked(resp, NULL);
        return status;
    }
    *response_p = resp;
    return DOSSIER_OK;
}

/* One country's record in one year, for store_changes. */
typedef struct {
    char ckey[STORE_CKEY_SIZE];
    Dossier__V1__Report *r;
} s_placement_t;

typedef struct {
    s_placement_t *v;
    size_t n, cap;
} s_placements_t;

/* A country whose tier moved, with its folded name to sort by. */
typedef struct {
    const s_placement_t *prev, *cur;
    char *sort;
} s_move_t;

static void
s_placements_free(s_placements_t *p) {
    for (size_t i = 0; i < p->n; i++) {
        dossier__v1__report__free_unpacked(p->v[i].r, NULL);
    }
    free(p->v);
    p->v = NULL;
    p->n = p->cap = 0;
}

static int
s_placement_by_ckey(const void *a, const void *b) {
    const s_placement_t *x = a, *y = b;
    return strcmp(x->ckey, y->ckey);
}

static int
s_move_by_name(const void *a, const void *b) {
    const s_move_t *x = a, *y = b;
    int c = strcmp(x->sort, y->sort);
    return c != 0 ? c : strcmp(x->cur->ckey, y->cur->ckey);
}

/*  Collects, for year, each country's preferred record with a tier in the
    series doc_type; sorted by country key, one per key. */
static dossier_status_t
s_placements(store_t *self, MDB_txn *txn, uint32_t year, const char *doc_type,
             s_placements_t *out, dossier_error_t *err) {
    unsigned char prefix[4];
    store_be32(prefix, year);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->index[STORE_IDX_YEAR], &cur);
    if (rc != 0) {
        return store_lmdb_error(self, err, rc, "cannot read tier changes");
    }
    dossier_status_t status = DOSSIER_OK;
    MDB_val k = {4, prefix}, v;
    MDB_cursor_op op = MDB_SET_RANGE;
    while (status == DOSSIER_OK) {
        rc = mdb_cursor_get(cur, &k, &v, op);
        op = MDB_NEXT;
        if (rc != 0 || k.mv_size < 4 || memcmp(k.mv_data, prefix, 4) != 0) {
            break;
        }
        Dossier__V1__Report *r;
        status = s_load_indexed(self, txn, STORE_IDX_YEAR, &k, &r, err);
        if (status != DOSSIER_OK) {
            break;
        }
        if (r->tier == DOSSIER__V1__TIER__TIER_UNSPECIFIED ||
            !s_same_series(r, doc_type)) {
            dossier__v1__report__free_unpacked(r, NULL);
            continue;
        }
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 64;
            s_placement_t *nv = realloc(out->v, cap * sizeof *nv);
            if (nv == NULL) {
                dossier__v1__report__free_unpacked(r, NULL);
                status = dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                           "out of memory");
                break;
            }
            out->v = nv;
            out->cap = cap;
        }
        s_placement_t *p = &out->v[out->n++];
        store_report_country_key(r, p->ckey, sizeof p->ckey);
        p->r = r;
    }
    mdb_cursor_close(cur);
    if (status == DOSSIER_OK && rc != 0 && rc != MDB_NOTFOUND) {
        status = store_lmdb_error(self, err, rc, "cannot read tier changes");
    }
    if (status != DOSSIER_OK) {
        return status;
    }
    if (out->n == 0) {
        return DOSSIER_OK;
    }
    qsort(out->v, out->n, sizeof *out->v, s_placement_by_ckey);
    /* Keep one record per country: the preferred one. */
    size_t w = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (w > 0 && strcmp(out->v[w - 1].ckey, out->v[i].ckey) == 0) {
            if (s_preferred(out->v[i].r, out->v[w - 1].r)) {
                dossier__v1__report__free_unpacked(out->v[w - 1].r, NULL);
                out->v[w - 1] = out->v[i];
            } else {
                dossier__v1__report__free_unpacked(out->v[i].r, NULL);
            }
            continue;
        }
        out->v[w++] = out->v[i];
    }
    out->n = w;
    return DOSSIER_OK;
}

static Dossier__V1__TierMove
s_tier_move(Dossier__V1__Tier previous, Dossier__V1__Tier current) {
    if (previous == DOSSIER__V1__TIER__SPECIAL_CASE ||
        current == DOSSIER__V1__TIER__SPECIAL_CASE) {
        return DOSSIER__V1__TIER_MOVE__TIER_MOVE_OTHER;
    }
    /* TIER_1 < TIER_2 < TIER_2_WATCH_LIST < TIER_3 in the enum. */
    return current < previous ? DOSSIER__V1__TIER_MOVE__TIER_MOVE_UPGRADE
                              : DOSSIER__V1__TIER_MOVE__TIER_MOVE_DOWNGRADE;
}

static dossier_status_t
s_changes_build(const s_placements_t *prev, const s_placements_t *cur,
                Dossier__V1__ChangesResponse *resp, dossier_error_t *err) {
    s_move_t *moves = calloc(cur->n ? cur->n : 1, sizeof *moves);
    if (moves == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    size_t n = 0;
    dossier_status_t status = DOSSIER_OK;
    for (size_t i = 0; i < cur->n; i++) {
        const s_placement_t *c = &cur->v[i];
        const s_placement_t *p =
            prev->n ? bsearch(c, prev->v, prev->n, sizeof *prev->v,
                              s_placement_by_ckey)
                    : NULL;
        if (p == NULL || p->r->tier == c->r->tier) {
            continue;
        }
        const char *name = c->r->country ? c->r->country : "";
        moves[n].prev = p;
        moves[n].cur = c;
        moves[n].sort = text_fold(name, strlen(name));
        if (moves[n++].sort == NULL) {
            status = dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                       "out of memory");
            break;
        }
    }
    if (status == DOSSIER_OK) {
        qsort(moves, n, sizeof *moves, s_move_by_name);
        resp->changes = calloc(n ? n : 1, sizeof *resp->changes);
        if (resp->changes == NULL) {
            status = dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                       "out of memory");
        }
    }
    for (size_t i = 0; status == DOSSIER_OK && i < n; i++) {
        const Dossier__V1__Report *c = moves[i].cur->r;
        Dossier__V1__TierChange *tc = malloc(sizeof *tc);
        if (tc == NULL) {
            status = dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                       "out of memory");
            break;
        }
        dossier__v1__tier_change__init(tc);
        resp->changes[resp->n_changes++] = tc;
        tc->previous = moves[i].prev->r->tier;
        tc->current = c->tier;
        tc->move = s_tier_move(tc->previous, tc->current);
        char *country = s_strdup_or_empty(c->country);
        char *code = s_strdup_or_empty(c->country_code);
        char *id = s_strdup_or_empty(c->id);
        if (country) {
            tc->country = country;
        }
        if (code) {
            tc->country_code = code;
        }
        if (id) {
            tc->report_id = id;
        }
        if (!country || !code || !id) {
            status = dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                       "out of memory");
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(moves[i].sort);
    }
    free(moves);
    return status;
}

dossier_status_t
store_changes(store_t *self, uint32_t year, const char *doc_type,
              Dossier__V1__ChangesResponse **response_p, dossier_error_t *err) {
    if (year <= STORE_YEAR_MIN || year > STORE_YEAR_MAX) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "year %u is not between %d and %d", year,
                                 STORE_YEAR_MIN + 1, STORE_YEAR_MAX);
    }
    if (!store_str_set(doc_type)) {
        doc_type = S_DEFAULT_SERIES;
    }
    Dossier__V1__ChangesResponse *resp = malloc(sizeof *resp);
    if (resp == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier__v1__changes_response__init(resp);
    resp->year = year;
    s_placements_t prev = {0}, cur = {0};
    store_read_t rd;
    dossier_status_t status = store_read_begin(self, &rd, err);
    if (status == DOSSIER_OK) {
        status = s_placements(self, rd.txn, year - 1, doc_type, &prev, err);
        if (status == DOSSIER_OK) {
            status = s_placements(self, rd.txn, year, doc_type, &cur, err);
        }
        store_read_end(self, &rd);
    }
    if (status == DOSSIER_OK) {
        status = s_changes_build(&prev, &cur, resp, err);
    }
    s_placements_free(&prev);
    s_placements_free(&cur);
    if (status != DOSSIER_OK) {
        dossier__v1__changes_response__free_unpacked(resp, NULL);
        return status;
    }
    *response_p = resp;
    return DOSSIER_OK;
}
