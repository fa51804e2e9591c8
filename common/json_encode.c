/*  json_encode.c: a protobuf-c message rendered as proto3 JSON
    (json_from_message).

    Output is written directly into a growing buffer rather than through
    jansson's dumper, because jansson prints doubles with 17 significant
    digits (0.1 -> 0.10000000000000001) while the mapping wants the shortest
    text that reads back to the same value, and because field order and
    UTF-8 repair are ours to control. Invalid UTF-8 in a string field is
    replaced with U+FFFD so the output is always valid JSON. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

static const char s_replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* ------------------------------------------------------------------ */
/*  Output                                                            */

static void s_putf(json_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_putf(json_buf_t *b, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) {
        json_buf_put(b, tmp,
                     (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    }
}

static void
s_newline(json_buf_t *b, bool pretty, int level) {
    if (!pretty) {
        return;
    }
    json_buf_put(b, "\n", 1);
    for (int i = 0; i < level; i++) {
        json_buf_put(b, "  ", 2);
    }
}

/*  A JSON string literal of size bytes of s; invalid UTF-8 becomes
    U+FFFD. */
static void
s_put_string(json_buf_t *b, const char *s, size_t size) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    json_buf_put(b, "\"", 1);
    while (i < size) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char tmp[8];
        size_t len = 1;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (c < 0x20) {
                snprintf(tmp, sizeof tmp, "\\u%04x", c);
                esc = tmp;
            } else if (c >= 0x80) {
                len = json_utf8_sequence(u + i, size - i);
                if (len == 0) {
                    esc = s_replacement;
                    len = 1;
                }
            }
            break;
        }
        if (esc != NULL) {
            json_buf_put(b, s + run, i - run);
            json_buf_puts(b, esc);
            run = i + len;
        }
        i += len;
    }
    json_buf_put(b, s + run, i - run);
    json_buf_put(b, "\"", 1);
}

static void
s_put_base64(json_buf_t *b, const uint8_t *data, size_t len) {
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char quad[4];
    json_buf_put(b, "\"", 1);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len) {
            v |= (uint32_t)data[i + 1] << 8;
        }
        if (i + 2 < len) {
            v |= data[i + 2];
        }
        quad[0] = abc[(v >> 18) & 63];
        quad[1] = abc[(v >> 12) & 63];
        quad[2] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < len ? abc[v & 63] : '=';
        json_buf_put(b, quad, 4);
    }
    json_buf_put(b, "\"", 1);
}

/*  The shortest %g text that reads back as the same value. */
static void
s_put_double(json_buf_t *b, double v, bool is_float) {
    char tmp[40];
    if (isnan(v)) {
        json_buf_puts(b, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        json_buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    int lo = is_float ? 6 : 15, hi = is_float ? 9 : 17;
    for (int p = lo; p <= hi; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, v);
        if (is_float ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v) {
            break;
        }
    }
    json_buf_puts(b, tmp);
}

static void s_put_message(json_buf_t *b, const ProtobufCMessage *msg, int level,
                          bool pretty);

/*  One value of field f stored at member (a singular field, one element of
    a repeated field, or a map value). */
static void
s_put_value(json_buf_t *b, const ProtobufCFieldDescriptor *f,
            const void *member, int level, bool pretty) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        s_putf(b, "%" PRId32, *(const int32_t *)member);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        s_putf(b, "%" PRIu32, *(const uint32_t *)member);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        s_putf(b, "\"%" PRId64 "\"", *(const int64_t *)member);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        s_putf(b, "\"%" PRIu64 "\"", *(const uint64_t *)member);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        s_put_double(b, *(const float *)member, true);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        s_put_double(b, *(const double *)member, false);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        json_buf_puts(b,
                      *(const protobuf_c_boolean *)member ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)member;
        const ProtobufCEnumValue *ev =
            f->descriptor
                ? protobuf_c_enum_descriptor_get_value(f->descriptor, v)
                : NULL;
        if (ev != NULL) {
            s_put_string(b, ev->name, strlen(ev->name));
        } else {
            s_putf(b, "%d", v);
        }
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        s_put_string(b, s ? s : "", s ? strlen(s) : 0);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = member;
        s_put_base64(b, bd->data, bd->data ? bd->len : 0);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)member;
        if (m != NULL) {
            s_put_message(b, m, level, pretty);
        } else {
            json_buf_puts(b, "{}");
        }
        break;
    }
    }
}

