/*  split.h: a batch's per-item work (parsing, checking, tokenizing)
    spread over a few threads of lower priority while the calling worker
    waits, so a bulk call uses the machine's other cores (ImportBatch,
    PutBatch). */
#ifndef DOSSIER_SERVER_SPLIT_H
#define DOSSIER_SERVER_SPLIT_H

#include <stddef.h>

/*  Calls fn(ctx, lo, hi) over consecutive ranges covering [0, n): on up
    to 4 threads (one per online core, at nice 5) when n is at least
    twice min_per_thread, else on this thread; a range whose thread could
    not start runs here. Returns when every range is done. fn must let
    ranges share nothing but ctx's read-only parts. */
void split_run(size_t n, size_t min_per_thread,
               void (*fn)(void *ctx, size_t lo, size_t hi), void *ctx);

#endif
