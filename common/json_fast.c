/*  json_fast.c: the fast path of json_to_message (json_fast_to_message).

    json_decode.c reads JSON through jansson after a pass of its own over
    the text: a tree of json_t values, every string copied twice, every
    byte fetched through jansson's stream reader, about 700,000
    instructions for a 5 KB report (callgrind of `dossier import --json`,
    docs/PERFORMANCE.md). This file reads the JSON text straight into the
    protobuf-c message in one pass, scanning strings eight bytes at a time.

    It handles only what a well-formed dump has: objects of known fields
    (each at most once), strings, integers written as numbers of up to 18
    digits or as strings of them, enums by their exact value names, bools,
    nested messages and repeated fields of those. Anything else -- any
    error, escape it does not decode, float, bytes, map, oneof, big
    number, loose enum name, a field given twice, deep nesting -- makes it
    decline: the partial message is freed and json_decode.c parses the text
    the old way, so the result and every error message stay exactly those
    of jansson's path. It accepts only text that path accepts too, and then
    builds the message that path builds (test_json.c compares the two). */
#include "json_internal.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Object and array levels the fast path enters at most; json_decode.c
   refuses more than 64 with a message, so stay well under it. */
#define S_MAX_LEVELS 48
/* Longest key looked up here (field names are short). */
#define S_MAX_KEY 128
/* Integer literals of up to this many digits fit int64 whatever they
   are; longer ones are left to json_decode.c. */
#define S_MAX_DIGITS 18

typedef struct {
    const unsigned char *p, *end;
    int levels;
} s_in_t;

static inline void
s_skip_ws(s_in_t *in) {
    while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' ||
                               *in->p == '\r' || *in->p == '\t')) {
        in->p++;
    }
}

#ifndef __SSE2__
/*  True when one of the 8 bytes in v needs a look: '"', '\\', a control
    character (< 0x20) or a byte of a multibyte UTF-8 sequence. */
static inline bool
s_special8(uint64_t v) {
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t quote = v ^ (ones * '"');
    uint64_t slash = v ^ (ones * '\\');
    uint64_t special = ((quote - ones) & ~quote) | ((slash - ones) & ~slash) |
                       ((v - ones * 0x20) & ~v) | v;
    return (special & highs) != 0;
}
#endif

/*  Finds the end of the string whose opening quote in->p is past: sets
    *raw (its first byte), *raw_len and *escaped, and leaves in->p past the
    closing quote. False (decline) on a control character, invalid UTF-8
    or no closing quote. */
static bool
s_string_span(s_in_t *in, const unsigned char **raw, size_t *raw_len,
              bool *escaped) {
    const unsigned char *p = in->p, *end = in->end;
    *raw = p;
    *escaped = false;
#ifdef __SSE2__
    /* Sixteen bytes a step while none needs a look (x86-64 has SSE2). */
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    const __m128i below = _mm_set1_epi8(0x20);
#endif
    while (p < end) {
#ifdef __SSE2__
        if (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                       _mm_cmpeq_epi8(v, slash));
            /* Signed compare: bytes >= 0x80 count as negative, so below
               0x20 too, which is what is wanted (they need a look). */
            hit = _mm_or_si128(hit, _mm_cmplt_epi8(v, below));
            int mask = _mm_movemask_epi8(hit);
            if (mask == 0) {
                p += 16;
                continue;
            }
            p += __builtin_ctz((unsigned)mask); /* the byte to look at */
        }
#else
        if (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            if (!s_special8(v)) {
                p += 8;
                continue;
            }
        }
#endif
        unsigned char c = *p;
        if (c == '"') {
            *raw_len = (size_t)(p - *raw);
            in->p = p + 1;
            return true;
        }
        if (c == '\\') {
            if (end - p < 2) {
                return false;
            }
            *escaped = true;
            p += 2; /* the escape's letter: checked when decoded */
            continue;
        }
        if (c < 0x20) {
            return false;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t len = json_utf8_sequence(p, (size_t)(end - p));
        if (len == 0) {
            return false;
        }
        p += len;
    }
    return false;
}

