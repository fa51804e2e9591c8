/*  apispec.h: what the .proto declares of each method of dossier.v1.Reports.

    The facts the server and every client must agree on are written once,
    as method options in proto/dossier/v1/reports.proto: whether a call may
    be sent again when its reply is late (the standard idempotency_level)
    and the least role that may call it ((dossier.v1.required_role),
    options.proto). This module reads them from the API's descriptor set
    compiled into the program (the bytes Describe serves), so the server's
    method table and libdossier's retry decision come from the same
    source; the Python client reads the same options from its generated
    descriptors.

    The descriptor set is parsed once, on first use, by whichever thread
    gets there first (pthread_once); what it hands out is static and
    read-only afterwards, safe from any thread. */
#ifndef DOSSIER_APISPEC_H
#define DOSSIER_APISPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

/* The service every method here belongs to. */
#define APISPEC_SERVICE "dossier.v1.Reports"

/*  The FileDescriptorSet of the API (the .proto files of proto/dossier/v1
    and their imports), as protoc wrote it at build time: static, never freed.
 */
extern const unsigned char dossier_api_descriptor[];
extern const size_t dossier_api_descriptor_size;

/*  MethodOptions.idempotency_level, numbered as in descriptor.proto. */
typedef enum {
    APISPEC_IDEMPOTENCY_UNKNOWN = 0, /* never resent (Backup) */
    APISPEC_NO_SIDE_EFFECTS = 1,     /* a read: resent freely */
    APISPEC_IDEMPOTENT = 2,          /* a write: resent with its
                                        idempotency key */
} apispec_idempotency_t;

/*  dossier.v1.Role, numbered as in options.proto. */
typedef enum {
    APISPEC_ROLE_UNSPECIFIED = 0,
    APISPEC_ROLE_READER = 1,
    APISPEC_ROLE_WRITER = 2,
    APISPEC_ROLE_ADMIN = 3,
} apispec_role_t;

typedef struct {
    const char *name;      /* "Get" */
    const char *full_name; /* "dossier.v1.Reports/Get" */
    apispec_idempotency_t idempotency;
    bool idempotency_declared; /* the method sets idempotency_level */
    apispec_role_t role; /* APISPEC_ROLE_UNSPECIFIED: the method sets none */
} apispec_method_t;

/*  Parses the descriptor set (once; later calls return the first
    outcome). Returns DOSSIER_OK, or DOSSIER_INTERNAL with err naming what
    is missing or unreadable (no such service, a method option of the
    wrong type, out of memory). The other calls load on first use too;
    call this to learn why they find nothing. */
dossier_status_t apispec_load(dossier_error_t *err);

/*  The methods of APISPEC_SERVICE in declaration order: *n gets their
    number. Returns the array (static, read-only), or NULL with *n = 0 when
    the descriptor set could not be read. */
const apispec_method_t *apispec_methods(size_t *n);

/*  The method whose full name is full_name ("dossier.v1.Reports/Get", also
    with a leading '/'), or NULL for a name the service does not have.
    Borrowed, static. */
const apispec_method_t *apispec_find(const char *full_name);

/*  True when a client may send a call of method again after its reply
    came late or the connection failed: NO_SIDE_EFFECTS methods, and
    IDEMPOTENT ones (which a client sends with an idempotency key). False
    for NULL (a method the service does not declare: assume the worst). */
bool apispec_retry_safe(const apispec_method_t *method);

/*  "reader", "writer", "admin", or "none"; a static string. */
const char *apispec_role_name(apispec_role_t role);

#endif
