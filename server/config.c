/*  config.c: one table of settings drives the zconfig file keys, the
    long options and the validation, so a setting cannot exist in one
    place and be forgotten in the other. */
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cluster/peers.h"
#include "config.h"
#include "confcheck.h"
#include "suggest.h"
#include "text.h"

typedef enum {
    S_STRING,
    S_UINT,
    S_SIZE,
    S_BOOL,
    S_LEVEL,
} s_type_t;

typedef struct {
    const char *key; /* file key; the flag is the same with '-' for '_' */
    s_type_t type;
    size_t offset;
    unsigned long long min;
    unsigned long long max;
} s_setting_t;

#define S_AT(field) offsetof(config_t, field)

static const s_setting_t s_settings[] = {
    {"data", S_STRING, S_AT(data_dir), 0, 0},
    {"bind", S_STRING, S_AT(bind), 0, 0},
    {"workers", S_UINT, S_AT(workers), 1, 64},
    {"log_level", S_LEVEL, S_AT(log_level), 0, 0},
    {"max_message_bytes", S_SIZE, S_AT(max_message_bytes), 1024,
     (unsigned long long)INT64_MAX},
    {"max_page_size", S_UINT, S_AT(max_page_size), 1, 1000000},
    {"map_size", S_SIZE, S_AT(map_size), 0, (unsigned long long)SIZE_MAX},
    {"max_map_size", S_SIZE, S_AT(max_map_size), 0,
     (unsigned long long)SIZE_MAX},
    {"no_sync", S_BOOL, S_AT(no_sync), 0, 0},
    {"sndhwm", S_UINT, S_AT(sndhwm), 0, INT_MAX},
    {"rcvhwm", S_UINT, S_AT(rcvhwm), 0, INT_MAX},
    {"max_in_flight", S_UINT, S_AT(max_in_flight), 1, 1000000},
    {"max_queue", S_UINT, S_AT(max_queue), 1, 10000000},
    {"write_batch_max", S_UINT, S_AT(write_batch_max), 1, 100000},
    {"merge_idle_ms", S_UINT, S_AT(merge_idle_ms), 0, 3600000},
    {"history_keep", S_UINT, S_AT(history_keep), 0, UINT_MAX},
    {"shutdown_timeout_ms", S_UINT, S_AT(shutdown_timeout_ms), 0, 3600000},
    {"curve_secret_key_file", S_STRING, S_AT(curve_secret_key_file), 0, 0},
    {"users_dir", S_STRING, S_AT(users_dir), 0, 0},
    {"insecure", S_BOOL, S_AT(insecure), 0, 0},
    {"anonymous_role", S_STRING, S_AT(anonymous_role), 0, 0},
    {"backup_dir", S_STRING, S_AT(backup_dir), 0, 0},
    {"feed_bind", S_STRING, S_AT(feed_bind), 0, 0},
    {"feed_sndhwm", S_UINT, S_AT(feed_sndhwm), 0, INT_MAX},
    /* The audit log's bounds. */
    {"audit_max_age_days", S_UINT, S_AT(audit.max_age_days), 0, 36500},
    {"audit_max_entries", S_UINT, S_AT(audit.max_entries), 0, UINT_MAX},
    {"audit_refused_per_second", S_UINT, S_AT(audit.refused_per_second), 0,
     1000000},
    {"idempotency_ttl_s", S_UINT, S_AT(idempotency_ttl_s), 1, 31622400},
    {"idempotency_max_keys", S_UINT, S_AT(idempotency_max_keys), 1, 100000000},
    /* Connections before authentication. */
    {"handshake_timeout_ms", S_UINT, S_AT(handshake_timeout_ms), 100, 600000},
    {"max_connections", S_UINT, S_AT(max_connections), 0, 1000000},
    /* A node of a Raft cluster. */
    {"node_id", S_UINT, S_AT(node_id), 1, 1000000},
    {"raft", S_STRING, S_AT(raft), 0, 0},
    {"peers", S_STRING, S_AT(peers), 0, 0},
    {"raft_election_timeout_ms", S_UINT, S_AT(raft_election_timeout_ms), 200,
     60000},
};
#define S_N_SETTINGS (sizeof s_settings / sizeof s_settings[0])

