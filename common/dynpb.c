/*  dynpb.c: protobuf-c descriptors built from a FileDescriptorSet.

    The set is first walked on the wire (dynpb_wire_bounded) so that
    protobuf-c's recursive unpack cannot be driven into the stack, then
    unpacked with the generated descriptor.proto code and kept by the
    pool: the names the descriptors hand out point into it.

    Building goes in passes, each refusing what it cannot carry:
    1. every message and enum type, nested ones too, gets a row with its
       full name; the rows are sorted by name, and a name declared twice
       is refused;
    2. every row gets its descriptor, empty, so fields may point at any
       type, their own included (a message that holds itself is fine:
       nothing here follows field types recursively);
    3. enums get their values, messages their fields: type names
       resolved, labels as protoc-c writes them for the file's syntax,
       defaults parsed, and a struct layout of our own (declaration
       order, then each oneof as a case word and a union, as protoc-c
       lays out its structs), then the fields sorted by number, the
       index by name and the ranges of consecutive numbers that
       protobuf-c's lookups use;
    4. the methods of the services, with their types and options.
    The wire walk that guards unpack is in dynpb_wire.c.
    All memory but the unpacked set comes from one arena, freed at once. */
#include "dynpb.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"

typedef Google__Protobuf__FileDescriptorSet s_set_t;
typedef Google__Protobuf__FileDescriptorProto s_file_t;
typedef Google__Protobuf__DescriptorProto s_message_t;
typedef Google__Protobuf__EnumDescriptorProto s_enum_t;
typedef Google__Protobuf__FieldDescriptorProto s_field_t;

/* Field numbers: protoc's bounds (descriptor.proto, FieldDescriptorProto). */
#define S_MAX_FIELD_NUMBER 536870911
#define S_RESERVED_FIRST 19000
#define S_RESERVED_LAST 19999

/* ---- the arena -------------------------------------------------------- */

typedef struct s_block {
    struct s_block *next;
    size_t used;
    size_t cap;
    size_t pad; /* keeps the data after the header 16-byte aligned */
} s_block_t;

#define S_BLOCK_BYTES (64 * 1024)

/* One type of the set. */
typedef struct {
    const char *name; /* full, without the leading '.' */
    const char *package;
    bool proto3;
    const s_message_t *message; /* one of these two */
    const s_enum_t *enumeration;
    ProtobufCMessageDescriptor *md;
    ProtobufCEnumDescriptor *ed;
} s_type_t;

struct dynpb_pool {
    s_block_t *blocks;
    s_set_t *set;
    s_type_t *types;
    size_t n_types, cap_types;
    const ProtobufCMessageDescriptor **messages;
    size_t n_messages;
    dynpb_method_t *methods;
    size_t n_methods;
    dossier_error_t *err;
    dossier_status_t status; /* the first failure of the build */
};

/*  Records the first failure of the build; returns false, so a check
    reads `return s_fail(pool, ...)`. */
__attribute__((format(printf, 2, 3))) static bool
s_fail(dynpb_pool_t *pool, const char *fmt, ...) {
    if (pool->status != DOSSIER_OK) {
        return false;
    }
    char text[sizeof pool->err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    pool->status = DOSSIER_INVALID_ARGUMENT;
    dossier_error_set(pool->err, DOSSIER_INVALID_ARGUMENT, "descriptor set: %s",
                      text);
    return false;
}

static bool
s_oom(dynpb_pool_t *pool) {
    if (pool->status == DOSSIER_OK) {
        pool->status = DOSSIER_RESOURCE_EXHAUSTED;
        dossier_error_set(pool->err, DOSSIER_RESOURCE_EXHAUSTED,
                          "out of memory building descriptors");
    }
    return false;
}

/*  size zeroed bytes from the arena, 16-byte aligned, or NULL. */
static void *
s_alloc(dynpb_pool_t *pool, size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size == 0) {
        size = 16;
    }
    s_block_t *b = pool->blocks;
    if (b == NULL || b->cap - b->used < size) {
        size_t cap = size > S_BLOCK_BYTES ? size : S_BLOCK_BYTES;
        b = calloc(1, sizeof *b + cap);
        if (b == NULL) {
            s_oom(pool);
            return NULL;
        }
        b->cap = cap;
        b->next = pool->blocks;
        pool->blocks = b;
    }
    void *p = (char *)(b + 1) + b->used;
    b->used += size;
    return p;
}

/*  n elements of size bytes, or NULL (also on overflow). */
static void *
s_array(dynpb_pool_t *pool, size_t n, size_t size) {
    if (size != 0 && n > SIZE_MAX / size / 2) {
        s_oom(pool);
        return NULL;
    }
    return s_alloc(pool, n * size);
}

static char *
s_strdup(dynpb_pool_t *pool, const char *s) {
    size_t n = strlen(s);
    char *p = s_alloc(pool, n + 1);
    if (p) {
        memcpy(p, s, n + 1);
    }
    return p;
}

/* ---- names ------------------------------------------------------------ */

/*  True for a protobuf identifier: [A-Za-z_][A-Za-z0-9_]*. */
static bool
s_identifier(const char *s) {
    if (s == NULL || *s == '\0' || strlen(s) > DYNPB_MAX_NAME) {
        return false;
    }
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) {
        return false;
    }
    for (const char *p = s + 1; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '_')) {
            return false;
        }
    }
    return true;
}

