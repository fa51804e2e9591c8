/*  fields.c: see fields.h. */
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "api/fields.h"

const char *
fields_or_null(const char *text) {
    return text && *text ? text : NULL;
}

dossier_status_t
fields_set_string(char **field, const char *text, dossier_error_t *err) {
    char *copy = strdup(text);
    if (!copy) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    if (*field && *field != protobuf_c_empty_string) {
        free(*field);
    }
    *field = copy;
    return DOSSIER_OK;
}