/* Long-option values past the table index. */
enum { S_OPT_CONFIG = 1000, S_OPT_HELP, S_OPT_RESTORE, S_OPT_FORCE };

/* Short flag names for settings: {flag, file key}. */
static const char *const s_aliases[][2] = {
    {"curve-key", "curve_secret_key_file"},
    {"users", "users_dir"},
    {"feed", "feed_bind"},
};
#define S_N_ALIASES (sizeof s_aliases / sizeof s_aliases[0])

static const char s_usage[] =
    "usage: dossierd --data DIR [--bind ENDPOINT] [options]\n"
    "\n"
    "Serves the Dossier store in DIR (created if missing) on a ZeroMQ\n"
    "ROUTER socket. SIGINT/SIGTERM finish requests in flight and exit.\n"
    "\n"
    "  --data DIR                 data directory (LMDB files, pid file)\n"
    "  --bind ENDPOINT            default " CONFIG_DEFAULT_BIND ";\n"
    "                             tcp://127.0.0.1:* picks a free port\n"
    "  --config FILE              zconfig file with a 'server' section;\n"
    "                             flags override it\n"
    "  --workers N                worker threads for List, History,\n"
    "                             Changes, Search, imports (default 2)\n"
    "  --log-level LEVEL          debug, info, warn or error (info)\n"
    "  --max-message-bytes SIZE   largest request accepted (16M)\n"
    "  --max-page-size N          largest List/Search page (1000)\n"
    "  --map-size SIZE            initial LMDB map size (64M)\n"
    "  --max-map-size SIZE        the map never grows past this (64G)\n"
    "  --no-sync                  do not fsync commits (unsafe)\n"
    "  --sndhwm N, --rcvhwm N     socket high-water marks (1000)\n"
    "  --max-in-flight N          requests in flight per peer (64)\n"
    "  --max-queue N              requests waiting for a thread (10000)\n"
    "  --write-batch-max N        writes per group commit (256)\n"
    "  --merge-idle-ms N          merge large index segments once the\n"
    "                             writer has been idle this long; 0:\n"
    "                             at the commit that made them (100)\n"
    "  --history-keep N           old versions kept per record; 0: all\n"
    "  --shutdown-timeout-ms N    wait for requests in flight (5000)\n"
    "  --curve-key FILE           the server's secret certificate (from\n"
    "                             `dossier keygen`): turns on CURVE\n"
    "                             (also --curve-secret-key-file)\n"
    "  --users DIR                one public certificate per user, with\n"
    "                             metadata name and role (also --users-dir);\n"
    "                             SIGHUP reloads it\n"
    "  --insecure                 allow a non-loopback --bind without CURVE\n"
    "  --anonymous-role ROLE      role of every peer without CURVE: reader,\n"
    "                             writer or admin (admin on loopback,\n"
    "                             else reader)\n"
    "  --backup-dir DIR           where Backup writes (DATA/backups)\n"
    "  --feed ENDPOINT            publish committed changes on a PUB\n"
    "                             socket there (also --feed-bind; none)\n"
    "  --feed-sndhwm N            change events queued per subscriber\n"
    "                             before it misses some (10000)\n"
    "  --audit-max-age-days N     the writer prunes audit entries older\n"
    "                             than this (365; 0: no age bound)\n"
    "  --audit-max-entries N      and the oldest past this many\n"
    "                             (10000000; 0: no bound)\n"
    "  --audit-refused-per-second N\n"
    "                             refused calls audited one by one per\n"
    "                             connection a second; the rest are\n"
    "                             counted in one entry (20; 0: all)\n"
    "  --idempotency-ttl-s N      remember write idempotency keys this\n"
    "                             long (86400)\n"
    "  --idempotency-max-keys N   and at most this many (1000000)\n"
    "  --handshake-timeout-ms N   drop a connection (front or feed) that\n"
    "                             has not finished its ZeroMQ handshake\n"
    "                             and authentication by then (5000)\n"
    "  --max-connections N        connections the front socket holds at\n"
    "                             once, authenticated or not; the newest\n"
    "                             past it is dropped (1024; 0: no bound)\n"
    "  --restore FILE --data DIR [--force]\n"
    "                             put the backup FILE in place as the\n"
    "                             store of DIR, check it, print its\n"
    "                             record count and exit (refuses a DIR\n"
    "                             holding a store without --force)\n"
    "  --help                     this text\n"
    "\n";

