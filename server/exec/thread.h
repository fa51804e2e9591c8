/*  thread.h: the one way a server thread starts and stops.

    A worker and the writer are each one thread with one PAIR socket,
    connected to an inproc:// endpoint the loop has bound; job pointers
    travel over it (exec/job.h). The socket is made and connected here,
    before the thread starts, and from then on only the thread uses it
    (pthread_create is a full barrier); it is closed after the join. */
#ifndef DOSSIER_SERVER_THREAD_H
#define DOSSIER_SERVER_THREAD_H

#include <pthread.h>

#include "status.h"

typedef struct {
    pthread_t thread;
    void *socket; /* the thread's PAIR socket */
} exec_thread_t;

/*  Makes self's PAIR socket in context (borrowed, must outlive the
    thread), connects it to endpoint, and starts a thread running
    main(arg). what names the thread in messages ("a worker", "the
    writer"). Returns DOSSIER_OK, or DOSSIER_INTERNAL with err set and
    nothing left to stop. */
dossier_status_t exec_thread_start(exec_thread_t *self, void *context,
                                   const char *endpoint, const char *what,
                                   void *(*main)(void *), void *arg,
                                   dossier_error_t *err);

/*  Joins the thread (the loop must have sent the stop signal and got its
    answer) and closes its socket. */
void exec_thread_stop(exec_thread_t *self);

#endif
