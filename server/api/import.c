/*  import.c: ImportText and ImportBatch. Each parses its Refworld
    documents on a worker (a batch across several threads, at a lower
    priority than the serving threads), checks and tokenizes them there,
    and, unless it is a dry run, continues on the writer, which stores
    them all in the writer's batch. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api/checks.h"
#include "api/fields.h"
#include "api/handlers.h"
#include "dossier/v1/reports.pb-c.h"
#include "refworld.h"
#include "store/fts/terms.h"
#include "store/store.h"

/*  One document of an import: what parsing gave, then what storing did. */
typedef struct {
    refworld_result_t parsed;
    bool dry_run;
    dossier_status_t code; /* of this document alone */
    char message[256];
    uint64_t version;
    Dossier__V1__ImportOutcome outcome;
    /* The report's full-text terms, tokenized here rather than on the
       writer; NULL (out of memory) lets the writer tokenize. */
    store_fts_terms_t *terms;
} s_doc_t;

typedef struct {
    size_t n;
    s_doc_t *docs;
} s_import_t;

static void
s_import_free(void *state) {
    s_import_t *import = state;
    if (!import) {
        return;
    }
    for (size_t i = 0; i < import->n; i++) {
        refworld_result_free(&import->docs[i].parsed);
        store_fts_terms_destroy(&import->docs[i].terms);
    }
    free(import->docs);
    free(import);
}

static s_import_t *
s_import_new(size_t n) {
    s_import_t *import = calloc(1, sizeof *import);
    if (!import) {
        return NULL;
    }
    import->docs = calloc(n ? n : 1, sizeof *import->docs);
    if (!import->docs) {
        free(import);
        return NULL;
    }
    import->n = n;
    return import;
}

/*  Parses one document and applies the request's id and source_url. */
static dossier_status_t
s_parse_document(const Dossier__V1__ImportTextRequest *request,
                 const char *field, store_fts_scratch_t *scratch, s_doc_t *doc,
                 dossier_error_t *err) {
    doc->dry_run = request->dry_run;
    /* content carries a file's bytes as they are; text, valid UTF-8. */
    const char *text = (const char *)request->content.data;
    size_t size = request->content.len;
    if (size == 0) {
        text = request->text;
        size = text ? strlen(text) : 0;
    }
    if (size == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s has neither content nor text; send the "
                                 "document",
                                 field);
    }
    if (request->id[0]) {
        char id_field[96];
        snprintf(id_field, sizeof id_field, "%s.id", field);
        dossier_status_t rc = store_check_id(id_field, request->id, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
    }
    const char *name = request->filename[0] ? request->filename : field;
    refworld_result_t parsed = {0};
    dossier_status_t rc = refworld_parse(text, size, name, &parsed, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    if (!parsed.report) {
        refworld_result_free(&parsed);
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "the parser returned no report for %s", name);
    }
    if (request->id[0]) {
        rc = fields_set_string(&parsed.report->id, request->id, err);
    }
    if (rc == DOSSIER_OK && request->source_url[0] &&
        (!parsed.report->source_url || !parsed.report->source_url[0])) {
        rc = fields_set_string(&parsed.report->source_url, request->source_url,
                               err);
    }
    if (rc != DOSSIER_OK) {
        refworld_result_free(&parsed);
        return rc;
    }
    if (!doc->dry_run) {
        /* Checked and tokenized here, on a parse worker, so the writer
           need not. */
        rc = store_validate(parsed.report, err);
        if (rc != DOSSIER_OK) {
            refworld_result_free(&parsed);
            return rc;
        }
        doc->terms = store_fts_terms_new(parsed.report, scratch);
    }
    doc->parsed = parsed;
    return DOSSIER_OK;
}

/*  Fills response from doc; everything borrowed from doc. */
static void
s_doc_response(s_doc_t *doc, Dossier__V1__ImportTextResponse *response) {
    dossier__v1__import_text_response__init(response);
    Dossier__V1__Report *report = doc->parsed.report;
    response->id = report && report->id ? report->id : (char *)"";
    response->version = doc->version;
    response->outcome = doc->dry_run
                            ? DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_PARSED
                            : doc->outcome;
    response->warnings = doc->parsed.warnings;
    response->n_warnings = doc->parsed.n_warnings;
    response->report = doc->dry_run ? report : NULL;
}

