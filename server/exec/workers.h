/*  workers.h: a worker thread, running the slow read and parse stages.

    A worker owns one PAIR socket, connected to an inproc:// endpoint the
    loop has bound. It receives job pointers, runs the method's stage
    handler (or answers DEADLINE_EXCEEDED without running it when the
    deadline has passed) and sends each job back. A NULL pointer is the
    stop signal: the worker answers NULL and its thread ends. */
#ifndef DOSSIER_SERVER_WORKERS_H
#define DOSSIER_SERVER_WORKERS_H

#include "api/handlers.h"
#include "status.h"

typedef struct worker_t worker_t;

/*  Starts a worker thread on context (a zmq context, borrowed; must
    outlive the worker) connecting to endpoint. env is copied. Returns the
    worker or NULL with err set. */
worker_t *worker_new(void *context, const char *endpoint,
                     const handler_env_t *env, dossier_error_t *err);

/*  Joins the thread (the loop must have sent the stop signal and got the
    answer) and frees the worker; takes NULL; sets *self_p to NULL. */
void worker_destroy(worker_t **self_p);

/*  Runs job's stage handler in env, or finishes the job with
    DEADLINE_EXCEEDED when its deadline has passed: the one place that
    decides whether a stage runs. Used by the loop for inline methods. */
void worker_run_stage(const handler_env_t *env, job_t *job);

/*  Finishes job with DEADLINE_EXCEEDED and a message naming its deadline. */
void worker_expire(job_t *job);

#endif
