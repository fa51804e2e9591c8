/*  writer.c: drain, batch, commit, then reply. See writer.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "api/audit.h"
#include "log.h"
#include "api/methods.h"
#include "exec/workers.h"
#include "exec/writer.h"

struct writer_t {
    handler_env_t env;
    unsigned batch_max;
    pthread_t thread;
    void *socket;
    job_t **jobs;
    unsigned long commits;
    /* A commit may have left index merges for idle time (true at start:
       the last run may have too). */
    bool merges_due;
    long merge_idle_ms; /* 0: commits merge, none wait for idle time */
    audit_t *audit;     /* audit entries, idempotency keys, change events */
};

/*  Fails every job of the batch that would otherwise report success. */
static void
s_fail_batch(job_t **jobs, size_t n, dossier_status_t rc, const char *why) {
    dossier_error_t err = {0};
    dossier_error_set(&err, rc, "the write was not committed: %s", why);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i]->code == DOSSIER_OK) {
            job_finish(jobs[i], rc, &err);
        }
    }
}

/*  Runs the write stage of n jobs in one batch and commits it. Each
    write is recorded in the same batch (audit entry, the reply under its
    idempotency key, its change events), and a repeated idempotency key
    is answered from the first reply without writing; notes of refused
    calls (audit_only) add their audit entry. The change events go out
    only after the commit is durable. */
static void
s_commit(writer_t *self, job_t **jobs, size_t n) {
    dossier_error_t err = {0};
    store_batch_t *batch = NULL;
    dossier_status_t rc = store_batch_begin(self->env.store, &batch, &err);
    if (rc != DOSSIER_OK) {
        for (size_t i = 0; i < n; i++) {
            job_finish(jobs[i], rc, &err);
        }
        return;
    }
    audit_batch_begin(self->audit);
    int64_t started = job_now_ms();
    size_t written = 0, replayed = 0;
    for (size_t i = 0; i < n; i++) {
        job_t *job = jobs[i];
        size_t mark = store_batch_mark(batch);
        if (job->audit_only) {
            /* A refused call: its code and message are already set. */
        } else if (job_expired(job)) {
            worker_expire(job);
            continue;
        } else if (audit_replay(self->audit, batch, job)) {
            replayed++;
            continue;
        } else {
            dossier_error_t job_err = {0};
            rc = job->method->write(&self->env, batch, job, &job_err);
            job_finish(job, rc, &job_err);
        }
        rc = audit_record(self->audit, batch, job, mark, &err);
        if (rc != DOSSIER_OK) {
            /* Never a write without its audit entry: none happens. */
            log_error("the audit log could not be written: %s", err.message);
            char why[300];
            snprintf(why, sizeof why, "the audit log could not be written: %s",
                     err.message);
            s_fail_batch(jobs, n, rc, why);
            store_batch_abort(&batch);
            audit_batch_begin(self->audit);
            return;
        }
        written++;
    }
    if (written == 0) {
        store_batch_abort(&batch);
        return;
    }
    rc = audit_expire(self->audit, batch, &err);
    if (rc != DOSSIER_OK) {
        log_warn("idempotency keys not expired: %s", err.message);
    }
    rc = store_batch_commit(&batch, &err);
    if (rc != DOSSIER_OK) {
        /* None of the batch happened: no write may report success, not
           even one answered from a key this batch stored. */
        s_fail_batch(jobs, n, rc, err.message);
        audit_batch_begin(self->audit);
        return;
    }
    self->commits++;
    audit_publish(self->audit);
    log_debug("group commit: %zu writes and notes committed together (%zu "
              "answered from their idempotency key) in %lld ms",
              written, replayed, (long long)(job_now_ms() - started));
}

/*  Runs one index merge due, in a batch of its own, committed durably
    (no client waits for it, and none is told of it). A merge of the
    segments a large import made can take a second; a write arriving
    meanwhile waits for it. */
static void
s_merge_idle(writer_t *self) {
    dossier_error_t err = {0};
    store_batch_t *batch = NULL;
    bool merged = false, more = false;
    int64_t started = job_now_ms();
    dossier_status_t rc = store_batch_begin(self->env.store, &batch, &err);
    if (rc == DOSSIER_OK) {
        rc = store_batch_merge(batch, &merged, &more, &err);
    }
    if (rc == DOSSIER_OK && merged) {
        rc = store_batch_commit(&batch, &err);
    }
    store_batch_abort(&batch);
    if (rc != DOSSIER_OK) {
        /* Tried again after the next commit; searches stay right. */
        log_warn("index merge left for later: %s", err.message);
        more = false;
    } else if (merged) {
        log_info("index merge done in %lld ms (%s due)",
                 (long long)(job_now_ms() - started),
                 more ? "another" : "none");
    }
    self->merges_due = more;
}

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
            !s_work_waiting(self->socket, self->merge_idle_ms)) {
            s_merge_idle(self);
            continue;
        }
        job_t *job = NULL;
        if (job_recv(self->socket, &job, 0) != 0) {
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
            if (job_recv(self->socket, &job, ZMQ_DONTWAIT) != 0) {
                break;
            }
            if (!job) {
                stop = true;
                break;
            }
            self->jobs[n++] = job;
        }
        s_commit(self, self->jobs, n);
        self->merges_due = self->merge_idle_ms > 0;
        for (size_t i = 0; i < n; i++) {
            while (job_send(self->socket, self->jobs[i]) != 0 &&
                   errno == EINTR) {
            }
        }
    }
    job_send(self->socket, NULL);
    return NULL;
}

writer_t *
writer_new(void *context, const char *endpoint, const handler_env_t *env,
           unsigned batch_max, dossier_error_t *err) {
    writer_t *self = calloc(1, sizeof *self);
    if (!self) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    self->env = *env;
    self->env.stats = NULL;
    self->audit = audit_new(env->config, env->feed);
    if (!self->audit) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        free(self);
        return NULL;
    }
    self->batch_max = batch_max ? batch_max : 1;
    self->merges_due = env->config->merge_idle_ms > 0;
    self->merge_idle_ms = env->config->merge_idle_ms;
    self->jobs = calloc(self->batch_max, sizeof *self->jobs);
    if (!self->jobs) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        goto cleanup_self;
    }
    self->socket = zmq_socket(context, ZMQ_PAIR);
    if (!self->socket || zmq_connect(self->socket, endpoint) != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "writer cannot connect to %s: %s", endpoint,
                          zmq_strerror(errno));
        goto cleanup_socket;
    }
    int rc = pthread_create(&self->thread, NULL, s_writer_main, self);
    if (rc != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "cannot start the writer thread: %s", strerror(rc));
        goto cleanup_socket;
    }
    return self;
cleanup_socket:
    if (self->socket) {
        zmq_close(self->socket);
    }
    free(self->jobs);
cleanup_self:
    audit_destroy(&self->audit);
    free(self);
    return NULL;
}

void
writer_destroy(writer_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    writer_t *self = *self_p;
    pthread_join(self->thread, NULL);
    zmq_close(self->socket);
    free(self->jobs);
    audit_destroy(&self->audit);
    free(self);
    *self_p = NULL;
}

unsigned long
writer_commits(const writer_t *self) {
    return self->commits;
}
