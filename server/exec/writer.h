/*  writer.h: the one thread that writes to the store, with group commit.

    The writer owns one PAIR socket connected to an inproc:// endpoint the
    loop has bound. It waits for a job, then takes every job already
    queued (up to batch_max) and runs their write handlers in ONE store
    batch, commits it durably, and only then sends each job back: every
    OK leaves after its write is on disk, and N queued writes cost one
    flush instead of N. A write that fails fails alone; a commit that
    fails fails every write of the batch. A NULL pointer is the stop
    signal: the writer finishes what it has, answers NULL and ends.
    On a cluster node (env->cluster set) each batch is handed to the
    cluster's submit hook instead, which replicates it through the Raft
    log and returns once it is applied: the writer never commits. */
#ifndef DOSSIER_SERVER_WRITER_H
#define DOSSIER_SERVER_WRITER_H

#include "api/handlers.h"
#include "exec/recorder.h"
#include "status.h"

typedef struct writer_t writer_t;

/*  Starts the writer thread on context (borrowed, must outlive the
    writer) connecting to endpoint; env is copied; publish (NULL: no
    change feed) gets each committed batch's change events on the writer
    thread, with publish_arg (exec/recorder.h); batch_max >= 1 bounds the
    writes per commit. Returns the writer or NULL with err set. */
writer_t *writer_new(void *context, const char *endpoint,
                     const handler_env_t *env, recorder_publish_fn publish,
                     void *publish_arg, unsigned batch_max,
                     dossier_error_t *err);

/*  Joins the thread (after the stop signal was answered) and frees the
    writer; takes NULL; sets *self_p to NULL. */
void writer_destroy(writer_t **self_p);

/*  Commits: the number of batches committed so far (read after join). */
unsigned long writer_commits(const writer_t *self);

#endif
