/*  config.h: dossierd's settings, from a czmq zconfig file and flags.

    Defaults, then the file given with --config (a "server" section of
    zconfig "key = value" lines), then the command-line flags: a flag
    always wins over the file. Every setting has the same name in both
    places, with '-' in flags where the file has '_' (max_page_size =
    --max-page-size). Nothing here prints or exits: errors come back as a
    status and a sentence, and main() decides what to show. */
#ifndef DOSSIER_SERVER_CONFIG_H
#define DOSSIER_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "status.h"

#define CONFIG_DEFAULT_BIND "tcp://127.0.0.1:7531"

typedef struct {
    char *data_dir;                /* --data, required (file: data) */
    char *bind;                    /* --bind, default CONFIG_DEFAULT_BIND */
    char *config_file;             /* --config, NULL when none */
    unsigned workers;              /* worker threads, default 2, 1..64 */
    int log_level;                 /* a log_level_t, default LOG_LEVEL_INFO */
    size_t max_message_bytes;      /* ZMQ_MAXMSGSIZE, default 16 MiB */
    unsigned max_page_size;        /* List/Search page bound, default 1000 */
    size_t map_size;               /* LMDB initial map, 0: store default */
    size_t max_map_size;           /* LMDB map bound, 0: store default */
    bool no_sync;                  /* MDB_NOSYNC, default false */
    unsigned sndhwm;               /* ROUTER send high-water mark, 1000 */
    unsigned rcvhwm;               /* ROUTER receive high-water mark, 1000 */
    unsigned max_in_flight;        /* requests in flight per peer, 64 */
    unsigned max_queue;            /* requests waiting for a thread, 10000 */
    unsigned write_batch_max;      /* writes per group commit, 256 */
    unsigned merge_idle_ms;        /* index merges after this idle, 100 */
    unsigned history_keep;         /* past versions per record, 0: all */
    unsigned shutdown_timeout_ms;  /* in-flight wait on SIGTERM, 5000 */
    char *curve_secret_key_file;   /* --curve-key: server certificate */
    char *users_dir;               /* --users: user public certificates */
    bool insecure;                 /* serve a public endpoint without CURVE */
    char *anonymous_role;          /* role of peers without CURVE, or NULL */
    char *backup_dir;              /* Backup's directory, NULL: DATA/backups */
    char *feed_bind;               /* --feed: change feed PUB, NULL: none */
    unsigned feed_sndhwm;          /* change events queued per subscriber */
    unsigned idempotency_ttl_s;    /* keep write keys this long, 86400 */
    unsigned idempotency_max_keys; /* and at most this many, 1000000 */
    unsigned handshake_timeout_ms; /* ZMQ_HANDSHAKE_IVL, front/feed, 5000 */
    unsigned max_connections;      /* front connections held, 1024; 0: any */
    char *restore_file;            /* --restore FILE (flag only), or NULL */
    bool force;                    /* --force: restore over a store */
    bool help;                     /* --help was given */

    /* A node of a Raft cluster (docs/OPERATIONS.md "Cluster"); node_id 0
       and raft NULL: a standalone server. */
    unsigned node_id; /* --node-id N, 1 or more */
    char *raft;       /* --raft HOST:PORT, this node's Raft address */
    char *peers;      /* --peers ID=HOST:PORT,...: the first start's */
    unsigned raft_election_timeout_ms; /* Raft's election timeout, 1000 */

    /* The audit log's bounds (docs/OPERATIONS.md "Audit"); 0: none. */
    struct {
        unsigned max_age_days;       /* older entries are pruned, 365 */
        unsigned max_entries;        /* the oldest past this, 10000000 */
        unsigned refused_per_second; /* refused calls noted per peer, 20 */
    } audit;
} config_t;

/*  Fills *config from argv (defaults, then --config FILE, then flags).
    Returns DOSSIER_OK, or DOSSIER_INVALID_ARGUMENT with err naming the
    bad flag, file line or value (*config then holds what was read so
    far and must still be freed with config_free). With --help, returns
    DOSSIER_OK and sets config->help without requiring --data. */
dossier_status_t config_from_args(config_t *config, int argc, char **argv,
                                  dossier_error_t *err);

/*  Frees the strings in *config and zeroes it; takes NULL. */
void config_free(config_t *config);

/*  The usage text for --help, a static string. */
const char *config_usage(void);

/*  Parses "16777216", "16M", "16MiB", "64g" (binary multiples) into
 *value. Returns true, or false leaving *value as is. */
bool config_parse_size(const char *text, size_t *value);

#endif
