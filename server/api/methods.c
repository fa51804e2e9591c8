/*  methods.c: THE table. Every method of dossier.v1.Reports has exactly
    one row here; methods_init() refuses to start the server otherwise.

    Columns: name, stage handler, write handler, role, idempotent, runs.
    - Get, Health, Describe, Stats run inline in the socket loop: a read
      of one record costs less than a thread hop (DESIGN.md Concurrency).
    - List, History, Changes, Search run on a worker: they walk many
      records and must not stall the cheap calls.
    - Put and Delete run on the writer, group-committed.
    - ImportText and ImportBatch parse on a worker, then store on the
      writer (a dry run ends on the worker).
    - Audit (admin) reads the audit log on a worker.
    The idempotent column means "safe to send again": true for every
    read, and for every write too, because a write carries an
    idempotency key and the writer answers a repeated key with the first
    reply instead of writing again (server/api/audit.h). A row is false only
    for a method whose retry could change the outcome. */
#include <stdio.h>
#include <string.h>

#include "api/audit.h"
#include "net/auth.h"
#include "api/backup.h"
#include "dossier/v1/reports.pb-c.h"
#include "api/methods.h"

/* Columns: name, stage handler, write handler, role, idempotent, runs. */
#define S_ROW(n, h, w, r, i, where)                                            \
    {                                                                          \
        .name = n, .handler = h, .write = w, .role = r, .idempotent = i,       \
        .runs = where                                                          \
    }

/* clang-format off */
static method_t s_methods[] = {
    S_ROW("Put", NULL, handle_put, ROLE_WRITER, true, RUNS_WRITER),
    S_ROW("Get", handle_get, NULL, ROLE_READER, true, RUNS_INLINE),
    S_ROW("Delete", NULL, handle_delete, ROLE_WRITER, true, RUNS_WRITER),
    S_ROW("List", handle_list, NULL, ROLE_READER, true, RUNS_WORKER),
    S_ROW("ImportText", handle_import_text_parse, handle_import_text_write, ROLE_WRITER, true, RUNS_WORKER),
    S_ROW("ImportBatch", handle_import_batch_parse, handle_import_batch_write, ROLE_WRITER, true, RUNS_WORKER),
    S_ROW("History", handle_history, NULL, ROLE_READER, true, RUNS_WORKER),
    S_ROW("Changes", handle_changes, NULL, ROLE_READER, true, RUNS_WORKER),
    S_ROW("Search", handle_search, NULL, ROLE_READER, true, RUNS_WORKER),
    S_ROW("Stats", handle_stats, NULL, ROLE_READER, true, RUNS_INLINE),
    S_ROW("Health", handle_health, NULL, ROLE_READER, true, RUNS_INLINE),
    S_ROW("Describe", handle_describe, NULL, ROLE_READER, true, RUNS_INLINE),
    S_ROW("Audit", handle_audit, NULL, ROLE_ADMIN, true, RUNS_WORKER),
    S_ROW("Backup", handle_backup, NULL, ROLE_ADMIN, false, RUNS_WORKER),
    S_ROW("BackupRead", handle_backup_read, NULL, ROLE_ADMIN, true, RUNS_WORKER),
    S_ROW("ReloadUsers", auth_handle_reload_users, NULL, ROLE_ADMIN, true, RUNS_INLINE),
    S_ROW("WhoAmI", auth_handle_whoami, NULL, ROLE_READER, true, RUNS_INLINE),
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
        dossier_status_t rc = s_check_row(row, err);
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
    return role >= method->role;
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
    default:
        return "none";
    }
}
