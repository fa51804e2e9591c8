/*  gateway_config.c: dossier-gateway's settings (see gateway_config.h). One
   table drives the file keys, the flags and the checks, as in dossierd's
    server/config.c, so the two daemons' files read the same way. */
#include "gateway_config.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum { S_STRING, S_UINT, S_SIZE, S_BOOL } s_type_t;

typedef struct {
    const char *key; /* file key; the flag is the same with '-' for '_' */
    s_type_t type;
    size_t offset;
    unsigned long long min;
    unsigned long long max;
} s_setting_t;

#define S_AT(field) offsetof(gateway_config_t, field)

static const s_setting_t s_settings[] = {
    {"server", S_STRING, S_AT(server), 0, 0},
    {"listen", S_STRING, S_AT(listen), 0, 0},
    {"server_key", S_STRING, S_AT(server_key), 0, 0},
    {"key", S_STRING, S_AT(key), 0, 0},
    {"tls_cert", S_STRING, S_AT(tls_cert), 0, 0},
    {"tls_key", S_STRING, S_AT(tls_key), 0, 0},
    {"insecure", S_BOOL, S_AT(insecure), 0, 0},
    {"max_body_bytes", S_SIZE, S_AT(max_body_bytes), 0, (1ULL << 30)},
    {"max_connections", S_UINT, S_AT(max_connections), 1, 100000},
    {"max_per_ip", S_UINT, S_AT(max_per_ip), 0, 100000},
    {"connection_timeout_s", S_UINT, S_AT(connection_timeout_s), 1, 3600},
    {"timeout_ms", S_UINT, S_AT(timeout_ms), 1, 3600000},
    {"max_timeout_ms", S_UINT, S_AT(max_timeout_ms), 1, 3600000},
    {"get_max_age_s", S_UINT, S_AT(get_max_age_s), 0, 31536000},
    {"access_log", S_BOOL, S_AT(access_log), 0, 0},
    {"web", S_STRING, S_AT(web), 0, 0},
    {"feed", S_STRING, S_AT(feed), 0, 0},
    {"events_max_clients", S_UINT, S_AT(events_max_clients), 1, 10000},
    {"events_buffer", S_UINT, S_AT(events_buffer), 1, 65536},
};
#define S_N_SETTINGS (sizeof s_settings / sizeof s_settings[0])

enum { S_OPT_CONFIG = 1000, S_OPT_HELP, S_OPT_NO_ACCESS_LOG };

static const char s_usage[] =
    "usage: dossier-gateway [--server EP[,EP...]] [--listen HOST:PORT] "
    "[options]\n"
    "\n"
    "Serves dossier.v1.Reports over HTTP with the Connect protocol\n"
    "(POST /dossier.v1.Reports/METHOD, JSON or binary protobuf), in front\n"
    "of dossierd. Also GET /healthz and GET /metrics. SIGINT/SIGTERM stop.\n"
    "\n"
    "  -s, --server EP[,EP...]     dossierd endpoints, tried in order;\n"
    "                              default " GATEWAY_DEFAULT_SERVER "\n"
    "  --listen HOST:PORT          default " GATEWAY_DEFAULT_LISTEN
    " (port 0: any\n"
    "                              free port, logged at start)\n"
    "  --server-key FILE           dossierd's public certificate: CURVE\n"
    "  --key FILE                  this gateway's secret certificate (a\n"
    "                              dossierd user whose role is gateway)\n"
    "  --tls-cert FILE, --tls-key FILE\n"
    "                              serve HTTPS with this PEM certificate\n"
    "                              chain and key\n"
    "  --insecure                  allow plain HTTP on a non-loopback "
    "address\n"
    "  --max-body-bytes SIZE       largest request body; default 0: the\n"
    "                              max_message_bytes dossierd reports\n"
    "  --max-connections N         HTTP connections at once, default 256\n"
    "  --max-per-ip N              of them from one address, 0 (any)\n"
    "  --connection-timeout-s N    close a connection idle (or sending\n"
    "                              nothing) this long, default 30\n"
    "  --timeout-ms N              deadline of a call without\n"
    "                              Connect-Timeout-Ms, default 5000\n"
    "  --max-timeout-ms N          the most Connect-Timeout-Ms may ask,\n"
    "                              default 60000\n"
    "  --get-max-age-s N           Cache-Control max-age of GET replies,\n"
    "                              default 0 (revalidate with the ETag)\n"
    "  --no-access-log             no line per request on stderr\n"
    "  --web DIR                   serve the analysts' page from DIR at /\n"
    "                              (default: the installed page, if any)\n"
    "  --feed EP                   dossierd's change feed (its --feed):\n"
    "                              relayed at GET /events to browsers\n"
    "  --events-max-clients N      event streams open at once, default 64\n"
    "  --events-buffer N           events kept for a stream that is\n"
    "                              behind, default 256\n"
    "  --config FILE               zconfig file with a 'gateway' section;\n"
    "                              flags win over it\n"
    "  -h, --help                  this text\n";