/*  True for identifiers joined by single dots ("dossier.v1"). */
static bool
s_dotted(const char *s) {
    char part[DYNPB_MAX_NAME + 1];
    size_t n = strlen(s);
    if (n == 0 || n > DYNPB_MAX_NAME) {
        return false;
    }
    const char *start = s;
    for (;;) {
        const char *dot = strchr(start, '.');
        size_t len = dot ? (size_t)(dot - start) : strlen(start);
        memcpy(part, start, len);
        part[len] = '\0';
        if (!s_identifier(part)) {
            return false;
        }
        if (!dot) {
            return true;
        }
        start = dot + 1;
    }
}

/*  "prefix.name", or name when prefix is empty: in the arena. */
static char *
s_join(dynpb_pool_t *pool, const char *prefix, const char *name) {
    size_t a = strlen(prefix), b = strlen(name);
    if (a + b + 1 > DYNPB_MAX_NAME) {
        s_fail(pool, "the name %.64s... is longer than %d bytes", prefix,
               DYNPB_MAX_NAME);
        return NULL;
    }
    char *p = s_alloc(pool, a + b + 2);
    if (p == NULL) {
        return NULL;
    }
    if (a > 0) {
        memcpy(p, prefix, a);
        p[a++] = '.';
    }
    memcpy(p + a, name, b + 1);
    return p;
}

/* ---- pass 1: the types ------------------------------------------------ */

static bool
s_add_type(dynpb_pool_t *pool, const s_type_t *row) {
    if (pool->n_types == DYNPB_MAX_TYPES) {
        return s_fail(pool, "more than %d types", DYNPB_MAX_TYPES);
    }
    if (pool->n_types == pool->cap_types) {
        size_t cap = pool->cap_types ? pool->cap_types * 2 : 64;
        s_type_t *types = realloc(pool->types, cap * sizeof *types);
        if (types == NULL) {
            return s_oom(pool);
        }
        pool->types = types;
        pool->cap_types = cap;
    }
    pool->types[pool->n_types++] = *row;
    return true;
}

static bool
s_collect_enum(dynpb_pool_t *pool, const s_type_t *file_row, const char *prefix,
               const s_enum_t *e) {
    if (!s_identifier(e->name)) {
        return s_fail(pool, "an enum in %s has no valid name",
                      *prefix ? prefix : "the file");
    }
    s_type_t row = *file_row;
    row.name = s_join(pool, prefix, e->name);
    row.enumeration = e;
    return row.name != NULL && s_add_type(pool, &row);
}

/*  Adds m and its nested types; depth is bounded by the wire check. */
static bool
s_collect_message(dynpb_pool_t *pool, const s_type_t *file_row,
                  const char *prefix, const s_message_t *m) {
    if (!s_identifier(m->name)) {
        return s_fail(pool, "a message in %s has no valid name",
                      *prefix ? prefix : "the file");
    }
    s_type_t row = *file_row;
    row.name = s_join(pool, prefix, m->name);
    row.message = m;
    if (row.name == NULL || !s_add_type(pool, &row)) {
        return false;
    }
    for (size_t i = 0; i < m->n_nested_type; i++) {
        if (!s_collect_message(pool, file_row, row.name, m->nested_type[i])) {
            return false;
        }
    }
    for (size_t i = 0; i < m->n_enum_type; i++) {
        if (!s_collect_enum(pool, file_row, row.name, m->enum_type[i])) {
            return false;
        }
    }
    return true;
}

static bool
s_collect_file(dynpb_pool_t *pool, const s_file_t *file) {
    const char *fname = file->name ? file->name : "(unnamed file)";
    s_type_t row = {0};
    row.package = file->package ? file->package : "";
    if (*row.package && !s_dotted(row.package)) {
        return s_fail(pool, "%.200s: the package is not a dotted name", fname);
    }
    if (file->syntax == NULL || strcmp(file->syntax, "proto2") == 0 ||
        *file->syntax == '\0') {
        row.proto3 = false;
    } else if (strcmp(file->syntax, "proto3") == 0) {
        row.proto3 = true;
    } else {
        return s_fail(pool, "%.200s: syntax \"%.32s\" is not supported", fname,
                      file->syntax);
    }
    for (size_t i = 0; i < file->n_message_type; i++) {
        if (!s_collect_message(pool, &row, row.package,
                               file->message_type[i])) {
            return false;
        }
    }
    for (size_t i = 0; i < file->n_enum_type; i++) {
        if (!s_collect_enum(pool, &row, row.package, file->enum_type[i])) {
            return false;
        }
    }
    return true;
}

static int
s_type_cmp(const void *a, const void *b) {
    return strcmp(((const s_type_t *)a)->name, ((const s_type_t *)b)->name);
}

static const s_type_t *
s_find_type(const dynpb_pool_t *pool, const char *name) {
    if (name == NULL) {
        return NULL;
    }
    if (*name == '.') {
        name++;
    }
    s_type_t key = {.name = name};
    if (pool->n_types == 0) {
        return NULL; /* types is NULL then, which bsearch may not take */
    }
    return bsearch(&key, pool->types, pool->n_types, sizeof key, s_type_cmp);
}

/* ---- pass 3: enums ---------------------------------------------------- */

/*  Ranges of consecutive numbers over n sorted numbers, as protobuf-c
    wants them: {first number, index of it}, then {0, n}. */
static ProtobufCIntRange *
s_ranges(dynpb_pool_t *pool, const int *numbers, unsigned n, unsigned *n_out) {
    unsigned count = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i == 0 || (int64_t)numbers[i] != (int64_t)numbers[i - 1] + 1) {
            count++;
        }
    }
    ProtobufCIntRange *r = s_array(pool, count + 1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i == 0 || (int64_t)numbers[i] != (int64_t)numbers[i - 1] + 1) {
            r[k].start_value = numbers[i];
            r[k].orig_index = i;
            k++;
        }
    }
    r[count].start_value = 0;
    r[count].orig_index = n;
    *n_out = count;
    return r;
}

