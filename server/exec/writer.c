/*  writer.c: drain, batch, commit, then reply. See writer.h. The
    batches themselves are commit.c's: this file holds the thread and its
    socket, and never sees the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "exec/commit.h"
#include "exec/thread.h"
#include "exec/writer.h"

struct writer_t {
    exec_thread_t thread;
    commit_t *commit;
    unsigned batch_max;
    job_t **jobs;
    /* A commit may have left index merges for idle time (true at start:
       the last run may have too). */
    bool merges_due;
    long merge_idle_ms; /* 0: commits merge, none wait for idle time */
    /* A cluster node's: each batch goes through the Raft log instead. */
    const handler_cluster_t *cluster;
};

/*  True when a job arrives within timeout_ms. */
static bool
s_work_waiting(void *socket, long timeout_ms) {
    zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
    int n = zmq_poll(&item, 1, timeout_ms);
    return n != 0; /* an error too: job_recv tells what it is */
}

static void *
s_writer_main(void *arg) {
    writer_t *self = arg;
    bool stop = false;
    while (!stop) {
        /* Merges wait for the writer to be idle a while: a bulk import's
           batches come closer together, so its own merges do not hold
           it up. */
        if (self->merges_due &&
            !s_work_waiting(self->thread.socket, self->merge_idle_ms)) {
            self->merges_due = commit_merge(self->commit);
            continue;
        }
        job_t *job = NULL;
        if (job_recv(self->thread.socket, &job, 0) != 0) {
            if (errno == ETERM) {
                break;
            }
            continue;
        }
        if (!job) {
            break;
        }
        size_t n = 0;
        self->jobs[n++] = job;
        /* Group commit: take what is already waiting, up to the bound. */
        while (n < self->batch_max) {
            if (job_recv(self->thread.socket, &job, ZMQ_DONTWAIT) != 0) {
                break;
            }
            if (!job) {
                stop = true;
                break;
            }
            self->jobs[n++] = job;
        }
        if (self->cluster) {
            self->cluster->submit(self->cluster->arg, self->jobs, n);
        } else {
            commit_batch(self->commit, self->jobs, n);
            self->merges_due = self->merge_idle_ms > 0;
        }
        for (size_t i = 0; i < n; i++) {
            while (job_send(self->thread.socket, self->jobs[i]) != 0 &&
                   errno == EINTR) {
            }
        }
    }
    job_send(self->thread.socket, NULL);
    return NULL;
}

writer_t *
writer_new(void *context, const char *endpoint, const handler_env_t *env,
           recorder_publish_fn publish, void *publish_arg, unsigned batch_max,
           dossier_error_t *err) {
    writer_t *self = calloc(1, sizeof *self);
    if (!self) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    self->commit = commit_new(env, publish, publish_arg, err);
    if (!self->commit) {
        goto free_self;
    }
    self->batch_max = batch_max ? batch_max : 1;
    /* In a cluster the Raft thread applies every batch, merges
       included: the writer never writes to the store itself. */
    self->cluster = env->cluster && env->cluster->submit ? env->cluster : NULL;
    self->merges_due = !self->cluster && env->config->merge_idle_ms > 0;
    self->merge_idle_ms = self->cluster ? 0 : env->config->merge_idle_ms;
    self->jobs = calloc(self->batch_max, sizeof *self->jobs);
    if (!self->jobs) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        goto destroy_commit;
    }
    if (exec_thread_start(&self->thread, context, endpoint, "the writer",
                          s_writer_main, self, err) != DOSSIER_OK) {
        goto free_jobs;
    }
    return self;

free_jobs:
    free(self->jobs);
destroy_commit:
    commit_destroy(&self->commit);
free_self:
    free(self);
    return NULL;
}

void
writer_destroy(writer_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    writer_t *self = *self_p;
    exec_thread_stop(&self->thread);
    free(self->jobs);
    commit_destroy(&self->commit);
    free(self);
    *self_p = NULL;
}

unsigned long
writer_commits(const writer_t *self) {
    return commit_count(self->commit);
}
