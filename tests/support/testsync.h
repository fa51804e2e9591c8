/*  testsync.h: a dossierd run under the LD_PRELOAD shim
    tests/support/preload/sync_record.c, which logs every flush to disk
    and every send of the server in order, and holds flushes on demand.

    How a test proves a flush comes before a reply (test_durability), and
    how it stops the server inside a commit or a backup by its own hand
    instead of by timing: testsync_hold, then the work, then
    testsync_wait_held (the server is now inside a flush: a write's
    commit has begun, a backup is written but not flushed), then kill -9
    or testsync_release. A restart (testserver_restart) runs without the
    shim. */
#ifndef DOSSIER_TESTSYNC_H
#define DOSSIER_TESTSYNC_H

#include <stdbool.h>

#include "testserver.h"

typedef struct {
    char dir[64];         /* the shim's files: /tmp/dossier-sync-XXXXXX */
    char log[128];        /* DOSSIER_SYNC_LOG */
    char hold[128];       /* DOSSIER_SYNC_HOLD: flushes wait while it exists */
    testserver_t *server; /* the server, started under the shim */
} testsync_t;

/*  Starts dossierd (extra flags, NULL: none) under the shim into *self.
    Asserts (cmocka) that it started. */
void testsync_start(testsync_t *self, const char *extra);

/*  From now on every flush of the server waits (until testsync_release). */
void testsync_hold(testsync_t *self);

/*  Waits at most timeout_ms for a flush to be waiting; returns whether
    one is. */
bool testsync_wait_held(const testsync_t *self, int timeout_ms);

/*  Lets the flushes held, and later ones, run. */
void testsync_release(testsync_t *self);

/*  Releases, stops the server (asserting a clean exit, as
    testserver_stop) and removes the shim's files. */
void testsync_stop(testsync_t *self);

#endif