static int
s_hex4(const unsigned char *s) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = s[i], d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/*  Decodes the escapes of raw (len bytes, UTF-8 checked by s_string_span)
    into out (at least len + 1 bytes); returns the decoded length, or
    (size_t)-1 to decline: an unknown escape, \u0000, a lone surrogate. */
static size_t
s_unescape(const unsigned char *raw, size_t len, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (raw[i] != '\\') {
            out[o++] = (char)raw[i++];
            continue;
        }
        if (i + 1 >= len) {
            return (size_t)-1;
        }
        unsigned char e = raw[i + 1];
        static const char plain[] = "\"\\/bfnrt";
        static const char means[] = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(plain, e) : NULL;
        if (hit != NULL) {
            out[o++] = means[hit - plain];
            i += 2;
            continue;
        }
        if (e != 'u' || i + 6 > len) {
            return (size_t)-1;
        }
        int cp = s_hex4(raw + i + 2);
        i += 6;
        if (cp <= 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) {
            return (size_t)-1;
        }
        uint32_t code = (uint32_t)cp;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 6 > len || raw[i] != '\\' || raw[i + 1] != 'u') {
                return (size_t)-1;
            }
            int low = s_hex4(raw + i + 2);
            if (low < 0xDC00 || low > 0xDFFF) {
                return (size_t)-1;
            }
            i += 6;
            code = 0x10000u + (((uint32_t)cp - 0xD800u) << 10) +
                   ((uint32_t)low - 0xDC00u);
        }
        if (code < 0x80) {
            out[o++] = (char)code;
        } else if (code < 0x800) {
            out[o++] = (char)(0xC0 | (code >> 6));
            out[o++] = (char)(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out[o++] = (char)(0xE0 | (code >> 12));
            out[o++] = (char)(0x80 | ((code >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (code & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | (code >> 18));
            out[o++] = (char)(0x80 | ((code >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((code >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (code & 0x3F));
        }
    }
    out[o] = '\0';
    return o;
}

/*  A string value at in->p (its opening quote) as a malloc'd copy in *out
    (*out_len bytes). False to decline (or when out of memory). */
static bool
s_string(s_in_t *in, char **out, size_t *out_len) {
    if (in->p >= in->end || *in->p != '"') {
        return false;
    }
    in->p++;
    const unsigned char *raw;
    size_t len;
    bool escaped;
    if (!s_string_span(in, &raw, &len, &escaped)) {
        return false;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return false;
    }
    if (escaped) {
        len = s_unescape(raw, len, copy);
        if (len == (size_t)-1) {
            free(copy);
            return false;
        }
    } else {
        memcpy(copy, raw, len);
        copy[len] = '\0';
    }
    *out = copy;
    *out_len = len;
    return true;
}

/*  Reads "-?[0-9]{1,18}" from s (len bytes) into *value. */
static bool
s_digits(const unsigned char *s, size_t len, bool leading_zero_ok,
         int64_t *value) {
    bool negative = len > 0 && s[0] == '-';
    size_t i = negative;
    if (i == len || len - i > S_MAX_DIGITS) {
        return false;
    }
    if (!leading_zero_ok && s[i] == '0' && len - i > 1) {
        return false;
    }
    int64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *value = negative ? -v : v;
    return true;
}

/*  An integer written as a number of up to 18 digits (no fraction or
    exponent), or as a string of such digits (leading zeros allowed, as
    json_decode.c allows them there). */
static bool
s_integer(s_in_t *in, int64_t *value) {
    const unsigned char *start = in->p;
    if (start < in->end && *start == '"') {
        const unsigned char *raw;
        size_t len;
        bool escaped;
        in->p++;
        return s_string_span(in, &raw, &len, &escaped) && !escaped &&
               s_digits(raw, len, true, value);
    }
    const unsigned char *p = start;
    p += p < in->end && *p == '-';
    while (p < in->end && *p >= '0' && *p <= '9') {
        p++;
    }
    if (p < in->end && (*p == '.' || *p == 'e' || *p == 'E')) {
        return false; /* a real: json_decode.c's */
    }
    in->p = p;
    return s_digits(start, (size_t)(p - start), false, value);
}

/*  Stores value at dst as integer type t when it is in t's range. */
static bool
s_store_int(ProtobufCType t, int64_t value, void *dst) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        if (value < INT32_MIN || value > INT32_MAX) {
            return false;
        }
        int32_t v = (int32_t)value;
        memcpy(dst, &v, sizeof v);
        return true;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        if (value < 0 || value > (int64_t)UINT32_MAX) {
            return false;
        }
        uint32_t v = (uint32_t)value;
        memcpy(dst, &v, sizeof v);
        return true;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        memcpy(dst, &value, sizeof value);
        return true;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        if (value < 0) {
            return false;
        }
        uint64_t v = (uint64_t)value;
        memcpy(dst, &v, sizeof v);
        return true;
    }
    default:
        return false;
    }
}

/*  Consumes the literal word (true, false, null) at in->p if it is
    there. */
static bool
s_literal(s_in_t *in, const char *word, size_t len) {
    if ((size_t)(in->end - in->p) >= len && memcmp(in->p, word, len) == 0) {
        in->p += len;
        return true;
    }
    return false;
}

static bool s_message(s_in_t *in, const ProtobufCMessageDescriptor *desc,
                      ProtobufCMessage **out);

/*  One value of field f (singular or an array element) into dst, which
    holds the default and owns nothing; written only on success. */
static bool
s_value(s_in_t *in, const ProtobufCFieldDescriptor *f, void *dst) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        char *s;
        size_t len;
        if (!s_string(in, &s, &len)) {
            return false;
        }
        *(char **)dst = s;
        return true;
    }
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        int64_t v;
        return s_integer(in, &v) && s_store_int(f->type, v, dst);
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (s_literal(in, "true", 4)) {
            *(protobuf_c_boolean *)dst = 1;
            return true;
        }
        if (s_literal(in, "false", 5)) {
            *(protobuf_c_boolean *)dst = 0;
            return true;
        }
        return false;
    case PROTOBUF_C_TYPE_ENUM: {
        char name[S_MAX_KEY];
        const unsigned char *raw;
        size_t len;
        bool escaped;
        if (in->p >= in->end || *in->p != '"') {
            return false; /* numbers: json_decode.c's */
        }
        in->p++;
        if (!s_string_span(in, &raw, &len, &escaped) || escaped ||
            len >= sizeof name) {
            return false;
        }
        memcpy(name, raw, len);
        name[len] = '\0';
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, name);
        if (ev == NULL) {
            return false; /* loose names: json_decode.c's */
        }
        *(int *)dst = ev->value;
        return true;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = NULL;
        if (!s_message(in, f->descriptor, &sub)) {
            return false;
        }
        *(ProtobufCMessage **)dst = sub;
        return true;
    }
    default:
        return false; /* floats, bytes: json_decode.c's */
    }
}