/* A second literal: one of over 4,095 characters is not portable C. */
static const char s_usage_cluster[] =
    "A node of a Raft cluster (docs/OPERATIONS.md, Cluster):\n"
    "  --node-id N                this node's id in a Raft cluster (1 or\n"
    "                             more); with --raft: run as a node\n"
    "  --raft HOST:PORT           this node's Raft address (loopback\n"
    "                             only without --insecure: Raft traffic\n"
    "                             is not encrypted)\n"
    "  --peers ID=HOST:PORT,...   every node of a new cluster, this one\n"
    "                             included, the same on each node; read\n"
    "                             on the first start only\n"
    "  --raft-election-timeout-ms N\n"
    "                             Raft's election timeout (1000)\n"
    "\n"
    "SIZE takes K, M, G, T suffixes (binary). The config file uses the\n"
    "same names with '_' for '-':\n"
    "  server\n"
    "      bind = tcp://127.0.0.1:7531\n"
    "      data = /var/lib/dossier\n";

static char s_usage_joined[sizeof s_usage + sizeof s_usage_cluster];

static void
s_join_usage(void) {
    snprintf(s_usage_joined, sizeof s_usage_joined, "%s%s", s_usage,
             s_usage_cluster);
}

const char *
config_usage(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, s_join_usage);
    return s_usage_joined;
}

bool
config_parse_size(const char *text, size_t *value) {
    if (!text || !*text || *text == '-' || *text == '+') {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long long number = strtoull(text, &end, 10);
    if (errno || end == text) {
        return false;
    }
    unsigned long long multiple = 1;
    switch (*end) {
    case 'k':
    case 'K':
        multiple = 1ULL << 10;
        end++;
        break;
    case 'm':
    case 'M':
        multiple = 1ULL << 20;
        end++;
        break;
    case 'g':
    case 'G':
        multiple = 1ULL << 30;
        end++;
        break;
    case 't':
    case 'T':
        multiple = 1ULL << 40;
        end++;
        break;
    default:
        break;
    }
    if (multiple > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)) {
        end += strlen(end);
    } else if (multiple == 1 && strcmp(end, "B") == 0) {
        end++;
    }
    if (*end || (number && multiple > ULLONG_MAX / number) ||
        number * multiple > SIZE_MAX) {
        return false;
    }
    *value = (size_t)(number * multiple);
    return true;
}

static bool
s_parse_bool(const char *text, bool *value) {
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *value = true;
            return true;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *value = false;
            return true;
        }
    }
    return false;
}

/*  Stores text into the setting; where names the source in messages
    ("--workers", "dossierd.cfg: workers"). */
