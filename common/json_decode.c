/*  json_decode.c: proto3 JSON text read into a new protobuf-c message
    (json_to_message). Well-formed input takes the fast path of
    json_fast.c; what that declines, and every error, comes here.

    Input is parsed with jansson, after one pass of our own over the text
    (s_scan) that
      - rejects invalid UTF-8 inside strings and nesting deeper than 64,
        with a byte position;
      - rejects "\u0000" escapes (a protobuf-c string cannot hold NUL);
      - rewrites integer literals of 19 digits or more, which jansson
        refuses ("too big integer") or which may exceed int64, as the
        string "\u0000<digits>". Since real input can never contain NUL,
        that marker is unambiguous, and the field decoder range-checks the
        digits exactly ("18446744073709551616 is out of range for uint64").
    The message is then built following protobuf-c's own allocation
    conventions (malloc'd struct initialized by message_init, malloc'd
    strings, arrays, binary data and submessages), so a partly built message
    is released on any error with protobuf_c_message_free_unpacked(), and so
    is the caller's message on success. */
#include "json_internal.h"
#include "suggest.h"

/* After json.h (from json_internal.h): jansson #defines JSON_COMPACT,
   which json.h declares as an enumerator. This file uses neither flag. */
#include <jansson.h>

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 64

/*  Integer literals with at least this many digits are handed to the field
    decoder as text: INT64_MAX has 19 digits. */
#define S_BIG_DIGITS 19

/* ------------------------------------------------------------------ */
/*  Input                                                             */

static const char *
s_type_name(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
        return "int32";
    case PROTOBUF_C_TYPE_SINT32:
        return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32:
        return "sfixed32";
    case PROTOBUF_C_TYPE_UINT32:
        return "uint32";
    case PROTOBUF_C_TYPE_FIXED32:
        return "fixed32";
    case PROTOBUF_C_TYPE_INT64:
        return "int64";
    case PROTOBUF_C_TYPE_SINT64:
        return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64:
        return "sfixed64";
    case PROTOBUF_C_TYPE_UINT64:
        return "uint64";
    case PROTOBUF_C_TYPE_FIXED64:
        return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT:
        return "float";
    case PROTOBUF_C_TYPE_DOUBLE:
        return "double";
    case PROTOBUF_C_TYPE_BOOL:
        return "bool";
    case PROTOBUF_C_TYPE_ENUM:
        return "enum";
    case PROTOBUF_C_TYPE_STRING:
        return "string";
    case PROTOBUF_C_TYPE_BYTES:
        return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE:
        return "message";
    }
    return "unknown";
}

typedef struct {
    dossier_error_t *err;
    char path[512];
    size_t path_len;
} s_parse_t;

