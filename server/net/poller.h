/*  poller.h: the loop's wait on its ZeroMQ sockets, one poll(2) a round.

    zmq_poll asks every socket for ZMQ_EVENTS before it sleeps and again
    after it wakes, and on libzmq 4.3 each ask is a getpid() (its fork
    check) and a poll() of that socket's mailbox: with five sockets, a
    dozen system calls a round whichever socket woke it. This poller
    polls the sockets' ZMQ_FD descriptors once and names the sockets
    worth reading: those whose descriptor signalled, and those marked
    with poller_recheck.

    ZMQ_FD signals that commands reached the socket, not that messages
    wait: any call on the socket (a send too) may consume the signal and
    leave messages behind it. So the caller keeps one rule: after a call
    on a socket that did not end with a receive failing with EAGAIN (a
    send, a read stopped by its burst bound), it calls poller_recheck;
    after such a failed receive it calls poller_settled. A socket marked
    is reported ready in the next round, which does not sleep. A round
    that slept its whole timeout reports every socket ready.

    Loop thread only, like the sockets. */
#ifndef DOSSIER_SERVER_POLLER_H
#define DOSSIER_SERVER_POLLER_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

typedef struct poller_t poller_t;

/*  A poller of count sockets (borrowed; they outlive it), each named by
    its index. Returns NULL with err set (RESOURCE_EXHAUSTED, or INTERNAL
    when a socket has no ZMQ_FD). */
poller_t *poller_new(void *const *sockets, size_t count, dossier_error_t *err);

/*  Waits up to timeout_ms (0 when a socket is marked) for a socket to
    signal. Returns 0, or -1 with errno (EINTR: a signal came). Ready
    sockets are then those of poller_ready; the marks are cleared. */
int poller_wait(poller_t *self, long timeout_ms);

/*  Whether socket index signalled or was marked before the last wait. */
bool poller_ready(const poller_t *self, size_t index);

/*  Marks socket index: a call on it may have consumed its signal.
    NULL self (no poller yet): nothing to mark. */
void poller_recheck(poller_t *self, size_t index);

/*  Unmarks socket index: a receive on it just failed with EAGAIN, after
    every earlier call, so its descriptor will signal what comes next. */
void poller_settled(poller_t *self, size_t index);

/*  Checks socket index with ZMQ_EVENTS (which settles it) and marks it
    when a message waits: for handlers that do not say how they ended. */
void poller_check(poller_t *self, size_t index);

void poller_destroy(poller_t **self_p);

#endif
