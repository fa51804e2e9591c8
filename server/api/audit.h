/*  audit.h: the audit log, idempotency keys and the change events of
    writes (docs/OPERATIONS.md "Audit", docs/PROTOCOL.md).

    Three sides, one module:
    - the loop copies a request's "idempotency-key" into its job
      (audit_take_key) and, for a call it denies, makes a note for the
      writer (audit_denied_note), since only the writer writes the store;
    - the writer, for each job of a batch, first answers a repeated
      idempotency key with the reply it got before (audit_replay), else
      runs the write and then records, in the SAME batch, the audit entry,
      the key's reply and the change events (audit_record); after the
      commit the events go out on the change feed (audit_publish);
    - a worker serves the admin method Audit (handle_audit).

    An audit_t is the writer's: one thread, one batch at a time. */
#ifndef DOSSIER_SERVER_AUDIT_H
#define DOSSIER_SERVER_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "dossier/v1/rpc.pb-c.h"
#include "net/feed.h"
#include "api/handlers.h"
#include "exec/job.h"
#include "status.h"
#include "store/store.h"

/*  Longest idempotency key accepted, in bytes. */
#define AUDIT_KEY_MAX 128

/*  Default page size of Audit, and how many entries one call reads at
    most (a filter that matches little returns a page token to go on). */
#define AUDIT_DEFAULT_PAGE_SIZE 100
#define AUDIT_MAX_SCAN 10000

/*  Idempotency keys deleted per batch at most, so expiry never makes
    one commit long. */
#define AUDIT_EXPIRE_PER_BATCH 256

/* ---- Loop side ---- */

/*  Copies request's "idempotency-key" metadata entry (if any) into
    job->idempotency_key. Returns DOSSIER_OK, or DOSSIER_INVALID_ARGUMENT
    with err set for a key that is empty or longer than AUDIT_KEY_MAX. */
dossier_status_t audit_take_key(const Dossier__V1__Request *request, job_t *job,
                                dossier_error_t *err);

/*  A new job (audit_only) telling the writer that job's call was
    refused with code and message, for the audit log; the caller sends it
    to the writer, which sends it back to be destroyed without a reply.
    Returns NULL when out of memory. job is borrowed. */
job_t *audit_denied_note(const job_t *job, dossier_status_t code,
                         const char *message);

/* ---- Worker side ---- */

/*  Audit (role admin): AuditRequest -> AuditResponse, filtered by user,
    since (ISO 8601 UTC, a date or a time) and method ("Put" or the full
    name), oldest first, page by page. */
dossier_status_t handle_audit(const handler_env_t *env, job_t *job,
                              dossier_error_t *err);

/* ---- Writer side ---- */

typedef struct audit_t audit_t;

/*  The writer's recorder. config is borrowed (idempotency_ttl_s,
    idempotency_max_keys); feed (may be NULL: no feed) is borrowed and used
    only from the writer thread. Returns NULL when out of memory. */
audit_t *audit_new(const config_t *config, feed_t *feed);

/*  Frees the recorder and any events not published; takes NULL; sets
 *self_p to NULL. */
void audit_destroy(audit_t **self_p);

/*  Forgets the events of the previous batch: call when a batch begins. */
void audit_batch_begin(audit_t *self);

/*  Before job's write: when job has an idempotency key that this user
    already used, fills job's outcome with the reply stored then (or
    INVALID_ARGUMENT when the key was used for another method) and
    returns true: the write must not run. Returns false otherwise
    (including when the lookup itself failed: the write then runs). */
bool audit_replay(audit_t *self, store_batch_t *batch, job_t *job);

/*  After job's write stage (or for an audit_only note): appends its audit
    entry, stores the reply under its idempotency key when the outcome is
    final (OK, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
    FAILED_PRECONDITION, ABORTED: not transient failures), and keeps one
    change event per record write made since mark (store_batch_mark
    before the write). Returns DOSSIER_OK, or the error that must fail the
    whole batch (a write may not be committed without its audit entry). */
dossier_status_t audit_record(audit_t *self, store_batch_t *batch, job_t *job,
                              size_t mark, dossier_error_t *err);

/*  Deletes expired idempotency keys in batch (older than the TTL, or
    beyond the count bound), at most AUDIT_EXPIRE_PER_BATCH. */
dossier_status_t audit_expire(audit_t *self, store_batch_t *batch,
                              dossier_error_t *err);

/*  After the batch committed durably: publishes its change events in
    commit order, then forgets them. */
void audit_publish(audit_t *self);

#endif