static dossier_status_t s_fail(s_parse_t *ctx, dossier_status_t code,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*  Records "path: why" in ctx->err and returns code. */
static dossier_status_t
s_fail(s_parse_t *ctx, dossier_status_t code, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (ctx->path_len > 0) {
        return dossier_error_set(ctx->err, code, "%s: %s", ctx->path, why);
    }
    return dossier_error_set(ctx->err, code, "%s", why);
}

static dossier_status_t
s_oom(s_parse_t *ctx) {
    return s_fail(ctx, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
}

/*  Copies up to 48 bytes of untrusted UTF-8 text s into out (64 bytes) for a
    message, cutting at a character boundary and replacing control
    characters, so messages stay short, readable and valid UTF-8. */
static const char *
s_clip(const char *s, char out[64]) {
    const unsigned char *u = (const unsigned char *)s;
    size_t size = strlen(s), i = 0, o = 0;
    while (i < size) {
        size_t len = json_utf8_sequence(u + i, size - i);
        if (len == 0) {
            out[o++] = '?'; /* a key s_scan found broken */
            i++;
            continue;
        }
        if (o + len > 48) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (len == 1 && (u[i] < 0x20 || u[i] == 0x7F)) {
            out[o++] = '?';
        } else {
            memcpy(out + o, s + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = '\0';
    return out;
}

static size_t
s_path_key(s_parse_t *ctx, const char *key) {
    size_t mark = ctx->path_len;
    char clipped[64];
    int n = snprintf(ctx->path + mark, sizeof ctx->path - mark, "%s%s",
                     mark > 0 ? "." : "", s_clip(key, clipped));
    if (n > 0) {
        ctx->path_len += (size_t)n < sizeof ctx->path - mark
                             ? (size_t)n
                             : sizeof ctx->path - mark - 1;
    }
    return mark;
}

static size_t
s_path_index(s_parse_t *ctx, size_t index) {
    size_t mark = ctx->path_len;
    int n = snprintf(ctx->path + mark, sizeof ctx->path - mark, "[%zu]", index);
    if (n > 0) {
        ctx->path_len += (size_t)n < sizeof ctx->path - mark
                             ? (size_t)n
                             : sizeof ctx->path - mark - 1;
    }
    return mark;
}

static void
s_path_pop(s_parse_t *ctx, size_t mark) {
    ctx->path_len = mark;
    ctx->path[mark] = '\0';
}

/*  The digits of an integer literal that s_scan rewrote as "\0<digits>",
    or NULL if v is anything else. */
static const char *
s_big_number(const json_t *v) {
    if (json_is_string(v) && json_string_length(v) > 1 &&
        json_string_value(v)[0] == '\0') {
        return json_string_value(v) + 1;
    }
    return NULL;
}

static bool
s_is_text(const json_t *v) {
    return json_is_string(v) && s_big_number(v) == NULL;
}

/*  An integer read from JSON, before it is fitted to a field's type. */
typedef struct {
    bool negative;
    bool overflow; /* magnitude beyond 2^64 - 1 */
    uint64_t magnitude;
    char text[64]; /* as written, for messages */
} s_int_t;

/*  Reads "-?[0-9]+" from s into *n; false if s is not that. */
static bool
s_int_from_text(const char *s, s_int_t *n) {
    char clipped[64];
    const char *p = s;
    memset(n, 0, sizeof *n);
    snprintf(n->text, sizeof n->text, "%s", s_clip(s, clipped));
    if (*p == '-') {
        n->negative = true;
        p++;
    }
    if (*p == '\0') {
        return false;
    }
    for (; *p; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        unsigned digit = (unsigned)(*p - '0');
        if (n->magnitude > (UINT64_MAX - digit) / 10) {
            n->overflow = true;
        } else {
            n->magnitude = n->magnitude * 10 + digit;
        }
    }
    return true;
}

/*  An integer given as a JSON number (integral), a big literal, or a
    string of digits ("42"). */
static dossier_status_t
s_get_int(s_parse_t *ctx, const json_t *v, s_int_t *n) {
    const char *big = s_big_number(v);
    memset(n, 0, sizeof *n);
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        n->negative = x < 0;
        n->magnitude = x < 0 ? (uint64_t)(-(x + 1)) + 1 : (uint64_t)x;
        snprintf(n->text, sizeof n->text, "%" JSON_INTEGER_FORMAT, x);
        return DOSSIER_OK;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        snprintf(n->text, sizeof n->text, "%.17g", d);
        if (d != floor(d)) {
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT, "%s is not an integer",
                          n->text);
        }
        n->negative = d < 0;
        if (fabs(d) >= 18446744073709551616.0) {
            n->overflow = true;
        } else {
            n->magnitude = (uint64_t)fabs(d);
        }
        return DOSSIER_OK;
    }
    if (big != NULL || json_is_string(v)) {
        const char *s = big ? big : json_string_value(v);
        if (s_int_from_text(s, n)) {
            return DOSSIER_OK;
        }
        char clipped[64];
        return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                      "expected an integer, got \"%s\"", s_clip(s, clipped));
    }
    return s_fail(ctx, DOSSIER_INVALID_ARGUMENT, "expected an integer");
}

/*  Fits *n to integer field type t and stores it at dst. */
static dossier_status_t
s_store_int(s_parse_t *ctx, ProtobufCType t, const s_int_t *n, void *dst) {
    bool is_signed =
        t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 ||
        t == PROTOBUF_C_TYPE_SFIXED32 || t == PROTOBUF_C_TYPE_INT64 ||
        t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_SFIXED64 ||
        t == PROTOBUF_C_TYPE_ENUM;
    bool wide = json_element_size(t) == 8;
    uint64_t max_pos = is_signed ? (wide ? (uint64_t)INT64_MAX : INT32_MAX)
                                 : (wide ? UINT64_MAX : UINT32_MAX);
    uint64_t max_neg = is_signed ? max_pos + 1 : 0;
    bool fits = !n->overflow && (n->negative ? n->magnitude <= max_neg
                                             : n->magnitude <= max_pos);
    if (!fits) {
        return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                      "%s is out of range for %s", n->text,
                      t == PROTOBUF_C_TYPE_ENUM ? "an enum" : s_type_name(t));
    }
    /* Two's complement negation of the magnitude, done unsigned so that
       the most negative value is well defined. */
    uint64_t bits = n->negative ? ~n->magnitude + 1 : n->magnitude;
    if (wide) {
        if (is_signed) {
            int64_t s = n->negative && n->magnitude == max_neg
                            ? INT64_MIN
                            : (n->negative ? -(int64_t)n->magnitude
                                           : (int64_t)n->magnitude);
            memcpy(dst, &s, sizeof s);
        } else {
            memcpy(dst, &bits, sizeof bits);
        }
    } else if (is_signed) {
        int32_t s = n->negative ? (int32_t)(-(int64_t)n->magnitude)
                                : (int32_t)n->magnitude;
        if (t == PROTOBUF_C_TYPE_ENUM) {
            *(int *)dst = s;
        } else {
            memcpy(dst, &s, sizeof s);
        }
    } else {
        uint32_t u = (uint32_t)n->magnitude;
        memcpy(dst, &u, sizeof u);
    }
    return DOSSIER_OK;
}

/*  A double from a JSON number, "NaN", "Infinity", "-Infinity" or a number
    written as a string ("1.5"). */
static dossier_status_t
s_get_double(s_parse_t *ctx, const json_t *v, double *out) {
    const char *big = s_big_number(v);
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return DOSSIER_OK;
    }
    if (!json_is_string(v)) {
        return s_fail(ctx, DOSSIER_INVALID_ARGUMENT, "expected a number");
    }
    const char *s = big ? big : json_string_value(v);
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
        return DOSSIER_OK;
    }
    if (strcmp(s, "Infinity") == 0) {
        *out = INFINITY;
        return DOSSIER_OK;
    }
    if (strcmp(s, "-Infinity") == 0) {
        *out = -INFINITY;
        return DOSSIER_OK;
    }
    /* strtod alone would also take " 1", "0x1p3", "inf" and "nan". */
    bool ok = *s != '\0' && strspn(s, "0123456789+-.eE") == strlen(s);
    char *end = NULL;
    double d = ok ? strtod(s, &end) : 0;
    if (!ok || end == s || *end != '\0' || isinf(d)) {
        char clipped[64];
        return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                      "expected a number, got \"%s\"", s_clip(s, clipped));
    }
    *out = d;
    return DOSSIER_OK;
}

