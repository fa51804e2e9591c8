/*  put_batch.c: PutBatch, many records stored as Put stores one. The
    records are checked (id, year, tier, UTF-8), given their country code
    and tokenized on a worker, split over a few threads (api/split.h),
    then stored on the writer in its batch, so a dump of 100,000 records
    costs a few dozen durable commits instead of 100,000. Each record
    succeeds or fails on its own; the call's idempotency key covers the
    whole batch (a resent batch gets the reply the first one got). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fields.h"
#include "api/handlers.h"
#include "api/split.h"
#include "country.h"
#include "dossier/v1/reports.pb-c.h"
#include "store/fts/terms.h"
#include "store/store.h"

/* A batch of at least twice this many records is checked and tokenized
   on more than one thread. */
#define S_SPLIT_MIN 64

/*  One record of the batch: its check, then what storing did. */
typedef struct {
    dossier_status_t code;
    char message[256];
    uint64_t version;
    Dossier__V1__ImportOutcome outcome;
    store_fts_terms_t *terms; /* NULL: the writer tokenizes */
} s_record_t;

typedef struct {
    const Dossier__V1__PutBatchRequest *request;
    size_t n;
    s_record_t *records;
} s_batch_t;

static void
s_batch_free(void *state) {
    s_batch_t *batch = state;
    if (!batch) {
        return;
    }
    for (size_t i = 0; i < batch->n; i++) {
        store_fts_terms_destroy(&batch->records[i].terms);
    }
    free(batch->records);
    free(batch);
}

static void
s_fail(s_record_t *record, dossier_status_t code, const dossier_error_t *err) {
    record->code = code;
    snprintf(record->message, sizeof record->message, "%s",
             err->message[0] ? err->message : dossier_strerror(code));
}

/*  Checks one record as handle_put would, gives a known country its
    code, and tokenizes it. The job owns its decoded input, so the
    record may be changed in place. */
static void
s_check_record(Dossier__V1__Report *report, size_t index,
               store_fts_scratch_t *scratch, s_record_t *record) {
    dossier_error_t err = {0};
    char field[64];
    snprintf(field, sizeof field, "PutBatchRequest.reports[%zu].id", index);
    dossier_status_t rc = store_check_id(field, report->id, &err);
    if (rc == DOSSIER_OK &&
        (!report->country_code || !report->country_code[0]) &&
        report->country && report->country[0]) {
        const country_t *country = country_lookup(report->country);
        if (country) {
            rc =
                fields_set_string(&report->country_code, country->alpha3, &err);
        }
    }
    if (rc == DOSSIER_OK) {
        rc = store_validate(report, &err);
    }
    if (rc != DOSSIER_OK) {
        s_fail(record, rc, &err);
        return;
    }
    record->code = DOSSIER_OK;
    record->terms = store_fts_terms_new(report, scratch);
}

static void
s_check_range(void *arg, size_t lo, size_t hi) {
    s_batch_t *batch = arg;
    store_fts_scratch_t *scratch = store_fts_scratch_new();
    for (size_t i = lo; i < hi; i++) {
        Dossier__V1__Report *report = batch->request->reports[i];
        if (!report) {
            dossier_error_t err = {0};
            dossier_error_set(&err, DOSSIER_INVALID_ARGUMENT,
                              "PutBatchRequest.reports[%zu] is missing", i);
            s_fail(&batch->records[i], DOSSIER_INVALID_ARGUMENT, &err);
            continue;
        }
        s_check_record(report, i, scratch, &batch->records[i]);
    }
    store_fts_scratch_destroy(&scratch);
}

/*  Packs the PutBatchResponse of every record. */
static dossier_status_t
s_reply(job_t *job, const s_batch_t *batch, dossier_error_t *err) {
    size_t n = batch->n;
    Dossier__V1__PutResult *results = calloc(n ? n : 1, sizeof *results);
    Dossier__V1__PutResult **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    dossier_status_t rc = DOSSIER_OK;
    if (!results || !ptrs) {
        rc =
            dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        const s_record_t *record = &batch->records[i];
        const Dossier__V1__Report *report = batch->request->reports[i];
        dossier__v1__put_result__init(&results[i]);
        results[i].code = (int32_t)record->code;
        results[i].id = report && report->id ? report->id : (char *)"";
        if (record->code == DOSSIER_OK) {
            results[i].version = record->version;
            results[i].outcome = record->outcome;
        } else {
            results[i].message = (char *)record->message;
        }
        ptrs[i] = &results[i];
    }
    Dossier__V1__PutBatchResponse response =
        DOSSIER__V1__PUT_BATCH_RESPONSE__INIT;
    response.results = ptrs;
    response.n_results = n;
    rc = job_set_payload(job, &response.base, err);
cleanup:
    free(ptrs);
    free(results);
    return rc;
}

dossier_status_t
handle_put_batch_check(const handler_env_t *env, job_t *job,
                       dossier_error_t *err) {
    (void)env;
    const Dossier__V1__PutBatchRequest *request = (void *)job->input;
    if (request->n_reports == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "PutBatchRequest.reports is empty; give the "
                                 "records to store");
    }
    s_batch_t *batch = calloc(1, sizeof *batch);
    s_record_t *records =
        batch ? calloc(request->n_reports, sizeof *records) : NULL;
    if (!records) {
        free(batch);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    *batch = (s_batch_t){request, request->n_reports, records};
    split_run(batch->n, S_SPLIT_MIN, s_check_range, batch);
    bool any_to_store = false;
    for (size_t i = 0; i < batch->n; i++) {
        any_to_store |= records[i].code == DOSSIER_OK;
    }
    if (!any_to_store) {
        dossier_status_t rc = s_reply(job, batch, err);
        s_batch_free(batch);
        return rc;
    }
    job->state = batch;
    job->state_free = s_batch_free;
    job->to_writer = true;
    return DOSSIER_OK;
}

dossier_status_t
handle_put_batch_write(const handler_env_t *env, store_batch_t *store_batch,
                       job_t *job, dossier_error_t *err) {
    (void)env;
    s_batch_t *batch = job->state;
    if (!batch) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "PutBatch reached the writer unchecked");
    }
    for (size_t i = 0; i < batch->n; i++) {
        s_record_t *record = &batch->records[i];
        if (record->code != DOSSIER_OK) {
            continue;
        }
        store_put_args_t args = {
            .user = job->user,
            .skip_if_identical = batch->request->skip_unchanged,
            .terms = record->terms,
            .validated = true, /* by s_check_record */
        };
        store_put_result_t result = {0};
        dossier_error_t record_err = {0};
        dossier_status_t rc = store_put(store_batch, batch->request->reports[i],
                                        &args, &result, &record_err);
        if (rc != DOSSIER_OK) {
            s_fail(record, rc, &record_err);
            continue;
        }
        record->version = result.version;
        record->outcome =
            result.unchanged
                ? DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UNCHANGED
            : result.created
                ? DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED
                : DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UPDATED;
    }
    return s_reply(job, batch, err);
}