const char *
gateway_config_usage(void) {
    return s_usage;
}

static bool
s_parse_size(const char *text, size_t *value) {
    char *end;
    errno = 0;
    if (*text == '-' || *text == '\0') {
        return false;
    }
    unsigned long long number = strtoull(text, &end, 10);
    if (errno || end == text) {
        return false;
    }
    unsigned long long multiple = 1;
    switch (*end) {
    case 'k':
    case 'K':
        multiple = 1ULL << 10;
        break;
    case 'm':
    case 'M':
        multiple = 1ULL << 20;
        break;
    case 'g':
    case 'G':
        multiple = 1ULL << 30;
        break;
    default:
        break;
    }
    if (multiple > 1) {
        end++;
        if (strcasecmp(end, "ib") == 0 || strcasecmp(end, "b") == 0) {
            end += strlen(end);
        }
    }
    if (*end || (number && multiple > ULLONG_MAX / number)) {
        return false;
    }
    *value = (size_t)(number * multiple);
    return true;
}

static dossier_status_t
s_apply(gateway_config_t *config, const s_setting_t *setting, const char *text,
        const char *where, dossier_error_t *err) {
    char *field = (char *)config + setting->offset;
    if (setting->type == S_STRING) {
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
    if (setting->type == S_BOOL) {
        static const char *const yes[] = {"1", "true", "yes", "on"};
        static const char *const no[] = {"0", "false", "no", "off"};
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
                *(bool *)field = strcasecmp(text, yes[i]) == 0;
                return DOSSIER_OK;
            }
        }
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: '%s' is not true or false", where, text);
    }
    size_t value = 0;
    bool ok;
    if (setting->type == S_SIZE) {
        ok = s_parse_size(text, &value);
    } else {
        char *end;
        errno = 0;
        unsigned long long number = strtoull(text, &end, 10);
        ok = !errno && end != text && !*end && *text != '-';
        value = ok ? (size_t)number : 0;
    }
    if (!ok || value < setting->min || value > setting->max) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: '%s' is not a %s between %llu and %llu",
                                 where, text,
                                 setting->type == S_SIZE ? "size" : "number",
                                 setting->min, setting->max);
    }
    if (setting->type == S_SIZE) {
        *(size_t *)field = value;
    } else {
        *(unsigned *)field = (unsigned)value;
    }
    return DOSSIER_OK;
}

static dossier_status_t
s_load_file(gateway_config_t *config, const char *path, dossier_error_t *err) {
    if (access(path, R_OK) != 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "cannot read config file %s: %s", path,
                                 strerror(errno));
    }
    zconfig_t *root = zconfig_load(path);
    if (!root) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "config file %s is not valid zconfig "
                                 "(sections and 'key = value' lines, "
                                 "indented by 4 spaces)",
                                 path);
    }
    dossier_status_t rc = DOSSIER_OK;
    zconfig_t *section = zconfig_locate(root, "gateway");
    if (!section) {
        rc = dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                               "config file %s has no 'gateway' section", path);
    }
    for (zconfig_t *item = section ? zconfig_child(section) : NULL;
         item && rc == DOSSIER_OK; item = zconfig_next(item)) {
        const char *key = zconfig_name(item);
        const char *value = zconfig_value(item);
        const s_setting_t *setting = NULL;
        for (size_t i = 0; key && i < S_N_SETTINGS; i++) {
            if (strcmp(key, s_settings[i].key) == 0) {
                setting = &s_settings[i];
            }
        }
        if (!setting) {
            rc = dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                   "config file %s: unknown setting "
                                   "gateway/%s (see dossier-gateway --help)",
                                   path, key ? key : "");
            break;
        }
        char where[512];
        snprintf(where, sizeof where, "config file %s: gateway/%s", path, key);
        rc = s_apply(config, setting, value ? value : "", where, err);
    }
    zconfig_destroy(&root);
    return rc;
}

bool
gateway_config_split_listen(const char *listen, char *host, size_t host_size,
                            unsigned *port) {
    const char *colon = strrchr(listen, ':');
    if (colon == NULL) {
        return false;
    }
    const char *start = listen;
    const char *end = colon;
    if (*listen == '[') {
        if (colon == listen || colon[-1] != ']') {
            return false;
        }
        start = listen + 1;
        end = colon - 1;
    } else if (memchr(listen, ':', (size_t)(colon - listen)) != NULL) {
        return false; /* a bare IPv6 address: needs brackets */
    }
    size_t n = (size_t)(end - start);
    size_t digits = strspn(colon + 1, "0123456789");
    if (n == 0 || n >= host_size || digits == 0 || digits > 5 ||
        colon[1 + digits] != '\0') {
        return false;
    }
    unsigned long value = strtoul(colon + 1, NULL, 10);
    if (value > 65535) {
        return false;
    }
    memcpy(host, start, n);
    host[n] = '\0';
    *port = (unsigned)value;
    return true;
}

