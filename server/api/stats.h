/*  stats.h: request counts by method and status code, and uptime.

    Owned and updated by the socket loop only (no locking): the loop
    counts every Response it sends, and the Stats handler, which runs
    inline in the loop, reads the counts. */
#ifndef DOSSIER_SERVER_STATS_H
#define DOSSIER_SERVER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "dossier/v1/reports.pb-c.h"
#include "status.h"

typedef struct stats_t stats_t;

/*  Creates counters for n_methods methods named by names (borrowed, must
    outlive the stats; full names such as "dossier.v1.Reports/Get") plus
    one more slot, index n_methods, for requests that named no known
    method or were not requests at all. Returns NULL when out of memory.
*/
stats_t *stats_new(const char *const *names, size_t n_methods);

/*  Frees the stats; takes NULL; sets *self_p to NULL. */
void stats_destroy(stats_t **self_p);

/*  Counts one reply with code for method index (n_methods: no method).
    Codes outside 0..16 are counted as UNKNOWN (2). */
void stats_count(stats_t *self, size_t method, int code);

/*  Total replies counted. */
uint64_t stats_total(const stats_t *self);

/*  Seconds since stats_new. */
uint64_t stats_uptime_seconds(const stats_t *self);

/*  Adds uptime_seconds, server_version (DOSSIER_VERSION) and one
    MethodCount per (method, code) seen to response, which the caller
    owns and frees with dossier__v1__stats_response__free_unpacked (the
    added parts are malloc'd as protobuf-c's default allocator expects).
    Returns DOSSIER_OK or DOSSIER_RESOURCE_EXHAUSTED. */
dossier_status_t stats_fill(const stats_t *self,
                            Dossier__V1__StatsResponse *response,
                            dossier_error_t *err);

#endif