/* For sorting an enum's values: by number, then declaration order. */
typedef struct {
    int number;
    unsigned order;
    const char *name;
} s_value_t;

static int
s_value_cmp(const void *a, const void *b) {
    const s_value_t *x = a, *y = b;
    if (x->number != y->number) {
        return x->number < y->number ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

static int
s_value_index_cmp(const void *a, const void *b) {
    return strcmp(((const ProtobufCEnumValueIndex *)a)->name,
                  ((const ProtobufCEnumValueIndex *)b)->name);
}

static bool
s_build_enum(dynpb_pool_t *pool, const s_type_t *row) {
    const s_enum_t *e = row->enumeration;
    ProtobufCEnumDescriptor *ed = row->ed;
    size_t n = e->n_value;
    if (n == 0) {
        return s_fail(pool, "enum %s has no value", row->name);
    }
    if (n > DYNPB_MAX_ENUM_VALUES) {
        return s_fail(pool, "enum %s has more than %d values", row->name,
                      DYNPB_MAX_ENUM_VALUES);
    }
    s_value_t *sorted = calloc(n, sizeof *sorted);
    int *numbers = calloc(n, sizeof *numbers);
    ProtobufCEnumValue *values = s_array(pool, n, sizeof *values);
    ProtobufCEnumValueIndex *by_name = s_array(pool, n, sizeof *by_name);
    bool ok = false;
    if (sorted == NULL || numbers == NULL) {
        s_oom(pool);
        goto done;
    }
    if (values == NULL || by_name == NULL) {
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const Google__Protobuf__EnumValueDescriptorProto *v = e->value[i];
        if (!s_identifier(v->name)) {
            s_fail(pool, "enum %s: value %zu has no valid name", row->name, i);
            goto done;
        }
        sorted[i].number = v->number;
        sorted[i].order = (unsigned)i;
        sorted[i].name = v->name;
    }
    qsort(sorted, n, sizeof *sorted, s_value_cmp);
    /* values: one per number, the first declared (aliases share it). */
    unsigned n_values = 0;
    for (size_t i = 0; i < n; i++) {
        if (n_values > 0 && values[n_values - 1].value == sorted[i].number) {
            continue;
        }
        values[n_values].name = sorted[i].name;
        values[n_values].c_name = sorted[i].name;
        values[n_values].value = sorted[i].number;
        numbers[n_values] = sorted[i].number;
        n_values++;
    }
    for (size_t i = 0; i < n; i++) {
        by_name[i].name = sorted[i].name;
        /* The index of the value of its number. */
        unsigned lo = 0, hi = n_values;
        while (lo + 1 < hi) {
            unsigned mid = (lo + hi) / 2;
            if (values[mid].value <= sorted[i].number) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        by_name[i].index = lo;
    }
    qsort(by_name, n, sizeof *by_name, s_value_index_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(by_name[i - 1].name, by_name[i].name) == 0) {
            s_fail(pool, "enum %s: value %.100s is declared twice", row->name,
                   by_name[i].name);
            goto done;
        }
    }
    ed->value_ranges = s_ranges(pool, numbers, n_values, &ed->n_value_ranges);
    if (ed->value_ranges == NULL) {
        goto done;
    }
    ed->n_values = n_values;
    ed->values = values;
    ed->n_value_names = (unsigned)n;
    ed->values_by_name = by_name;
    ok = true;
done:
    free(numbers);
    free(sorted);
    return ok;
}

/* ---- pass 3: fields --------------------------------------------------- */

/*  Size and alignment of a singular member of type t. */
static size_t
s_member_size(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4; /* 32-bit numbers, float, enum (an int) */
    }
}

static size_t
s_member_align(ProtobufCType t) {
    size_t size = s_member_size(t);
    return size > 8 ? 8 : size;
}

static size_t
s_align(size_t offset, size_t align) {
    return (offset + align - 1) & ~(align - 1);
}

/*  protobuf-c's type for descriptor.proto's (numbered 1 to 18 there);
    false for groups (10) and numbers this build does not know. */
static bool
s_c_type(Google__Protobuf__FieldDescriptorProto__Type t, ProtobufCType *out) {
    static const int s_types[19] = {
        -1,
        PROTOBUF_C_TYPE_DOUBLE,   /* 1 */
        PROTOBUF_C_TYPE_FLOAT,    /* 2 */
        PROTOBUF_C_TYPE_INT64,    /* 3 */
        PROTOBUF_C_TYPE_UINT64,   /* 4 */
        PROTOBUF_C_TYPE_INT32,    /* 5 */
        PROTOBUF_C_TYPE_FIXED64,  /* 6 */
        PROTOBUF_C_TYPE_FIXED32,  /* 7 */
        PROTOBUF_C_TYPE_BOOL,     /* 8 */
        PROTOBUF_C_TYPE_STRING,   /* 9 */
        -1,                       /* 10: TYPE_GROUP */
        PROTOBUF_C_TYPE_MESSAGE,  /* 11 */
        PROTOBUF_C_TYPE_BYTES,    /* 12 */
        PROTOBUF_C_TYPE_UINT32,   /* 13 */
        PROTOBUF_C_TYPE_ENUM,     /* 14 */
        PROTOBUF_C_TYPE_SFIXED32, /* 15 */
        PROTOBUF_C_TYPE_SFIXED64, /* 16 */
        PROTOBUF_C_TYPE_SINT32,   /* 17 */
        PROTOBUF_C_TYPE_SINT64,   /* 18 */
    };
    if ((int)t < 1 || (int)t > 18 || s_types[t] < 0) {
        return false;
    }
    *out = (ProtobufCType)s_types[t];
    return true;
}

static bool
s_packable(ProtobufCType t) {
    return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
           t != PROTOBUF_C_TYPE_MESSAGE;
}

/*  protoc-c's has_ member: singular optional numbers, enums and bytes. */
static bool
s_uses_has(ProtobufCType t) {
    return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_MESSAGE;
}

/*  A whole number in [min, max] from text; false otherwise. */
static bool
s_parse_int(const char *text, int64_t min, uint64_t max, void *out, size_t size,
            bool is_signed) {
    char *end = NULL;
    errno = 0;
    if (*text == '\0' || (!is_signed && *text == '-')) {
        return false;
    }
    if (is_signed) {
        long long v = strtoll(text, &end, 0);
        if (errno || *end || v < min || (v > 0 && (uint64_t)v > max)) {
            return false;
        }
        if (size == 4) {
            int32_t v32 = (int32_t)v;
            memcpy(out, &v32, 4);
        } else {
            int64_t v64 = v;
            memcpy(out, &v64, 8);
        }
        return true;
    }
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || *end || v > max) {
        return false;
    }
    if (size == 4) {
        uint32_t v32 = (uint32_t)v;
        memcpy(out, &v32, 4);
    } else {
        uint64_t v64 = v;
        memcpy(out, &v64, 8);
    }
    return true;
}

