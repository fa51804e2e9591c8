/*  request.c: the envelope's checks. See request.h. */
#include <stdio.h>
#include <string.h>

#include "api/checks.h"
#include "api/methods.h"
#include "api/request.h"
#include "api/tokens.h"
#include "log.h"

/*  What a gateway's key may call for itself, without a token: its own
    health check and the descriptors it serves Connect with. */
static bool
s_gateway_own(const method_t *method) {
    return method->handler == handle_health ||
           method->handler == handle_describe;
}

dossier_status_t
request_accept(struct store_t *store, const Dossier__V1__Request *request,
               bool draining, job_t *job, dossier_error_t *err) {
    job->request_id = request->id;
    if (!request->method || !request->method[0]) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "Request.method is empty; name a method such "
                                 "as dossier.v1.Reports/Get");
    }
    const method_t *method = methods_find(request->method);
    if (!method) {
        return dossier_error_set(err, DOSSIER_UNIMPLEMENTED,
                                 "unknown method %.200s; call "
                                 "dossier.v1.Reports/Describe for the list",
                                 request->method);
    }
    job->method = method;
    if (draining && method->handler != handle_health) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "the server is shutting down; retry after it "
                                 "restarts");
    }
    job->deadline_ms = request->deadline_ms;
    job->deadline =
        request->deadline_ms ? job_now_ms() + request->deadline_ms : 0;
    /* A token names the caller before the role is checked: the role
       checked is then the token's. */
    dossier_status_t rc = tokens_authenticate(store, request, job, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    if (job->role == ROLE_GATEWAY && !s_gateway_own(method)) {
        return dossier_error_set(
            err, DOSSIER_PERMISSION_DENIED,
            "%s is a gateway: without an API token it may call only Health "
            "and Describe; forward the caller's token as metadata "
            "\"authorization\" (\"Bearer <token>\") to call %s",
            job->user, method->full_name);
    }
    if (!methods_allowed(method, job->role) && job->role == ROLE_NONE) {
        return dossier_error_set(err, DOSSIER_PERMISSION_DENIED,
                                 "method %s needs role %s; %s has role none: "
                                 "the users table does not list this key "
                                 "(any more); if it was just added or "
                                 "changed in the users directory, an admin "
                                 "must reload the users (`dossier users "
                                 "reload`, or SIGHUP to dossierd)",
                                 method->full_name,
                                 methods_role_name(method->role), job->user);
    }
    if (job->role != ROLE_GATEWAY && !methods_allowed(method, job->role)) {
        return dossier_error_set(err, DOSSIER_PERMISSION_DENIED,
                                 "method %s needs role %s; %s has "
                                 "role %s",
                                 method->full_name,
                                 methods_role_name(method->role), job->user,
                                 methods_role_name(job->role));
    }
    /* After the role: a caller refused is refused whatever else is
       wrong with the request. */
    rc = checks_idempotency_key(request, job, err);
    if (rc == DOSSIER_OK) {
        rc = checks_consistency(request, job, err);
    }
    if (rc != DOSSIER_OK) {
        return rc;
    }
    job->input = protobuf_c_message_unpack(
        method->input, NULL, request->payload.len, request->payload.data);
    if (!job->input) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "the payload (%zu bytes) does not decode as "
                                 "%s, the input of %s",
                                 request->payload.len, method->input->name,
                                 method->full_name);
    }
    return DOSSIER_OK;
}

void
request_redact_paths(const config_t *config, job_t *job) {
    const char *dir = config->data_dir;
    if (job->code == DOSSIER_OK || job->role == ROLE_ADMIN || !dir || !*dir ||
        !strstr(job->message, dir)) {
        return;
    }
    log_warn("request %llu (%s by %s) failed: %s",
             (unsigned long long)job->request_id,
             job->method ? job->method->full_name : "no method", job->user,
             job->message);
    static const char instead[] = "the data directory";
    char out[sizeof job->message];
    size_t n = 0, dir_len = strlen(dir);
    for (const char *p = job->message; *p && n + 1 < sizeof out;) {
        if (strncmp(p, dir, dir_len) == 0) {
            n += (size_t)snprintf(out + n, sizeof out - n, "%s", instead);
            n = n < sizeof out ? n : sizeof out - 1;
            p += dir_len;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    memcpy(job->message, out, n + 1);
}
