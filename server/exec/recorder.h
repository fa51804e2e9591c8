/*  recorder.h: what the writer records beside each write
    (docs/OPERATIONS.md "Audit", docs/PROTOCOL.md "Change feed").

    For each job of a batch the writer first answers a repeated
    idempotency key with the reply it got before (recorder_replay), else
    runs the write and then records, in the SAME batch, the audit entry,
    the key's reply and the change events (recorder_record); after the
    commit the events go out through the publish hook (recorder_publish),
    which the loop points at the change feed's socket.

    A recorder_t is the writer's: one thread, one batch at a time. */
#ifndef DOSSIER_SERVER_RECORDER_H
#define DOSSIER_SERVER_RECORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "exec/job.h"
#include "status.h"

struct store_batch_t;

/*  Idempotency keys, and audit entries, deleted per batch at most, so
    expiry never makes one commit long. */
#define RECORDER_EXPIRE_PER_BATCH 256

/*  Sends one packed dossier.v1.ChangeEvent (size bytes, borrowed) to
    subscribers without waiting; returns 0, or -1 when it was refused.
    Called on the writer thread only. */
typedef int (*recorder_publish_fn)(void *arg, const void *event, size_t size);

typedef struct recorder_t recorder_t;

/*  The writer's recorder. config is borrowed (idempotency_ttl_s,
    idempotency_max_keys, audit.max_age_days, audit.max_entries);
    publish (NULL: no change feed) is called with publish_arg for each
    event after its batch commits. Returns NULL when out of memory. */
recorder_t *recorder_new(const config_t *config, recorder_publish_fn publish,
                         void *publish_arg);

/*  Frees the recorder and any events not published; takes NULL; sets
 *self_p to NULL. */
void recorder_destroy(recorder_t **self_p);

/*  Sets the time the next batches record (audit entries, change events,
    idempotency keys and their expiry) to wall_ms, milliseconds since the
    epoch; 0 goes back to reading the wall clock. A cluster's nodes apply
    a Raft entry with the time its leader put in it, so that every node
    writes the same bytes. */
void recorder_set_clock(recorder_t *self, int64_t wall_ms);

/*  Forgets the events of the previous batch: call when a batch begins. */
void recorder_batch_begin(recorder_t *self);

/*  Before job's write: when job has an idempotency key that this caller
    (its public key, or its name without CURVE) already used, fills
    job's outcome with the reply stored then (or INVALID_ARGUMENT when
    the key was used for another method) and returns true: the write
    must not run. Returns false otherwise (including when the lookup
    itself failed: the write then runs). */
bool recorder_replay(recorder_t *self, struct store_batch_t *batch, job_t *job);

/*  After job's write stage (or for an audit_only note): appends its audit
    entry, stores the reply under its idempotency key when the outcome is
    final (OK, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
    FAILED_PRECONDITION, ABORTED: not transient failures), and keeps one
    change event per record write made since mark (store_batch_mark
    before the write). Returns DOSSIER_OK, or the error that must fail the
    whole batch (a write may not be committed without its audit entry). */
dossier_status_t recorder_record(recorder_t *self, struct store_batch_t *batch,
                                 job_t *job, size_t mark, dossier_error_t *err);

/*  Deletes expired idempotency keys in batch (older than the TTL, or
    beyond the count bound), then audit entries past the log's bounds
    (older than audit_max_age_days, or the oldest beyond
    audit_max_entries; never the last one), oldest first, at most
    RECORDER_EXPIRE_PER_BATCH of each. On an error the batch may still
    commit: what was not deleted goes with a later batch. */
dossier_status_t recorder_expire(recorder_t *self, struct store_batch_t *batch,
                                 dossier_error_t *err);

/*  After the batch committed durably: publishes its change events in
    commit order, then forgets them. */
void recorder_publish(recorder_t *self);

#endif