static bool
s_parse_double(const char *text, double *out) {
    if (strcmp(text, "inf") == 0) {
        *out = INFINITY;
        return true;
    }
    if (strcmp(text, "-inf") == 0) {
        *out = -INFINITY;
        return true;
    }
    if (strcmp(text, "nan") == 0) {
        *out = NAN;
        return true;
    }
    char *end = NULL;
    if (*text == '\0') {
        return false;
    }
    *out = strtod(text, &end);
    return *end == '\0';
}

static int
s_hex(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*  A bytes default as protoc writes it (C escapes: \n \r \t \" \' \\,
    \ooo octal, \xHH) into out->data (in the arena). */
static bool
s_unescape(dynpb_pool_t *pool, const char *text, ProtobufCBinaryData *out) {
    size_t n = strlen(text);
    uint8_t *data = s_alloc(pool, n + 1);
    size_t len = 0;
    if (data == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (text[i] != '\\') {
            data[len++] = (uint8_t)text[i];
            continue;
        }
        if (++i == n) {
            return false;
        }
        char c = text[i];
        static const char s_escapes[] = "nrt\"'\\";
        static const char s_meaning[] = "\n\r\t\"'\\";
        const char *simple = strchr(s_escapes, c);
        if (c != '\0' && simple != NULL) {
            data[len++] = (uint8_t)s_meaning[simple - s_escapes];
        } else if (c >= '0' && c <= '7') {
            unsigned v = 0;
            size_t k = 0;
            while (k < 3 && i < n && text[i] >= '0' && text[i] <= '7') {
                v = v * 8 + (unsigned)(text[i] - '0');
                i++, k++;
            }
            i--;
            if (v > 255) {
                return false;
            }
            data[len++] = (uint8_t)v;
        } else if (c == 'x' && i + 1 < n && s_hex(text[i + 1]) >= 0) {
            unsigned v = (unsigned)s_hex(text[++i]);
            if (i + 1 < n && s_hex(text[i + 1]) >= 0) {
                v = v * 16 + (unsigned)s_hex(text[++i]);
            }
            data[len++] = (uint8_t)v;
        } else {
            return false;
        }
    }
    out->data = data;
    out->len = len;
    return true;
}

/*  The default of field f as protobuf-c wants it (a pointer to the
    value, to the string, or to a ProtobufCBinaryData), from the text
    descriptor.proto keeps; false when it does not parse for the type. */
static bool
s_default(dynpb_pool_t *pool, const char *text, ProtobufCFieldDescriptor *f) {
    void *v = NULL;
    bool ok = false;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        v = s_alloc(pool, 4);
        ok = v && s_parse_int(text, INT32_MIN, INT32_MAX, v, 4, true);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        v = s_alloc(pool, 4);
        ok = v && s_parse_int(text, 0, UINT32_MAX, v, 4, false);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        v = s_alloc(pool, 8);
        ok = v && s_parse_int(text, INT64_MIN, INT64_MAX, v, 8, true);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        v = s_alloc(pool, 8);
        ok = v && s_parse_int(text, 0, UINT64_MAX, v, 8, false);
        break;
    case PROTOBUF_C_TYPE_FLOAT: {
        double d;
        float *fv = s_alloc(pool, sizeof *fv);
        ok = fv && s_parse_double(text, &d);
        if (ok) {
            *fv = (float)d;
        }
        v = fv;
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double *dv = s_alloc(pool, sizeof *dv);
        ok = dv && s_parse_double(text, dv);
        v = dv;
        break;
    }
    case PROTOBUF_C_TYPE_BOOL: {
        protobuf_c_boolean *bv = s_alloc(pool, sizeof *bv);
        ok = bv && (strcmp(text, "true") == 0 || strcmp(text, "false") == 0);
        if (ok) {
            *bv = text[0] == 't';
        }
        v = bv;
        break;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, text);
        int *iv = s_alloc(pool, sizeof *iv);
        ok = iv && ev;
        if (ok) {
            *iv = ev->value;
        }
        v = iv;
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        v = s_strdup(pool, text);
        ok = v != NULL;
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *bd = s_alloc(pool, sizeof *bd);
        ok = bd && s_unescape(pool, text, bd);
        v = bd;
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        break;
    }
    f->default_value = v;
    return ok;
}