bool
gateway_config_is_loopback(const char *host) {
    struct in_addr v4;
    struct in6_addr v6;
    if (strcmp(host, "localhost") == 0) {
        return true;
    }
    if (inet_pton(AF_INET, host, &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    if (inet_pton(AF_INET6, host, &v6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&v6);
    }
    return false;
}

static void
s_defaults(gateway_config_t *config) {
    memset(config, 0, sizeof *config);
    config->max_connections = 256;
    config->connection_timeout_s = 30;
    config->timeout_ms = 5000;
    config->max_timeout_ms = 60000;
    config->access_log = true;
    config->events_max_clients = 64;
    config->events_buffer = 256;
}

static dossier_status_t
s_default_string(char **field, const char *value, dossier_error_t *err) {
    if (*field == NULL && (*field = strdup(value)) == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    return DOSSIER_OK;
}

static dossier_status_t
s_check(gateway_config_t *config, dossier_error_t *err) {
    dossier_status_t rc;
    if ((rc = s_default_string(&config->server, GATEWAY_DEFAULT_SERVER, err)) !=
            DOSSIER_OK ||
        (rc = s_default_string(&config->listen, GATEWAY_DEFAULT_LISTEN, err)) !=
            DOSSIER_OK) {
        return rc;
    }
    char host[256];
    unsigned port;
    if (!gateway_config_split_listen(config->listen, host, sizeof host,
                                     &port)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "listen '%s': give HOST:PORT (port 0-65535; "
                                 "an IPv6 address in brackets, [::1]:8080)",
                                 config->listen);
    }
    if ((config->server_key == NULL) != (config->key == NULL)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "CURVE needs both --server-key (dossierd's "
                                 "public certificate) and --key (this "
                                 "gateway's secret certificate)");
    }
    if ((config->tls_cert == NULL) != (config->tls_key == NULL)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "TLS needs both --tls-cert and --tls-key");
    }
    if (config->timeout_ms > config->max_timeout_ms) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "timeout_ms (%u) is larger than "
                                 "max_timeout_ms (%u)",
                                 config->timeout_ms, config->max_timeout_ms);
    }
    return DOSSIER_OK;
}

dossier_status_t
gateway_config_from_args(gateway_config_t *config, int argc, char **argv,
                         dossier_error_t *err) {
    s_defaults(config);
    char names[S_N_SETTINGS][40];
    struct option options[S_N_SETTINGS + 5];
    for (size_t i = 0; i < S_N_SETTINGS; i++) {
        snprintf(names[i], sizeof names[i], "%s", s_settings[i].key);
        for (char *c = names[i]; *c; c++) {
            *c = *c == '_' ? '-' : *c;
        }
        options[i] = (struct option){
            names[i],
            s_settings[i].type == S_BOOL ? no_argument : required_argument,
            NULL, (int)i};
    }
    options[S_N_SETTINGS] =
        (struct option){"config", required_argument, NULL, S_OPT_CONFIG};
    options[S_N_SETTINGS + 1] =
        (struct option){"help", no_argument, NULL, S_OPT_HELP};
    options[S_N_SETTINGS + 2] = (struct option){"no-access-log", no_argument,
                                                NULL, S_OPT_NO_ACCESS_LOG};
    options[S_N_SETTINGS + 3] = (struct option){NULL, 0, NULL, 0};

    /* Pass 1: --config and --help, and every flag checked for syntax. */
    opterr = 0;
    optind = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "hs:", options, NULL)) != -1) {
        if (opt == S_OPT_CONFIG) {
            free(config->config_file);
            config->config_file = strdup(optarg);
        } else if (opt == S_OPT_HELP || opt == 'h') {
            config->help = true;
        } else if (opt == '?' || opt == ':') {
            const char *arg = argv[optind - 1];
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "unknown option or missing value: %s "
                                     "(see dossier-gateway --help)",
                                     arg ? arg : "");
        }
    }
    if (optind < argc) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "unexpected argument '%s' (see "
                                 "dossier-gateway --help)",
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
    while ((opt = getopt_long(argc, argv, "hs:", options, NULL)) != -1) {
        if (opt == S_OPT_NO_ACCESS_LOG) {
            config->access_log = false;
            continue;
        }
        size_t index = opt == 's' ? 0 : (size_t)opt;
        if (opt != 's' && (opt < 0 || index >= S_N_SETTINGS)) {
            continue;
        }
        char where[64];
        snprintf(where, sizeof where, "--%.39s", names[index]);
        dossier_status_t rc = s_apply(
            config, &s_settings[index],
            s_settings[index].type == S_BOOL ? "true" : optarg, where, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
    }
    return s_check(config, err);
}

void
gateway_config_free(gateway_config_t *config) {
    if (!config) {
        return;
    }
    free(config->server);
    free(config->listen);
    free(config->server_key);
    free(config->key);
    free(config->tls_cert);
    free(config->tls_key);
    free(config->config_file);
    free(config->web);
    free(config->feed);
    memset(config, 0, sizeof *config);
}