static dossier_status_t
s_apply(config_t *config, const s_setting_t *setting, const char *text,
        const char *where, dossier_error_t *err) {
    char *field = (char *)config + setting->offset;
    switch (setting->type) {
    case S_STRING: {
        if (!*text) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "%s: empty value", where);
        }
        char *copy = strdup(text);
        if (!copy) {
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "out of memory");
        }
        free(*(char **)field);
        *(char **)field = copy;
        return DOSSIER_OK;
    }
    case S_UINT:
    case S_SIZE: {
        size_t value;
        bool ok;
        if (setting->type == S_SIZE) {
            ok = config_parse_size(text, &value);
        } else {
            char *end;
            errno = 0;
            unsigned long long number = strtoull(text, &end, 10);
            ok = !errno && end != text && !*end && *text != '-' &&
                 number <= SIZE_MAX;
            value = ok ? (size_t)number : 0;
        }
        if (!ok || value < setting->min || value > setting->max) {
            return dossier_error_set(
                err, DOSSIER_INVALID_ARGUMENT,
                "%s: '%s' is not a %s between %llu and %llu", where, text,
                setting->type == S_SIZE ? "size" : "number", setting->min,
                setting->max);
        }
        if (setting->type == S_SIZE) {
            *(size_t *)field = value;
        } else {
            *(unsigned *)field = (unsigned)value;
        }
        return DOSSIER_OK;
    }
    case S_BOOL:
        if (!s_parse_bool(text, (bool *)field)) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "%s: '%s' is not true or false", where,
                                     text);
        }
        return DOSSIER_OK;
    case S_LEVEL: {
        log_level_t level;
        if (!log_level_parse(text, &level)) {
            return dossier_error_set(
                err, DOSSIER_INVALID_ARGUMENT,
                "%s: '%s' is not one of debug, info, warn, error", where, text);
        }
        *(int *)field = (int)level;
        return DOSSIER_OK;
    }
    }
    return dossier_error_set(err, DOSSIER_INTERNAL, "bad setting type");
}

static dossier_status_t
s_load_file(config_t *config, const char *path, dossier_error_t *err) {
    if (access(path, R_OK) != 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "cannot read config file %s: %s", path,
                                 strerror(errno));
    }
    const char *unread = NULL;
    char *text = confcheck_read(path, &unread);
    if (text == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "cannot read config file %s: %s", path,
                                 unread);
    }
    char why[160];
    size_t bad_line = confcheck_indent(text, strlen(text), why, sizeof why);
    if (bad_line != 0) {
        free(text);
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "config file %s: line %zu: %s", path, bad_line,
                                 why);
    }
    /* czmq prints what it cannot parse; our message says it. */
    confcheck_mute_t muted;
    confcheck_mute(&muted);
    zconfig_t *root = zconfig_str_load(text);
    confcheck_unmute(&muted);
    free(text);
    if (!root) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "config file %s is not valid zconfig "
                                 "(sections and 'key = value' lines, "
                                 "indented by 4 spaces)",
                                 path);
    }
    dossier_status_t rc = DOSSIER_OK;
    zconfig_t *server = zconfig_locate(root, "server");
    if (!server) {
        rc = dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                               "config file %s has no 'server' section", path);
        goto cleanup_root;
    }
    for (zconfig_t *item = zconfig_child(server); item && rc == DOSSIER_OK;
         item = zconfig_next(item)) {
        const char *key = zconfig_name(item);
        const char *value = zconfig_value(item);
        const s_setting_t *setting = NULL;
        for (size_t i = 0; key && i < S_N_SETTINGS; i++) {
            if (strcmp(key, s_settings[i].key) == 0) {
                setting = &s_settings[i];
            }
        }
        if (!setting) {
            suggest_t near;
            suggest_init(&near, key ? key : "");
            for (size_t i = 0; i < S_N_SETTINGS; i++) {
                suggest_consider(&near, s_settings[i].key);
            }
            const char *best = suggest_best(&near);
            char shown[64];
            text_utf8_copy(shown, sizeof shown, key ? key : "");
            if (best != NULL) {
                rc = dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                       "config file %s: unknown setting "
                                       "server/%s; did you mean %s?",
                                       path, shown, best);
            } else {
                rc = dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                       "config file %s: unknown setting "
                                       "server/%s (see dossierd --help)",
                                       path, shown);
            }
            break;
        }
        char where[512];
        snprintf(where, sizeof where, "config file %s: server/%s", path, key);
        rc = s_apply(config, setting, value ? value : "", where, err);
    }