static int
s_base64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+' || c == '-') {
        return 62;
    }
    if (c == '/' || c == '_') {
        return 63;
    }
    return -1;
}

/*  Standard or URL-safe base64, padded or not, into bd (malloc'd). */
static dossier_status_t
s_get_bytes(s_parse_t *ctx, const json_t *v, ProtobufCBinaryData *bd) {
    if (!s_is_text(v)) {
        return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                      "expected a base64 string");
    }
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t len = json_string_length(v);
    if (len % 4 == 0) {
        for (int pad = 0; pad < 2 && len > 0 && s[len - 1] == '='; pad++) {
            len--;
        }
    }
    if (len % 4 == 1) {
        return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                      "invalid base64: wrong length");
    }
    uint8_t *out = malloc(len * 3 / 4 + 1);
    if (out == NULL) {
        return s_oom(ctx);
    }
    size_t o = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        int d = s_base64_value(s[i]);
        if (d < 0) {
            free(out);
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                          "invalid base64 at character %zu", i + 1);
        }
        acc = (acc << 6) | (uint32_t)d;
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (len % 4 == 2) {
        out[o++] = (uint8_t)(acc >> 4);
    } else if (len % 4 == 3) {
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    bd->data = out;
    bd->len = o;
    return DOSSIER_OK;
}

