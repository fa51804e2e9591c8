/*  json.c: protobuf <-> JSON for any protobuf-c message: what the
    encoder (json_encode.c) and the decoder (json_decode.c) both read from
    the descriptors. json_internal.h says which file holds what.

    One codec for every message, driven by ProtobufCMessageDescriptor and
    ProtobufCFieldDescriptor, following the proto3 JSON mapping
    (https://protobuf.dev/programming-guides/proto3/#json). */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "json_internal.h"

bool
json_camel_equal(const char *name, const char *text, size_t text_len,
                 bool upper_first) {
    bool up = upper_first;
    size_t i = 0;
    for (; *name; name++) {
        if (*name == '_') {
            up = true;
            continue;
        }
        char c = up ? json_ascii_upper(*name) : *name;
        up = false;
        if (i >= text_len || text[i] != c) {
            return false;
        }
        i++;
    }
    return i == text_len;
}

bool
json_field_is_map(const ProtobufCMessageDescriptor *parent,
                  const ProtobufCFieldDescriptor *f) {
    if (f->label != PROTOBUF_C_LABEL_REPEATED ||
        f->type != PROTOBUF_C_TYPE_MESSAGE || f->descriptor == NULL) {
        return false;
    }
    const ProtobufCMessageDescriptor *e = f->descriptor;
    if (e->n_fields != 2 || e->fields[0].id != 1 || e->fields[1].id != 2 ||
        strcmp(e->fields[0].name, "key") != 0 ||
        strcmp(e->fields[1].name, "value") != 0 ||
        e->fields[0].label == PROTOBUF_C_LABEL_REPEATED ||
        e->fields[1].label == PROTOBUF_C_LABEL_REPEATED) {
        return false;
    }
    switch (e->fields[0].type) {
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_MESSAGE:
        return false;
    default:
        break;
    }
    size_t pn = strlen(parent->name);
    if (strncmp(e->name, parent->name, pn) != 0 || e->name[pn] != '.') {
        return false;
    }
    const char *entry = e->name + pn + 1;
    size_t len = strlen(entry);
    return len > 5 && strcmp(entry + len - 5, "Entry") == 0 &&
           json_camel_equal(f->name, entry, len - 5, true);
}

void
json_message_init(const ProtobufCMessageDescriptor *desc, void *message) {
    if (desc->message_init != NULL) {
        protobuf_c_message_init(desc, message);
        return;
    }
    memset(message, 0, desc->sizeof_message);
    ((ProtobufCMessage *)message)->descriptor = desc;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        char *member = (char *)message + f->offset;
        if (f->default_value == NULL || f->label == PROTOBUF_C_LABEL_REPEATED) {
            continue;
        }
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            /* The default itself, never freed: free_unpacked knows it. */
            memcpy(member, &f->default_value, sizeof(void *));
        } else if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
            size_t size = f->type == PROTOBUF_C_TYPE_BYTES
                              ? sizeof(ProtobufCBinaryData)
                              : json_element_size(f->type);
            memcpy(member, f->default_value, size);
        }
    }
}
