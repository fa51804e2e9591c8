/*  workers.c: one thread, one PAIR socket, one job at a time.

    The loop gives a worker a job only when it is idle, so a worker never
    has more than one job queued and a slow List never delays a job
    another worker could have taken. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "api/methods.h"
#include "exec/thread.h"
#include "exec/workers.h"

struct worker_t {
    handler_env_t env;
    exec_thread_t thread;
};

void
worker_expire(job_t *job) {
    dossier_error_t err = {0};
    dossier_error_set(&err, DOSSIER_DEADLINE_EXCEEDED,
                      "the request's deadline of %u ms passed before %s "
                      "started; nothing was done",
                      job->deadline_ms,
                      job->method ? job->method->full_name : "the work");
    job_finish(job, DOSSIER_DEADLINE_EXCEEDED, &err);
}

void
worker_run_stage(const handler_env_t *env, job_t *job) {
    if (job_expired(job)) {
        worker_expire(job);
        return;
    }
    dossier_error_t err = {0};
    /* A STRONG read first catches up with the leader's commit index. */
    if (job->strong && !job->method->write && env->cluster &&
        env->cluster->read_barrier) {
        dossier_status_t rc =
            env->cluster->read_barrier(env->cluster->arg, job->deadline, &err);
        if (rc != DOSSIER_OK) {
            job_finish(job, rc, &err);
            return;
        }
    }
    dossier_status_t rc = job->method->handler(env, job, &err);
    job_finish(job, rc, &err);
}

static void *
s_worker_main(void *arg) {
    worker_t *self = arg;
    while (true) {
        job_t *job = NULL;
        if (job_recv(self->thread.socket, &job, 0) != 0) {
            if (errno == ETERM) {
                break;
            }
            continue;
        }
        if (!job) {
            job_send(self->thread.socket, NULL);
            break;
        }
        worker_run_stage(&self->env, job);
        while (job_send(self->thread.socket, job) != 0 && errno == EINTR) {
        }
    }
    return NULL;
}

worker_t *
worker_new(void *context, const char *endpoint, const handler_env_t *env,
           dossier_error_t *err) {
    worker_t *self = calloc(1, sizeof *self);
    if (!self) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    self->env = *env;
    self->env.stats = NULL;
    self->env.users = NULL;
    if (exec_thread_start(&self->thread, context, endpoint, "a worker",
                          s_worker_main, self, err) != DOSSIER_OK) {
        free(self);
        return NULL;
    }
    return self;
}

void
worker_destroy(worker_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    worker_t *self = *self_p;
    exec_thread_stop(&self->thread);
    free(self);
    *self_p = NULL;
}