static dossier_status_t s_parse_message(s_parse_t *ctx,
                                        const ProtobufCMessageDescriptor *desc,
                                        const json_t *v, int depth,
                                        ProtobufCMessage **out);

/*  An enum value written as a person would: any case, blanks or '-' for
    '_', with or without the enum's own prefix ("Tier 2 Watch List" for
    TIER_2_WATCH_LIST, "put" for CHANGE_OPERATION_PUT). NULL when none
    matches. */
static const ProtobufCEnumValue *
s_enum_loose(const ProtobufCEnumDescriptor *ed, const char *name) {
    char want[64];
    size_t o = 0;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool sep = c == ' ' || c == '-' || c == '_';
        if (!sep && !isalnum(c)) {
            return NULL;
        }
        if (o + 1 >= sizeof want) {
            return NULL;
        }
        if (sep) {
            if (o > 0 && want[o - 1] != '_') {
                want[o++] = '_';
            }
            continue;
        }
        want[o++] = (char)toupper(c);
    }
    while (o > 0 && want[o - 1] == '_') {
        o--;
    }
    want[o] = '\0';
    /* Digits alone are a number ("3" is not TIER_3's display name). */
    if (strspn(want, "0123456789_") == o) {
        return NULL;
    }
    /* The enum's prefix: its short name in upper snake case, "CHANGE_
       OPERATION_" for ChangeOperation. */
    char prefix[64];
    size_t n = 0;
    for (const char *p = ed->short_name; *p && n + 2 < sizeof prefix; p++) {
        if (p != ed->short_name && isupper((unsigned char)*p)) {
            prefix[n++] = '_';
        }
        prefix[n++] = (char)toupper((unsigned char)*p);
    }
    prefix[n++] = '_';
    prefix[n] = '\0';
    for (unsigned i = 0; i < ed->n_values; i++) {
        const char *v = ed->values[i].name;
        if (strcmp(v, want) == 0 ||
            (strncmp(v, prefix, n) == 0 && strcmp(v + n, want) == 0)) {
            return &ed->values[i];
        }
    }
    return NULL;
}

/*  The names of ed's values but its *_UNSPECIFIED, comma-separated, in
    out (size bytes). Returns out. */
static const char *
s_enum_values(const ProtobufCEnumDescriptor *ed, char *out, size_t size) {
    size_t o = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < ed->n_values && o < size; i++) {
        const char *v = ed->values[i].name;
        size_t len = strlen(v);
        if (len >= 12 && strcmp(v + len - 12, "_UNSPECIFIED") == 0) {
            continue;
        }
        int w = snprintf(out + o, size - o, "%s%s", o ? ", " : "", v);
        if (w < 0 || (size_t)w >= size - o) {
            break;
        }
        o += (size_t)w;
    }
    return out;
}

/*  Parses one value of field f (singular, array element or map value) into
    dst, which holds the type's default and owns nothing. Writes dst only
    on success; anything allocated is then owned by the message. */