/*  Stores one parsed document; re-importing unchanged text writes
    nothing (outcome UNCHANGED). */
static dossier_status_t
s_store_document(store_batch_t *batch, const job_t *job, s_doc_t *doc,
                 dossier_error_t *err) {
    store_put_args_t args = {
        .user = job->user,
        .skip_if_same_source = true,
        .terms = doc->terms,
        .validated = true, /* by s_parse_document */
    };
    store_put_result_t result = {0};
    dossier_status_t rc =
        store_put(batch, doc->parsed.report, &args, &result, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    doc->version = result.version;
    doc->outcome =
        result.unchanged ? DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UNCHANGED
        : result.created ? DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED
                         : DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UPDATED;
    return DOSSIER_OK;
}

dossier_status_t
handle_import_text_parse(const handler_env_t *env, job_t *job,
                         dossier_error_t *err) {
    (void)env;
    const Dossier__V1__ImportTextRequest *request = (void *)job->input;
    s_import_t *import = s_import_new(1);
    if (!import) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier_status_t rc = s_parse_document(request, "ImportTextRequest", NULL,
                                           &import->docs[0], err);
    if (rc != DOSSIER_OK) {
        s_import_free(import);
        return rc;
    }
    if (request->dry_run) {
        Dossier__V1__ImportTextResponse response;
        s_doc_response(&import->docs[0], &response);
        rc = job_set_payload(job, &response.base, err);
        s_import_free(import);
        return rc;
    }
    job->state = import;
    job->state_free = s_import_free;
    job->to_writer = true;
    return DOSSIER_OK;
}

dossier_status_t
handle_import_text_write(const handler_env_t *env, store_batch_t *batch,
                         job_t *job, dossier_error_t *err) {
    (void)env;
    s_import_t *import = job->state;
    if (!import || import->n != 1) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "ImportText reached the writer unparsed");
    }
    dossier_status_t rc = s_store_document(batch, job, &import->docs[0], err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    Dossier__V1__ImportTextResponse response;
    s_doc_response(&import->docs[0], &response);
    return job_set_payload(job, &response.base, err);
}

/*  Packs the ImportBatchResponse for every document of import. */
static dossier_status_t
s_batch_reply(job_t *job, s_import_t *import, dossier_error_t *err) {
    size_t n = import->n;
    Dossier__V1__ImportResult *results = calloc(n, sizeof *results);
    Dossier__V1__ImportResult **result_ptrs = calloc(n, sizeof *result_ptrs);
    Dossier__V1__ImportTextResponse *responses = calloc(n, sizeof *responses);
    dossier_status_t rc = DOSSIER_OK;
    if (!results || !result_ptrs || !responses) {
        rc =
            dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        s_doc_t *doc = &import->docs[i];
        dossier__v1__import_result__init(&results[i]);
        results[i].code = (int32_t)doc->code;
        if (doc->code == DOSSIER_OK) {
            s_doc_response(doc, &responses[i]);
            results[i].response = &responses[i];
        } else {
            results[i].message = doc->message;
        }
        result_ptrs[i] = &results[i];
    }
    Dossier__V1__ImportBatchResponse response =
        DOSSIER__V1__IMPORT_BATCH_RESPONSE__INIT;
    response.results = result_ptrs;
    response.n_results = n;
    rc = job_set_payload(job, &response.base, err);
cleanup:
    free(responses);
    free(result_ptrs);
    free(results);
    return rc;
}

/*  Documents [lo, hi) of an ImportBatch, parsed by one thread; each
    document has its own slot, so the threads share nothing. */
typedef struct {
    const Dossier__V1__ImportBatchRequest *request;
    s_import_t *import;
    size_t lo, hi;
} s_parse_range_t;

/* The nice value of a batch's parse threads. The writer, serial, is a bulk
   import's bottleneck and needs a core whenever it can run; the parse,
   split over threads, keeps ahead of it on what is left, and yields to
   the loop's and the workers' short requests too. (Raising a thread's
   nice needs no privilege; lowering it back would, hence threads of their
   own.) */
#define S_PARSE_NICE 5

