/*  request.h: whether a decoded Request may run, checked in one place.

    The loop decodes the envelope and asks request_accept, which checks,
    in this order: a method is named and this server has it, the server
    is not draining (only Health is answered then), the caller's role (the
    one place a call is refused for its role), the idempotency key, and
    that the payload decodes as the method's input. The loop then routes
    the job by where its method runs. No socket is seen here. */
#ifndef DOSSIER_SERVER_REQUEST_H
#define DOSSIER_SERVER_REQUEST_H

#include <stdbool.h>

#include "config.h"
#include "dossier/v1/rpc.pb-c.h"
#include "exec/job.h"
#include "status.h"

/*  Checks request (borrowed) for job, whose caller (user, user_key,
    role) the loop has filled from authentication, never from the
    request. On DOSSIER_OK job has its method, request id, deadline,
    idempotency key and decoded input (the job's). Otherwise returns the
    code to answer with and err says why; job->method is set when the
    method was known (for the per-method counters), and
    DOSSIER_PERMISSION_DENIED tells the caller to record the refusal in
    the audit log. draining: the server is shutting down. */
dossier_status_t request_accept(const Dossier__V1__Request *request,
                                bool draining, job_t *job,
                                dossier_error_t *err);

/*  Keeps server paths to the log and to admins: when job failed, its
    caller is not an admin, and its message names the data directory
    (config->data_dir: a full disk, an I/O error), logs the message with
    the request, user and method, and replaces each mention of the
    directory in job->message with "the data directory". Call it before
    the reply leaves. */
void request_redact_paths(const config_t *config, job_t *job);

#endif
