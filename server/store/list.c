/*  list.c: store_list, the listing. s_plan chooses one index by the
    filter (country, else tier, else publisher, else years; with none,
    the records themselves; the document type has no index of its own) and reads
   it as ascending runs of ids, one run per key prefix; s_list_in merges the
   runs, so that records come exactly in id order, and checks each against the
   whole filter. A page ends with a token holding the last id and a hash of the
   filter: the next page continues after that id, for that filter only. */
#include "store/store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/summary.h"
#include "text.h"

#define S_TOKEN_VERSION 1

/*  The filter in the form the listing uses: the country key truncated as
    index keys are, the publisher folded. */
typedef struct {
    char ckey[STORE_CKEY_SIZE];
    bool has_country;
    uint32_t year_min, year_max; /* inclusive; 0 .. UINT32_MAX when open */
    bool has_years;
    Dossier__V1__Tier tier;
    char *publisher; /* folded, or NULL */
    char *doc_type;  /* folded, or NULL */
} s_filter_t;

static void
s_filter_free(s_filter_t *f) {
    free(f->publisher);
    free(f->doc_type);
}

static dossier_status_t
s_filter_prepare(const store_filter_t *in, s_filter_t *f,
                 dossier_error_t *err) {
    memset(f, 0, sizeof *f);
    f->year_max = UINT32_MAX;
    if (in == NULL) {
        return DOSSIER_OK;
    }
    if (store_str_set(in->country_key)) {
        snprintf(f->ckey, sizeof f->ckey, "%s", in->country_key);
        f->has_country = true;
    }
    if (in->year_min) {
        f->year_min = in->year_min;
        f->has_years = true;
    }
    if (in->year_max) {
        f->year_max = in->year_max;
        f->has_years = true;
    }
    if (f->year_min > f->year_max) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "year_min %u is after year_max %u",
                                 f->year_min, f->year_max);
    }
    if ((unsigned)in->tier > STORE_TIER_MAX) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "tier %d is not a known tier", (int)in->tier);
    }
    f->tier = in->tier;
    if (store_str_set(in->publisher)) {
        f->publisher = text_fold(in->publisher, strlen(in->publisher));
        if (f->publisher == NULL) {
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "out of memory");
        }
    }
    if (store_str_set(in->doc_type)) {
        f->doc_type = text_fold(in->doc_type, strlen(in->doc_type));
        if (f->doc_type == NULL) {
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "out of memory");
        }
    }
    return DOSSIER_OK;
}

