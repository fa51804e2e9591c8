/*  split.c: see split.h. The threads are the call's own, started and
    joined here: raising a thread's nice needs no privilege, lowering it
    back would, so the serving threads keep their priority. */
#include "api/split.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The nice value of a batch's threads. The writer, serial, is a bulk
   write's bottleneck and needs a core whenever it can run; the split
   work keeps ahead of it on what is left, and yields to the loop's and
   the workers' short requests too. */
#define S_NICE 5
#define S_THREADS_MAX 4

typedef struct {
    void (*fn)(void *ctx, size_t lo, size_t hi);
    void *ctx;
    size_t lo, hi;
} s_range_t;

static void *
s_run_range(void *arg) {
    /* Best effort: at worst the thread runs at the default priority. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), S_NICE);
    s_range_t *range = arg;
    range->fn(range->ctx, range->lo, range->hi);
    return NULL;
}

void
split_run(size_t n, size_t min_per_thread,
          void (*fn)(void *ctx, size_t lo, size_t hi), void *ctx) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = cores > 1 ? (size_t)cores : 1;
    if (threads > S_THREADS_MAX) {
        threads = S_THREADS_MAX;
    }
    size_t most = min_per_thread ? n / min_per_thread : n;
    if (threads > most) {
        threads = most ? most : 1;
    }
    if (threads == 1) {
        fn(ctx, 0, n);
        return;
    }
    s_range_t ranges[S_THREADS_MAX];
    pthread_t ids[S_THREADS_MAX];
    bool started[S_THREADS_MAX] = {false};
    for (size_t t = 0; t < threads; t++) {
        ranges[t] =
            (s_range_t){fn, ctx, n * t / threads, n * (t + 1) / threads};
        started[t] =
            pthread_create(&ids[t], NULL, s_run_range, &ranges[t]) == 0;
    }
    for (size_t t = 0; t < threads; t++) {
        if (started[t]) {
            pthread_join(ids[t], NULL);
        } else {
            fn(ctx, ranges[t].lo, ranges[t].hi);
        }
    }
}
