/*  conns.h: a bound on the connections the front socket holds.

    libzmq has no option that caps what a bound socket accepts, and every
    connection costs a file descriptor and buffers from the moment it is
    accepted, long before it authenticates. So a socket monitor reports
    each connection the front socket accepts and each one that ends; past
    max_connections, the newest is shut down (shutdown(2) on its file
    descriptor, never close: libzmq sees the end of the stream and cleans
    up after itself, and the descriptor stays libzmq's). Before shutting a
    descriptor down it checks that the descriptor is still a connection of
    the front socket's endpoint (same local address), since libzmq may
    have closed it and the number been reused meanwhile.

    Loop thread only: the loop polls conns_socket() and calls conns_read
    when it is readable. */
#ifndef DOSSIER_SERVER_CONNS_H
#define DOSSIER_SERVER_CONNS_H

#include <stddef.h>

#include "status.h"

typedef struct conns_t conns_t;

/*  Monitors socket (borrowed, of context; not yet bound) for accepted and
    ended connections, allowing at most max of them (> 0). Returns the
    monitor, or NULL with err set (DOSSIER_INTERNAL). */
conns_t *conns_new(void *context, void *socket, unsigned max,
                   dossier_error_t *err);

/*  The monitor's socket, for zmq_poll (borrowed). */
void *conns_socket(conns_t *self);

/*  Reads the monitor's pending events (without waiting), counts the
    connections and sheds the newest past the bound. */
void conns_read(conns_t *self);

/*  Connections open now, and connections shed since the start. */
size_t conns_open(const conns_t *self);
size_t conns_shed(const conns_t *self);

/*  Stops monitoring and frees the monitor; call before the monitored
    socket closes. Takes NULL; sets *self_p to NULL. */
void conns_destroy(conns_t **self_p);

#endif
