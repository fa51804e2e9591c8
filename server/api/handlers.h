/*  handlers.h: the method handlers of dossier.v1.Reports, and what they
    may use.

    A handler gets its decoded input in job->input (the method's input
    message type, checked by the loop), does the work against the store,
    and either packs the method's output into the job's payload and
    returns DOSSIER_OK, or returns an error code with a sentence in err.
    Handlers never see sockets, never log and never block on anything but
    the store. What a handler needs from the socket side (the users table
    to reload, the security mode) reaches it through handler_users_t, a
    narrow interface the loop fills; the store is reached through its API
    alone (store/store.h), which this header only names.

    The handlers live by area: reports.c (Get, Put, Delete, List,
    History, Changes), search.c, import.c, admin.c (Health, Describe,
    Stats, ReloadUsers, WhoAmI), audit.c (Audit), backup.c (Backup,
    BackupRead), tokens.c (CreateToken, ListTokens, RevokeToken). Two kinds, as
   methods.c's table says for each method:
    - a stage handler (handler_fn) runs inline in the loop or on a worker;
      a parsing stage may set job->to_writer and job->state to continue on
      the writer;
    - a write handler (handler_write_fn) runs on the writer thread inside
      a store batch; its reply leaves only after the batch has committed. */
#ifndef DOSSIER_SERVER_HANDLERS_H
#define DOSSIER_SERVER_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "exec/job.h"
#include "status.h"

struct store_t;
struct store_batch_t;
struct stats_t;

/*  The users table, as ReloadUsers and WhoAmI see it: filled by the loop,
    which owns authentication (net/auth.h). */
typedef struct {
    /* Reads the users directory again: on success writes the number of
       users to *users and returns DOSSIER_OK; else an error with err set
       (the old table stays). arg is reload_arg. */
    dossier_status_t (*reload)(void *arg, size_t *users, dossier_error_t *err);
    void *reload_arg;
    /* "curve" or "none": the security mode, for WhoAmI. */
    const char *security;
} handler_users_t;

/*  A cluster node's state as its Raft thread last saw it (at most 20 ms
    before): Health and ClusterStatus. */
#define HANDLER_CLUSTER_NODES 7
typedef struct {
    uint64_t node_id;
    /* "leader", "follower", "candidate", or "unavailable" while starting
       or stopping; a static string. */
    const char *role;
    uint64_t leader_id; /* 0: none known */
    uint64_t term, commit_index, applied_index, last_index;
    size_t n_nodes;
    struct {
        uint64_t id;
        char address[32];
        uint64_t match_index; /* the leader's view; 0 on a follower */
    } nodes[HANDLER_CLUSTER_NODES];
} handler_cluster_status_t;

/*  The cluster (server/cluster/), as the rest of the server sees it:
    filled by main when dossierd runs as a node of a Raft cluster; NULL
    in handler_env_t for a standalone server. */
typedef struct {
    /* Health, ClusterStatus: fills *status. Any thread. */
    void (*status)(void *arg, handler_cluster_status_t *status);
    /* The writer thread, in place of its own commit: replicates the n
       jobs (borrowed) through the Raft log and fills each job's outcome
       once the entry is committed and applied on this node, or an
       error (UNAVAILABLE: no leader, or the outcome is unknown). */
    void (*submit)(void *arg, job_t **jobs, size_t n);
    /* The loop thread: where this node's Raft thread publishes the
       change events of each entry it applies (publish as
       exec/recorder.h's recorder_publish_fn, called with publish_arg
       from the Raft thread only), or NULL to stop publishing; once it
       returns, the previous publish is no longer called. Set before
       the writer starts, cleared before the feed closes. */
    void (*set_publish)(void *arg,
                        int (*publish)(void *publish_arg, const void *event,
                                       size_t size),
                        void *publish_arg);
    /* A worker, before a STRONG read: returns DOSSIER_OK once this node
       has applied every entry the leader had committed when it was
       called (a BARRIER entry through the log, shared by the reads
       waiting at once), or DOSSIER_UNAVAILABLE with err set when that
       could not be had by deadline (job_now_ms() clock; 0: the
       cluster's own bound of a few election timeouts). */
    dossier_status_t (*read_barrier)(void *arg, int64_t deadline,
                                     dossier_error_t *err);
    void *arg;
} handler_cluster_t;

