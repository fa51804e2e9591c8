/*  apispec.c: reads each method's options from the API's descriptor set.

    The set is the FileDescriptorSet protoc wrote at build time (with its
    imports), unpacked with protobuf-c's generated descriptor.proto code.
    idempotency_level is an ordinary field of MethodOptions; our
    (dossier.v1.required_role) is an extension, which protobuf-c keeps as
    an unknown field: a varint under field number 50701. The rows made
    from it stay for the life of the process, as the generated
    descriptors do; the set itself is freed once read. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apispec.h"
#include "google/protobuf/descriptor.pb-c.h"

/* options.proto: extend google.protobuf.MethodOptions { Role
   required_role = 50701; } */
#define S_REQUIRED_ROLE_FIELD 50701

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static apispec_method_t *s_methods;
static size_t s_n_methods;
static dossier_status_t s_status = DOSSIER_INTERNAL;
static char s_why[sizeof(((dossier_error_t *)0)->message)] = "not loaded";

/*  Decodes the varint of an unknown field into *value; false when it is
    not one (wrong wire type, truncated, too long). */
static bool
s_unknown_varint(const ProtobufCMessageUnknownField *field, uint64_t *value) {
    if (field->wire_type != PROTOBUF_C_WIRE_TYPE_VARINT) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < field->len && i < 10; i++) {
        v |= (uint64_t)(field->data[i] & 0x7f) << (7 * i);
        if (!(field->data[i] & 0x80)) {
            *value = v;
            return true;
        }
    }
    return false;
}

/*  Fills row from method's options; false (with s_why set) when an
    option holds a value this build does not know. */
static bool
s_read_options(const Google__Protobuf__MethodDescriptorProto *method,
               apispec_method_t *row) {
    const Google__Protobuf__MethodOptions *options = method->options;
    row->idempotency = APISPEC_IDEMPOTENCY_UNKNOWN;
    row->role = APISPEC_ROLE_UNSPECIFIED;
    if (!options) {
        return true;
    }
    if (options->has_idempotency_level) {
        row->idempotency_declared = true;
        row->idempotency = (apispec_idempotency_t)options->idempotency_level;
    }
    for (size_t i = 0; i < options->base.n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *field =
            &options->base.unknown_fields[i];
        uint64_t role;
        if (field->tag != S_REQUIRED_ROLE_FIELD) {
            continue;
        }
        if (!s_unknown_varint(field, &role) || role > APISPEC_ROLE_ADMIN) {
            snprintf(s_why, sizeof s_why,
                     "method %s: required_role is not a known role",
                     method->name);
            return false;
        }
        row->role = (apispec_role_t)role;
    }
    return true;
}

/*  The service APISPEC_SERVICE in set, or NULL. */
static const Google__Protobuf__ServiceDescriptorProto *
s_find_service(const Google__Protobuf__FileDescriptorSet *set) {
    const char *dot = strrchr(APISPEC_SERVICE, '.');
    size_t package_len = (size_t)(dot - APISPEC_SERVICE);
    for (size_t f = 0; f < set->n_file; f++) {
        const Google__Protobuf__FileDescriptorProto *file = set->file[f];
        if (!file->package || strlen(file->package) != package_len ||
            strncmp(file->package, APISPEC_SERVICE, package_len) != 0) {
            continue;
        }
        for (size_t s = 0; s < file->n_service; s++) {
            if (strcmp(file->service[s]->name, dot + 1) == 0) {
                return file->service[s];
            }
        }
    }
    return NULL;
}

static void
s_load(void) {
    Google__Protobuf__FileDescriptorSet *set =
        google__protobuf__file_descriptor_set__unpack(
            NULL, dossier_api_descriptor_size, dossier_api_descriptor);
    const Google__Protobuf__ServiceDescriptorProto *service;
    apispec_method_t *rows = NULL;
    size_t i = 0;
    if (!set) {
        snprintf(s_why, sizeof s_why, "the API descriptor set is unreadable");
        return;
    }
    service = s_find_service(set);
    if (!service) {
        snprintf(s_why, sizeof s_why, "the API descriptor set has no %s",
                 APISPEC_SERVICE);
        goto free_set;
    }
    rows = calloc(service->n_method + 1, sizeof *rows);
    if (!rows) {
        snprintf(s_why, sizeof s_why, "out of memory");
        goto free_set;
    }
    for (i = 0; i < service->n_method; i++) {
        const Google__Protobuf__MethodDescriptorProto *method =
            service->method[i];
        size_t size = strlen(APISPEC_SERVICE) + strlen(method->name) + 2;
        char *full_name = malloc(size);
        if (!full_name) {
            snprintf(s_why, sizeof s_why, "out of memory");
            goto free_rows;
        }
        snprintf(full_name, size, "%s/%s", APISPEC_SERVICE, method->name);
        /* "Get" is the tail of "dossier.v1.Reports/Get": no copy of its
           own, and nothing points into the descriptor set after it. */
        rows[i].name = full_name + strlen(APISPEC_SERVICE) + 1;
        rows[i].full_name = full_name;
        if (!s_read_options(method, &rows[i])) {
            i++;
            goto free_rows;
        }
    }
    /* The rows and their names stay for the process; the set goes. */
    s_methods = rows;
    s_n_methods = service->n_method;
    s_status = DOSSIER_OK;
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    return;

free_rows:
    while (i-- > 0) {
        free((char *)rows[i].full_name);
    }
    free(rows);
free_set:
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
}

dossier_status_t
apispec_load(dossier_error_t *err) {
    pthread_once(&s_once, s_load);
    if (s_status != DOSSIER_OK) {
        return dossier_error_set(err, s_status, "%s", s_why);
    }
    return DOSSIER_OK;
}

const apispec_method_t *
apispec_methods(size_t *n) {
    pthread_once(&s_once, s_load);
    *n = s_n_methods;
    return s_methods;
}

const apispec_method_t *
apispec_find(const char *full_name) {
    size_t n;
    const apispec_method_t *rows = apispec_methods(&n);
    if (!full_name) {
        return NULL;
    }
    if (*full_name == '/') {
        full_name++;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].full_name, full_name) == 0) {
            return &rows[i];
        }
    }
    return NULL;
}

bool
apispec_retry_safe(const apispec_method_t *method) {
    return method && (method->idempotency == APISPEC_NO_SIDE_EFFECTS ||
                      method->idempotency == APISPEC_IDEMPOTENT);
}

const char *
apispec_role_name(apispec_role_t role) {
    switch (role) {
    case APISPEC_ROLE_READER:
        return "reader";
    case APISPEC_ROLE_WRITER:
        return "writer";
    case APISPEC_ROLE_ADMIN:
        return "admin";
    default:
        return "none";
    }
}
