/*  search.c: store_search, the way into the full-text index: one read
    transaction around store_fts_search (the index itself is fts/). */
#include "store/store_internal.h"

dossier_status_t
store_search(store_t *self, const Dossier__V1__SearchRequest *request,
             uint32_t max_page_size, Dossier__V1__SearchResponse **response_p,
             dossier_error_t *err) {
    store_read_t rd = {0}; /* -O3 cannot see store_read_begin set it */
    dossier_status_t status = store_read_begin(self, &rd, err);
    if (status == DOSSIER_OK) {
        status = store_fts_search(self->fts, rd.txn, request, max_page_size,
                                  response_p, err);
        store_read_end(self, &rd);
    }
    return status;
}
