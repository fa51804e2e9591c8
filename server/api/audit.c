/*  audit.c: the audit log as callers see it: the note the loop sends the
    writer for a call it refused (the writer records it, as it records
    every write: exec/recorder.h), and the admin method Audit, which reads
    the log on a worker. See audit.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/audit.h"
#include "api/methods.h"
#include "apispec.h"
#include "dossier/v1/reports.pb-c.h"
#include "log.h"
#include "store/store.h"
#include "suggest.h"
#include "text.h"

/* ---- Loop side ---- */

job_t *
audit_denied_note(const job_t *job, dossier_status_t code,
                  const char *message) {
    job_t *note = job_new();
    if (!note) {
        return NULL;
    }
    note->audit_only = true;
    note->method = job->method;
    note->request_id = job->request_id;
    memcpy(note->user, job->user, sizeof note->user);
    memcpy(note->via, job->via, sizeof note->via);
    memcpy(note->token_id, job->token_id, sizeof note->token_id);
    note->role = job->role;
    note->code = code;
    snprintf(note->message, sizeof note->message, "%s", message);
    return note;
}

/* ---- Worker side: the Audit method ---- */

typedef struct {
    const char *user; /* NULL: any */
    char since[32];   /* "" : any; compared as a prefix-ordered string */
    char method[96];  /* "" : any */
    size_t page_size;
    Dossier__V1__AuditResponse *response;
    dossier_status_t status;
} s_query_t;

/*  since is a date or time of ISO 8601 UTC ("2026-11-27",
    "2026-11-27T20:15", "2026-11-27T20:15:00Z", "...:00.250Z"). Entries
    are stamped "YYYY-MM-DDTHH:MM:SS.mmmZ", so without its 'Z' a valid
    since orders against them as plain strings. */
static dossier_status_t
s_parse_since(const char *since, char out[32], dossier_error_t *err) {
    static const char shape[] = "0000-00-00T00:00:00.000";
    size_t n = strlen(since);
    if (n && since[n - 1] == 'Z') {
        n--;
    }
    bool ok = n >= 10 && n < sizeof shape &&
              (n == 10 || n == 13 || n == 16 || n == 19 || n > 20);
    for (size_t i = 0; ok && i < n; i++) {
        ok = shape[i] == '0' ? since[i] >= '0' && since[i] <= '9'
                             : since[i] == shape[i];
    }
    if (!ok) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "since \"%.40s\" is not a date or time: "
                                 "give one in ISO 8601 UTC, such as "
                                 "2026-11-27 or 2026-11-27T20:15:00Z",
                                 since);
    }
    memcpy(out, since, n);
    out[n] = '\0';
    return DOSSIER_OK;
}

static bool
s_audit_match(uint64_t seq, const void *data, size_t size, void *arg) {
    s_query_t *q = arg;
    Dossier__V1__AuditEntry *entry =
        dossier__v1__audit_entry__unpack(NULL, size, data);
    if (!entry) {
        log_warn("audit entry %llu is unreadable; skipped",
                 (unsigned long long)seq);
        return true;
    }
    bool match = (!q->user || strcmp(entry->user, q->user) == 0) &&
                 (!q->since[0] || strcmp(entry->time, q->since) >= 0) &&
                 (!q->method[0] || strcmp(entry->method, q->method) == 0);
    if (!match) {
        dossier__v1__audit_entry__free_unpacked(entry, NULL);
        return true;
    }
    Dossier__V1__AuditResponse *r = q->response;
    Dossier__V1__AuditEntry **entries =
        realloc(r->entries, (r->n_entries + 1) * sizeof *entries);
    if (!entries) {
        dossier__v1__audit_entry__free_unpacked(entry, NULL);
        q->status = DOSSIER_RESOURCE_EXHAUSTED;
        return false;
    }
    r->entries = entries;
    r->entries[r->n_entries++] = entry;
    return r->n_entries < q->page_size;
}

static void
s_free_entries(Dossier__V1__AuditResponse *response) {
    for (size_t i = 0; i < response->n_entries; i++) {
        dossier__v1__audit_entry__free_unpacked(response->entries[i], NULL);
    }
    free(response->entries);
}

/*  INVALID_ARGUMENT for a method filter that names no method: an empty
    page would look like "nobody called it". Names the nearest method. */
static dossier_status_t
s_unknown_method(const char *method, dossier_error_t *err) {
    size_t n = 0;
    const apispec_method_t *methods = apispec_methods(&n);
    const char *typed = strrchr(method, '/');
    typed = typed ? typed + 1 : method;
    suggest_t s;
    suggest_init(&s, typed);
    for (size_t i = 0; i < n; i++) {
        suggest_consider(&s, methods[i].name);
    }
    char shown[64];
    text_utf8_copy(shown, sizeof shown, method);
    const char *near = suggest_best(&s);
    if (near != NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "method \"%s\" is not a method of %s; did "
                                 "you mean %s?",
                                 shown, APISPEC_SERVICE, near);
    }
    return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                             "method \"%s\" is not a method of %s (see "
                             "`dossier describe`)",
                             shown, APISPEC_SERVICE);
}

dossier_status_t
handle_audit(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    const Dossier__V1__AuditRequest *request = (void *)job->input;
    unsigned max_page = env->config && env->config->max_page_size
                            ? env->config->max_page_size
                            : STORE_MAX_PAGE_SIZE;
    if (request->page_size > max_page) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "AuditRequest.page_size %u is over the "
                                 "server's max_page_size %u",
                                 request->page_size, max_page);
    }
    s_query_t q = {
        .user = request->user[0] ? request->user : NULL,
        .page_size =
            request->page_size ? request->page_size : AUDIT_DEFAULT_PAGE_SIZE,
    };
    if (request->since[0] &&
        s_parse_since(request->since, q.since, err) != DOSSIER_OK) {
        return DOSSIER_INVALID_ARGUMENT;
    }
    if (request->method[0]) {
        snprintf(q.method, sizeof q.method, "%s%s",
                 strchr(request->method, '/') ? "" : APISPEC_SERVICE "/",
                 request->method);
        if (apispec_find(q.method) == NULL) {
            return s_unknown_method(request->method, err);
        }
    }
    uint64_t from = 1;
    if (request->page_token[0]) {
        char *end = NULL;
        unsigned long long v = request->page_token[0] == 's'
                                   ? strtoull(request->page_token + 1, &end, 10)
                                   : 0;
        if (!end || *end || v == 0) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "AuditRequest.page_token is not one "
                                     "this server issued");
        }
        from = v;
    }
    Dossier__V1__AuditResponse response = DOSSIER__V1__AUDIT_RESPONSE__INIT;
    q.response = &response;
    q.status = DOSSIER_OK;
    uint64_t next = 0;
    dossier_status_t rc = store_audit_scan(env->store, from, AUDIT_MAX_SCAN,
                                           s_audit_match, &q, &next, err);
    if (rc == DOSSIER_OK && q.status != DOSSIER_OK) {
        rc = dossier_error_set(err, q.status, "out of memory");
    }
    char token[32] = "";
    if (rc == DOSSIER_OK) {
        if (next) {
            snprintf(token, sizeof token, "s%llu", (unsigned long long)next);
        }
        response.next_page_token = token;
        rc = job_set_payload(job, &response.base, err);
    }
    s_free_entries(&response);
    return rc;
}