/*  Fills f (but its offsets) from fp of message row; *oneof gets the
    index of the real oneof it belongs to, or -1. */
static bool
s_build_field(dynpb_pool_t *pool, const s_type_t *row, const s_field_t *fp,
              ProtobufCFieldDescriptor *f, int *oneof) {
    const s_message_t *m = row->message;
    const char *fname = fp->name ? fp->name : "?";
    if (!s_identifier(fp->name)) {
        return s_fail(pool, "%s: a field has no valid name", row->name);
    }
    f->name = fp->name;
    if (!fp->has_number || fp->number < 1 || fp->number > S_MAX_FIELD_NUMBER) {
        return s_fail(pool, "%s.%s: field number %d is out of range", row->name,
                      fname, fp->number);
    }
    if (fp->number >= S_RESERVED_FIRST && fp->number <= S_RESERVED_LAST) {
        return s_fail(pool,
                      "%s.%s: field number %d is reserved for protobuf "
                      "itself",
                      row->name, fname, fp->number);
    }
    f->id = (uint32_t)fp->number;
    if (!fp->has_type || !s_c_type(fp->type, &f->type)) {
        return s_fail(
            pool, "%s.%s: %s", row->name, fname,
            fp->has_type &&
                    fp->type ==
                        GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP
                ? "groups are not supported"
                : "the field's type is missing or unknown");
    }
    if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_ENUM) {
        const char *tn = fp->type_name;
        if (tn == NULL || tn[0] != '.') {
            return s_fail(pool,
                          "%s.%s: type name \"%.100s\" is not fully "
                          "qualified",
                          row->name, fname, tn ? tn : "");
        }
        const s_type_t *t = s_find_type(pool, tn);
        bool want_message = f->type == PROTOBUF_C_TYPE_MESSAGE;
        if (t == NULL || (want_message ? t->md == NULL : t->ed == NULL)) {
            return s_fail(pool, "%s.%s: no %s type %.200s", row->name, fname,
                          want_message ? "message" : "enum", tn + 1);
        }
        f->descriptor =
            want_message ? (const void *)t->md : (const void *)t->ed;
    }
    *oneof = -1;
    bool repeated = false;
    switch (fp->has_label ? fp->label : 0) {
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED:
        repeated = true;
        f->label = PROTOBUF_C_LABEL_REPEATED;
        break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED:
        if (row->proto3) {
            return s_fail(pool, "%s.%s: required in a proto3 file", row->name,
                          fname);
        }
        f->label = PROTOBUF_C_LABEL_REQUIRED;
        break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_OPTIONAL:
        if (fp->has_oneof_index) {
            if (fp->oneof_index < 0 ||
                (size_t)fp->oneof_index >= m->n_oneof_decl) {
                return s_fail(pool, "%s.%s: no oneof %d", row->name, fname,
                              fp->oneof_index);
            }
            if (!fp->proto3_optional) {
                *oneof = fp->oneof_index;
                f->flags |= PROTOBUF_C_FIELD_FLAG_ONEOF;
            }
        }
        /* As protoc-c: proto3 fields have no presence (NONE), but
           "optional" ones (synthetic oneof) keep it, as in proto2. */
        f->label = row->proto3 && !fp->proto3_optional
                       ? PROTOBUF_C_LABEL_NONE
                       : PROTOBUF_C_LABEL_OPTIONAL;
        break;
    default:
        return s_fail(pool, "%s.%s: the field's label is missing or unknown",
                      row->name, fname);
    }
    if (repeated && s_packable(f->type)) {
        const Google__Protobuf__FieldOptions *o = fp->options;
        bool packed = o && o->has_packed ? o->packed : row->proto3;
        if (packed) {
            f->flags |= PROTOBUF_C_FIELD_FLAG_PACKED;
        }
    }
    if (fp->options && fp->options->has_deprecated && fp->options->deprecated) {
        f->flags |= PROTOBUF_C_FIELD_FLAG_DEPRECATED;
    }
    if (fp->default_value != NULL) {
        if (repeated || row->proto3 || f->type == PROTOBUF_C_TYPE_MESSAGE) {
            return s_fail(pool, "%s.%s: a default value is not allowed here",
                          row->name, fname);
        }
        if (!s_default(pool, fp->default_value, f)) {
            return pool->status == DOSSIER_OK
                       ? s_fail(pool, "%s.%s: bad default value \"%.64s\"",
                                row->name, fname, fp->default_value)
                       : false;
        }
    } else if (row->proto3 && f->type == PROTOBUF_C_TYPE_STRING) {
        /* As protoc-c: every proto3 string, repeated ones too. */
        f->default_value = &protobuf_c_empty_string;
    }
    return true;
}

/*  Lays out the members of fields (in declaration order) after the
    ProtobufCMessage header; oneof_of[i] is field i's oneof or -1. */
