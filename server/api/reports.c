/*  reports.c: the methods on records: Get (inline in the loop), List,
    History, Changes (on a worker), Put and Delete (on the writer).

    The loop has already checked the envelope, the role, the deadline and
    that the payload decodes as the method's input type (api/request.h);
    what is left here is the meaning of the fields. Messages name the
    field at fault and what would be accepted, so the caller can fix the
    request. */
#include <stdlib.h>
#include <string.h>

#include "api/checks.h"
#include "api/fields.h"
#include "api/handlers.h"
#include "country.h"
#include "dossier/v1/reports.pb-c.h"
#include "store/store.h"

typedef struct {
    job_t *job;
    dossier_status_t rc;
    dossier_error_t *err;
} s_copy_t;

/*  Copies the stored bytes, a packed Report, as the reply payload: the
    record is never decoded on the way out. */
static void
s_copy_packed(const void *data, size_t size, void *arg) {
    s_copy_t *copy = arg;
    copy->rc = job_set_bytes(copy->job, data, size, copy->err);
}

dossier_status_t
handle_get(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    const Dossier__V1__GetRequest *request = (void *)job->input;
    dossier_status_t rc = store_check_id("id", request->id, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    s_copy_t copy = {job, DOSSIER_OK, err};
    rc = store_get_version_packed(env->store, request->id, request->version,
                                  s_copy_packed, &copy, err);
    return rc != DOSSIER_OK ? rc : copy.rc;
}

dossier_status_t
handle_list_versions(const handler_env_t *env, job_t *job,
                     dossier_error_t *err) {
    const Dossier__V1__ListVersionsRequest *request = (void *)job->input;
    dossier_status_t rc =
        store_check_id("ListVersionsRequest.id", request->id, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    uint32_t page_size = 0;
    rc = checks_page_size("ListVersionsRequest.page_size", request->page_size,
                          100, env->config->max_page_size, &page_size, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    Dossier__V1__ListVersionsResponse *response = NULL;
    rc = store_list_versions(env->store, request->id, page_size,
                             request->before_version, &response, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    rc = job_set_payload(job, &response->base, err);
    dossier__v1__list_versions_response__free_unpacked(response, NULL);
    return rc;
}

dossier_status_t
handle_list(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    const Dossier__V1__ListRequest *request = (void *)job->input;
    uint32_t page_size = 0;
    dossier_status_t rc = checks_page_size(
        "ListRequest.page_size", request->page_size, STORE_DEFAULT_PAGE_SIZE,
        env->config->max_page_size, &page_size, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    if (request->view != DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_SUMMARY &&
        request->view != DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "ListRequest.view %d is not a ReportView "
                                 "(0 summary, 1 full)",
                                 (int)request->view);
    }
    store_filter_t filter = {0};
    char key[128];
    const Dossier__V1__ReportFilter *wanted = request->filter;
    if (wanted) {
        rc = checks_tier("ListRequest.filter.tier", (int)wanted->tier, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
        if (wanted->year_min && wanted->year_max &&
            wanted->year_min > wanted->year_max) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "ListRequest.filter.year_min %u is after "
                                     "year_max %u",
                                     wanted->year_min, wanted->year_max);
        }
        if (wanted->country[0]) {
            filter.country_key = country_key(wanted->country, key, sizeof key);
        }
        filter.year_min = wanted->year_min;
        filter.year_max = wanted->year_max;
        filter.tier = wanted->tier;
        filter.publisher = fields_or_null(wanted->publisher);
        filter.doc_type = fields_or_null(wanted->doc_type);
    }
    Dossier__V1__ListResponse *response = NULL;
    rc = store_list(env->store, &filter, page_size, request->page_token,
                    request->view == DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL,
                    &response, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    rc = job_set_payload(job, &response->base, err);
    dossier__v1__list_response__free_unpacked(response, NULL);
    return rc;
}

/*  NOT_FOUND for a history, in the words the caller used: the country as
    typed (not the folded key the index uses), the one it likely meant
    when it names no known country. */
static dossier_status_t
s_history_not_found(const char *country, const char *doc_type,
                    dossier_error_t *err) {
    const char *series = doc_type ? doc_type : "Trafficking in Persons Report";
    const country_t *known = country_lookup(country);
    if (known != NULL) {
        return dossier_error_set(err, DOSSIER_NOT_FOUND,
                                 "no \"%s\" report for %s (%s)", series,
                                 known->name, known->alpha3);
    }
    const country_t *near = country_suggest(country);
    if (near != NULL) {
        return dossier_error_set(err, DOSSIER_NOT_FOUND,
                                 "no \"%s\" report for \"%.200s\", which is "
                                 "not a country name; did you mean %s?",
                                 series, country, near->name);
    }
    return dossier_error_set(err, DOSSIER_NOT_FOUND,
                             "no \"%s\" report for \"%.200s\"", series,
                             country);
}

dossier_status_t
handle_history(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    const Dossier__V1__HistoryRequest *request = (void *)job->input;
    if (!request->country[0]) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "the country is empty; give a country "
                                 "name or ISO 3166-1 alpha-3 code");
    }
    char key[128];
    country_key(request->country, key, sizeof key);
    Dossier__V1__HistoryResponse *response = NULL;
    const char *doc_type = fields_or_null(request->doc_type);
    dossier_status_t rc =
        store_history(env->store, key, doc_type, &response, err);
    if (rc == DOSSIER_NOT_FOUND) {
        return s_history_not_found(request->country, doc_type, err);
    }
    if (rc != DOSSIER_OK) {
        return rc;
    }
    rc = job_set_payload(job, &response->base, err);
    dossier__v1__history_response__free_unpacked(response, NULL);
    return rc;
}

dossier_status_t
handle_changes(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    const Dossier__V1__ChangesRequest *request = (void *)job->input;
    if (request->year == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "ChangesRequest.year is 0; give the year to "
                                 "compare with the year before");
    }
    Dossier__V1__ChangesResponse *response = NULL;
    dossier_status_t rc =
        store_changes(env->store, request->year,
                      fields_or_null(request->doc_type), &response, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    rc = job_set_payload(job, &response->base, err);
    dossier__v1__changes_response__free_unpacked(response, NULL);
    return rc;
}

dossier_status_t
handle_put(const handler_env_t *env, store_batch_t *batch, job_t *job,
           dossier_error_t *err) {
    (void)env;
    const Dossier__V1__PutRequest *request = (void *)job->input;
    if (!request->report) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "PutRequest.report is missing");
    }
    dossier_status_t rc =
        store_check_id("the report's id", request->report->id, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    /* A known country gets its ISO code, as an import would give it, so
       History, Changes and clients see one code per country. The job
       owns its decoded input. */
    Dossier__V1__Report *report = request->report;
    if ((!report->country_code || !report->country_code[0]) &&
        report->country && report->country[0]) {
        const country_t *country = country_lookup(report->country);
        if (country) {
            rc = fields_set_string(&report->country_code, country->alpha3, err);
            if (rc != DOSSIER_OK) {
                return rc;
            }
        }
    }
    store_put_args_t args = {
        .expected_version = request->expected_version,
        .create_only = request->create_only,
        .user = job->user,
    };
    store_put_result_t result = {0};
    rc = store_put(batch, report, &args, &result, err);
    if (rc == DOSSIER_ABORTED) {
        job->current_version = result.version; /* Response.current_version */
    }
    if (rc != DOSSIER_OK) {
        return rc;
    }
    Dossier__V1__PutResponse response = DOSSIER__V1__PUT_RESPONSE__INIT;
    response.id = request->report->id;
    response.version = result.version;
    response.created = result.created;
    return job_set_payload(job, &response.base, err);
}

dossier_status_t
handle_delete(const handler_env_t *env, store_batch_t *batch, job_t *job,
              dossier_error_t *err) {
    (void)env;
    const Dossier__V1__DeleteRequest *request = (void *)job->input;
    dossier_status_t rc = store_check_id("id", request->id, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    uint64_t version = 0;
    rc = store_delete_by(batch, request->id, request->expected_version,
                         job->user, &version, err);
    if (rc == DOSSIER_ABORTED) {
        job->current_version = version; /* Response.current_version */
    }
    if (rc != DOSSIER_OK) {
        return rc;
    }
    Dossier__V1__DeleteResponse response = DOSSIER__V1__DELETE_RESPONSE__INIT;
    response.id = request->id;
    response.version = version;
    return job_set_payload(job, &response.base, err);
}
