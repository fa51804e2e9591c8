/*  pidfile.h: DIR/dossierd.pid, "PID\nENDPOINT\n", one server per DIR.

    pidfile_acquire() opens and locks the file (flock, released by the
    kernel when the process dies, even by kill -9), so a second dossierd on
    the same directory refuses to start while the first lives, and a pid
    file left by a dead server is simply taken over. pidfile_write() fills
    it once the socket is bound, so whoever sees the file complete can
    connect. pidfile_remove() deletes it on a clean exit. */
#ifndef DOSSIER_SERVER_PIDFILE_H
#define DOSSIER_SERVER_PIDFILE_H

#include "status.h"

#define PIDFILE_NAME "dossierd.pid"

typedef struct pidfile_t pidfile_t;

/*  Opens and locks dir/dossierd.pid. Returns DOSSIER_OK with *self_p the
    caller's, DOSSIER_FAILED_PRECONDITION when a live dossierd holds it
    (err names its pid), or DOSSIER_UNAVAILABLE when it cannot be opened. */
dossier_status_t pidfile_acquire(const char *dir, pidfile_t **self_p,
                                 dossier_error_t *err);

/*  Writes "PID\nENDPOINT\n" in one write. Returns DOSSIER_OK or
    DOSSIER_UNAVAILABLE. */
dossier_status_t pidfile_write(pidfile_t *self, const char *endpoint,
                               dossier_error_t *err);

/*  Removes the file and releases the lock; takes NULL; sets *self_p to
    NULL. */
void pidfile_remove(pidfile_t **self_p);

#endif
