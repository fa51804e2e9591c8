/*  testsync.c: dossierd under the sync_record shim (testsync.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testclock.h"
#include "testsync.h"

void
testsync_start(testsync_t *self, const char *extra) {
    snprintf(self->dir, sizeof self->dir, "/tmp/dossier-sync-XXXXXX");
    assert_non_null(mkdtemp(self->dir));
    snprintf(self->log, sizeof self->log, "%s/sync.log", self->dir);
    snprintf(self->hold, sizeof self->hold, "%s/hold", self->dir);
    const char *asan = getenv("ASAN_OPTIONS");
    char *saved_asan = asan ? strdup(asan) : NULL;
    char asan_options[1024];
    /* The shim comes first in the preload list, where ASan wants to be. */
    snprintf(asan_options, sizeof asan_options, "%s%sverify_asan_link_order=0",
             asan ? asan : "", asan && *asan ? ":" : "");
    /* Set for testserver_start's fork and exec only. */
    assert_int_equal(setenv("ASAN_OPTIONS", asan_options, 1), 0);
    assert_int_equal(setenv("LD_PRELOAD", DOSSIER_SYNC_RECORD, 1), 0);
    assert_int_equal(setenv("DOSSIER_SYNC_LOG", self->log, 1), 0);
    assert_int_equal(setenv("DOSSIER_SYNC_HOLD", self->hold, 1), 0);
    self->server = testserver_start(extra);
    unsetenv("LD_PRELOAD");
    unsetenv("DOSSIER_SYNC_LOG");
    unsetenv("DOSSIER_SYNC_HOLD");
    if (saved_asan) {
        setenv("ASAN_OPTIONS", saved_asan, 1);
        free(saved_asan);
    } else {
        unsetenv("ASAN_OPTIONS");
    }
    assert_non_null(self->server);
}

void
testsync_hold(testsync_t *self) {
    FILE *f = fopen(self->hold, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
}

bool
testsync_wait_held(const testsync_t *self, int timeout_ms) {
    char held[160];
    snprintf(held, sizeof held, "%s.held", self->hold);
    for (int waited = 0; waited <= timeout_ms; waited += 5) {
        if (access(held, F_OK) == 0) {
            return true;
        }
        testclock_sleep_ms(5);
    }
    return false;
}

void
testsync_release(testsync_t *self) {
    unlink(self->hold);
}

void
testsync_stop(testsync_t *self) {
    testsync_release(self);
    testserver_stop(&self->server);
    testserver_remove_tree(self->dir);
}
