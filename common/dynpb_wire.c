/*  dynpb_wire.c: dynpb_wire_bounded, the walk over a message's bytes that
    keeps a hostile peer's reply from protobuf-c's unpack when it nests
    too deep or would take too much memory (dynpb.h). It reads tags and
    lengths only, descends into fields the descriptor types as messages,
    and leaves every other judgement of the bytes to unpack. Each byte is
    visited once, so the walk costs a fraction of the unpack it guards. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dynpb.h"

/*  Reads a varint at *p (before end); false when truncated or too long. */
static bool
s_varint(const uint8_t **p, const uint8_t *end, uint64_t *value) {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *value = v;
            return true;
        }
    }
    return false;
}

/*  Walks one message; false when too deep or too big. *bytes counts the
    structs so far. */
static bool
s_walk(const ProtobufCMessageDescriptor *desc, const uint8_t *p,
       const uint8_t *end, unsigned depth, unsigned max_depth, size_t *bytes,
       size_t max_bytes) {
    if (depth > max_depth || desc->sizeof_message > max_bytes - *bytes) {
        return false;
    }
    *bytes += desc->sizeof_message;
    while (p < end) {
        uint64_t key, len;
        if (!s_varint(&p, end, &key)) {
            return true; /* malformed: unpack will say so */
        }
        switch (key & 7) {
        case PROTOBUF_C_WIRE_TYPE_VARINT:
            if (!s_varint(&p, end, &len)) {
                return true;
            }
            break;
        case PROTOBUF_C_WIRE_TYPE_64BIT:
            if (end - p < 8) {
                return true;
            }
            p += 8;
            break;
        case PROTOBUF_C_WIRE_TYPE_32BIT:
            if (end - p < 4) {
                return true;
            }
            p += 4;
            break;
        case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED: {
            if (!s_varint(&p, end, &len) || len > (uint64_t)(end - p)) {
                return true;
            }
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(
                          desc, (unsigned)(key >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !s_walk(f->descriptor, p, p + len, depth + 1, max_depth, bytes,
                        max_bytes)) {
                return false;
            }
            p += len;
            break;
        }
        default:
            return true;
        }
    }
    return true;
}

bool
dynpb_wire_bounded(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                   size_t size, unsigned max_depth, size_t max_bytes) {
    size_t bytes = 0;
    if (desc == NULL || (data == NULL && size > 0)) {
        return false;
    }
    return s_walk(desc, data, data + size, 0, max_depth, &bytes, max_bytes);
}
