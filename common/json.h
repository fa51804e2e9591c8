/*  json.h: protobuf <-> JSON for any message, driven by protobuf-c's
    descriptors, following the proto3 JSON mapping: lowerCamelCase names
    (json_name), enums as their names, 64-bit integers as strings, bytes as
    base64, default values omitted, repeated fields as arrays, maps as
    objects. Parsing accepts both lowerCamelCase and the proto field names,
    enum names or numbers, and 64-bit integers as strings or numbers, and
    rejects unknown fields and wrong types with a message naming the path
    ("report.year: expected an integer"). */
#ifndef DOSSIER_JSON_H
#define DOSSIER_JSON_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "status.h"

/*  Flags for json_from_message. */
enum {
    JSON_COMPACT = 0, /* one line */
    JSON_PRETTY = 1,  /* indented, for people */
};

/*  Renders message as JSON. Returns a malloc'd NUL-terminated string (the
    caller frees) or NULL when out of memory. */
char *json_from_message(const ProtobufCMessage *message, int flags);

/*  Parses size bytes of JSON text into a new message of type descriptor.
    On success *message_p is the caller's, freed with
    protobuf_c_message_free_unpacked(*message_p, NULL). On bad input
    returns DOSSIER_INVALID_ARGUMENT with err saying where and why. */
dossier_status_t json_to_message(const ProtobufCMessageDescriptor *descriptor,
                                 const char *text, size_t size,
                                 ProtobufCMessage **message_p,
                                 dossier_error_t *err);

#endif
