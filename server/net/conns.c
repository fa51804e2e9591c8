/*  conns.c: the front socket's connection bound. See conns.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "log.h"
#include "net/conns.h"

struct conns_t {
    void *socket; /* the monitored socket, borrowed */
    void *monitor;
    char endpoint[64]; /* inproc:// of the monitor */
    unsigned max;
    size_t open;
    size_t shed;
    int64_t warned; /* second of the last warning */
};

/*  True when addr (a connection's local address) belongs to endpoint,
    the monitored socket's bound "tcp://HOST:PORT" or "ipc://PATH": the
    same port (any interface, as a wildcard bind accepts on all), or the
    same path. */
static bool
s_endpoint_matches(const char *endpoint, const struct sockaddr_storage *addr,
                   socklen_t len) {
    if (strncmp(endpoint, "tcp://", 6) == 0) {
        const char *colon = strrchr(endpoint, ':');
        long port = colon ? strtol(colon + 1, NULL, 10) : -1;
        if (addr->ss_family == AF_INET) {
            const struct sockaddr_in *in = (const void *)addr;
            return ntohs(in->sin_port) == port;
        }
        if (addr->ss_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const void *)addr;
            return ntohs(in6->sin6_port) == port;
        }
        return false;
    }
    if (strncmp(endpoint, "ipc://", 6) == 0 && addr->ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const void *)addr;
        size_t room = len > offsetof(struct sockaddr_un, sun_path)
                          ? len - offsetof(struct sockaddr_un, sun_path)
                          : 0;
        return strnlen(un->sun_path, room) == strlen(endpoint + 6) &&
               strncmp(un->sun_path, endpoint + 6, room) == 0;
    }
    return false;
}

conns_t *
conns_new(void *context, void *socket, unsigned max, dossier_error_t *err) {
    static unsigned serial;
    conns_t *self = calloc(1, sizeof *self);
    if (!self) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    self->socket = socket;
    self->max = max;
    snprintf(self->endpoint, sizeof self->endpoint,
             "inproc://dossierd-conns-%u", serial++);
    if (zmq_socket_monitor(socket, self->endpoint,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "cannot monitor the front socket: %s",
                          zmq_strerror(errno));
        free(self);
        return NULL;
    }
    self->monitor = zmq_socket(context, ZMQ_PAIR);
    int linger = 0;
    if (!self->monitor ||
        zmq_setsockopt(self->monitor, ZMQ_LINGER, &linger, sizeof linger) !=
            0 ||
        zmq_connect(self->monitor, self->endpoint) != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "cannot read the front socket's monitor: %s",
                          zmq_strerror(errno));
        conns_destroy(&self);
        return NULL;
    }
    return self;
}

void *
conns_socket(conns_t *self) {
    return self->monitor;
}

/*  Reads one event: [u16 event, u32 value][endpoint]. Returns false when
    none is waiting. */
static bool
s_read_event(conns_t *self, uint16_t *event, int32_t *value, char *address,
             size_t size) {
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, self->monitor, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return false;
    }
    bool ok = zmq_msg_size(&frame) == 6 && zmq_msg_more(&frame);
    if (ok) {
        const uint8_t *data = zmq_msg_data(&frame);
        memcpy(event, data, 2);
        memcpy(value, data + 2, 4);
    }
    address[0] = '\0';
    while (zmq_msg_more(&frame)) {
        zmq_msg_close(&frame);
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, self->monitor, 0) < 0) {
            break;
        }
        size_t n =
            zmq_msg_size(&frame) < size - 1 ? zmq_msg_size(&frame) : size - 1;
        memcpy(address, zmq_msg_data(&frame), n);
        address[n] = '\0';
    }
    zmq_msg_close(&frame);
    return ok;
}

/*  Shuts the connection fd down when it is still one of ours. */
static void
s_shed(conns_t *self, int fd) {
    char bound[256];
    size_t size = sizeof bound;
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    if (zmq_getsockopt(self->socket, ZMQ_LAST_ENDPOINT, bound, &size) != 0 ||
        getsockname(fd, (struct sockaddr *)&local, &len) != 0 ||
        !s_endpoint_matches(bound, &local, len)) {
        return; /* closed meanwhile, or the number is someone else's now */
    }
    if (shutdown(fd, SHUT_RDWR) == 0) {
        self->shed++;
    }
}

void
conns_read(conns_t *self) {
    uint16_t event = 0;
    int32_t value = -1;
    char address[256];
    while (s_read_event(self, &event, &value, address, sizeof address)) {
        if (event == ZMQ_EVENT_ACCEPTED) {
            self->open++;
            if (self->open > self->max) {
                s_shed(self, value);
                int64_t second = (int64_t)time(NULL);
                if (second != self->warned) {
                    self->warned = second;
                    log_warn("connections: %zu open, over max_connections "
                             "%u: the newest is dropped (%zu so far)",
                             self->open, self->max, self->shed);
                }
            }
        } else if (event == ZMQ_EVENT_DISCONNECTED && self->open > 0) {
            self->open--;
        }
    }
}

size_t
conns_open(const conns_t *self) {
    return self->open;
}

size_t
conns_shed(const conns_t *self) {
    return self->shed;
}

void
conns_destroy(conns_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    conns_t *self = *self_p;
    zmq_socket_monitor(self->socket, NULL, 0);
    if (self->monitor) {
        zmq_close(self->monitor);
    }
    free(self);
    *self_p = NULL;
}
