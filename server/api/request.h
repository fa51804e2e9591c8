/*  request.h: whether a decoded Request may run, checked in one place.

    The loop decodes the envelope and asks request_accept, which checks,
    in this order: a method is named and this server has it, the server
    is not draining (only Health is answered then), an API token in the
    metadata (api/tokens.h: it may replace the caller), the caller's role
    (the one place a call is refused for its role; a gateway's key
    without a token may call only Health and Describe), the idempotency
    key, and that the payload decodes as the method's input. The loop then
   routes the job by where its method runs. No socket is seen here. */
#ifndef DOSSIER_SERVER_REQUEST_H
#define DOSSIER_SERVER_REQUEST_H

#include <stdbool.h>

#include "config.h"
#include "dossier/v1/rpc.pb-c.h"
#include "exec/job.h"
#include "status.h"

struct store_t;

/*  Checks request (borrowed) for job, whose caller (user, user_key,
    role, tokens_honoured) the loop has filled from authentication; only
    an API token that store (borrowed; read on this thread) holds may
    then name another caller. On DOSSIER_OK job has its method, request
    id, deadline, caller, idempotency key and decoded input (the job's).
    Otherwise returns the code to answer with and err says why;
    job->method is set when the method was known (for the per-method
    counters), and DOSSIER_PERMISSION_DENIED or DOSSIER_UNAUTHENTICATED
    tells the caller to record the refusal in the audit log. draining:
    the server is shutting down. */
dossier_status_t request_accept(struct store_t *store,
                                const Dossier__V1__Request *request,
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
