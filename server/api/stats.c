/*  stats.c: a flat array of counters, [method][code]. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/stats.h"

#define S_CODES 17

struct stats_t {
    const char *const *names;
    size_t n_methods;
    uint64_t *counts; /* (n_methods + 1) * S_CODES */
    uint64_t total;
    time_t started;
};

stats_t *
stats_new(const char *const *names, size_t n_methods) {
    stats_t *self = calloc(1, sizeof *self);
    if (!self) {
        return NULL;
    }
    self->counts = calloc((n_methods + 1) * S_CODES, sizeof *self->counts);
    if (!self->counts) {
        free(self);
        return NULL;
    }
    self->names = names;
    self->n_methods = n_methods;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    self->started = now.tv_sec;
    return self;
}

void
stats_destroy(stats_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    free((*self_p)->counts);
    free(*self_p);
    *self_p = NULL;
}

void
stats_count(stats_t *self, size_t method, int code) {
    if (method > self->n_methods) {
        method = self->n_methods;
    }
    if (code < 0 || code >= S_CODES) {
        code = DOSSIER_UNKNOWN;
    }
    self->counts[method * S_CODES + (size_t)code]++;
    self->total++;
}

uint64_t
stats_total(const stats_t *self) {
    return self->total;
}

uint64_t
stats_uptime_seconds(const stats_t *self) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - self->started);
}

dossier_status_t
stats_fill(const stats_t *self, Dossier__V1__StatsResponse *response,
           dossier_error_t *err) {
    size_t used = 0;
    size_t slots = (self->n_methods + 1) * S_CODES;
    for (size_t i = 0; i < slots; i++) {
        used += self->counts[i] != 0;
    }
    Dossier__V1__MethodCount **counts = calloc(used ? used : 1, sizeof *counts);
    char *version = strdup(DOSSIER_VERSION);
    if (!counts || !version) {
        free(counts);
        free(version);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < slots; i++) {
        if (!self->counts[i]) {
            continue;
        }
        size_t method = i / S_CODES;
        const char *name = method < self->n_methods ? self->names[method]
                                                    : "(invalid request)";
        Dossier__V1__MethodCount *count = malloc(sizeof *count);
        char *copy = strdup(name);
        if (!count || !copy) {
            free(count);
            free(copy);
            break;
        }
        dossier__v1__method_count__init(count);
        count->method = copy;
        count->code = (int32_t)(i % S_CODES);
        count->count = self->counts[i];
        counts[n++] = count;
    }
    /* Replace what may already be there (store_stats does not fill it). */
    for (size_t i = 0; i < response->n_requests; i++) {
        dossier__v1__method_count__free_unpacked(response->requests[i], NULL);
    }
    free(response->requests);
    response->requests = counts;
    response->n_requests = n;
    if (response->server_version &&
        response->server_version != protobuf_c_empty_string) {
        free(response->server_version);
    }
    response->server_version = version;
    response->uptime_seconds = stats_uptime_seconds(self);
    if (n < used) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    return DOSSIER_OK;
}