cleanup_root:
    zconfig_destroy(&root);
    return rc;
}

static void
s_defaults(config_t *config) {
    memset(config, 0, sizeof *config);
    config->workers = 2;
    config->log_level = LOG_LEVEL_INFO;
    config->max_message_bytes = 16u << 20;
    config->max_page_size = 1000;
    config->sndhwm = 1000;
    config->rcvhwm = 1000;
    config->max_in_flight = 64;
    config->max_queue = 10000;
    config->write_batch_max = 256;
    config->merge_idle_ms = 100;
    config->shutdown_timeout_ms = 5000;
    config->feed_sndhwm = 10000;
    config->audit.max_age_days = 365;
    config->audit.max_entries = 10000000;
    config->audit.refused_per_second = 20;
    config->idempotency_ttl_s = 86400;
    config->idempotency_max_keys = 1000000;
    config->handshake_timeout_ms = 5000;
    config->max_connections = 1024;
    config->raft_election_timeout_ms = 1000;
}

/*  Refuses a tcp:// endpoint whose port is not 1-65535, 0 or "*":
    libzmq would take "70000" modulo 65536 and listen on 4464 without a
    word. Other transports are left to zmq_bind. */
static dossier_status_t
s_check_port(const char *setting, const char *endpoint, dossier_error_t *err) {
    if (!endpoint || strncmp(endpoint, "tcp://", 6) != 0) {
        return DOSSIER_OK;
    }
    const char *colon = strrchr(endpoint + 6, ':');
    const char *bracket = strrchr(endpoint + 6, ']');
    if (!colon || (bracket && colon < bracket)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s '%s' has no port: give host:port, or "
                                 "host:* for a free one",
                                 setting, endpoint);
    }
    const char *port = colon + 1;
    if (strcmp(port, "*") == 0) {
        return DOSSIER_OK;
    }
    unsigned long value = 0;
    size_t digits = strspn(port, "0123456789");
    if (digits > 0 && digits <= 5 && port[digits] == '\0') {
        value = strtoul(port, NULL, 10);
    }
    if (digits == 0 || digits > 5 || port[digits] != '\0' || value > 65535) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s '%s': the port must be a number from 1 "
                                 "to 65535, or * for a free one",
                                 setting, endpoint);
    }
    return DOSSIER_OK;
}

/*  The refusal of a flag getopt_long stopped at (opt: its '?' for an
    unknown option, ':' for a missing value): names it, and the nearest
    known flag when it looks like a typo of one. */
static dossier_status_t
s_bad_flag(int opt, const char *word, const struct option *options,
           dossier_error_t *err) {
    char shown[64];
    text_utf8_copy(shown, sizeof shown, word ? word : "");
    if (opt == ':') {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s needs a value (see dossierd --help)",
                                 shown);
    }
    if (strncmp(shown, "--", 2) != 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "unknown option %s (see dossierd --help)",
                                 shown);
    }
    char name[SUGGEST_MAX_LEN + 1];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(shown + 2, "="),
             shown + 2);
    suggest_t near;
    suggest_init(&near, name);
    for (const struct option *o = options; o->name; o++) {
        suggest_consider(&near, o->name);
    }
    const char *best = suggest_best(&near);
    if (best != NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "unknown option --%s; did you mean --%s?",
                                 name, best);
    }
    return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                             "unknown option --%s (see dossierd --help)", name);
}

