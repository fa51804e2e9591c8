/*  thread.c: see thread.h. */
#include <errno.h>
#include <string.h>

#include <zmq.h>

#include "exec/thread.h"

dossier_status_t
exec_thread_start(exec_thread_t *self, void *context, const char *endpoint,
                  const char *what, void *(*main)(void *), void *arg,
                  dossier_error_t *err) {
    self->socket = zmq_socket(context, ZMQ_PAIR);
    if (!self->socket || zmq_connect(self->socket, endpoint) != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL, "%s cannot connect to %s: %s",
                          what, endpoint, zmq_strerror(errno));
        goto close_socket;
    }
    int rc = pthread_create(&self->thread, NULL, main, arg);
    if (rc != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL, "cannot start %s thread: %s",
                          what, strerror(rc));
        goto close_socket;
    }
    return DOSSIER_OK;

close_socket:
    if (self->socket) {
        zmq_close(self->socket);
        self->socket = NULL;
    }
    return DOSSIER_INTERNAL;
}

void
exec_thread_stop(exec_thread_t *self) {
    pthread_join(self->thread, NULL);
    zmq_close(self->socket);
    self->socket = NULL;
}