static void
s_parse_docs(s_parse_range_t *range) {
    /* NULL (out of memory) tokenizes each document in buffers of its own. */
    store_fts_scratch_t *scratch = store_fts_scratch_new();
    for (size_t i = range->lo; i < range->hi; i++) {
        char field[64];
        snprintf(field, sizeof field, "documents[%zu]", i);
        dossier_error_t doc_err = {0};
        s_doc_t *doc = &range->import->docs[i];
        doc->code = s_parse_document(range->request->documents[i], field,
                                     scratch, doc, &doc_err);
        if (doc->code != DOSSIER_OK) {
            snprintf(doc->message, sizeof doc->message, "%s",
                     doc_err.message[0] ? doc_err.message
                                        : dossier_strerror(doc->code));
        }
    }
    store_fts_scratch_destroy(&scratch);
}

static void *
s_parse_range(void *arg) {
    /* Best effort: at worst the thread parses at the default priority. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), S_PARSE_NICE);
    s_parse_docs(arg);
    return NULL;
}

/* A batch of at least twice this many documents is parsed by more than
   one thread: the parse of a large batch is the only work in flight for
   a client that waits for each reply (dossier import), so the other
   cores would idle. */
#define S_PARSE_SPLIT_MIN 64
#define S_PARSE_THREADS_MAX 4

/*  Parses every document of request into import, on up to
    S_PARSE_THREADS_MAX threads of lower priority (one per online core)
    while this one waits; on this thread when none can start. A batch too
    small to split is parsed here. */
static void
s_parse_batch(const Dossier__V1__ImportBatchRequest *request,
              s_import_t *import) {
    size_t n = import->n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = cores > 1 ? (size_t)cores : 1;
    if (threads > S_PARSE_THREADS_MAX) {
        threads = S_PARSE_THREADS_MAX;
    }
    if (threads > n / S_PARSE_SPLIT_MIN) {
        threads = n / S_PARSE_SPLIT_MIN ? n / S_PARSE_SPLIT_MIN : 1;
    }
    s_parse_range_t ranges[S_PARSE_THREADS_MAX];
    pthread_t ids[S_PARSE_THREADS_MAX];
    bool started[S_PARSE_THREADS_MAX] = {false};
    for (size_t t = 0; t < threads; t++) {
        ranges[t] = (s_parse_range_t){request, import, n * t / threads,
                                      n * (t + 1) / threads};
    }
    if (threads == 1) {
        s_parse_docs(&ranges[0]);
        return;
    }
    /* A range whose thread did not start is parsed here. */
    for (size_t t = 0; t < threads; t++) {
        started[t] =
            pthread_create(&ids[t], NULL, s_parse_range, &ranges[t]) == 0;
    }
    for (size_t t = 0; t < threads; t++) {
        if (started[t]) {
            pthread_join(ids[t], NULL);
        } else {
            s_parse_docs(&ranges[t]);
        }
    }
}

dossier_status_t
handle_import_batch_parse(const handler_env_t *env, job_t *job,
                          dossier_error_t *err) {
    (void)env;
    const Dossier__V1__ImportBatchRequest *request = (void *)job->input;
    if (request->n_documents == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "ImportBatchRequest.documents is empty");
    }
    s_import_t *import = s_import_new(request->n_documents);
    if (!import) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    s_parse_batch(request, import);
    bool any_to_store = false;
    for (size_t i = 0; i < import->n; i++) {
        if (import->docs[i].code == DOSSIER_OK && !import->docs[i].dry_run) {
            any_to_store = true;
        }
    }
    if (!any_to_store) {
        dossier_status_t rc = s_batch_reply(job, import, err);
        s_import_free(import);
        return rc;
    }
    job->state = import;
    job->state_free = s_import_free;
    job->to_writer = true;
    return DOSSIER_OK;
}

dossier_status_t
handle_import_batch_write(const handler_env_t *env, store_batch_t *batch,
                          job_t *job, dossier_error_t *err) {
    (void)env;
    s_import_t *import = job->state;
    if (!import) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "ImportBatch reached the writer unparsed");
    }
    for (size_t i = 0; i < import->n; i++) {
        s_doc_t *doc = &import->docs[i];
        if (doc->code != DOSSIER_OK || doc->dry_run) {
            continue;
        }
        dossier_error_t doc_err = {0};
        doc->code = s_store_document(batch, job, doc, &doc_err);
        if (doc->code != DOSSIER_OK) {
            snprintf(doc->message, sizeof doc->message, "%s",
                     doc_err.message[0] ? doc_err.message
                                        : dossier_strerror(doc->code));
        }
    }
    return s_batch_reply(job, import, err);
}