/*  A JSON array into repeated field f of the message at base. */
static bool
s_repeated(s_in_t *in, char *base, const ProtobufCFieldDescriptor *f) {
    if (in->p >= in->end || *in->p != '[' || ++in->levels > S_MAX_LEVELS) {
        return false;
    }
    in->p++;
    size_t esize = json_element_size(f->type);
    size_t *count = (size_t *)(base + f->quantifier_offset);
    char **arr = (char **)(base + f->offset);
    size_t cap = 0;
    s_skip_ws(in);
    if (in->p < in->end && *in->p == ']') {
        in->p++;
        in->levels--;
        return true;
    }
    for (;;) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 8;
            char *grown = realloc(*arr, cap * esize);
            if (grown == NULL) {
                return false;
            }
            *arr = grown; /* owned by the message: freed with it */
        }
        s_skip_ws(in);
        if (!s_value(in, f, *arr + *count * esize)) {
            return false;
        }
        (*count)++; /* only complete elements are counted, and freed */
        s_skip_ws(in);
        if (in->p >= in->end) {
            return false;
        }
        if (*in->p == ']') {
            in->p++;
            in->levels--;
            return true;
        }
        if (*in->p != ',') {
            return false;
        }
        in->p++;
    }
}

/*  The field of desc named key (key_len bytes), its proto name or its
    lowerCamelCase name, looked for first at *hint (dumps give fields in
    order); NULL if none. */