static dossier_status_t
s_parse_value(s_parse_t *ctx, const ProtobufCFieldDescriptor *f,
              const json_t *v, void *dst, int depth) {
    dossier_status_t st;
    switch (f->type) {
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
        s_int_t n;
        st = s_get_int(ctx, v, &n);
        return st ? st : s_store_int(ctx, f->type, &n, dst);
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double d = 0;
        st = s_get_double(ctx, v, &d);
        if (st != DOSSIER_OK) {
            return st;
        }
        if (f->type == PROTOBUF_C_TYPE_DOUBLE) {
            *(double *)dst = d;
            return DOSSIER_OK;
        }
        /* Below the midpoint between FLT_MAX and 2^128 a double rounds to
           FLT_MAX; from there on it would be infinite. */
        if (isfinite(d) && fabs(d) >= 3.4028235677973366e+38) {
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                          "%g is out of range for float", d);
        }
        *(float *)dst = (float)d;
        return DOSSIER_OK;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) {
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                          "expected true or false");
        }
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return DOSSIER_OK;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        if (s_is_text(v)) {
            const char *name = json_string_value(v);
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name(ed, name);
            if (ev == NULL) {
                ev = s_enum_loose(ed, name);
            }
            if (ev == NULL) {
                char clipped[64], values[256];
                return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                              "\"%s\" is not a value of %s; use one of %s",
                              s_clip(name, clipped), ed->name,
                              s_enum_values(ed, values, sizeof values));
            }
            *(int *)dst = ev->value;
            return DOSSIER_OK;
        }
        if (!json_is_number(v) && s_big_number(v) == NULL) {
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                          "expected a name or number of %s", ed->name);
        }
        s_int_t n;
        st = s_get_int(ctx, v, &n);
        return st ? st : s_store_int(ctx, PROTOBUF_C_TYPE_ENUM, &n, dst);
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (!s_is_text(v)) {
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT, "expected a string");
        }
        size_t len = json_string_length(v);
        char *copy = malloc(len + 1);
        if (copy == NULL) {
            return s_oom(ctx);
        }
        memcpy(copy, json_string_value(v), len + 1);
        *(char **)dst = copy;
        return DOSSIER_OK;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return s_get_bytes(ctx, v, dst);
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = NULL;
        /* s_scan already stops the JSON at this depth; this keeps the
           recursion bounded on its own. */
        if (depth + 1 > S_MAX_DEPTH) {
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                          "messages nested deeper than %d", S_MAX_DEPTH);
        }
        st = s_parse_message(ctx, f->descriptor, v, depth + 1, &sub);
        if (st == DOSSIER_OK) {
            *(ProtobufCMessage **)dst = sub;
        }
        return st;
    }
    }
    return s_fail(ctx, DOSSIER_INTERNAL, "field type %d not supported",
                  (int)f->type);
}

/*  Marks a singular field present once its value is stored: the oneof case
    or the has_ flag. */
static void
s_mark_present(char *base, const ProtobufCFieldDescriptor *f) {
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        *(uint32_t *)(base + f->quantifier_offset) = f->id;
    } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
               f->type != PROTOBUF_C_TYPE_STRING &&
               f->type != PROTOBUF_C_TYPE_MESSAGE) {
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    }
}

/*  A map key arrives as a JSON object key, always text. */
static dossier_status_t
s_parse_map_key(s_parse_t *ctx, const ProtobufCFieldDescriptor *kf,
                const char *key, char *entry) {
    void *dst = entry + kf->offset;
    char clipped[64];
    if (kf->type == PROTOBUF_C_TYPE_STRING) {
        char *copy = strdup(key);
        if (copy == NULL) {
            return s_oom(ctx);
        }
        *(char **)dst = copy;
    } else if (kf->type == PROTOBUF_C_TYPE_BOOL) {
        if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0) {
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                          "map key \"%s\" is not true or false",
                          s_clip(key, clipped));
        }
        *(protobuf_c_boolean *)dst = key[0] == 't';
    } else {
        s_int_t n;
        if (!s_int_from_text(key, &n)) {
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                          "map key \"%s\" is not an integer",
                          s_clip(key, clipped));
        }
        dossier_status_t st = s_store_int(ctx, kf->type, &n, dst);
        if (st != DOSSIER_OK) {
            return st;
        }
    }
    s_mark_present(entry, kf);
    return DOSSIER_OK;
}

static dossier_status_t
s_parse_map(s_parse_t *ctx, char *base, const ProtobufCFieldDescriptor *f,
            const json_t *v, int depth) {
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0];
    const ProtobufCFieldDescriptor *vf = &ed->fields[1];
    if (!json_is_object(v)) {
        return s_fail(ctx, DOSSIER_INVALID_ARGUMENT, "expected an object");
    }
    size_t n = json_object_size(v);
    if (n == 0) {
        return DOSSIER_OK;
    }
    ProtobufCMessage **arr = calloc(n, sizeof *arr);
    if (arr == NULL) {
        return s_oom(ctx);
    }
    size_t *count = (size_t *)(base + f->quantifier_offset);
    *(ProtobufCMessage ***)(base + f->offset) = arr;
    *count = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)v, key, value) {
        size_t mark = s_path_key(ctx, key);
        if (json_is_null(value)) {
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                          "null is not a valid map value");
        }
        ProtobufCMessage *entry = malloc(ed->sizeof_message);
        if (entry == NULL) {
            return s_oom(ctx);
        }
        json_message_init(ed, entry);
        arr[(*count)++] = entry; /* owned by the message from here on */
        dossier_status_t st = s_parse_map_key(ctx, kf, key, (char *)entry);
        if (st == DOSSIER_OK) {
            st = s_parse_value(ctx, vf, value, (char *)entry + vf->offset,
                               depth);
        }
        if (st != DOSSIER_OK) {
            return st;
        }
        s_mark_present((char *)entry, vf);
        s_path_pop(ctx, mark);
    }
    return DOSSIER_OK;
}

