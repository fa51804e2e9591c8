/*  refusals.c: the per-connection limit on refused calls' audit notes.
    See refusals.h. */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/refusals.h"

typedef struct {
    int64_t second;   /* the window, job_now_ms() / 1000; -1: over */
    unsigned noted;   /* notes sent in it */
    unsigned dropped; /* refused calls counted instead */
    const struct method_t *method; /* of the last one counted: the summary's */
    dossier_status_t code;
    char user[64];
    role_t role;
} s_refused_t;

struct refusals_t {
    zhashx_t *peers;    /* hex identity -> s_refused_t */
    s_refused_t others; /* the shared window, past REFUSALS_PEERS_MAX */
    int64_t swept;      /* the second of the last sweep */
    unsigned per_second;
    refusals_emit_fn emit;
    void *arg;
};

static void
s_refused_free(void **item_p) {
    free(*item_p);
    *item_p = NULL;
}

refusals_t *
refusals_new(unsigned per_second, refusals_emit_fn emit, void *arg) {
    refusals_t *self = calloc(1, sizeof *self);
    if (self) {
        self->per_second = per_second;
        self->emit = emit;
        self->arg = arg;
        self->peers = zhashx_new();
        if (!self->peers) {
            free(self);
            return NULL;
        }
        zhashx_set_destructor(self->peers, s_refused_free);
    }
    return self;
}

void
refusals_destroy(refusals_t **self_p) {
    if (self_p && *self_p) {
        zhashx_destroy(&(*self_p)->peers);
        free(*self_p);
        *self_p = NULL;
    }
}

/*  Sends the summary note of a window that counted calls, and closes it. */
static void
s_refused_close(refusals_t *self, s_refused_t *window, bool shared) {
    if (window->dropped && window->method) {
        job_t summary = {0};
        summary.method = window->method;
        summary.role = window->role;
        memcpy(summary.user, window->user, sizeof summary.user);
        char message[200];
        snprintf(message, sizeof message,
                 "%u more refused calls %s were not recorded in one second "
                 "(audit_refused_per_second is %u)",
                 window->dropped,
                 shared ? "from other connections" : "from this connection",
                 self->per_second);
        self->emit(self->arg, &summary, window->code, message);
    }
    window->second = -1;
    window->noted = window->dropped = 0;
}

/*  Closes every window of an earlier second than now (all of them when
    all is set, at shutdown), at most once a second, and forgets their
    peers. */
void
refusals_sweep(refusals_t *self, int64_t now_ms, bool all) {
    refusals_t *r = self;
    int64_t second = now_ms / 1000;
    if (!all && second == r->swept) {
        return;
    }
    r->swept = second;
    if (all || r->others.second < second) {
        s_refused_close(self, &r->others, true);
    }
    size_t closed = 0;
    for (s_refused_t *w = zhashx_first(r->peers); w;
         w = zhashx_next(r->peers)) {
        if (all || w->second < second) {
            s_refused_close(self, w, false);
            closed++;
        }
    }
    if (closed == 0) {
        return;
    }
    if (closed == zhashx_size(r->peers)) {
        zhashx_purge(r->peers);
        return;
    }
    /* Some windows are still open: delete the others by key, never
       while iterating. */
    zlistx_t *keys = zhashx_keys(r->peers);
    for (const char *key = keys ? zlistx_first(keys) : NULL; key;
         key = zlistx_next(keys)) {
        s_refused_t *w = zhashx_lookup(r->peers, key);
        if (w && w->second < 0) {
            zhashx_delete(r->peers, key);
        }
    }
    zlistx_destroy(&keys);
}

/*  The open window of job's peer (the shared one when the table is full
    or out of memory). */
static s_refused_t *
s_refused_window(refusals_t *self, const char *key, int64_t second,
                 bool *shared) {
    refusals_t *r = self;
    s_refused_t *w = zhashx_lookup(r->peers, key);
    if (!w && zhashx_size(r->peers) < REFUSALS_PEERS_MAX) {
        w = calloc(1, sizeof *w);
        if (w && zhashx_insert(r->peers, key, w) != 0) {
            free(w);
            w = NULL;
        }
        if (w) {
            w->second = second;
        }
    }
    *shared = w == NULL;
    if (!w) {
        w = &r->others;
    }
    if (w->second != second) {
        s_refused_close(self, w, *shared);
        w->second = second;
    }
    return w;
}

bool
refusals_admit(refusals_t *self, const char *peer_key, const job_t *job,
               dossier_status_t code, int64_t now_ms) {
    if (self->per_second == 0) {
        return true;
    }
    bool shared = false;
    s_refused_t *w = s_refused_window(self, peer_key, now_ms / 1000, &shared);
    if (w->noted < self->per_second) {
        w->noted++;
        return true;
    }
    w->dropped++;
    w->method = job->method;
    w->code = code;
    w->role = job->role;
    memcpy(w->user, job->user, sizeof w->user);
    return false;
}