static bool
s_layout(dynpb_pool_t *pool, const s_type_t *row,
         ProtobufCFieldDescriptor *fields, const int *oneof_of, size_t n,
         size_t *size_out) {
    const s_message_t *m = row->message;
    size_t off = sizeof(ProtobufCMessage);
    for (size_t i = 0; i < n; i++) {
        ProtobufCFieldDescriptor *f = &fields[i];
        if (oneof_of[i] >= 0) {
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            off = s_align(off, sizeof(size_t));
            f->quantifier_offset = (unsigned)off;
            off += sizeof(size_t);
            off = s_align(off, sizeof(void *));
            f->offset = (unsigned)off;
            off += sizeof(void *);
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL && s_uses_has(f->type)) {
            off = s_align(off, sizeof(protobuf_c_boolean));
            f->quantifier_offset = (unsigned)off;
            off += sizeof(protobuf_c_boolean);
        }
        off = s_align(off, s_member_align(f->type));
        f->offset = (unsigned)off;
        off += s_member_size(f->type);
    }
    for (size_t k = 0; k < m->n_oneof_decl; k++) {
        size_t size = 0, align = 4;
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            if (oneof_of[i] == (int)k) {
                any = true;
                size_t s = s_member_size(fields[i].type);
                size_t a = s_member_align(fields[i].type);
                size = s > size ? s : size;
                align = a > align ? a : align;
            }
        }
        if (!any) {
            continue; /* a synthetic oneof of proto3 "optional" */
        }
        if (!s_identifier(m->oneof_decl[k]->name)) {
            return s_fail(pool, "%s: oneof %zu has no valid name", row->name,
                          k);
        }
        off = s_align(off, 4);
        size_t case_offset = off;
        off = s_align(off + 4, align);
        for (size_t i = 0; i < n; i++) {
            if (oneof_of[i] == (int)k) {
                fields[i].quantifier_offset = (unsigned)case_offset;
                fields[i].offset = (unsigned)off;
            }
        }
        off += size;
    }
    *size_out = s_align(off, 8);
    return true;
}

static int
s_field_number_cmp(const void *a, const void *b) {
    uint32_t x = ((const ProtobufCFieldDescriptor *)a)->id;
    uint32_t y = ((const ProtobufCFieldDescriptor *)b)->id;
    return x < y ? -1 : x > y;
}

/* For sorting indices by their fields' names (qsort_r is a GNU call). */
typedef struct {
    const char *name;
    unsigned index;
} s_name_index_t;

static int
s_name_index_cmp(const void *a, const void *b) {
    return strcmp(((const s_name_index_t *)a)->name,
                  ((const s_name_index_t *)b)->name);
}

static bool
s_build_message(dynpb_pool_t *pool, const s_type_t *row) {
    const s_message_t *m = row->message;
    ProtobufCMessageDescriptor *md = row->md;
    size_t n = m->n_field;
    if (n > DYNPB_MAX_FIELDS) {
        return s_fail(pool, "%s has more than %d fields", row->name,
                      DYNPB_MAX_FIELDS);
    }
    ProtobufCFieldDescriptor *fields = s_array(pool, n, sizeof *fields);
    unsigned *by_name = s_array(pool, n, sizeof *by_name);
    int *oneof_of = calloc(n + 1, sizeof *oneof_of);
    int *numbers = calloc(n + 1, sizeof *numbers);
    s_name_index_t *names = calloc(n + 1, sizeof *names);
    bool ok = false;
    if (oneof_of == NULL || numbers == NULL || names == NULL) {
        s_oom(pool);
        goto done;
    }
    if (fields == NULL || by_name == NULL) {
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (!s_build_field(pool, row, m->field[i], &fields[i], &oneof_of[i])) {
            goto done;
        }
    }
    size_t size = 0;
    if (!s_layout(pool, row, fields, oneof_of, n, &size)) {
        goto done;
    }
    qsort(fields, n, sizeof *fields, s_field_number_cmp);
    for (size_t i = 0; i < n; i++) {
        numbers[i] = (int)fields[i].id;
        if (i > 0 && numbers[i] == numbers[i - 1]) {
            s_fail(pool, "%s: field number %d is used twice", row->name,
                   numbers[i]);
            goto done;
        }
        names[i].name = fields[i].name;
        names[i].index = (unsigned)i;
    }
    qsort(names, n, sizeof *names, s_name_index_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(names[i].name, names[i - 1].name) == 0) {
            s_fail(pool, "%s: field %.100s is declared twice", row->name,
                   names[i].name);
            goto done;
        }
        by_name[i] = names[i].index;
    }
    md->field_ranges =
        s_ranges(pool, numbers, (unsigned)n, &md->n_field_ranges);
    if (md->field_ranges == NULL) {
        goto done;
    }
    md->sizeof_message = size;
    md->n_fields = (unsigned)n;
    md->fields = fields;
    md->fields_sorted_by_name = by_name;
    ok = true;
done:
    free(names);
    free(numbers);
    free(oneof_of);
    return ok;
}

/* ---- pass 4: methods -------------------------------------------------- */

/*  Decodes an unknown field's varint; false when it is not one. */
static bool
s_unknown_varint(const ProtobufCMessageUnknownField *field, uint64_t *value) {
    uint64_t v = 0;
    if (field->wire_type != PROTOBUF_C_WIRE_TYPE_VARINT) {
        return false;
    }
    for (size_t i = 0; i < field->len && i < 10; i++) {
        v |= (uint64_t)(field->data[i] & 0x7f) << (7 * i);
        if (!(field->data[i] & 0x80)) {
            *value = v;
            return true;
        }
    }
    return false;
}

/*  The extension of MethodOptions numbered number declared in the set, or
    NULL; *package gets the package of its file. */
static const s_field_t *
s_method_extension(const dynpb_pool_t *pool, uint32_t number,
                   const char **package) {
    const s_set_t *set = pool->set;
    for (size_t f = 0; f < set->n_file; f++) {
        const s_file_t *file = set->file[f];
        for (size_t i = 0; i < file->n_extension; i++) {
            const s_field_t *x = file->extension[i];
            if (x->has_number && (uint32_t)x->number == number && x->extendee &&
                strcmp(x->extendee, ".google.protobuf.MethodOptions") == 0 &&
                s_identifier(x->name)) {
                *package = file->package ? file->package : "";
                return x;
            }
        }
    }
    return NULL;
}

