/*  feed.c: the change feed's PUB socket. See feed.h. */
#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "net/feed.h"

struct feed_t {
    void *socket;
    char endpoint[256];
    unsigned long published;
};

feed_t *
feed_new(void *context, const char *endpoint, int sndhwm,
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
    int linger = 0; /* nobody waits for the feed at exit */
    if (zmq_setsockopt(self->socket, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) != 0 ||
        zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger) != 0) {
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
    if (zmq_bind(self->socket, endpoint) != 0) {
        dossier_error_set(err, DOSSIER_UNAVAILABLE,
                          "cannot bind the change feed at %s: %s", endpoint,
                          zmq_strerror(errno));
        feed_destroy(&self);
        return NULL;
    }
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

int
feed_publish(feed_t *self, const void *event, size_t size) {
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
    if (self->socket) {
        zmq_close(self->socket);
    }
    free(self);
    *self_p = NULL;
}
