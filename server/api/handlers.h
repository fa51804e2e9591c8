/*  handlers.h: the method handlers of dossier.v1.Reports.

    A handler gets its decoded input in job->input (the method's input
    message type, checked by the loop), does the work against the store,
    and either packs the method's output into the job's payload and
    returns DOSSIER_OK, or returns an error code with a sentence in err.
    Handlers never see sockets, never log and never block on anything but
    the store.

    Two kinds, as methods.c's table says for each method:
    - a stage handler (handler_fn) runs inline in the loop or on a worker;
      a parsing stage may set job->to_writer and job->state to continue on
      the writer;
    - a write handler (handler_write_fn) runs on the writer thread inside
      a store batch; its reply leaves only after the batch has committed. */
#ifndef DOSSIER_SERVER_HANDLERS_H
#define DOSSIER_SERVER_HANDLERS_H

#include <stdbool.h>

#include "config.h"
#include "exec/job.h"
#include "net/stats.h"
#include "status.h"
#include "store/store.h"

/*  What a handler may use. Each thread has its own copy. */
typedef struct {
    store_t *store;
    const config_t *config;
    /* Loop thread only (inline handlers): NULL elsewhere. */
    const stats_t *stats;
    /* Loop thread only: the server is draining for shutdown. */
    bool shutting_down;
    /* Loop thread only (auth.h: ReloadUsers, WhoAmI): NULL elsewhere. */
    struct auth_t *auth;
    /* The change feed (feed.h), used by the writer thread only; NULL when
       there is none. */
    struct feed_t *feed;
} handler_env_t;

typedef dossier_status_t (*handler_fn)(const handler_env_t *env, job_t *job,
                                       dossier_error_t *err);
typedef dossier_status_t (*handler_write_fn)(const handler_env_t *env,
                                             store_batch_t *batch, job_t *job,
                                             dossier_error_t *err);

/* Inline in the socket loop. */
dossier_status_t handle_get(const handler_env_t *env, job_t *job,
                            dossier_error_t *err);
dossier_status_t handle_health(const handler_env_t *env, job_t *job,
                               dossier_error_t *err);
dossier_status_t handle_describe(const handler_env_t *env, job_t *job,
                                 dossier_error_t *err);
dossier_status_t handle_stats(const handler_env_t *env, job_t *job,
                              dossier_error_t *err);

/* On a worker. */
dossier_status_t handle_list(const handler_env_t *env, job_t *job,
                             dossier_error_t *err);
dossier_status_t handle_history(const handler_env_t *env, job_t *job,
                                dossier_error_t *err);
dossier_status_t handle_changes(const handler_env_t *env, job_t *job,
                                dossier_error_t *err);
dossier_status_t handle_search(const handler_env_t *env, job_t *job,
                               dossier_error_t *err);
/* Parse on a worker, then (unless dry_run) store on the writer. */
dossier_status_t handle_import_text_parse(const handler_env_t *env, job_t *job,
                                          dossier_error_t *err);
dossier_status_t handle_import_batch_parse(const handler_env_t *env, job_t *job,
                                           dossier_error_t *err);

/* On the writer, inside a batch. */
dossier_status_t handle_put(const handler_env_t *env, store_batch_t *batch,
                            job_t *job, dossier_error_t *err);
dossier_status_t handle_delete(const handler_env_t *env, store_batch_t *batch,
                               job_t *job, dossier_error_t *err);
dossier_status_t handle_import_text_write(const handler_env_t *env,
                                          store_batch_t *batch, job_t *job,
                                          dossier_error_t *err);
dossier_status_t handle_import_batch_write(const handler_env_t *env,
                                           store_batch_t *batch, job_t *job,
                                           dossier_error_t *err);

#endif
