/*  poller.c: one poll(2) over the sockets' ZMQ_FD. See poller.h. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <zmq.h>

#include "net/poller.h"

struct poller_t {
    size_t count;
    void **sockets;
    struct pollfd *fds;
    bool *marked; /* poller_recheck since the last wait */
    bool *ready;  /* as of the last wait */
};

poller_t *
poller_new(void *const *sockets, size_t count, dossier_error_t *err) {
    poller_t *self = calloc(1, sizeof *self);
    if (self) {
        self->count = count;
        self->sockets = calloc(count, sizeof *self->sockets);
        self->fds = calloc(count, sizeof *self->fds);
        self->marked = calloc(count, sizeof *self->marked);
        self->ready = calloc(count, sizeof *self->ready);
    }
    if (!self || !self->sockets || !self->fds || !self->marked ||
        !self->ready) {
        poller_destroy(&self);
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        int fd = -1;
        size_t size = sizeof fd;
        if (zmq_getsockopt(sockets[i], ZMQ_FD, &fd, &size) != 0) {
            dossier_error_set(err, DOSSIER_INTERNAL,
                              "cannot get a socket's ZMQ_FD: %s",
                              zmq_strerror(errno));
            poller_destroy(&self);
            return NULL;
        }
        self->sockets[i] = sockets[i];
        self->fds[i].fd = fd;
        self->fds[i].events = POLLIN;
        /* Messages may wait already: the first round looks at each. */
        self->marked[i] = true;
    }
    return self;
}

int
poller_wait(poller_t *self, long timeout_ms) {
    int timeout = (int)timeout_ms;
    for (size_t i = 0; i < self->count; i++) {
        if (self->marked[i]) {
            timeout = 0;
        }
    }
    int rc = poll(self->fds, (nfds_t)self->count, timeout);
    /* A round that slept its whole timeout looks at every socket, as
       zmq_poll did each round: a signal missed by a bug costs a timeout,
       never a hang. Idle rounds only, so it costs no call under load. */
    bool idle = rc == 0 && timeout > 0;
    for (size_t i = 0; i < self->count; i++) {
        bool signalled = rc > 0 && (self->fds[i].revents & POLLIN);
        self->ready[i] = signalled || self->marked[i] || idle;
        /* A mark stays until a call settles the socket: a poll that a
           signal interrupted reported nothing. */
        if (rc >= 0) {
            self->marked[i] = false;
        }
    }
    return rc < 0 ? -1 : 0;
}

bool
poller_ready(const poller_t *self, size_t index) {
    return self->ready[index];
}

void
poller_recheck(poller_t *self, size_t index) {
    if (self) {
        self->marked[index] = true;
    }
}

void
poller_settled(poller_t *self, size_t index) {
    if (self) {
        self->marked[index] = false;
    }
}

void
poller_check(poller_t *self, size_t index) {
    uint32_t events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt(self->sockets[index], ZMQ_EVENTS, &events, &size) != 0 ||
        (events & ZMQ_POLLIN)) {
        self->marked[index] = true;
    } else {
        self->marked[index] = false;
    }
}

void
poller_destroy(poller_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    poller_t *self = *self_p;
    free(self->sockets);
    free(self->fds);
    free(self->marked);
    free(self->ready);
    free(self);
    *self_p = NULL;
}
