/*  import.c: ImportText and ImportBatch. Each parses its Refworld
    documents on a worker (a batch across several threads, at a lower
    priority than the serving threads), checks and tokenizes them there,
    and, unless it is a dry run, continues on the writer, which stores
    them all in the writer's batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/checks.h"
#include "api/fields.h"
#include "api/handlers.h"
#include "api/split.h"
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
    /* ImportTextResponse.missing_fields: static names */
    char *missing[6];
    size_t n_missing;
} s_doc_t;

/*  The key fields the text did not give (ImportTextResponse.
    missing_fields): a title the parser had to make up counts. */
static void
s_find_missing(s_doc_t *doc) {
    const Dossier__V1__Report *r = doc->parsed.report;
    bool made_title = false;
    for (size_t i = 0; i < doc->parsed.n_warnings; i++) {
        if (strncmp(doc->parsed.warnings[i], "no title found", 14) == 0) {
            made_title = true;
        }
    }
    struct {
        bool missing;
        const char *name;
    } fields[] = {
        {made_title || !r->title[0], "title"},
        {!r->country[0], "country"},
        {r->year == 0, "year"},
        {!r->doc_type[0], "doc_type"},
        {!r->publisher[0], "publisher"},
        {!r->publication_date[0], "publication_date"},
    };
    doc->n_missing = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (fields[i].missing) {
            doc->missing[doc->n_missing++] = (char *)fields[i].name;
        }
    }
}

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
    if (size == 0 && !request->filename[0]) {
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
    refworld_options_t options = {
        .file_name = request->filename[0] ? request->filename : NULL};
    const Dossier__V1__ImportFields *given = request->fields;
    if (given) {
        options.title = given->title;
        options.country = given->country;
        options.year = given->year;
        options.doc_type = given->doc_type;
        options.publisher = given->publisher;
        options.source_url = given->source_url;
    }
    refworld_result_t parsed = {0};
    dossier_status_t rc =
        refworld_parse_with(text, size, name, &options, &parsed, err);
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
    s_find_missing(doc);
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
    response->missing_fields = doc->missing;
    response->n_missing_fields = doc->n_missing;
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

/*  What the parse threads of one ImportBatch share: each document has
    its own slot, so the threads share nothing else. */
typedef struct {
    const Dossier__V1__ImportBatchRequest *request;
    s_import_t *import;
} s_parse_ctx_t;

/*  Parses documents [lo, hi) (split_run's fn). */
static void
s_parse_docs(void *arg, size_t lo, size_t hi) {
    s_parse_ctx_t *ctx = arg;
    /* NULL (out of memory) tokenizes each document in buffers of its own. */
    store_fts_scratch_t *scratch = store_fts_scratch_new();
    for (size_t i = lo; i < hi; i++) {
        char field[64];
        snprintf(field, sizeof field, "documents[%zu]", i);
        dossier_error_t doc_err = {0};
        s_doc_t *doc = &ctx->import->docs[i];
        doc->code = s_parse_document(ctx->request->documents[i], field, scratch,
                                     doc, &doc_err);
        if (doc->code != DOSSIER_OK) {
            snprintf(doc->message, sizeof doc->message, "%s",
                     doc_err.message[0] ? doc_err.message
                                        : dossier_strerror(doc->code));
        }
    }
    store_fts_scratch_destroy(&scratch);
}

/* A batch of at least twice this many documents is parsed by more than
   one thread: the parse of a large batch is the only work in flight for
   a client that waits for each reply (dossier import), so the other
   cores would idle. */
#define S_PARSE_SPLIT_MIN 64

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
    s_parse_ctx_t ctx = {request, import};
    split_run(import->n, S_PARSE_SPLIT_MIN, s_parse_docs, &ctx);
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