/*  A map key is always a JSON string: "true", "42" or the key itself. */
static void
s_put_map_key(json_buf_t *b, const ProtobufCFieldDescriptor *kf,
              const void *member) {
    if (kf->type == PROTOBUF_C_TYPE_STRING) {
        s_put_value(b, kf, member, 0, false);
        return;
    }
    if (kf->type == PROTOBUF_C_TYPE_BOOL) {
        json_buf_puts(b, *(const protobuf_c_boolean *)member ? "\"true\""
                                                             : "\"false\"");
        return;
    }
    json_buf_t tmp = {0};
    s_put_value(&tmp, kf, member, 0, false);
    if (tmp.failed) {
        b->failed = true;
    } else if (tmp.data[0] == '"') {
        json_buf_put(b, tmp.data, tmp.len); /* 64-bit: already quoted */
    } else {
        json_buf_put(b, "\"", 1);
        json_buf_put(b, tmp.data, tmp.len);
        json_buf_put(b, "\"", 1);
    }
    free(tmp.data);
}

/*  Whether field f of msg is written: set repeated fields, the active
    member of a oneof, optional fields whose has_ flag is set, and proto3
    fields holding a value other than the default. */
static bool
s_field_present(const ProtobufCMessage *msg,
                const ProtobufCFieldDescriptor *f) {
    const char *base = (const char *)msg;
    const void *member = base + f->offset;
    bool pointer =
        f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        return *(const size_t *)(base + f->quantifier_offset) > 0;
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)(base + f->quantifier_offset) != f->id) {
            return false;
        }
        return !pointer || *(void *const *)member != NULL;
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (pointer) {
            const void *p = *(void *const *)member;
            return p != NULL && p != f->default_value;
        }
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
    }
    if (f->label == PROTOBUF_C_LABEL_REQUIRED) {
        return !pointer || *(void *const *)member != NULL;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return *(const uint32_t *)member != 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)member != 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)member != 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)member != 0;
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)member != 0;
    case PROTOBUF_C_TYPE_ENUM:
        return *(const int *)member != 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        return s != NULL && s[0] != '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)member)->len > 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(void *const *)member != NULL;
    }
    return false;
}

static void
s_put_field(json_buf_t *b, const ProtobufCMessage *msg,
            const ProtobufCFieldDescriptor *f, int level, bool pretty) {
    const char *base = (const char *)msg;
    const void *member = base + f->offset;
    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
        s_put_value(b, f, member, level, pretty);
        return;
    }
    size_t n = *(const size_t *)(base + f->quantifier_offset);
    const char *arr = *(const char *const *)member;
    if (json_field_is_map(msg->descriptor, f)) {
        const ProtobufCMessageDescriptor *ed = f->descriptor;
        const ProtobufCFieldDescriptor *kf = &ed->fields[0];
        const ProtobufCFieldDescriptor *vf = &ed->fields[1];
        json_buf_put(b, "{", 1);
        for (size_t i = 0; i < n; i++) {
            const char *entry = ((const char *const *)arr)[i];
            if (i > 0) {
                json_buf_put(b, ",", 1);
            }
            s_newline(b, pretty, level + 1);
            if (entry == NULL) {
                json_buf_puts(b, pretty ? "\"\": " : "\"\":");
                json_buf_puts(b, "null");
                continue;
            }
            s_put_map_key(b, kf, entry + kf->offset);
            json_buf_puts(b, pretty ? ": " : ":");
            s_put_value(b, vf, entry + vf->offset, level + 1, pretty);
        }
        if (n > 0) {
            s_newline(b, pretty, level);
        }
        json_buf_put(b, "}", 1);
        return;
    }
    size_t esize = json_element_size(f->type);
    json_buf_put(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            json_buf_put(b, ",", 1);
        }
        s_newline(b, pretty, level + 1);
        s_put_value(b, f, arr + i * esize, level + 1, pretty);
    }
    if (n > 0) {
        s_newline(b, pretty, level);
    }
    json_buf_put(b, "]", 1);
}

/*  protobuf-c keeps descriptor->fields sorted by field number (its field
    lookup depends on it), so this order is the proto3 mapping's. */
static void
s_put_message(json_buf_t *b, const ProtobufCMessage *msg, int level,
              bool pretty) {
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    bool first = true;
    json_buf_put(b, "{", 1);
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (!s_field_present(msg, f)) {
            continue;
        }
        if (!first) {
            json_buf_put(b, ",", 1);
        }
        first = false;
        s_newline(b, pretty, level + 1);
        json_buf_put(b, "\"", 1);
        bool up = false;
        for (const char *p = f->name; *p; p++) {
            if (*p == '_') {
                up = true;
                continue;
            }
            char c = up ? json_ascii_upper(*p) : *p;
            up = false;
            json_buf_put(b, &c, 1);
        }
        json_buf_puts(b, pretty ? "\": " : "\":");
        s_put_field(b, msg, f, level + 1, pretty);
    }
    if (!first) {
        s_newline(b, pretty, level);
    }
    json_buf_put(b, "}", 1);
}

char *
json_from_message(const ProtobufCMessage *message, int flags) {
    if (message == NULL || message->descriptor == NULL) {
        return NULL;
    }
    json_buf_t b = {0};
    s_put_message(&b, message, 0, (flags & JSON_PRETTY) != 0);
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}
