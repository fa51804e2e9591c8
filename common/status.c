/*  status.c: names of the gRPC canonical status codes used by Dossier. */
#include "status.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <strings.h>

static const char *const s_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

#define S_COUNT (int)(sizeof s_names / sizeof s_names[0])

const char *
dossier_strerror(int status) {
    if (status < 0 || status >= S_COUNT) {
        return "UNKNOWN_STATUS";
    }
    return s_names[status];
}

dossier_status_t
dossier_status_parse(const char *name, dossier_status_t *status) {
    if (name == NULL) {
        return DOSSIER_INVALID_ARGUMENT;
    }
    for (int i = 0; i < S_COUNT; i++) {
        if (strcasecmp(name, s_names[i]) == 0) {
            *status = (dossier_status_t)i;
            return DOSSIER_OK;
        }
    }
    return DOSSIER_INVALID_ARGUMENT;
}

dossier_status_t
dossier_error_set(dossier_error_t *err, dossier_status_t code, const char *fmt,
                  ...) {
    if (err != NULL) {
        va_list args;
        va_start(args, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, args);
        va_end(args);
    }
    return code;
}
