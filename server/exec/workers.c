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
#include "exec/workers.h"

struct worker_t {
    void *context;
    char endpoint[128];
    handler_env_t env;
    pthread_t thread;
    void *socket;
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
    dossier_status_t rc = job->method->handler(env, job, &err);
    job_finish(job, rc, &err);
}

static void *
s_worker_main(void *arg) {
    worker_t *self = arg;
    while (true) {
        job_t *job = NULL;
        if (job_recv(self->socket, &job, 0) != 0) {
            if (errno == ETERM) {
                break;
            }
            continue;
        }
        if (!job) {
            job_send(self->socket, NULL);
            break;
        }
        worker_run_stage(&self->env, job);
        while (job_send(self->socket, job) != 0 && errno == EINTR) {
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
    self->context = context;
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->env = *env;
    self->env.stats = NULL;
    self->socket = zmq_socket(context, ZMQ_PAIR);
    if (!self->socket || zmq_connect(self->socket, endpoint) != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "worker cannot connect to %s: %s", endpoint,
                          zmq_strerror(errno));
        goto cleanup_socket;
    }
    /* The socket moves to the thread: pthread_create is a full barrier,
       and from now on only the thread uses it. */
    int rc = pthread_create(&self->thread, NULL, s_worker_main, self);
    if (rc != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "cannot start a worker thread: %s", strerror(rc));
        goto cleanup_socket;
    }
    return self;
cleanup_socket:
    if (self->socket) {
        zmq_close(self->socket);
    }
    free(self);
    return NULL;
}

void
worker_destroy(worker_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    worker_t *self = *self_p;
    pthread_join(self->thread, NULL);
    zmq_close(self->socket);
    free(self);
    *self_p = NULL;
}
