/*  commit.h: the writer's group commit against the store.

    commit_batch runs the write stage of the jobs the writer took at once
    in ONE store batch and commits it durably: a write that fails fails
    alone, a commit that fails fails every write of the batch, and each
    write's audit entry, idempotent reply and change events are recorded
    in the same batch (exec/recorder.h). commit_merge runs one index merge
    that commits left for idle time. Writer thread only; no sockets. */
#ifndef DOSSIER_SERVER_COMMIT_H
#define DOSSIER_SERVER_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/handlers.h"
#include "exec/job.h"
#include "exec/recorder.h"
#include "status.h"

typedef struct commit_t commit_t;

/*  A committer for env's store (env is copied; its store and config are
    borrowed and must outlive it); publish and publish_arg as for
    recorder_new. Returns it, or NULL with err set when out of memory. */
commit_t *commit_new(const handler_env_t *env, recorder_publish_fn publish,
                     void *publish_arg, dossier_error_t *err);

/*  Frees it; takes NULL; sets *self_p to NULL. */
void commit_destroy(commit_t **self_p);

/*  Runs the write stage of the n jobs (borrowed) in one batch, commits
    it, and finishes each job with its outcome; a job whose deadline
    passed is finished with DEADLINE_EXCEEDED unrun. */
void commit_batch(commit_t *self, job_t **jobs, size_t n);

/*  What a Raft log entry decided for its batch (server/cluster/): the
    leader's wall-clock time, which every node records in place of its
    own clock, and the entry's index, stored with the batch. */
typedef struct {
    int64_t wall_ms;
    uint64_t raft_index;
} commit_entry_t;

/*  commit_batch for an entry of the Raft log, the same on every node:
    no deadline is checked (the proposer did), the time recorded is
    entry->wall_ms, and the batch stores entry->raft_index
    (store_batch_set_applied). Each job gets its outcome. Returns
    DOSSIER_OK when the batch committed or had nothing to write, else
    the store's failure (nothing was written; the entry may be applied
    again). */
dossier_status_t commit_apply(commit_t *self, job_t **jobs, size_t n,
                              const commit_entry_t *entry);

/*  The index of the last Raft entry whose batch the store holds (0:
    none), into *index_p. */
dossier_status_t commit_applied_index(commit_t *self, uint64_t *index_p,
                                      dossier_error_t *err);

/*  Runs one index merge due, in a batch of its own, committed durably (no
    client waits for it, and none is told of it). A merge of the segments
    a large import made can take a second; a write arriving meanwhile
    waits for it. Returns whether another merge is due (false after a
    failure: it is tried again after the next commit). */
bool commit_merge(commit_t *self);

/*  Batches committed so far. */
unsigned long commit_count(const commit_t *self);

#endif
