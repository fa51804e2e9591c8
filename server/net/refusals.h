/*  refusals.h: how many refused calls of one connection reach the audit
    log.

    A connection flooding refused calls must not flood the audit log: its
    first `per_second` refused calls of each second get their own note,
    the rest are counted, and one summary note says how many were not
    recorded once its second is over (the next sweep, or the peer's next
    refused call) or at shutdown. A peer's window lives only until its
    second is over, so the table holds the connections refused in the
    last second or so, and at most REFUSALS_PEERS_MAX of them: past that,
    the calls of further connections share one window, whose summary
    says so. Loop thread only. */
#ifndef DOSSIER_SERVER_REFUSALS_H
#define DOSSIER_SERVER_REFUSALS_H

#include <stdbool.h>
#include <stdint.h>

#include "exec/job.h"
#include "status.h"

#define REFUSALS_PEERS_MAX 1024

typedef struct refusals_t refusals_t;

/*  Writes one note to the audit log for job (borrowed: the call, or a
    summary with its method, user and role), with code and message. */
typedef void (*refusals_emit_fn)(void *arg, const job_t *job,
                                 dossier_status_t code, const char *message);

/*  A new table: per_second notes per connection and second (0: every
    refused call gets its note); emit(arg, ...) writes the summary
    notes. Returns NULL when out of memory. */
refusals_t *refusals_new(unsigned per_second, refusals_emit_fn emit, void *arg);

/*  Frees the table (summaries not yet written are lost: sweep with all
    first); takes NULL; sets *self_p to NULL. */
void refusals_destroy(refusals_t **self_p);

/*  One refused call of the connection named peer_key (borrowed) at
    now_ms: true when it gets its own note (the caller writes it), false
    when it was counted for its window's summary. job is borrowed. */
bool refusals_admit(refusals_t *self, const char *peer_key, const job_t *job,
                    dossier_status_t code, int64_t now_ms);

/*  Closes every window of a second before now_ms's (every window when
    all is set, at shutdown), writing their summaries, and forgets their
    connections; runs at most once a second unless all is set. */
void refusals_sweep(refusals_t *self, int64_t now_ms, bool all);

#endif
