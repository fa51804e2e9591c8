/*  json_internal.h: what the files of the protobuf <-> JSON codec share.
    Included only by common/json*.c; everyone else sees json.h (whose API
    is the whole of the module's).

    The codec is one module in three files:
    - json.c: what both directions read from the descriptors: a field's
      lowerCamelCase JSON name (json_camel_equal) and the shape of a map
      field (json_field_is_map);
    - json_encode.c: message -> JSON text (json_from_message);
    - json_fast.c: JSON text -> message in one pass, for well-formed
      input of the common field types (json_fast_to_message);
    - json_decode.c: JSON text -> message (json_to_message): the fast
      path first, else jansson after a pass of its own over the text.
    Both directions write into the growing buffer below (the decoder when
    it rewrites big integer literals), check UTF-8 the same way, and lay
    out repeated fields as protobuf-c does; those helpers are tiny and run
    per byte or per value, so they are static inline here, as they were
    inlined when the codec was one file. Names: s_* and S_* belong to one
    file (static); the json_* names here are the module's own, and none of
    jansson's (json_buf_*, json_camel_equal, json_element_size,
    json_field_is_map, json_utf8_sequence, json_ascii_upper).

    Include this header before <jansson.h>: jansson #defines JSON_COMPACT,
    which json.h declares as an enumerator. */
#ifndef DOSSIER_JSON_INTERNAL_H
#define DOSSIER_JSON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "json.h"

/* ---- json.c: names and maps ---------------------------------------- */

/*  True when text (text_len bytes) is the camel-case form of a proto field
    name: protoc's ToJsonName (upper_first false: "publication_date" ->
    "publicationDate") or its map entry naming (upper_first true:
    "metadata" -> "Metadata"). */
bool json_camel_equal(const char *name, const char *text, size_t text_len,
                      bool upper_first);

/*  A map<K,V> field is a repeated field of a nested message that protoc
    names <FieldInCamelCase>Entry, with key = 1 and value = 2. protobuf-c
    1.4 does not keep the map_entry option, so recognize that shape. */
bool json_field_is_map(const ProtobufCMessageDescriptor *parent,
                       const ProtobufCFieldDescriptor *f);

/*  Initializes message (desc->sizeof_message bytes) as a new message of
    type desc: through desc->message_init when the descriptor was
    compiled, else as protobuf-c's unpack does for descriptors without one
    (dynpb.h): zeroed, then each singular field's default. */
void json_message_init(const ProtobufCMessageDescriptor *desc, void *message);

/* ---- json_fast.c, json_decode.c: the two decoders ------------------ */

/*  The fast path of json_to_message: reads size bytes of text (borrowed)
    into a new message of type descriptor in one pass. Returns true with
    *message_p the caller's (protobuf_c_message_free_unpacked); false,
    leaving *message_p as it was and nothing allocated, for any input it
    does not handle or any error (including out of memory): the caller
    then runs json_to_message_slow, which gives the result or the error.
    It never accepts what json_to_message_slow refuses, and builds the
    same message. */
bool json_fast_to_message(const ProtobufCMessageDescriptor *descriptor,
                          const char *text, size_t size,
                          ProtobufCMessage **message_p);

/*  json_to_message without the fast path: jansson after json_decode.c's
    own pass over the text. Same contract as json_to_message (json.h);
    tests compare the two paths with it. */
dossier_status_t
json_to_message_slow(const ProtobufCMessageDescriptor *descriptor,
                     const char *text, size_t size,
                     ProtobufCMessage **message_p, dossier_error_t *err);

/* ---- inline: UTF-8, names, repeated fields ------------------------- */

/*  Length of the well-formed UTF-8 sequence at s (size bytes available,
    size > 0), or 0 if it is not one: overlong forms, surrogates and code
    points past U+10FFFF are not. */
static inline size_t
json_utf8_sequence(const unsigned char *s, size_t size) {
    unsigned char c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1Fu, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0Fu, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (size < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

/*  c upper-cased if it is an ASCII letter: how camel case is made. */
static inline char
json_ascii_upper(char c) {
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/*  Bytes of one element of a repeated field of type t, as protobuf-c lays
    the array out. */
static inline size_t
json_element_size(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return sizeof(int32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/* ---- inline: the output buffer ------------------------------------- */

/* Text being built: the encoder's output, the decoder's rewritten input.
   data is malloc'd (the caller's to free) and NUL-terminated once written
   to; after a failed growth nothing more is written and failed stays
   set, so callers check it once at the end. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool failed; /* out of memory: everything after is dropped */
} json_buf_t;

/*  Appends n bytes of s (borrowed). */
static inline void
json_buf_put(json_buf_t *b, const char *s, size_t n) {
    if (b->failed) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->failed = true;
                return;
            }
            cap *= 2;
        }
        char *p = realloc(b->data, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/*  Appends the NUL-terminated s (borrowed). */
static inline void
json_buf_puts(json_buf_t *b, const char *s) {
    json_buf_put(b, s, strlen(s));
}

#endif
