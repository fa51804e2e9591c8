/*  methods.h: the dispatch table of dossier.v1.Reports.

    One row per method in methods.c gives its handler(s) and where it
    runs. At start-up methods_init() joins the table with protoc-c's
    service descriptor (dossier__v1__reports__descriptor) by method name,
    taking the input and output message descriptors from it, and with the
    method options of the API's descriptor set (common/apispec.h): the
    role it needs and its idempotency level. It fails when a descriptor
    method has no row, a row no descriptor method, or a method no role or
    idempotency level, so the .proto and the server cannot drift apart
    silently. */
#ifndef DOSSIER_SERVER_METHODS_H
#define DOSSIER_SERVER_METHODS_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "apispec.h"
#include "api/handlers.h"
#include "exec/job.h"
#include "status.h"

typedef enum {
    RUNS_INLINE, /* in the socket loop: cheap reads */
    RUNS_WORKER, /* on a worker thread; may continue on the writer */
    RUNS_WRITER, /* on the writer thread, group-committed */
} method_runs_t;

typedef struct method_t {
    const char *name;       /* "Get": the service descriptor's name */
    handler_fn handler;     /* inline or worker stage; NULL: writer only */
    handler_write_fn write; /* writer stage; NULL: no writes */
    method_runs_t runs;     /* where the first stage runs */

    /* Filled by methods_join from the descriptors. */
    role_t role; /* least role allowed to call it (required_role) */
    apispec_idempotency_t idempotency; /* idempotency_level */
    const ProtobufCMessageDescriptor *input;
    const ProtobufCMessageDescriptor *output;
    char full_name[96]; /* "dossier.v1.Reports/Get" */
    size_t index;       /* row number, for per-method counters */
} method_t;

/*  Joins the table with the service descriptor. Call once, before any
    other methods_* call and before threads start. Returns DOSSIER_OK or
    DOSSIER_INTERNAL with err naming the method without a row or the row
    without a method, or a row whose columns disagree. */
dossier_status_t methods_init(dossier_error_t *err);

/*  Checks rows (n of them) against service, as methods_init does, filling
    their descriptor fields. Exposed so a test can check a broken table. */
dossier_status_t methods_join(const ProtobufCServiceDescriptor *service,
                              method_t *rows, size_t n, dossier_error_t *err);

/*  The row for a full method name ("dossier.v1.Reports/Get", also with a
    leading '/'), or NULL. Borrowed, static. */
const method_t *methods_find(const char *full_name);

/*  Number of rows, and row i (i < methods_count()). */
size_t methods_count(void);
const method_t *methods_at(size_t i);

/*  The full names of all rows, in row order (static; for stats). */
const char *const *methods_names(void);

/*  True when a caller with role may call method. ROLE_GATEWAY is
    allowed nothing here: request.c lets it call Health and Describe. */
bool methods_allowed(const method_t *method, role_t role);

/*  Parses "reader", "writer" or "admin" into *role (written only on
    success); false for anything else, "gateway" and NULL included. */
bool methods_role_parse(const char *text, role_t *role);

/*  "reader", "writer", "admin", "gateway" (or "none"); a static string. */
const char *methods_role_name(role_t role);

#endif
