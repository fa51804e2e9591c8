/*  feed.c: the change feed's PUB socket. See feed.h.

    The rebind waits for the old listener to be closed (a socket monitor
    reports ZMQ_EVENT_CLOSED) before binding again: libzmq closes it on
    its I/O thread, and binding earlier would find the TCP port still in
    use, or see the old ipc:// listener remove the new one's file. */
#include <czmq.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "log.h"
#include "net/feed.h"

#define S_MONITOR_ENDPOINT "inproc://dossierd-feed-monitor"
#define S_REBIND_WAIT_MS 1000

struct feed_t {
    void *socket;
    void *monitor; /* PAIR: the socket's ZMQ_EVENT_CLOSED events */
    char endpoint[256];
    unsigned long published;
    atomic_ulong revoked;  /* feed_revoke calls, from any thread */
    unsigned long rebound; /* those handled by a rebind */
    bool bound;
    bool warned; /* that binding again failed, once per failure */
};

feed_t *
feed_new(void *context, const char *endpoint, int sndhwm, int handshake_ms,
         dossier_status_t (*secure)(void *secure_arg, void *socket,
                                    dossier_error_t *err),
         void *secure_arg, dossier_error_t *err) {
    if (!context || !endpoint || !*endpoint) {
        dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                          "the change feed needs an endpoint");
        return NULL;
    }
    feed_t *self = calloc(1, sizeof *self);
    if (!self) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    self->socket = zmq_socket(context, ZMQ_PUB);
    if (!self->socket) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "cannot create the change feed socket: %s",
                          zmq_strerror(errno));
        free(self);
        return NULL;
    }
    atomic_init(&self->revoked, 0);
    int linger = 0; /* nobody waits for the feed at exit */
    if (zmq_setsockopt(self->socket, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) != 0 ||
        zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(self->socket, ZMQ_HANDSHAKE_IVL, &handshake_ms,
                       sizeof handshake_ms) != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "cannot set the change feed's options: %s",
                          zmq_strerror(errno));
        feed_destroy(&self);
        return NULL;
    }
    if (secure && secure(secure_arg, self->socket, err) != DOSSIER_OK) {
        feed_destroy(&self);
        return NULL;
    }
    self->monitor = zmq_socket(context, ZMQ_PAIR);
    if (!self->monitor ||
        zmq_socket_monitor(self->socket, S_MONITOR_ENDPOINT,
                           ZMQ_EVENT_CLOSED) != 0 ||
        zmq_connect(self->monitor, S_MONITOR_ENDPOINT) != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "cannot monitor the change feed socket: %s",
                          zmq_strerror(errno));
        feed_destroy(&self);
        return NULL;
    }
    if (zmq_bind(self->socket, endpoint) != 0) {
        dossier_error_set(err, DOSSIER_UNAVAILABLE,
                          "cannot bind the change feed at %s: %s", endpoint,
                          zmq_strerror(errno));
        feed_destroy(&self);
        return NULL;
    }
    self->bound = true;
    size_t size = sizeof self->endpoint;
    if (zmq_getsockopt(self->socket, ZMQ_LAST_ENDPOINT, self->endpoint,
                       &size) != 0) {
        snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    }
    return self;
}

const char *
feed_endpoint(const feed_t *self) {
    return self->endpoint;
}

void
feed_revoke(feed_t *self) {
    atomic_fetch_add(&self->revoked, 1);
}

/*  Reads one monitor event; true when it is ZMQ_EVENT_CLOSED. */
static bool
s_monitor_closed(feed_t *self) {
    bool closed = false;
    bool more = true;
    for (int frame = 0; more; frame++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        /* The first frame: a 16-bit event number, then a 32-bit value. */
        if (frame == 0 && zmq_msg_size(&msg) >= 2) {
            uint16_t event;
            memcpy(&event, zmq_msg_data(&msg), sizeof event);
            closed = event == ZMQ_EVENT_CLOSED;
        }
        more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
    }
    return closed;
}

/*  Unbinds the endpoint, which drops every subscriber, and waits (at most
    S_REBIND_WAIT_MS) until libzmq has closed its listener. */
static void
s_unbind(feed_t *self) {
    zmq_pollitem_t item = {self->monitor, 0, ZMQ_POLLIN, 0};
    while (zmq_poll(&item, 1, 0) > 0) {
        s_monitor_closed(self); /* stale events */
    }
    if (zmq_unbind(self->socket, self->endpoint) != 0) {
        log_warn("change feed: cannot unbind %s to drop revoked "
                 "subscribers: %s",
                 self->endpoint, zmq_strerror(errno));
        return;
    }
    self->bound = false;
    int64_t end = zclock_mono() + S_REBIND_WAIT_MS;
    for (int64_t now = zclock_mono(); now < end; now = zclock_mono()) {
        int rc = zmq_poll(&item, 1, (long)(end - now));
        if (rc < 0 && errno != EINTR) {
            break;
        }
        if (rc > 0 && s_monitor_closed(self)) {
            return;
        }
    }
    log_warn("change feed: the listener at %s did not report closing; "
             "binding again anyway",
             self->endpoint);
}

/*  Binds the endpoint again; logs the first failure of a streak. */
static bool
s_bind_again(feed_t *self) {
    if (zmq_bind(self->socket, self->endpoint) != 0) {
        if (!self->warned) {
            log_warn("change feed: cannot bind %s again: %s; events are "
                     "dropped until it can be",
                     self->endpoint, zmq_strerror(errno));
            self->warned = true;
        }
        return false;
    }
    self->bound = true;
    self->warned = false;
    log_info("change feed: bound again at %s; every subscriber "
             "authenticates again",
             self->endpoint);
    return true;
}

int
feed_publish(feed_t *self, const void *event, size_t size) {
    unsigned long revoked = atomic_load(&self->revoked);
    if (revoked != self->rebound) {
        self->rebound = revoked;
        if (self->bound) {
            s_unbind(self);
        }
    }
    if (!self->bound && !s_bind_again(self)) {
        return -1;
    }
    /* PUB never blocks: at the high-water mark it drops for that
       subscriber. */
    if (zmq_send(self->socket, FEED_TOPIC, strlen(FEED_TOPIC),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->socket, event, size, ZMQ_DONTWAIT) < 0) {
        return -1;
    }
    self->published++;
    return 0;
}

unsigned long
feed_published(const feed_t *self) {
    return self->published;
}

void
feed_destroy(feed_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    feed_t *self = *self_p;
    if (self->socket && self->monitor) {
        zmq_socket_monitor(self->socket, NULL, 0);
    }
    if (self->monitor) {
        zmq_close(self->monitor);
    }
    if (self->socket) {
        zmq_close(self->socket);
    }
    free(self);
    *self_p = NULL;
}
