/*  search.c: the Search method, on a worker. The store parses the query
    and checks the filter, the page size and the page token against the
    index it reads (store/fts/), so this handler only carries the request
    there and the response back. */
#include "api/handlers.h"
#include "dossier/v1/reports.pb-c.h"
#include "store/store.h"

dossier_status_t
handle_search(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    /* The store parses the query and checks filter, page and token. */
    const Dossier__V1__SearchRequest *request = (void *)job->input;
    Dossier__V1__SearchResponse *response = NULL;
    dossier_status_t rc = store_search(
        env->store, request, env->config->max_page_size, &response, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    rc = job_set_payload(job, &response->base, err);
    dossier__v1__search_response__free_unpacked(response, NULL);
    return rc;
}
