/*  store/fts/search_page.c: the parts of a search's answer that are not
    its ranking: the page token (a hash of the request and an offset),
    the facets as the response carries them, and a hit (the record in
    summary view, its score, a snippet). search.c calls them. */
#include "store/fts/fts_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/summary.h"

uint32_t
fts_search_request_hash(const Dossier__V1__SearchRequest *req) {
    uint32_t h = 2166136261u;
    const char *q = req->query ? req->query : "";
    h ^= fts_hash(q, strlen(q));
    h *= 16777619u;
    const Dossier__V1__ReportFilter *f = req->filter;
    if (f) {
        const char *c = f->country ? f->country : "";
        const char *p = f->publisher ? f->publisher : "";
        const char *t = f->doc_type ? f->doc_type : "";
        h = (h ^ fts_hash(c, strlen(c))) * 16777619u;
        h = (h ^ fts_hash(p, strlen(p))) * 16777619u;
        h = (h ^ fts_hash(t, strlen(t))) * 16777619u;
        h = (h ^ f->year_min) * 16777619u;
        h = (h ^ f->year_max) * 16777619u;
        h = (h ^ (uint32_t)f->tier) * 16777619u;
    }
    h = (h ^ (uint32_t)req->order) * 16777619u;
    return h;
}

bool
fts_search_token_parse(const char *token, uint32_t hash, uint32_t *offset) {
    if (strlen(token) != 16) {
        return false;
    }
    uint32_t v[2] = {0, 0};
    for (int i = 0; i < 16; i++) {
        char c = token[i];
        uint32_t digit;
        if (c >= '0' && c <= '9') {
            digit = (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = (uint32_t)(c - 'a' + 10);
        } else {
            return false;
        }
        v[i / 8] = v[i / 8] << 4 | digit;
    }
    if (v[1] != hash) {
        return false;
    }
    *offset = v[0];
    return true;
}

static int
s_facet_order(const void *a, const void *b) {
    const Dossier__V1__FacetCount *x = *(Dossier__V1__FacetCount *const *)a;
    const Dossier__V1__FacetCount *y = *(Dossier__V1__FacetCount *const *)b;
    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    return strcmp(x->value, y->value);
}

bool
fts_search_facet_add(store_fts_t *fts, MDB_txn *txn,
                     Dossier__V1__SearchResponse *resp, const char *field,
                     const uint64_t *counts, uint32_t cap, char kind) {
    Dossier__V1__Facet *facet = malloc(sizeof(*facet));
    if (!facet) {
        return false;
    }
    dossier__v1__facet__init(facet);
    resp->facets[resp->n_facets++] = facet;
    facet->field = strdup(field);
    if (!facet->field) {
        return false;
    }
    uint32_t n = 0;
    for (uint32_t v = 0; v < cap; v++) {
        n += counts[v] > 0;
    }
    if (n == 0) {
        return true;
    }
    facet->counts = calloc(n, sizeof(*facet->counts));
    if (!facet->counts) {
        return false;
    }
    for (uint32_t v = 0; v < cap; v++) {
        if (!counts[v]) {
            continue;
        }
        Dossier__V1__FacetCount *fc = malloc(sizeof(*fc));
        if (!fc) {
            return false;
        }
        dossier__v1__facet_count__init(fc);
        facet->counts[facet->n_counts++] = fc;
        fc->count = counts[v];
        char num[16];
        char *value = NULL;
        if (kind == 'y') {
            snprintf(num, sizeof(num), "%u", v);
            value = strdup(num);
        } else if (kind == 't') {
            const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
                &dossier__v1__tier__descriptor, (int)v);
            snprintf(num, sizeof(num), "%u", v);
            value = strdup(ev ? ev->name : num);
        } else {
            value = fts_dict_value(fts, txn, kind, v);
        }
        if (!value) {
            return false;
        }
        fc->value = value;
    }
    qsort(facet->counts, facet->n_counts, sizeof(*facet->counts),
          s_facet_order);
    return true;
}

dossier_status_t
fts_search_hit(store_fts_t *fts, MDB_txn *txn, uint32_t docno, double score,
               char *const *terms, uint32_t n_terms,
               Dossier__V1__SearchHit **hit_p, dossier_error_t *err) {
    unsigned k = docno;
    MDB_val key = {sizeof(k), &k};
    MDB_val val;
    *hit_p = NULL;
    int rc = mdb_get(txn, fts->docs, &key, &val);
    if (rc == MDB_SUCCESS) {
        key = val;
        rc = mdb_get(txn, fts->records, &key, &val);
    }
    if (rc == MDB_NOTFOUND) {
        /* Damage (store_check names it): leave the hit out rather than
           fail the whole search. */
        return DOSSIER_OK;
    }
    if (rc != MDB_SUCCESS) {
        return fts_mdb_error(err, rc, "reading a record");
    }
    Dossier__V1__Report *r =
        dossier__v1__report__unpack(NULL, val.mv_size, val.mv_data);
    if (!r) {
        return DOSSIER_OK; /* the same: unreadable bytes */
    }
    Dossier__V1__SearchHit *hit = malloc(sizeof(*hit));
    char *snippet = fts_snippet(r, terms, n_terms);
    if (!hit || !snippet) {
        free(hit);
        free(snippet);
        dossier__v1__report__free_unpacked(r, NULL);
        return fts_oom(err);
    }
    store_report_summarize(r); /* hits carry the summary view */
    dossier__v1__search_hit__init(hit);
    hit->report = r;
    hit->score = score;
    hit->snippet = snippet;
    *hit_p = hit;
    return DOSSIER_OK;
}
