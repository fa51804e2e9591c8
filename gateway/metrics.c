/*  metrics.c: the gateway's counters (see metrics.h). Fixed arrays of
    atomics indexed by method and code: no allocation and no lock on the
    request path. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect.h"
#include "dossier/v1/reports.pb-c.h"

/* Methods of the service, plus "other"; Connect's 17 codes. */
#define S_MAX_METHODS 64
#define S_CODES 17

/* Upper bounds of the latency buckets, in seconds (+Inf is implicit). */
static const double s_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                  0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                  1,      2.5,     5,      10};
#define S_BUCKETS (sizeof s_bounds / sizeof s_bounds[0])

struct metrics {
    atomic_llong in_flight;
    atomic_ullong requests[S_MAX_METHODS + 1][S_CODES];
    atomic_ullong buckets[S_MAX_METHODS + 1][S_BUCKETS + 1];
    atomic_ullong sum_us[S_MAX_METHODS + 1];
};

static size_t
s_n_methods(void) {
    size_t n = dossier__v1__reports__descriptor.n_methods;
    return n < S_MAX_METHODS ? n : S_MAX_METHODS;
}

metrics_t *
metrics_new(void) {
    return calloc(1, sizeof(metrics_t));
}

void
metrics_destroy(metrics_t **metrics_p) {
    if (metrics_p == NULL || *metrics_p == NULL) {
        return;
    }
    free(*metrics_p);
    *metrics_p = NULL;
}

void
metrics_begin(metrics_t *metrics) {
    atomic_fetch_add_explicit(&metrics->in_flight, 1, memory_order_relaxed);
}

void
metrics_end(metrics_t *metrics, int method, int code, double seconds) {
    size_t row = method >= 0 && (size_t)method < s_n_methods() ? (size_t)method
                                                               : S_MAX_METHODS;
    size_t column = code >= 0 && code < S_CODES ? (size_t)code : 2;
    size_t bucket = 0;
    while (bucket < S_BUCKETS && seconds > s_bounds[bucket]) {
        bucket++;
    }
    atomic_fetch_sub_explicit(&metrics->in_flight, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&metrics->requests[row][column], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&metrics->buckets[row][bucket], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&metrics->sum_us[row],
                              (unsigned long long)(seconds * 1e6),
                              memory_order_relaxed);
}

static const char *
s_method_name(size_t row) {
    return row < s_n_methods()
               ? dossier__v1__reports__descriptor.methods[row].name
               : "other";
}

char *
metrics_render(metrics_t *metrics, size_t *size_p) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL) {
        return NULL;
    }
    fprintf(out,
            "# HELP dossier_gateway_in_flight_requests HTTP requests "
            "being served.\n"
            "# TYPE dossier_gateway_in_flight_requests gauge\n"
            "dossier_gateway_in_flight_requests %lld\n",
            (long long)atomic_load(&metrics->in_flight));
    fprintf(out, "# HELP dossier_gateway_requests_total HTTP requests "
                 "answered, by method and Connect code.\n"
                 "# TYPE dossier_gateway_requests_total counter\n");
    size_t rows[S_MAX_METHODS + 1];
    size_t n_rows = 0;
    for (size_t m = 0; m < s_n_methods(); m++) {
        rows[n_rows++] = m;
    }
    rows[n_rows++] = S_MAX_METHODS;
    for (size_t i = 0; i < n_rows; i++) {
        for (int code = 0; code < S_CODES; code++) {
            unsigned long long n =
                atomic_load(&metrics->requests[rows[i]][code]);
            if (n > 0) {
                fprintf(out,
                        "dossier_gateway_requests_total{method=\"%s\","
                        "code=\"%s\"} %llu\n",
                        s_method_name(rows[i]), connect_code_name(code), n);
            }
        }
    }
    fprintf(out, "# HELP dossier_gateway_request_duration_seconds Time from "
                 "a request's headers to its answer.\n"
                 "# TYPE dossier_gateway_request_duration_seconds "
                 "histogram\n");
    for (size_t i = 0; i < n_rows; i++) {
        size_t row = rows[i];
        unsigned long long total = 0;
        for (size_t b = 0; b <= S_BUCKETS; b++) {
            total += atomic_load(&metrics->buckets[row][b]);
        }
        if (total == 0) {
            continue;
        }
        const char *name = s_method_name(row);
        unsigned long long cumulative = 0;
        for (size_t b = 0; b <= S_BUCKETS; b++) {
            cumulative += atomic_load(&metrics->buckets[row][b]);
            if (b < S_BUCKETS) {
                fprintf(out,
                        "dossier_gateway_request_duration_seconds_bucket{"
                        "method=\"%s\",le=\"%g\"} %llu\n",
                        name, s_bounds[b], cumulative);
            } else {
                fprintf(out,
                        "dossier_gateway_request_duration_seconds_bucket{"
                        "method=\"%s\",le=\"+Inf\"} %llu\n",
                        name, cumulative);
            }
        }
        fprintf(out,
                "dossier_gateway_request_duration_seconds_sum{method=\"%s\"} "
                "%.6f\n"
                "dossier_gateway_request_duration_seconds_count{method="
                "\"%s\"} %llu\n",
                name, (double)atomic_load(&metrics->sum_us[row]) / 1e6, name,
                cumulative);
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    *size_p = size;
    return text;
}
