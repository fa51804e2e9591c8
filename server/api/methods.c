/*  methods.c: THE table. Every method of dossier.v1.Reports has exactly
    one row here; methods_init() refuses to start the server otherwise.

    Columns: name, stage handler, write handler, runs.
    - Get, Health, Describe, Stats, ClusterStatus run inline in the
      socket loop: a read of one record costs less than a thread hop
      (DESIGN.md Concurrency).
    - List, History, Changes, Search run on a worker: they walk many
      records and must not stall the cheap calls.
    - Put and Delete run on the writer, group-committed.
    - ImportText and ImportBatch parse on a worker, then store on the
      writer (a dry run ends on the worker); PutBatch checks and
      tokenizes its records on a worker, then stores them on the writer.
    - Audit (admin) reads the audit log on a worker.
    - CreateToken and RevokeToken (admin) write the tokens on the writer;
      ListTokens reads them on a worker.
    The role a method needs and whether a client may resend it are not
    columns: they are the method's options in reports.proto, joined in
    from the API's descriptors (common/apispec.h) by methods_join, so the
    server and the clients read them from one place. */
#include <stdio.h>
#include <string.h>

#include "apispec.h"
#include "api/audit.h"
#include "api/backup.h"
#include "api/methods.h"
#include "dossier/v1/reports.pb-c.h"

/* Columns: name, stage handler, write handler, runs. */
#define S_ROW(n, h, w, where)                                                  \
    { .name = n, .handler = h, .write = w, .runs = where }

/* clang-format off */
static method_t s_methods[] = {
    S_ROW("Put", NULL, handle_put, RUNS_WRITER),
    S_ROW("Get", handle_get, NULL, RUNS_INLINE),
    S_ROW("Delete", NULL, handle_delete, RUNS_WRITER),
    S_ROW("List", handle_list, NULL, RUNS_WORKER),
    S_ROW("ImportText", handle_import_text_parse, handle_import_text_write, RUNS_WORKER),
    S_ROW("ImportBatch", handle_import_batch_parse, handle_import_batch_write, RUNS_WORKER),
    S_ROW("PutBatch", handle_put_batch_check, handle_put_batch_write, RUNS_WORKER),
    S_ROW("ListVersions", handle_list_versions, NULL, RUNS_WORKER),
    S_ROW("History", handle_history, NULL, RUNS_WORKER),
    S_ROW("Changes", handle_changes, NULL, RUNS_WORKER),
    S_ROW("Search", handle_search, NULL, RUNS_WORKER),
    S_ROW("Stats", handle_stats, NULL, RUNS_INLINE),
    S_ROW("Health", handle_health, NULL, RUNS_INLINE),
    S_ROW("Describe", handle_describe, NULL, RUNS_INLINE),
    S_ROW("Audit", handle_audit, NULL, RUNS_WORKER),
    S_ROW("Backup", handle_backup, NULL, RUNS_WORKER),
    S_ROW("BackupRead", handle_backup_read, NULL, RUNS_WORKER),
    S_ROW("ReloadUsers", handle_reload_users, NULL, RUNS_INLINE),
    S_ROW("WhoAmI", handle_whoami, NULL, RUNS_INLINE),
    S_ROW("CreateToken", NULL, handle_create_token, RUNS_WRITER),
    S_ROW("ListTokens", handle_list_tokens, NULL, RUNS_WORKER),
    S_ROW("RevokeToken", NULL, handle_revoke_token, RUNS_WRITER),
    S_ROW("ClusterStatus", handle_cluster_status, NULL, RUNS_INLINE),
};
/* clang-format on */
#define S_N_METHODS (sizeof s_methods / sizeof s_methods[0])

static const char *s_names[S_N_METHODS];
static bool s_ready;

/*  A row's columns must make sense together. */
static dossier_status_t
s_check_row(const method_t *row, dossier_error_t *err) {
    bool ok;
    switch (row->runs) {
    case RUNS_INLINE:
        ok = row->handler && !row->write;
        break;
    case RUNS_WORKER:
        ok = row->handler != NULL;
        break;
    case RUNS_WRITER:
        ok = !row->handler && row->write;
        break;
    default:
        ok = false;
    }
    if (!ok) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "method table row %s: its handlers do not "
                                 "fit where it runs",
                                 row->name);
    }
    if (row->write && row->role < ROLE_WRITER) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "method table row %s writes but needs only "
                                 "role %s",
                                 row->name, methods_role_name(row->role));
    }
    if (row->role < ROLE_READER || row->role > ROLE_ADMIN) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "method table row %s has no role", row->name);
    }
    return DOSSIER_OK;
}

