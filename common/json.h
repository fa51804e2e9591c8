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

/*  Flags for json_from_message.

    Note: jansson.h #defines JSON_COMPACT as a macro; a file that needs both
    headers must include this one first. */
enum {
    JSON_COMPACT = 0, /* one line */
    JSON_PRETTY = 1,  /* indented, for people */
};

/*  Renders message (borrowed) as JSON. Fields appear in field-number order
    under their lowerCamelCase names; fields holding their proto3 default
    are left out, except the active member of a oneof and optional fields
    whose has_ flag is set. 64-bit integers are strings, enums their value
    name (or the number when it has no name), bytes padded standard base64,
    floating point the shortest text that reads back exactly, with "NaN",
    "Infinity" and "-Infinity" as strings. Invalid UTF-8 in a string field
    is written as U+FFFD, so the result is always valid JSON. JSON_COMPACT
    writes one line without spaces; JSON_PRETTY indents by two spaces.
    Returns a malloc'd NUL-terminated string (the caller frees) or NULL when
    out of memory or message is NULL. */
char *json_from_message(const ProtobufCMessage *message, int flags);

/*  Parses size bytes of JSON text (borrowed; need not be NUL-terminated)
    into a new message of type descriptor. Field names may be lowerCamelCase
    or the proto names; null means the default; integers may be numbers or
    decimal strings and are range-checked for their type; floating point
    takes numbers, numeric strings, "NaN" and "[-]Infinity"; enums take
    value names or numbers; bytes take standard or URL-safe base64, with or
    without padding; a map takes an object.
    On success returns DOSSIER_OK and *message_p is the caller's, freed with
    protobuf_c_message_free_unpacked(*message_p, NULL). On bad input returns
    DOSSIER_INVALID_ARGUMENT with err saying where and why ("body[3]:
    expected a string"): a syntax error, trailing text, invalid UTF-8, a
    "\u0000" escape, nesting deeper than 64, an unknown field, a field given
    twice (under both names), two members of one oneof, a wrong type or an
    out-of-range number. Out of memory is DOSSIER_RESOURCE_EXHAUSTED. On any
    failure *message_p is left as it was and nothing is leaked. */
dossier_status_t json_to_message(const ProtobufCMessageDescriptor *descriptor,
                                 const char *text, size_t size,
                                 ProtobufCMessage **message_p,
                                 dossier_error_t *err);

#endif
