/*  metrics.h: dossier-gateway's counters, served at GET /metrics in the
    Prometheus text format (version 0.0.4).

    dossier_gateway_requests_total{method,code}   requests answered
    dossier_gateway_request_duration_seconds      a histogram per method
    dossier_gateway_in_flight_requests            requests being served

    method is the Reports method's name, or "other" for every other path
    (/healthz, /metrics, unknown ones); code is the Connect code's name
    ("ok", "not_found", ...). Every update is a relaxed atomic add, so the
    connection threads never wait on each other; a scrape may see one
    request counted and its histogram not yet, which Prometheus allows. */
#ifndef DOSSIER_GATEWAY_METRICS_H
#define DOSSIER_GATEWAY_METRICS_H

#include <stddef.h>

typedef struct metrics metrics_t;

/*  A new set of counters at zero, or NULL when out of memory. */
metrics_t *metrics_new(void);

/*  Frees metrics and sets *metrics_p to NULL; takes NULL. */
void metrics_destroy(metrics_t **metrics_p);

/*  A request has come in: the in-flight gauge goes up. */
void metrics_begin(metrics_t *metrics);

/*  A request begun with metrics_begin was answered: method is the index
    of its method in dossier.v1.Reports (-1: another path), code the
    Connect code it got (0 ok), seconds how long it took. */
void metrics_end(metrics_t *metrics, int method, int code, double seconds);

/*  The text of every metric; malloc'd (the caller frees) with its length
    in *size_p, or NULL when out of memory. */
char *metrics_render(metrics_t *metrics, size_t *size_p);

#endif
