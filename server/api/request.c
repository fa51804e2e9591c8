/*  request.c: the envelope's checks. See request.h. */
#include <string.h>

#include "api/checks.h"
#include "api/methods.h"
#include "api/request.h"

dossier_status_t
request_accept(const Dossier__V1__Request *request, bool draining, job_t *job,
               dossier_error_t *err) {
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
    dossier_status_t rc = checks_idempotency_key(request, job, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    if (!methods_allowed(method, job->role)) {
        return dossier_error_set(err, DOSSIER_PERMISSION_DENIED,
                                 "method %s needs role %s; %s has "
                                 "role %s",
                                 method->full_name,
                                 methods_role_name(method->role), job->user,
                                 methods_role_name(job->role));
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