dossier_status_t
config_from_args(config_t *config, int argc, char **argv,
                 dossier_error_t *err) {
    s_defaults(config);

    /* The long options: one per setting, named from its key. */
    char names[S_N_SETTINGS][40];
    struct option options[S_N_SETTINGS + S_N_ALIASES + 5];
    for (size_t i = 0; i < S_N_SETTINGS; i++) {
        snprintf(names[i], sizeof names[i], "%s", s_settings[i].key);
        for (char *c = names[i]; *c; c++) {
            if (*c == '_') {
                *c = '-';
            }
        }
        options[i].name = names[i];
        options[i].has_arg =
            s_settings[i].type == S_BOOL ? no_argument : required_argument;
        options[i].flag = NULL;
        options[i].val = (int)i;
    }
    size_t n_options = S_N_SETTINGS;
    for (size_t a = 0; a < S_N_ALIASES; a++) {
        for (size_t i = 0; i < S_N_SETTINGS; i++) {
            if (strcmp(s_aliases[a][1], s_settings[i].key) == 0) {
                options[n_options++] = (struct option){
                    s_aliases[a][0], options[i].has_arg, NULL, (int)i};
            }
        }
    }
    options[n_options] =
        (struct option){"config", required_argument, NULL, S_OPT_CONFIG};
    options[n_options + 1] =
        (struct option){"help", no_argument, NULL, S_OPT_HELP};
    options[n_options + 2] =
        (struct option){"restore", required_argument, NULL, S_OPT_RESTORE};
    options[n_options + 3] =
        (struct option){"force", no_argument, NULL, S_OPT_FORCE};
    options[n_options + 4] = (struct option){NULL, 0, NULL, 0};

    /* Pass 1: --config and --help, and every flag checked for syntax. */
    opterr = 0;
    optind = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (opt == S_OPT_CONFIG) {
            free(config->config_file);
            config->config_file = strdup(optarg);
        } else if (opt == S_OPT_RESTORE) {
            free(config->restore_file);
            config->restore_file = strdup(optarg);
        } else if (opt == S_OPT_FORCE) {
            config->force = true;
        } else if (opt == S_OPT_HELP || opt == 'h') {
            config->help = true;
        } else if (opt == '?' || opt == ':') {
            return s_bad_flag(opt, argv[optind - 1], options, err);
        }
    }
    if (optind < argc) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "unexpected argument '%s' (see dossierd "
                                 "--help)",
                                 argv[optind]);
    }
    if (config->help) {
        return DOSSIER_OK;
    }
    if (config->config_file) {
        dossier_status_t rc = s_load_file(config, config->config_file, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
    }
    /* Pass 2: the flags, over the file. */
    optind = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt < 0 || (size_t)opt >= S_N_SETTINGS) {
            continue;
        }
        char where[64];
        snprintf(where, sizeof where, "--%s", names[opt]);
        dossier_status_t rc = s_apply(
            config, &s_settings[opt],
            s_settings[opt].type == S_BOOL ? "true" : optarg, where, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
    }
    if (!config->data_dir) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "no data directory: give --data DIR or "
                                 "'data = DIR' in the config file's server "
                                 "section");
    }
    if (!config->bind) {
        config->bind = strdup(CONFIG_DEFAULT_BIND);
        if (!config->bind) {
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "out of memory");
        }
    }
    dossier_status_t port_rc = s_check_port("bind", config->bind, err);
    if (port_rc == DOSSIER_OK) {
        port_rc = s_check_port("feed_bind", config->feed_bind, err);
    }
    if (port_rc != DOSSIER_OK) {
        return port_rc;
    }
    dossier_status_t cluster_rc = cluster_config_check(
        config->node_id, config->raft, config->peers, config->insecure, err);
    if (cluster_rc != DOSSIER_OK) {
        return cluster_rc;
    }
    if (config->max_map_size && config->map_size > config->max_map_size) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "map_size (%zu) is larger than max_map_size "
                                 "(%zu)",
                                 config->map_size, config->max_map_size);
    }
    return DOSSIER_OK;
}

void
config_free(config_t *config) {
    if (!config) {
        return;
    }
    free(config->data_dir);
    free(config->bind);
    free(config->config_file);
    free(config->curve_secret_key_file);
    free(config->users_dir);
    free(config->anonymous_role);
    free(config->backup_dir);
    free(config->feed_bind);
    free(config->restore_file);
    free(config->raft);
    free(config->peers);
    memset(config, 0, sizeof *config);
}
