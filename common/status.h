/*  status.h: the one status type of Dossier.

    The numbers are gRPC's canonical status codes, because they travel on
    the wire in Response.code. Every function of every Dossier API that can
    fail returns a dossier_status_t; dossier_strerror() names each. */
#ifndef DOSSIER_STATUS_H
#define DOSSIER_STATUS_H

typedef enum {
    DOSSIER_OK = 0,
    DOSSIER_CANCELLED = 1,
    DOSSIER_UNKNOWN = 2,
    DOSSIER_INVALID_ARGUMENT = 3,
    DOSSIER_DEADLINE_EXCEEDED = 4,
    DOSSIER_NOT_FOUND = 5,
    DOSSIER_ALREADY_EXISTS = 6,
    DOSSIER_PERMISSION_DENIED = 7,
    DOSSIER_RESOURCE_EXHAUSTED = 8,
    DOSSIER_FAILED_PRECONDITION = 9,
    DOSSIER_ABORTED = 10,
    DOSSIER_OUT_OF_RANGE = 11,
    DOSSIER_UNIMPLEMENTED = 12,
    DOSSIER_INTERNAL = 13,
    DOSSIER_UNAVAILABLE = 14,
    DOSSIER_DATA_LOSS = 15,
    DOSSIER_UNAUTHENTICATED = 16,
} dossier_status_t;

/*  A status with the sentence that explains it to a person. Functions that
    can fail take an optional `dossier_error_t *err` (NULL: no message
    wanted) as their last parameter and fill it only when they fail. */
typedef struct {
    dossier_status_t code;
    char message[256];
} dossier_error_t;

/*  Records code and a printf-style message in *err (if err is not NULL),
    truncating a long message. Returns code, so a failing path can say
    `return dossier_error_set(err, DOSSIER_NOT_FOUND, "no report %s", id);`.
*/
dossier_status_t dossier_error_set(dossier_error_t *err, dossier_status_t code,
                                   const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*  Returns the canonical name of status, "NOT_FOUND"; a static string.
    A number outside the enum yields "UNKNOWN_STATUS". */
const char *dossier_strerror(int status);

/*  Parses a canonical name ("NOT_FOUND", any case) into *status.
    Returns DOSSIER_OK, or DOSSIER_INVALID_ARGUMENT leaving *status as is. */
dossier_status_t dossier_status_parse(const char *name,
                                      dossier_status_t *status);

#endif