/*  The method's extension options as "(pkg.name) = VALUE" lines. */
static bool
s_method_extensions(dynpb_pool_t *pool,
                    const Google__Protobuf__MethodOptions *o,
                    dynpb_method_t *out) {
    if (o == NULL || o->base.n_unknown_fields == 0) {
        return true;
    }
    const char **lines = s_array(pool, o->base.n_unknown_fields, sizeof *lines);
    if (lines == NULL) {
        return false;
    }
    size_t k = 0;
    for (size_t i = 0; i < o->base.n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *u = &o->base.unknown_fields[i];
        const char *package = "";
        uint64_t value;
        const s_field_t *x = s_method_extension(pool, u->tag, &package);
        if (x == NULL || !s_unknown_varint(u, &value)) {
            continue;
        }
        char text[DYNPB_MAX_NAME * 2 + 64];
        const ProtobufCEnumValue *ev = NULL;
        if (x->has_type &&
            x->type ==
                GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM) {
            const s_type_t *t = s_find_type(pool, x->type_name);
            if (t && t->ed && value <= INT32_MAX) {
                ev = protobuf_c_enum_descriptor_get_value(t->ed, (int)value);
            }
        }
        if (ev) {
            snprintf(text, sizeof text, "(%s%s%s) = %s", package,
                     *package ? "." : "", x->name, ev->name);
        } else {
            snprintf(text, sizeof text, "(%s%s%s) = %" PRIu64, package,
                     *package ? "." : "", x->name, value);
        }
        if ((lines[k++] = s_strdup(pool, text)) == NULL) {
            return false;
        }
    }
    out->extension_options = k ? lines : NULL;
    out->n_extension_options = k;
    return true;
}

static const ProtobufCMessageDescriptor *
s_method_type(dynpb_pool_t *pool, const char *method, const char *type_name) {
    if (type_name == NULL || type_name[0] != '.') {
        s_fail(pool, "method %s: type \"%.100s\" is not fully qualified",
               method, type_name ? type_name : "");
        return NULL;
    }
    const s_type_t *t = s_find_type(pool, type_name);
    if (t == NULL || t->md == NULL) {
        s_fail(pool, "method %s: no message type %.200s", method,
               type_name + 1);
        return NULL;
    }
    return t->md;
}

static bool
s_build_methods(dynpb_pool_t *pool) {
    const s_set_t *set = pool->set;
    size_t total = 0;
    for (size_t f = 0; f < set->n_file; f++) {
        for (size_t s = 0; s < set->file[f]->n_service; s++) {
            total += set->file[f]->service[s]->n_method;
            if (total > DYNPB_MAX_TYPES) {
                return s_fail(pool, "more than %d methods", DYNPB_MAX_TYPES);
            }
        }
    }
    pool->methods = s_array(pool, total, sizeof *pool->methods);
    if (pool->methods == NULL) {
        return false;
    }
    for (size_t f = 0; f < set->n_file; f++) {
        const s_file_t *file = set->file[f];
        const char *package = file->package ? file->package : "";
        for (size_t s = 0; s < file->n_service; s++) {
            const Google__Protobuf__ServiceDescriptorProto *svc =
                file->service[s];
            if (!s_identifier(svc->name)) {
                return s_fail(pool, "a service of %.200s has no valid name",
                              file->name ? file->name : "a file");
            }
            char *service = s_join(pool, package, svc->name);
            if (service == NULL) {
                return false;
            }
            for (size_t i = 0; i < svc->n_method; i++) {
                const Google__Protobuf__MethodDescriptorProto *mp =
                    svc->method[i];
                dynpb_method_t *out = &pool->methods[pool->n_methods];
                if (!s_identifier(mp->name)) {
                    return s_fail(pool, "a method of %s has no valid name",
                                  service);
                }
                size_t len = strlen(service) + strlen(mp->name) + 2;
                char *full = s_alloc(pool, len);
                if (full == NULL) {
                    return false;
                }
                snprintf(full, len, "%s/%s", service, mp->name);
                out->service = service;
                out->name = mp->name;
                out->full_name = full;
                out->input = s_method_type(pool, full, mp->input_type);
                out->output = s_method_type(pool, full, mp->output_type);
                if (out->input == NULL || out->output == NULL) {
                    return false;
                }
                out->client_streaming =
                    mp->has_client_streaming && mp->client_streaming;
                out->server_streaming =
                    mp->has_server_streaming && mp->server_streaming;
                out->idempotency =
                    mp->options && mp->options->has_idempotency_level
                        ? (int)mp->options->idempotency_level
                        : -1;
                if (!s_method_extensions(pool, mp->options, out)) {
                    return false;
                }
                pool->n_methods++;
            }
        }
    }
    return true;
}

/* ---- the pool --------------------------------------------------------- */

