/*  fields.h: small operations on the fields of decoded protobuf-c
    messages that several handlers need. */
#ifndef DOSSIER_SERVER_FIELDS_H
#define DOSSIER_SERVER_FIELDS_H

#include "status.h"

/*  NULL for NULL or "", so an unset string field does not filter;
    text otherwise (borrowed). */
const char *fields_or_null(const char *text);

/*  Replaces the protobuf-c string field *field (freeing the old value
    unless it is protobuf_c_empty_string) with a malloc'd copy of text, as
    the message's free_unpacked expects. Returns DOSSIER_OK, or
    DOSSIER_RESOURCE_EXHAUSTED leaving *field as it was. */
dossier_status_t fields_set_string(char **field, const char *text,
                                   dossier_error_t *err);

#endif
