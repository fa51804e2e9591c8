/*  gateway_config.h: dossier-gateway's settings, from a zconfig file and flags.

    As dossierd's (server/config.h): defaults, then the file given with
    --config (a "gateway" section of zconfig "key = value" lines; an
    unknown key is an error), then the flags, which win. A setting has
    the same name in both places, '-' in flags for '_' in the file
    (max_connections = --max-connections). Nothing here prints or exits. */
#ifndef DOSSIER_GATEWAY_CONFIG_H
#define DOSSIER_GATEWAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define GATEWAY_DEFAULT_LISTEN "127.0.0.1:8080"
#define GATEWAY_DEFAULT_SERVER "tcp://127.0.0.1:7531"

typedef struct {
    char *server;                  /* dossierd endpoints, comma-separated */
    char *listen;                  /* HOST:PORT to serve HTTP on */
    char *server_key;              /* dossierd's public certificate (CURVE) */
    char *key;                     /* the gateway's secret certificate */
    char *tls_cert;                /* PEM certificate chain: serve HTTPS */
    char *tls_key;                 /* PEM private key of tls_cert */
    char *config_file;             /* --config, NULL when none */
    bool insecure;                 /* plain HTTP on a non-loopback address */
    size_t max_body_bytes;         /* 0: dossierd's max_message_bytes */
    unsigned max_connections;      /* HTTP connections at once, 256 */
    unsigned max_per_ip;           /* of them from one address, 0: any */
    unsigned connection_timeout_s; /* idle or slow connection closed, 30 */
    unsigned timeout_ms;           /* a call without Connect-Timeout-Ms, 5000 */
    unsigned max_timeout_ms;       /* the most a call may ask, 60000 */
    unsigned get_max_age_s;        /* Cache-Control max-age of GET replies, 0 */
    bool access_log;               /* one line per request on stderr, true */
    char *web;                     /* the page's directory (web/), NULL:
                                      the installed one if there is one */
    char *feed;                    /* dossierd's change feed: GET /events */
    unsigned events_max_clients;   /* event streams open at once, 64 */
    unsigned events_buffer;        /* events kept for slow streams, 256 */
    bool help;                     /* --help was given */
} gateway_config_t;

/*  Fills *config from argv (defaults, then --config FILE, then flags).
    Returns DOSSIER_OK, or DOSSIER_INVALID_ARGUMENT with err naming the
    bad flag, key or value (*config must still be freed). */
dossier_status_t gateway_config_from_args(gateway_config_t *config, int argc,
                                          char **argv, dossier_error_t *err);

/*  Frees the strings in *config and zeroes it; takes NULL. */
void gateway_config_free(gateway_config_t *config);

/*  The --help text; static. */
const char *gateway_config_usage(void);

/*  Splits "HOST:PORT" or "[V6]:PORT" into host (a buffer of host_size)
    and *port. Returns true, or false for anything else. */
bool gateway_config_split_listen(const char *listen, char *host,
                                 size_t host_size, unsigned *port);

/*  Whether host (as split above) is a loopback address or "localhost". */
bool gateway_config_is_loopback(const char *host);

#endif