/*  What a handler may use. Each thread has its own copy. */
typedef struct {
    struct store_t *store;
    const config_t *config;
    /* Loop thread only (inline handlers): NULL elsewhere. */
    const struct stats_t *stats;
    /* Loop thread only: the server is draining for shutdown. */
    bool shutting_down;
    /* Loop thread only (ReloadUsers, WhoAmI): NULL elsewhere. */
    const handler_users_t *users;
    /* Any thread: the cluster, or NULL for a standalone server. */
    const handler_cluster_t *cluster;
} handler_env_t;

typedef dossier_status_t (*handler_fn)(const handler_env_t *env, job_t *job,
                                       dossier_error_t *err);
typedef dossier_status_t (*handler_write_fn)(const handler_env_t *env,
                                             struct store_batch_t *batch,
                                             job_t *job, dossier_error_t *err);

/* ---- reports.c ---- */

/* Inline in the socket loop. */
dossier_status_t handle_get(const handler_env_t *env, job_t *job,
                            dossier_error_t *err);
/* On a worker. */
dossier_status_t handle_list(const handler_env_t *env, job_t *job,
                             dossier_error_t *err);
dossier_status_t handle_list_versions(const handler_env_t *env, job_t *job,
                                      dossier_error_t *err);
dossier_status_t handle_history(const handler_env_t *env, job_t *job,
                                dossier_error_t *err);
dossier_status_t handle_changes(const handler_env_t *env, job_t *job,
                                dossier_error_t *err);
/* On the writer, inside a batch. */
dossier_status_t handle_put(const handler_env_t *env,
                            struct store_batch_t *batch, job_t *job,
                            dossier_error_t *err);
dossier_status_t handle_delete(const handler_env_t *env,
                               struct store_batch_t *batch, job_t *job,
                               dossier_error_t *err);

/* ---- search.c: on a worker ---- */

dossier_status_t handle_search(const handler_env_t *env, job_t *job,
                               dossier_error_t *err);

/* ---- import.c ---- */

/* Parse on a worker, then (unless dry_run) store on the writer. */
dossier_status_t handle_import_text_parse(const handler_env_t *env, job_t *job,
                                          dossier_error_t *err);
dossier_status_t handle_import_batch_parse(const handler_env_t *env, job_t *job,
                                           dossier_error_t *err);

dossier_status_t handle_import_text_write(const handler_env_t *env,
                                          struct store_batch_t *batch,
                                          job_t *job, dossier_error_t *err);
dossier_status_t handle_import_batch_write(const handler_env_t *env,
                                           struct store_batch_t *batch,
                                           job_t *job, dossier_error_t *err);

/* ---- put_batch.c ---- */

/* Check and tokenize on a worker, then store on the writer. */
dossier_status_t handle_put_batch_check(const handler_env_t *env, job_t *job,
                                        dossier_error_t *err);
dossier_status_t handle_put_batch_write(const handler_env_t *env,
                                        struct store_batch_t *batch, job_t *job,
                                        dossier_error_t *err);

/* ---- admin.c: inline in the socket loop ---- */

dossier_status_t handle_health(const handler_env_t *env, job_t *job,
                               dossier_error_t *err);
dossier_status_t handle_describe(const handler_env_t *env, job_t *job,
                                 dossier_error_t *err);
dossier_status_t handle_stats(const handler_env_t *env, job_t *job,
                              dossier_error_t *err);
/*  ReloadUsers: reloads through env->users and answers the number of
    users. WhoAmI: the caller's name, role and public key, and the
    security mode. */
dossier_status_t handle_reload_users(const handler_env_t *env, job_t *job,
                                     dossier_error_t *err);
dossier_status_t handle_whoami(const handler_env_t *env, job_t *job,
                               dossier_error_t *err);
/*  ClusterStatus: the node's view of its cluster; FAILED_PRECONDITION on
    a standalone server. */
dossier_status_t handle_cluster_status(const handler_env_t *env, job_t *job,
                                       dossier_error_t *err);

/* ---- tokens.c (api/tokens.h) ---- */

/*  CreateToken and RevokeToken on the writer, inside a batch;
    ListTokens on a worker. */
dossier_status_t handle_create_token(const handler_env_t *env,
                                     struct store_batch_t *batch, job_t *job,
                                     dossier_error_t *err);
dossier_status_t handle_list_tokens(const handler_env_t *env, job_t *job,
                                    dossier_error_t *err);
dossier_status_t handle_revoke_token(const handler_env_t *env,
                                     struct store_batch_t *batch, job_t *job,
                                     dossier_error_t *err);

#endif
