/*  server.h: dossier-gateway's HTTP server (libmicrohttpd) and its pool
    of libdossier clients.

    One thread per HTTP connection (MHD_USE_THREAD_PER_CONNECTION): the
    thread reads a request, takes an idle libdossier client from the pool
    (or makes one), calls dossierd on it, blocking, and answers. No hop
    between threads on the way: a Get costs the HTTP parse, the JSON
    codec and one ZeroMQ round trip. A slow client holds only its own
    thread, and connection_timeout_s bounds that; max_connections bounds
    the threads. A libdossier client is used by one thread at a time
    (client/dossier.h) and goes back to the pool after each call, so
    keep-alive and short connections alike reuse warm ZeroMQ (and CURVE)
    connections to dossierd. */
#ifndef DOSSIER_GATEWAY_SERVER_H
#define DOSSIER_GATEWAY_SERVER_H

#include "gateway_config.h"
#include "status.h"

typedef struct gateway gateway_t;

/*  Starts serving as config says (borrowed; copied): checks the listen
    address against TLS and --insecure, asks dossierd for its
    max_message_bytes when max_body_bytes is 0 (16 MiB when it does not
    answer), binds and starts the HTTP threads. Returns DOSSIER_OK and
    *gateway_p (the caller's, ended with gateway_destroy);
    DOSSIER_INVALID_ARGUMENT for a refused setting (plain HTTP on a
    network address, unreadable keys or certificates);
    DOSSIER_UNAVAILABLE when the address cannot be bound;
    DOSSIER_INTERNAL when libmicrohttpd fails. */
dossier_status_t gateway_new(const gateway_config_t *config,
                             gateway_t **gateway_p, dossier_error_t *err);

/*  The port the gateway listens on (the one the kernel chose for port
    0). */
unsigned gateway_port(const gateway_t *gateway);

/*  Where the web page is served from ("web page from DIR at /"), or why
    there is none; "" when neither applies. Borrowed until
    gateway_destroy. */
const char *gateway_web_note(const gateway_t *gateway);

/*  The request body limit in force, in bytes. */
size_t gateway_body_limit(const gateway_t *gateway);

/*  Stops serving (connections in progress are closed), frees everything
    and sets *gateway_p to NULL; takes NULL. */
void gateway_destroy(gateway_t **gateway_p);

#endif
