/*  main.c: dossierd, the Dossier server.

    Start-up, in the order that fails earliest and cheapest: settings, the
    method table against the service descriptor, the data directory and
    its pid-file lock, the store, the socket (whose real endpoint then goes
    into the pid file). SIGINT/SIGTERM set a flag the loop sees; the loop
    drains and returns, and the store is closed and the pid file removed
    before exit 0. Exit 1: could not start or failed while serving;
    exit 2: bad usage. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops.h"
#include "net/auth.h"
#include "cluster/cluster.h"
#include "config.h"
#include "exec/job.h"
#include "log.h"
#include "net/loop.h"
#include "api/backup.h"
#include "api/methods.h"
#include "pidfile.h"
#include "store/restore.h"
#include "store/store.h"

static volatile sig_atomic_t s_stop = 0;

static void
s_on_signal(int signal) {
    (void)signal;
    s_stop = 1;
}

/*  SIGHUP: reload the users directory (auth_poll, on the loop thread). */
static void
s_on_hup(int signal) {
    (void)signal;
    auth_request_reload();
}

static void
s_install_signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigemptyset(&action.sa_mask);
    /* No SA_RESTART: the loop's poll must wake up. */
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    action.sa_handler = s_on_hup;
    sigaction(SIGHUP, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/*  Blocks (SIG_BLOCK) or unblocks (SIG_UNBLOCK) in the calling thread the
    signals main handles. Blocked before any thread starts, they stay
    blocked in every thread the process makes (libzmq's, the workers,
    the writer, the parse threads), and only the main thread, which
    unblocks them to run the loop, runs their handlers. A handler run on
    another thread interrupts that thread's blocking call. */
static void
s_mask_signals(int how) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(how, &set, NULL);
}

int
main(int argc, char **argv) {
    config_t config;
    dossier_error_t err = {0};
    if (config_from_args(&config, argc, argv, &err) != DOSSIER_OK) {
        fprintf(stderr, "dossierd: %s\n", err.message);
        config_free(&config);
        return 2;
    }
    if (config.help) {
        fputs(config_usage(), stdout);
        config_free(&config);
        return 0;
    }
    log_set_level((log_level_t)config.log_level);
    if (config.restore_file) {
        /* dossierd --restore FILE --data DIR [--force]: no server. */
        store_file_info_t info;
        int code = 0;
        if (backup_restore(config.restore_file, config.data_dir, config.force,
                           &info, &err) != DOSSIER_OK) {
            fprintf(stderr, "dossierd: restore: %s\n", err.message);
            code = 1;
        } else {
            printf("restored %llu records from %s into %s/data.mdb\n",
                   (unsigned long long)info.records, config.restore_file,
                   config.data_dir);
        }
        config_free(&config);
        return code;
    }
    s_install_signals();
    s_mask_signals(SIG_BLOCK);

    int exit_code = 1;
    pidfile_t *pidfile = NULL;
    auth_t *auth = NULL;
    store_t *store = NULL;
    loop_t *loop = NULL;
    cluster_t *cluster = NULL;
    uint64_t replies = 0;
    if (methods_init(&err) != DOSSIER_OK) {
        log_error("method table does not match the service: %s", err.message);
        goto cleanup_config;
    }
    auth = auth_new(&config, &err);
    if (!auth) {
        log_error("%s", err.message);
        goto cleanup_config;
    }
    if (fsops_make_dirs(config.data_dir, 0755, &err) != DOSSIER_OK ||
        pidfile_acquire(config.data_dir, &pidfile, &err) != DOSSIER_OK) {
        log_error("%s", err.message);
        goto cleanup_config;
    }
    int stale = backup_remove_stale(&config, &err);
    if (stale < 0) {
        log_warn("%s", err.message); /* a Backup will say it again */
    } else if (stale > 0) {
        log_info("removed %d partial backup cop%s left by an interrupted "
                 "Backup",
                 stale, stale == 1 ? "y" : "ies");
    }
    if (config.node_id) {
        /* A node's Raft thread applies every batch, merges included:
           nothing is left for a writer's idle time. */
        config.merge_idle_ms = 0;
    }
    store_options_t options = {
        .map_size = config.map_size,
        .max_map_size = config.max_map_size,
        .no_sync = config.no_sync,
        /* The writer merges large index segments when idle. */
        .defer_merges = config.merge_idle_ms > 0,
        .history_keep = config.history_keep,
    };
    int64_t open_started = job_now_ms();
    if (store_open(config.data_dir, &options, &store, &err) != DOSSIER_OK) {
        log_error("cannot open the store in %s: %s", config.data_dir,
                  err.message);
        goto cleanup_pidfile;
    }
    log_info("store: cleared %u stale reader slot(s) left by dead processes",
             store_stale_readers(store));
    if (store_index_rebuilt(store) > 0) {
        log_info("store: the full-text index (missing or of an older "
                 "layout) was rebuilt from %llu reports in %.1f s",
                 (unsigned long long)store_index_rebuilt(store),
                 (double)(job_now_ms() - open_started) / 1000.0);
    }
    if (config.no_sync) {
        log_warn("no_sync is on: commits are not flushed to disk; a power "
                 "failure or OS crash can lose acknowledged writes");
    }
    handler_env_t env = {.store = store, .config = &config};
    if (config.node_id) {
        cluster = cluster_new(&config, &env, &err);
        if (!cluster) {
            log_error("%s", err.message);
            goto cleanup_store;
        }
        env.cluster = cluster_hooks(cluster);
    }
    loop = loop_new(&config, &env, auth, &err);
    if (!loop) {
        log_error("%s", err.message);
        goto cleanup_store;
    }
    log_info("started: dossierd %s, pid %ld, endpoint %s, data %s, %u "
             "workers%s",
             DOSSIER_VERSION, (long)getpid(), loop_endpoint(loop),
             config.data_dir, config.workers,
             config.no_sync ? ", no_sync (commits are not fsynced)" : "");
    log_info("security: %s", auth_describe(auth));
    if (!auth_endpoint_is_loopback(config.bind) &&
        !config.curve_secret_key_file) {
        log_warn("%s is not a loopback endpoint and authentication is off "
                 "(--insecure): anyone who can reach it is 'anonymous'",
                 loop_endpoint(loop));
    }
    /* Last: the endpoint in the pid file is what scripts and tests wait
       for, and by then the start is in the log. */
    if (pidfile_write(pidfile, loop_endpoint(loop), &err) != DOSSIER_OK) {
        log_error("%s", err.message);
        goto cleanup_loop;
    }
    s_mask_signals(SIG_UNBLOCK);
    if (loop_run(loop, &s_stop, &err) != DOSSIER_OK) {
        log_error("serving failed: %s", err.message);
    } else {
        exit_code = 0;
    }
    replies = loop_replies(loop);
cleanup_loop:
    loop_destroy(&loop);
cleanup_store:
    /* After the loop: its writer, which submits to it, is joined. */
    cluster_destroy(&cluster);
    store_destroy(&store);
cleanup_pidfile:
    pidfile_remove(&pidfile);
    if (exit_code == 0) {
        log_info("stopped: %llu replies sent", (unsigned long long)replies);
    }
cleanup_config:
    auth_destroy(&auth);
    config_free(&config);
    return exit_code;
}