static uint64_t
s_fnv(uint64_t h, const void *data, size_t size) {
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t
s_filter_hash(const s_filter_t *f) {
    unsigned char buf[9];
    uint64_t h = 0xcbf29ce484222325ULL;
    h = s_fnv(h, f->ckey, strlen(f->ckey) + 1);
    store_be32(buf, f->year_min);
    store_be32(buf + 4, f->year_max);
    buf[8] = (unsigned char)f->tier;
    h = s_fnv(h, buf, sizeof buf);
    if (f->publisher) {
        h = s_fnv(h, f->publisher, strlen(f->publisher) + 1);
    }
    if (f->doc_type) {
        /* Apart from the publisher's bytes: "p" + no type is not "" + "p". */
        h = s_fnv(h, "\x01", 1);
        h = s_fnv(h, f->doc_type, strlen(f->doc_type) + 1);
    }
    return h;
}

/* Is value, folded, the folded want? -1: out of memory. */
static int
s_folded_equal(const char *value, const char *want) {
    const char *v = value ? value : "";
    char *folded = text_fold(v, strlen(v));
    if (folded == NULL) {
        return -1;
    }
    int same = strcmp(folded, want) == 0;
    free(folded);
    return same;
}

/* Does record r pass every condition of f? -1: out of memory. */
static int
s_filter_match(const s_filter_t *f, const Dossier__V1__Report *r) {
    if (f->has_years &&
        (r->year == 0 || r->year < f->year_min || r->year > f->year_max)) {
        return 0;
    }
    if (f->tier != DOSSIER__V1__TIER__TIER_UNSPECIFIED && r->tier != f->tier) {
        return 0;
    }
    if (f->has_country) {
        char ckey[STORE_CKEY_SIZE];
        store_report_country_key(r, ckey, sizeof ckey);
        if (strcmp(ckey, f->ckey) != 0) {
            return 0;
        }
    }
    if (f->publisher) {
        int same = s_folded_equal(r->publisher, f->publisher);
        if (same <= 0) {
            return same;
        }
    }
    if (f->doc_type) {
        return s_folded_equal(r->doc_type, f->doc_type);
    }
    return 1;
}

static const char s_hex[] = "0123456789abcdef";

static char *
s_token_encode(uint64_t hash, const char *id, size_t idlen) {
    unsigned char raw[1 + 8 + STORE_ID_MAX];
    raw[0] = S_TOKEN_VERSION;
    store_be64(raw + 1, hash);
    memcpy(raw + 9, id, idlen);
    size_t n = 9 + idlen;
    char *out = malloc(2 * n + 1);
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = s_hex[raw[i] >> 4];
        out[2 * i + 1] = s_hex[raw[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

static int
s_hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/*  Decodes token into the id to continue after (id, STORE_ID_MAX + 1 bytes). */
static dossier_status_t
s_token_decode(const char *token, uint64_t hash, char *id, size_t *idlen,
               dossier_error_t *err) {
    unsigned char raw[1 + 8 + STORE_ID_MAX];
    size_t len = strlen(token);
    bool ok = len % 2 == 0 && len >= 2 * 10 && len <= 2 * sizeof raw;
    for (size_t i = 0; ok && i < len / 2; i++) {
        int hi = s_hex_value(token[2 * i]), lo = s_hex_value(token[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        raw[i] = (unsigned char)(hi << 4 | lo);
    }
    ok = ok && raw[0] == S_TOKEN_VERSION &&
         store_id_valid((const char *)raw + 9, len / 2 - 9);
    if (!ok) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "page_token is not a token this server "
                                 "issued: start again without one");
    }
    if (store_get_be64(raw + 1) != hash) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "page_token belongs to a listing with "
                                 "another filter: start again without one");
    }
    *idlen = len / 2 - 9;
    memcpy(id, raw + 9, *idlen);
    id[*idlen] = '\0';
    return DOSSIER_OK;
}

/*  An ascending run of ids: the keys of one database that start with
    prefix (key[0..plen)), each followed by an id. */
typedef struct {
    unsigned char key[STORE_KEY_MAX]; /* prefix + current id */
    size_t plen, klen;
    bool done;
} s_stream_t;

/*  Moves s to its first id after `after` (alen bytes; 0: from the start).
    Returns 0 or an LMDB code; MDB_CORRUPTED for a malformed key. */
static int
s_stream_seek(MDB_cursor *cur, s_stream_t *s, const unsigned char *after,
              size_t alen) {
    unsigned char want[STORE_KEY_MAX];
    memcpy(want, s->key, s->plen);
    memcpy(want + s->plen, after, alen);
    MDB_val k = {s->plen + alen, want}, v;
    /* LMDB takes no empty key: the records stream starts at the first. */
    int rc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
    if (rc == 0 && k.mv_size == s->plen + alen &&
        memcmp(k.mv_data, want, k.mv_size) == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND ||
        (rc == 0 &&
         (k.mv_size < s->plen || memcmp(k.mv_data, want, s->plen) != 0))) {
        s->done = true;
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (k.mv_size <= s->plen || k.mv_size - s->plen > STORE_ID_MAX) {
        return MDB_CORRUPTED;
    }
    memcpy(s->key, k.mv_data, k.mv_size);
    s->klen = k.mv_size;
    return 0;
}

typedef struct {
    s_stream_t *v;
    size_t n, cap;
} s_streams_t;

static s_stream_t *
s_streams_add(s_streams_t *ss, const unsigned char *prefix, size_t plen) {
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? ss->cap * 2 : 4;
        s_stream_t *v = realloc(ss->v, cap * sizeof *v);
        if (v == NULL) {
            return NULL;
        }
        ss->v = v;
        ss->cap = cap;
    }
    s_stream_t *s = &ss->v[ss->n++];
    memcpy(s->key, prefix, plen);
    s->plen = s->klen = plen;
    s->done = false;
    return s;
}

/*  Adds one stream per distinct year in [ymin, ymax] under prefix in a
    database whose keys are prefix, BE year, id. */
static int
s_streams_add_years(MDB_cursor *cur, s_streams_t *ss,
                    const unsigned char *prefix, size_t plen, uint32_t ymin,
                    uint32_t ymax) {
    unsigned char want[STORE_KEY_MAX];
    memcpy(want, prefix, plen);
    uint64_t y = ymin;
    while (y <= ymax) {
        store_be32(want + plen, (uint32_t)y);
        MDB_val k = {plen + 4, want}, v;
        int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND) {
            return 0;
        }
        if (rc != 0) {
            return rc;
        }
        if (k.mv_size < plen + 4 || memcmp(k.mv_data, prefix, plen) != 0) {
            return 0;
        }
        uint32_t found =
            store_get_be32((const unsigned char *)k.mv_data + plen);
        if (found > ymax) {
            return 0;
        }
        store_be32(want + plen, found);
        if (s_streams_add(ss, want, plen + 4) == NULL) {
            return ENOMEM;
        }
        y = (uint64_t)found + 1;
    }
    return 0;
}

/*  Chooses the index for f and fills ss with its streams; *dbi_p is the
    database they run over. */
static int
s_plan(store_t *self, MDB_txn *txn, const s_filter_t *f, s_streams_t *ss,
       MDB_dbi *dbi_p) {
    unsigned char prefix[STORE_KEY_MAX];
    MDB_cursor *cur;
    int rc = 0;
    if (f->has_country) {
        *dbi_p = self->index[STORE_IDX_COUNTRY_YEAR];
        size_t n = strlen(f->ckey);
        memcpy(prefix, f->ckey, n);
        prefix[n++] = '\0';
        rc = mdb_cursor_open(txn, *dbi_p, &cur);
        if (rc == 0) {
            rc = s_streams_add_years(cur, ss, prefix, n, f->year_min,
                                     f->year_max);
            mdb_cursor_close(cur);
        }
        return rc;
    }
    if (f->tier != DOSSIER__V1__TIER__TIER_UNSPECIFIED) {
        *dbi_p = self->index[STORE_IDX_TIER];
        prefix[0] = (unsigned char)f->tier;
        return s_streams_add(ss, prefix, 1) ? 0 : ENOMEM;
    }
    if (f->publisher) {
        *dbi_p = self->index[STORE_IDX_PUBLISHER];
        size_t n = strlen(f->publisher);
        if (n > STORE_PUBLISHER_MAX) {
            n = STORE_PUBLISHER_MAX;
        }
        memcpy(prefix, f->publisher, n);
        prefix[n++] = '\0';
        return s_streams_add(ss, prefix, n) ? 0 : ENOMEM;
    }
    if (f->has_years) {
        *dbi_p = self->index[STORE_IDX_YEAR];
        rc = mdb_cursor_open(txn, *dbi_p, &cur);
        if (rc == 0) {
            rc = s_streams_add_years(cur, ss, prefix, 0, f->year_min,
                                     f->year_max);
            mdb_cursor_close(cur);
        }
        return rc;
    }
    *dbi_p = self->records;
    return s_streams_add(ss, prefix, 0) ? 0 : ENOMEM;
}

static int
s_compare_ids(const unsigned char *a, size_t alen, const unsigned char *b,
              size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/*  The merge behind store_list: ids ascending over every stream, each
    record checked against the whole filter. */
static dossier_status_t
s_list_in(store_t *self, MDB_txn *txn, const s_filter_t *f, uint64_t hash,
          const char *after, size_t alen, uint32_t page_size, bool full,
          Dossier__V1__ListResponse *resp, dossier_error_t *err) {
    s_streams_t ss = {0};
    MDB_dbi dbi;
    MDB_cursor *cur = NULL;
    dossier_status_t status = DOSSIER_OK;
    int rc = s_plan(self, txn, f, &ss, &dbi);
    if (rc == 0) {
        rc = mdb_cursor_open(txn, dbi, &cur);
    }
    for (size_t i = 0; rc == 0 && i < ss.n; i++) {
        rc = s_stream_seek(cur, &ss.v[i], (const unsigned char *)after, alen);
    }
    resp->reports = calloc(page_size, sizeof *resp->reports);
    if (rc == 0 && resp->reports == NULL) {
        rc = ENOMEM;
    }
    while (rc == 0) {
        s_stream_t *best = NULL;
        for (size_t i = 0; i < ss.n; i++) {
            s_stream_t *s = &ss.v[i];
            if (!s->done && (best == NULL ||
                             s_compare_ids(s->key + s->plen, s->klen - s->plen,
                                           best->key + best->plen,
                                           best->klen - best->plen) < 0)) {
                best = s;
            }
        }
        if (best == NULL) {
            break;
        }
        char id[STORE_ID_MAX + 1];
        size_t idlen = best->klen - best->plen;
        memcpy(id, best->key + best->plen, idlen);
        id[idlen] = '\0';
        rc = s_stream_seek(cur, best, (const unsigned char *)id, idlen);
        if (rc != 0) {
            break;
        }
        Dossier__V1__Report *r;
        status = store_load(self, txn, id, idlen, &r, err);
        if (status == DOSSIER_NOT_FOUND) {
            status = dossier_error_set(err, DOSSIER_DATA_LOSS,
                                       "an index names report %s, which "
                                       "does not exist: run check",
                                       id);
        }
        if (status != DOSSIER_OK) {
            break;
        }
        int match = s_filter_match(f, r);
        if (match <= 0) {
            dossier__v1__report__free_unpacked(r, NULL);
            rc = match < 0 ? ENOMEM : 0;
            continue;
        }
        if (resp->n_reports == page_size) {
            /* One more match exists: the page ends at the last one kept. */
            dossier__v1__report__free_unpacked(r, NULL);
            const char *last = resp->reports[page_size - 1]->id;
            resp->next_page_token = s_token_encode(hash, last, strlen(last));
            if (resp->next_page_token == NULL) {
                resp->next_page_token = (char *)protobuf_c_empty_string;
                rc = ENOMEM;
            }
            break;
        }
        if (!full) {
            store_report_summarize(r);
        }
        resp->reports[resp->n_reports++] = r;
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    free(ss.v);
    if (rc != 0) {
        status = store_lmdb_error(self, err, rc, "cannot list reports");
    }
    return status;
}

dossier_status_t
store_list(store_t *self, const store_filter_t *filter, uint32_t page_size,
           const char *page_token, bool full,
           Dossier__V1__ListResponse **response_p, dossier_error_t *err) {
    if (page_size == 0) {
        page_size = STORE_DEFAULT_PAGE_SIZE;
    }
    if (page_size > STORE_MAX_PAGE_SIZE) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "page_size %u is larger than the maximum, %d",
                                 page_size, STORE_MAX_PAGE_SIZE);
    }
    s_filter_t f;
    dossier_status_t status = s_filter_prepare(filter, &f, err);
    if (status != DOSSIER_OK) {
        s_filter_free(&f);
        return status;
    }
    uint64_t hash = s_filter_hash(&f);
    char after[STORE_ID_MAX + 1] = "";
    size_t alen = 0;
    if (store_str_set(page_token)) {
        status = s_token_decode(page_token, hash, after, &alen, err);
        if (status != DOSSIER_OK) {
            s_filter_free(&f);
            return status;
        }
    }
    Dossier__V1__ListResponse *resp = malloc(sizeof *resp);
    if (resp == NULL) {
        s_filter_free(&f);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier__v1__list_response__init(resp);
    store_read_t rd;
    status = store_read_begin(self, &rd, err);
    if (status == DOSSIER_OK) {
        status = s_list_in(self, rd.txn, &f, hash, after, alen, page_size, full,
                           resp, err);
        store_read_end(self, &rd);
    }
    s_filter_free(&f);
    if (status != DOSSIER_OK) {
        dossier__v1__list_response__free_unpacked(resp, NULL);
        return status;
    }
    *response_p = resp;
    return DOSSIER_OK;
}