static dossier_status_t
s_parse_repeated(s_parse_t *ctx, char *base, const ProtobufCFieldDescriptor *f,
                 const json_t *v, int depth) {
    if (!json_is_array(v)) {
        return s_fail(ctx, DOSSIER_INVALID_ARGUMENT, "expected an array");
    }
    size_t n = json_array_size(v);
    if (n == 0) {
        return DOSSIER_OK;
    }
    size_t esize = json_element_size(f->type);
    char *arr = calloc(n, esize);
    if (arr == NULL) {
        return s_oom(ctx);
    }
    size_t *count = (size_t *)(base + f->quantifier_offset);
    *(char **)(base + f->offset) = arr;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *elem = json_array_get(v, i);
        size_t mark = s_path_index(ctx, i);
        if (json_is_null(elem)) {
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                          "null is not a valid array element");
        }
        dossier_status_t st =
            s_parse_value(ctx, f, elem, arr + i * esize, depth);
        if (st != DOSSIER_OK) {
            return st;
        }
        (*count)++; /* only complete elements are counted, and freed */
        s_path_pop(ctx, mark);
    }
    return DOSSIER_OK;
}

static dossier_status_t
s_parse_field(s_parse_t *ctx, ProtobufCMessage *msg,
              const ProtobufCFieldDescriptor *f, const json_t *v, int depth) {
    char *base = (char *)msg;
    if (json_is_null(v)) {
        return DOSSIER_OK; /* null is the default value */
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        return json_field_is_map(msg->descriptor, f)
                   ? s_parse_map(ctx, base, f, v, depth)
                   : s_parse_repeated(ctx, base, f, v, depth);
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t active = *(const uint32_t *)(base + f->quantifier_offset);
        if (active != 0 && active != f->id) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field(msg->descriptor,
                                                        active);
            return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                          "only one of a oneof may be set, and %s already is",
                          other ? other->name : "another field");
        }
    }
    dossier_status_t st = s_parse_value(ctx, f, v, base + f->offset, depth);
    if (st == DOSSIER_OK) {
        s_mark_present(base, f);
    }
    return st;
}

/*  The field of desc nearest key, a typo of its JSON (lowerCamel) name
    or, when key has an underscore, of its proto name: written into near.
    Returns false when none is near. */
static bool
s_field_suggest(const ProtobufCMessageDescriptor *desc, const char *key,
                char near[SUGGEST_MAX_LEN + 1]) {
    bool snake = strchr(key, '_') != NULL;
    suggest_t s;
    suggest_init(&s, key);
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const char *name = desc->fields[i].name;
        char candidate[SUGGEST_MAX_LEN + 1];
        size_t o = 0;
        bool upper = false;
        for (const char *p = name; *p && o < SUGGEST_MAX_LEN; p++) {
            if (*p == '_' && !snake) {
                upper = true;
                continue;
            }
            candidate[o++] = upper ? (char)toupper((unsigned char)*p) : *p;
            upper = false;
        }
        candidate[o] = '\0';
        size_t before = s.best_distance;
        suggest_consider(&s, candidate);
        if (s.best_distance < before) {
            memcpy(near, candidate, o + 1);
            s.best = near;
        }
    }
    return suggest_best(&s) != NULL;
}