_Static_assert((int)ROLE_READER == (int)APISPEC_ROLE_READER &&
                   (int)ROLE_WRITER == (int)APISPEC_ROLE_WRITER &&
                   (int)ROLE_ADMIN == (int)APISPEC_ROLE_ADMIN,
               "role_t numbers the roles as options.proto does");

/*  Takes row's role and idempotency from method's options in the API's
    descriptors; each method must declare both. */
static dossier_status_t
s_join_spec(const ProtobufCServiceDescriptor *service,
            const ProtobufCMethodDescriptor *method, method_t *row,
            dossier_error_t *err) {
    char full_name[128];
    snprintf(full_name, sizeof full_name, "%s/%s", service->name, method->name);
    dossier_status_t rc = apispec_load(err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    const apispec_method_t *spec = apispec_find(full_name);
    if (!spec || spec->role == APISPEC_ROLE_UNSPECIFIED) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "method %s declares no (required_role) in "
                                 "proto/dossier/v1/reports.proto",
                                 full_name);
    }
    if (!spec->idempotency_declared) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "method %s declares no idempotency_level in "
                                 "proto/dossier/v1/reports.proto",
                                 full_name);
    }
    row->role = (role_t)spec->role;
    row->idempotency = spec->idempotency;
    return DOSSIER_OK;
}

dossier_status_t
methods_join(const ProtobufCServiceDescriptor *service, method_t *rows,
             size_t n, dossier_error_t *err) {
    bool joined[64] = {false};
    if (n > 64) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "method table has %zu rows, more than 64", n);
    }
    for (unsigned m = 0; m < service->n_methods; m++) {
        const ProtobufCMethodDescriptor *method = &service->methods[m];
        method_t *row = NULL;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(rows[i].name, method->name) == 0) {
                if (row) {
                    return dossier_error_set(
                        err, DOSSIER_INTERNAL,
                        "method table has two rows for %s/%s", service->name,
                        method->name);
                }
                row = &rows[i];
                joined[i] = true;
            }
        }
        if (!row) {
            return dossier_error_set(
                err, DOSSIER_INTERNAL,
                "method %s/%s of the service has no row "
                "in the method table (server/api/methods.c)",
                service->name, method->name);
        }
        dossier_status_t rc = s_join_spec(service, method, row, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
        rc = s_check_row(row, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
        row->input = method->input;
        row->output = method->output;
        row->index = (size_t)(row - rows);
        int size = snprintf(row->full_name, sizeof row->full_name, "%s/%s",
                            service->name, method->name);
        if (size < 0 || (size_t)size >= sizeof row->full_name) {
            return dossier_error_set(err, DOSSIER_INTERNAL,
                                     "method name %s/%s is too long",
                                     service->name, method->name);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!joined[i]) {
            return dossier_error_set(err, DOSSIER_INTERNAL,
                                     "method table row %s names no method of "
                                     "%s",
                                     rows[i].name, service->name);
        }
    }
    return DOSSIER_OK;
}

dossier_status_t
methods_init(dossier_error_t *err) {
    dossier_status_t rc = methods_join(&dossier__v1__reports__descriptor,
                                       s_methods, S_N_METHODS, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    for (size_t i = 0; i < S_N_METHODS; i++) {
        s_names[i] = s_methods[i].full_name;
    }
    s_ready = true;
    return DOSSIER_OK;
}

const method_t *
methods_find(const char *full_name) {
    if (!s_ready || !full_name) {
        return NULL;
    }
    if (*full_name == '/') {
        full_name++;
    }
    for (size_t i = 0; i < S_N_METHODS; i++) {
        if (strcmp(s_methods[i].full_name, full_name) == 0) {
            return &s_methods[i];
        }
    }
    return NULL;
}

size_t
methods_count(void) {
    return S_N_METHODS;
}

const method_t *
methods_at(size_t i) {
    return i < S_N_METHODS ? &s_methods[i] : NULL;
}

const char *const *
methods_names(void) {
    return s_names;
}

bool
methods_allowed(const method_t *method, role_t role) {
    /* A gateway's own calls: Health and Describe (request.c). */
    return role != ROLE_GATEWAY && role >= method->role;
}

bool
methods_role_parse(const char *text, role_t *role) {
    static const role_t roles[] = {ROLE_READER, ROLE_WRITER, ROLE_ADMIN};
    for (size_t i = 0; text && i < sizeof roles / sizeof roles[0]; i++) {
        if (strcmp(text, methods_role_name(roles[i])) == 0) {
            *role = roles[i];
            return true;
        }
    }
    return false;
}

const char *
methods_role_name(role_t role) {
    switch (role) {
    case ROLE_READER:
        return "reader";
    case ROLE_WRITER:
        return "writer";
    case ROLE_ADMIN:
        return "admin";
    case ROLE_GATEWAY:
        return "gateway";
    default:
        return "none";
    }
}