static const ProtobufCFieldDescriptor *
s_find_field(const ProtobufCMessageDescriptor *desc, const char *key,
             size_t key_len, unsigned *hint) {
    unsigned n = desc->n_fields;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (*hint + k) % n;
        const char *name = desc->fields[i].name;
        if ((strncmp(name, key, key_len) == 0 && name[key_len] == '\0') ||
            json_camel_equal(name, key, key_len, false)) {
            *hint = i + 1;
            return &desc->fields[i];
        }
    }
    return NULL;
}

/*  One "key": value member of the object being read into msg. */
static bool
s_member(s_in_t *in, ProtobufCMessage *msg, unsigned *hint, uint8_t *seen) {
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const unsigned char *raw;
    size_t len;
    bool escaped;
    if (in->p >= in->end || *in->p != '"') {
        return false;
    }
    in->p++;
    if (!s_string_span(in, &raw, &len, &escaped) || escaped ||
        len >= S_MAX_KEY) {
        return false;
    }
    const ProtobufCFieldDescriptor *f =
        s_find_field(desc, (const char *)raw, len, hint);
    if (f == NULL || seen[f - desc->fields]) {
        return false;
    }
    seen[f - desc->fields] = 1;
    s_skip_ws(in);
    if (in->p >= in->end || *in->p != ':') {
        return false;
    }
    in->p++;
    s_skip_ws(in);
    if (s_literal(in, "null", 4)) {
        return true; /* the default */
    }
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
        (f->label == PROTOBUF_C_LABEL_REPEATED && json_field_is_map(desc, f))) {
        return false;
    }
    char *base = (char *)msg;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        return s_repeated(in, base, f);
    }
    if (!s_value(in, f, base + f->offset)) {
        return false;
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
        f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE) {
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    }
    return true;
}

/*  A JSON object at in->p into a new message of type desc (*out). */
static bool
s_message(s_in_t *in, const ProtobufCMessageDescriptor *desc,
          ProtobufCMessage **out) {
    uint8_t seen[256] = {0};
    if (desc->n_fields > sizeof seen || in->p >= in->end || *in->p != '{' ||
        ++in->levels > S_MAX_LEVELS) {
        return false;
    }
    in->p++;
    ProtobufCMessage *msg = malloc(desc->sizeof_message);
    if (msg == NULL) {
        return false;
    }
    json_message_init(desc, msg);
    unsigned hint = 0;
    s_skip_ws(in);
    if (in->p < in->end && *in->p == '}') {
        in->p++;
        in->levels--;
        *out = msg;
        return true;
    }
    for (;;) {
        s_skip_ws(in);
        if (!s_member(in, msg, &hint, seen)) {
            break;
        }
        s_skip_ws(in);
        if (in->p >= in->end) {
            break;
        }
        if (*in->p == '}') {
            in->p++;
            in->levels--;
            *out = msg;
            return true;
        }
        if (*in->p != ',') {
            break;
        }
        in->p++;
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return false;
}

bool
json_fast_to_message(const ProtobufCMessageDescriptor *descriptor,
                     const char *text, size_t size,
                     ProtobufCMessage **message_p) {
    s_in_t in = {(const unsigned char *)text,
                 (const unsigned char *)text + size, 0};
    ProtobufCMessage *msg = NULL;
    s_skip_ws(&in);
    if (!s_message(&in, descriptor, &msg)) {
        return false;
    }
    s_skip_ws(&in);
    if (in.p != in.end) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return false;
    }
    *message_p = msg;
    return true;
}