static dossier_status_t
s_parse_message(s_parse_t *ctx, const ProtobufCMessageDescriptor *desc,
                const json_t *v, int depth, ProtobufCMessage **out) {
    dossier_status_t st = DOSSIER_OK;
    if (!json_is_object(v)) {
        return s_fail(ctx, DOSSIER_INVALID_ARGUMENT, "expected an object (%s)",
                      desc->name);
    }
    ProtobufCMessage *msg = malloc(desc->sizeof_message);
    if (msg == NULL) {
        return s_oom(ctx);
    }
    json_message_init(desc, msg);
    /* Which fields were given, to refuse one named twice (once as
       "publicationDate", once as "publication_date"). */
    bool *seen = calloc(desc->n_fields + 1, sizeof *seen);
    if (seen == NULL) {
        st = s_oom(ctx);
        goto free_message;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)v, key, value) {
        size_t key_len = strlen(key);
        unsigned i;
        for (i = 0; i < desc->n_fields; i++) {
            const char *name = desc->fields[i].name;
            if (strcmp(name, key) == 0 ||
                json_camel_equal(name, key, key_len, false)) {
                break;
            }
        }
        size_t mark = s_path_key(ctx, key);
        if (i == desc->n_fields) {
            char near[SUGGEST_MAX_LEN + 1];
            if (s_field_suggest(desc, key, near)) {
                st = s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                            "no such field in %s; did you mean \"%s\"?",
                            desc->name, near);
            } else {
                st = s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                            "no such field in %s", desc->name);
            }
            goto free_seen;
        }
        if (seen[i]) {
            st = s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                        "field %s is given twice", desc->fields[i].name);
            goto free_seen;
        }
        seen[i] = true;
        st = s_parse_field(ctx, msg, &desc->fields[i], value, depth);
        if (st != DOSSIER_OK) {
            goto free_seen;
        }
        s_path_pop(ctx, mark);
    }
    free(seen);
    *out = msg;
    return DOSSIER_OK;

free_seen:
    free(seen);
free_message:
    protobuf_c_message_free_unpacked(msg, NULL);
    return st;
}

/*  Line and column (1-based) of byte offset at in text, for messages. */
static void
s_position(const char *text, size_t at, size_t *line, size_t *column) {
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *column = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*column)++;
        }
    }
}

/*  Where s_scan is in the JSON structure, so that a lexical error can name
    its path like every other error. */
typedef struct {
    bool array;
    bool want_key; /* object: the next string is a key */
    size_t index;  /* array: the element being read */
    size_t key_at; /* object: raw text of the current key */
    size_t key_len;
} s_level_t;

static void
s_scan_path(s_parse_t *ctx, const char *text, const s_level_t *levels,
            size_t depth) {
    for (size_t d = 0; d < depth; d++) {
        if (levels[d].array) {
            s_path_index(ctx, levels[d].index);
        } else if (!levels[d].want_key || levels[d].key_len > 0) {
            char key[64];
            size_t n = levels[d].key_len < sizeof key - 1 ? levels[d].key_len
                                                          : sizeof key - 1;
            memcpy(key, text + levels[d].key_at, n);
            key[n] = '\0';
            s_path_key(ctx, key);
        }
    }
}

/*  One pass over the text before jansson sees it (see the top of this
    file). With out == NULL, checks and counts the big integer literals
    into *bigs; with out, also copies the text into it with those literals
    rewritten. */
