/*  audit.h: the audit log as callers see it (docs/OPERATIONS.md "Audit").

    Who writes it: the writer, for every write and every note, in the
    same batch as the write (exec/recorder.h). Here:
    - the loop, for a call it refuses, makes a note for the writer
      (audit_denied_note), since only the writer writes the store;
    - a worker serves the admin method Audit (handle_audit). */
#ifndef DOSSIER_SERVER_AUDIT_H
#define DOSSIER_SERVER_AUDIT_H

#include "api/handlers.h"
#include "exec/job.h"
#include "status.h"

/*  Default page size of Audit, and how many entries one call reads at
    most (a filter that matches little returns a page token to go on). */
#define AUDIT_DEFAULT_PAGE_SIZE 100
#define AUDIT_MAX_SCAN 10000

/*  A new job (audit_only) telling the writer that job's call was
    refused with code and message, for the audit log; the caller sends it
    to the writer, which sends it back to be destroyed without a reply.
    Returns NULL when out of memory. job is borrowed. */
job_t *audit_denied_note(const job_t *job, dossier_status_t code,
                         const char *message);

/*  Audit (role admin), on a worker: AuditRequest -> AuditResponse,
    filtered by user, since (ISO 8601 UTC, a date or a time) and method
    ("Put" or the full name), oldest first, page by page. */
dossier_status_t handle_audit(const handler_env_t *env, job_t *job,
                              dossier_error_t *err);

#endif