/*  Passes 2 and 3: a descriptor for every type, then their contents. */
static bool
s_build_types(dynpb_pool_t *pool) {
    if (pool->n_types > 0) { /* types is NULL when there are none */
        qsort(pool->types, pool->n_types, sizeof *pool->types, s_type_cmp);
    }
    size_t n_messages = 0;
    for (size_t i = 0; i < pool->n_types; i++) {
        s_type_t *t = &pool->types[i];
        if (i > 0 && strcmp(t->name, pool->types[i - 1].name) == 0) {
            return s_fail(pool, "type %s is declared twice", t->name);
        }
        const char *dot = strrchr(t->name, '.');
        const char *short_name = dot ? dot + 1 : t->name;
        if (t->message) {
            t->md = s_alloc(pool, sizeof *t->md);
            if (t->md == NULL) {
                return false;
            }
            t->md->magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC;
            t->md->name = t->name;
            t->md->short_name = short_name;
            t->md->c_name = short_name;
            t->md->package_name = t->package;
            n_messages++;
        } else {
            t->ed = s_alloc(pool, sizeof *t->ed);
            if (t->ed == NULL) {
                return false;
            }
            t->ed->magic = PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC;
            t->ed->name = t->name;
            t->ed->short_name = short_name;
            t->ed->c_name = short_name;
            t->ed->package_name = t->package;
        }
    }
    pool->messages = s_array(pool, n_messages, sizeof *pool->messages);
    if (pool->messages == NULL) {
        return false;
    }
    /* Enums first: a message's enum defaults look their values up. */
    for (size_t i = 0; i < pool->n_types; i++) {
        if (pool->types[i].ed && !s_build_enum(pool, &pool->types[i])) {
            return false;
        }
    }
    for (size_t i = 0; i < pool->n_types; i++) {
        if (pool->types[i].md) {
            if (!s_build_message(pool, &pool->types[i])) {
                return false;
            }
            pool->messages[pool->n_messages++] = pool->types[i].md;
        }
    }
    return true;
}

dossier_status_t
dynpb_pool_new(const uint8_t *data, size_t size, dynpb_pool_t **pool_p,
               dossier_error_t *err) {
    if (pool_p == NULL || (data == NULL && size > 0)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dynpb_pool_new: NULL argument");
    }
    /* A set's own messages are small; 64 bytes of structs per byte on the
       wire is more than any real set takes. */
    size_t budget =
        size > SIZE_MAX / 64 - (64u << 20) ? SIZE_MAX : (64u << 20) + size * 64;
    if (!dynpb_wire_bounded(&google__protobuf__file_descriptor_set__descriptor,
                            data, size, DYNPB_MAX_DEPTH, budget)) {
        return dossier_error_set(
            err, DOSSIER_INVALID_ARGUMENT,
            "descriptor set: nests deeper than %d levels or is too large "
            "once unpacked",
            DYNPB_MAX_DEPTH);
    }
    dynpb_pool_t *pool = calloc(1, sizeof *pool);
    if (pool == NULL) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    pool->err = err;
    pool->set = google__protobuf__file_descriptor_set__unpack(NULL, size, data);
    if (pool->set == NULL) {
        s_fail(pool, "not a serialized FileDescriptorSet");
        goto fail;
    }
    for (size_t f = 0; f < pool->set->n_file; f++) {
        if (!s_collect_file(pool, pool->set->file[f])) {
            goto fail;
        }
    }
    if (!s_build_types(pool) || !s_build_methods(pool)) {
        goto fail;
    }
    pool->err = NULL;
    *pool_p = pool;
    return DOSSIER_OK;
fail:;
    dossier_status_t status = pool->status;
    dynpb_pool_destroy(&pool);
    return status;
}

void
dynpb_pool_destroy(dynpb_pool_t **pool_p) {
    if (pool_p == NULL || *pool_p == NULL) {
        return;
    }
    dynpb_pool_t *pool = *pool_p;
    while (pool->blocks) {
        s_block_t *next = pool->blocks->next;
        free(pool->blocks);
        pool->blocks = next;
    }
    free(pool->types);
    if (pool->set) {
        google__protobuf__file_descriptor_set__free_unpacked(pool->set, NULL);
    }
    free(pool);
    *pool_p = NULL;
}

const ProtobufCMessageDescriptor *
dynpb_pool_message(const dynpb_pool_t *pool, const char *name) {
    const s_type_t *t = pool ? s_find_type(pool, name) : NULL;
    return t ? t->md : NULL;
}

const ProtobufCEnumDescriptor *
dynpb_pool_enum(const dynpb_pool_t *pool, const char *name) {
    const s_type_t *t = pool ? s_find_type(pool, name) : NULL;
    return t ? t->ed : NULL;
}

const ProtobufCMessageDescriptor *const *
dynpb_pool_messages(const dynpb_pool_t *pool, size_t *n) {
    *n = pool->n_messages;
    return pool->messages;
}

const dynpb_method_t *
dynpb_pool_methods(const dynpb_pool_t *pool, size_t *n) {
    *n = pool->n_methods;
    return pool->methods;
}

const dynpb_method_t *
dynpb_pool_find_method(const dynpb_pool_t *pool, const char *name) {
    if (pool == NULL || name == NULL) {
        return NULL;
    }
    if (*name == '/') {
        name++;
    }
    const char *slash = strchr(name, '/');
    const dynpb_method_t *found = NULL;
    size_t matches = 0;
    for (size_t i = 0; i < pool->n_methods; i++) {
        const dynpb_method_t *m = &pool->methods[i];
        if (slash == NULL) {
            if (strcmp(m->name, name) == 0) {
                found = m;
                matches++;
            }
            continue;
        }
        if (strcmp(m->full_name, name) == 0) {
            return m;
        }
        /* "Reports/Get": the service's short name and the method. */
        const char *dot = strrchr(m->service, '.');
        const char *short_service = dot ? dot + 1 : m->service;
        size_t n = strlen(short_service);
        if ((size_t)(slash - name) == n &&
            strncmp(name, short_service, n) == 0 &&
            strcmp(slash + 1, m->name) == 0) {
            found = m;
            matches++;
        }
    }
    return matches == 1 ? found : NULL;
}