static dossier_status_t
s_scan(s_parse_t *ctx, const char *text, size_t size, json_buf_t *out,
       size_t *bigs) {
    const unsigned char *u = (const unsigned char *)text;
    s_level_t levels[S_MAX_DEPTH];
    size_t depth = 0, i = 0, copied = 0, line, column;
    *bigs = 0;
    while (i < size) {
        unsigned char c = u[i];
        s_level_t *top = depth > 0 ? &levels[depth - 1] : NULL;
        if (c == '"') {
            bool key = top != NULL && !top->array && top->want_key;
            if (key) {
                top->key_at = i + 1;
            }
            const char *why = NULL;
            for (i++; i < size && u[i] != '"';) {
                if (u[i] == '\\') {
                    if (i + 5 < size && u[i + 1] == 'u' &&
                        memcmp(text + i + 2, "0000", 4) == 0) {
                        why = "\\u0000 is not allowed in a string";
                        break;
                    }
                    i += 2;
                    continue;
                }
                size_t len = json_utf8_sequence(u + i, size - i);
                if (len == 0) {
                    why = "invalid UTF-8";
                    break;
                }
                i += len;
            }
            if (key) {
                top->key_len = (i < size ? i : size) - top->key_at;
            }
            if (why != NULL) {
                s_position(text, i, &line, &column);
                s_scan_path(ctx, text, levels, depth);
                return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                              "%s at line %zu column %zu", why, line, column);
            }
            i++;
        } else if (c == '{' || c == '[') {
            if (depth == S_MAX_DEPTH) {
                /* No path: it would be 64 levels long. */
                s_position(text, i, &line, &column);
                return s_fail(ctx, DOSSIER_INVALID_ARGUMENT,
                              "JSON nested deeper than %d at line %zu "
                              "column %zu",
                              S_MAX_DEPTH, line, column);
            }
            levels[depth++] = (s_level_t){.array = c == '[', .want_key = true};
            i++;
        } else if (c == '}' || c == ']') {
            depth -= depth > 0;
            i++;
        } else if (c == ',' || c == ':') {
            if (top != NULL && top->array && c == ',') {
                top->index++;
            } else if (top != NULL && !top->array) {
                top->want_key = c == ',';
                top->key_len = c == ',' ? 0 : top->key_len;
            }
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i, digits = 0;
            i += c == '-';
            size_t first = i;
            while (i < size && u[i] >= '0' && u[i] <= '9') {
                i++, digits++;
            }
            bool integer =
                i == size || (u[i] != '.' && u[i] != 'e' && u[i] != 'E');
            /* "0123" is not JSON: leave it for jansson to refuse. */
            bool big = integer && digits >= S_BIG_DIGITS && u[first] != '0';
            while (i < size && u[i] != '\0' &&
                   strchr("0123456789.eE+-", u[i]) != NULL) {
                i++;
            }
            if (big) {
                (*bigs)++;
                if (out != NULL) {
                    json_buf_put(out, text + copied, start - copied);
                    json_buf_puts(out, "\"\\u0000");
                    json_buf_put(out, text + start, i - start);
                    json_buf_puts(out, "\"");
                    copied = i;
                }
            }
        } else {
            i++;
        }
    }
    if (out != NULL) {
        json_buf_put(out, text + copied, size - copied);
        if (out->failed) {
            return s_oom(ctx);
        }
    }
    return DOSSIER_OK;
}

dossier_status_t
json_to_message(const ProtobufCMessageDescriptor *descriptor, const char *text,
                size_t size, ProtobufCMessage **message_p,
                dossier_error_t *err) {
    if (descriptor != NULL && message_p != NULL && text != NULL &&
        json_fast_to_message(descriptor, text, size, message_p)) {
        return DOSSIER_OK;
    }
    return json_to_message_slow(descriptor, text, size, message_p, err);
}

dossier_status_t
json_to_message_slow(const ProtobufCMessageDescriptor *descriptor,
                     const char *text, size_t size,
                     ProtobufCMessage **message_p, dossier_error_t *err) {
    s_parse_t ctx = {.err = err};
    if (descriptor == NULL || message_p == NULL || (text == NULL && size > 0)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "json_to_message: missing argument");
    }
    size_t bigs = 0;
    dossier_status_t st = s_scan(&ctx, text, size, NULL, &bigs);
    if (st != DOSSIER_OK) {
        return st;
    }
    json_buf_t rewritten = {0};
    if (bigs > 0) {
        st = s_scan(&ctx, text, size, &rewritten, &bigs);
        if (st != DOSSIER_OK) {
            free(rewritten.data);
            return st;
        }
        text = rewritten.data;
        size = rewritten.len;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text ? text : "", size, JSON_ALLOW_NUL, &jerr);
    free(rewritten.data);
    if (root == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "invalid JSON at line %d column %d: %s",
                                 jerr.line, jerr.column, jerr.text);
    }
    ProtobufCMessage *msg = NULL;
    st = s_parse_message(&ctx, descriptor, root, 0, &msg);
    json_decref(root);
    if (st == DOSSIER_OK) {
        *message_p = msg;
    }
    return st;
}
