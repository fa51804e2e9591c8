/*  test_dynpb.c: descriptors built at run time from a FileDescriptorSet.

    The API's own descriptor set (the bytes Describe serves) is built into
    a pool, and every message type of dossier.v1 and of descriptor.proto
    (proto2: has_ flags, defaults, required fields) is compared with the
    descriptor protoc-c compiled for it: the same fields, labels, flags
    and layout; a message with every field set (repeated fields, maps,
    enums, nested messages, bytes, 64-bit integers) packs to the same
    bytes through both, unpacks and packs back unchanged through the
    dynamic one, and renders as the same JSON, which parses back through
    the dynamic one to the same bytes. Then hand-made sets: what protoc
    writes for features the API does not use (oneofs, proto3 optional,
    recursion, int-keyed maps), and hostile ones, each refused with a
    sentence saying why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apispec.h"
#include "dossier/v1/cluster.pb-c.h"
#include "dossier/v1/reports.pb-c.h"
#include "dossier/v1/rpc.pb-c.h"
#include "dynpb.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "json.h"
#include "testassert.h"

/* ---- a message with every field set ---------------------------------- */

/*  A new, empty message of desc, compiled (its message_init) or dynamic
    (protobuf-c's unpack initializes it; not for a type with a required
    field, which no bytes may leave out). */
static ProtobufCMessage *
s_new(const ProtobufCMessageDescriptor *desc) {
    static const uint8_t nothing[1];
    if (desc->message_init != NULL) {
        ProtobufCMessage *m = malloc(desc->sizeof_message);
        assert_non_null(m);
        protobuf_c_message_init(desc, m);
        return m;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, 0, nothing);
    assert_non_null(m);
    return m;
}

static void s_fill(ProtobufCMessage *m, unsigned salt, int depth);

/*  Writes a value of f's type, varied by salt, at member. */
static void
s_value(const ProtobufCFieldDescriptor *f, void *member, unsigned salt,
        int depth) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(int32_t *)member = -100000 - (int32_t)salt;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *)member = 4000000000u - salt;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(int64_t *)member = -1234567890123456789LL - salt;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *)member = 18446744073709551000ULL - salt;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *)member = 1.5f + (float)salt;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)member = -2.25 - salt;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)member = 1;
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        *(int *)member = ed->values[ed->n_values - 1].value;
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        char *s = malloc(64);
        assert_non_null(s);
        snprintf(s, 64, "%s-%u-\xc3\xa9", f->name, salt);
        *(char **)member = s;
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = member;
        b->data = malloc(4);
        assert_non_null(b->data);
        memcpy(b->data, (uint8_t[]){0, 0xff, (uint8_t)salt, 'x'}, 4);
        b->len = 4;
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = s_new(f->descriptor);
        s_fill(sub, salt, depth + 1);
        *(ProtobufCMessage **)member = sub;
        break;
    }
    }
}

/*  Sets every field of m (one member of each oneof), three elements per
    repeated field, submessages two levels deep (types may recurse). */
static void
s_fill(ProtobufCMessage *m, unsigned salt, int depth) {
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char *base = (char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        bool deep = f->type == PROTOBUF_C_TYPE_MESSAGE && depth >= 2;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t *which = (uint32_t *)(base + f->quantifier_offset);
            if (*which != 0 || deep) {
                continue;
            }
            *which = f->id;
        } else if (deep && f->label != PROTOBUF_C_LABEL_REPEATED) {
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = deep ? 0 : 3;
            size_t esize = f->type == PROTOBUF_C_TYPE_MESSAGE  ? sizeof(void *)
                           : f->type == PROTOBUF_C_TYPE_STRING ? sizeof(char *)
                           : f->type == PROTOBUF_C_TYPE_BYTES
                               ? sizeof(ProtobufCBinaryData)
                           : f->type == PROTOBUF_C_TYPE_INT64 ||
                                   f->type == PROTOBUF_C_TYPE_SINT64 ||
                                   f->type == PROTOBUF_C_TYPE_SFIXED64 ||
                                   f->type == PROTOBUF_C_TYPE_UINT64 ||
                                   f->type == PROTOBUF_C_TYPE_FIXED64 ||
                                   f->type == PROTOBUF_C_TYPE_DOUBLE
                               ? 8
                               : 4;
            if (n == 0) {
                continue;
            }
            char *arr = calloc(n, esize);
            assert_non_null(arr);
            for (size_t k = 0; k < n; k++) {
                /* Distinct values: map keys must differ. */
                s_value(f, arr + k * esize, salt * 10 + (unsigned)k + 1, depth);
            }
            *(size_t *)(base + f->quantifier_offset) = n;
            *(char **)(base + f->offset) = arr;
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
            !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            f->quantifier_offset != 0) {
            *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
        }
        s_value(f, base + f->offset, salt, depth);
    }
}

static uint8_t *
s_pack(const ProtobufCMessage *m, size_t *size) {
    *size = protobuf_c_message_get_packed_size(m);
    uint8_t *data = malloc(*size + 1);
    assert_non_null(data);
    assert_int_equal(protobuf_c_message_pack(m, data), *size);
    return data;
}

/* ---- compiled against dynamic ---------------------------------------- */

/* The compiled descriptors reachable from the API's roots. */
static const ProtobufCMessageDescriptor *s_compiled[256];
static size_t s_n_compiled;

static void
s_reach(const ProtobufCMessageDescriptor *d) {
    for (size_t i = 0; i < s_n_compiled; i++) {
        if (s_compiled[i] == d) {
            return;
        }
    }
    assert_true(s_n_compiled < sizeof s_compiled / sizeof s_compiled[0]);
    s_compiled[s_n_compiled++] = d;
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE) {
            s_reach(d->fields[i].descriptor);
        }
    }
}

static void
s_reach_all(void) {
    if (s_n_compiled > 0) {
        return;
    }
    const ProtobufCServiceDescriptor *svc = &dossier__v1__reports__descriptor;
    for (unsigned i = 0; i < svc->n_methods; i++) {
        s_reach(svc->methods[i].input);
        s_reach(svc->methods[i].output);
    }
    s_reach(&dossier__v1__request__descriptor);
    s_reach(&dossier__v1__response__descriptor);
    s_reach(&dossier__v1__change_event__descriptor);
    /* A cluster's Raft entries (between nodes only, in the set too). */
    s_reach(&dossier__v1__cluster_batch__descriptor);
    s_reach(&google__protobuf__file_descriptor_set__descriptor);
}

static dynpb_pool_t *
s_api_pool(void) {
    dynpb_pool_t *pool = NULL;
    dossier_error_t err = {0};
    assert_ok(dynpb_pool_new(dossier_api_descriptor,
                             dossier_api_descriptor_size, &pool, &err),
              &err);
    return pool;
}

/*  The fields, enums and layout of d are those of c. */
static void
s_same_shape(const ProtobufCMessageDescriptor *c,
             const ProtobufCMessageDescriptor *d) {
    assert_string_equal(c->name, d->name);
    assert_string_equal(c->short_name, d->short_name);
    assert_int_equal(c->n_fields, d->n_fields);
    assert_int_equal(c->sizeof_message, d->sizeof_message);
    assert_int_equal(c->n_field_ranges, d->n_field_ranges);
    for (unsigned i = 0; i < c->n_fields; i++) {
        const ProtobufCFieldDescriptor *cf = &c->fields[i], *df = &d->fields[i];
        assert_string_equal(cf->name, df->name);
        assert_int_equal(cf->id, df->id);
        assert_int_equal(cf->label, df->label);
        assert_int_equal(cf->type, df->type);
        assert_int_equal(cf->flags, df->flags);
        assert_int_equal(cf->offset, df->offset);
        assert_int_equal(cf->quantifier_offset, df->quantifier_offset);
        if ((cf->default_value == NULL) != (df->default_value == NULL)) {
            fail_msg("%s.%s: default %p, dynamic %p", c->name, cf->name,
                     cf->default_value, df->default_value);
        }
        assert_int_equal(c->fields_sorted_by_name[i],
                         d->fields_sorted_by_name[i]);
        if (cf->type == PROTOBUF_C_TYPE_STRING && cf->default_value) {
            assert_string_equal(cf->default_value, df->default_value);
        }
        if (cf->type == PROTOBUF_C_TYPE_MESSAGE) {
            assert_string_equal(
                ((const ProtobufCMessageDescriptor *)cf->descriptor)->name,
                ((const ProtobufCMessageDescriptor *)df->descriptor)->name);
        }
        if (cf->type == PROTOBUF_C_TYPE_ENUM) {
            const ProtobufCEnumDescriptor *ce = cf->descriptor,
                                          *de = df->descriptor;
            assert_string_equal(ce->name, de->name);
            assert_int_equal(ce->n_values, de->n_values);
            assert_int_equal(ce->n_value_names, de->n_value_names);
            for (unsigned k = 0; k < ce->n_values; k++) {
                assert_string_equal(ce->values[k].name, de->values[k].name);
                assert_int_equal(ce->values[k].value, de->values[k].value);
            }
            if (cf->default_value) {
                assert_int_equal(*(const int *)cf->default_value,
                                 *(const int *)df->default_value);
            }
        }
    }
}

/*  A full message of c packs, unpacks and renders the same through d. */
static void
s_same_behaviour(const ProtobufCMessageDescriptor *c,
                 const ProtobufCMessageDescriptor *d) {
    ProtobufCMessage *cm = s_new(c);
    s_fill(cm, 1, 0);
    size_t want_size, size;
    uint8_t *want = s_pack(cm, &want_size);

    ProtobufCMessage *dm = protobuf_c_message_unpack(d, NULL, want_size, want);
    assert_non_null(dm);
    assert_ptr_equal(dm->descriptor, d);
    assert_int_equal(dm->n_unknown_fields, 0);
    uint8_t *got = s_pack(dm, &size);
    assert_int_equal(size, want_size);
    assert_memory_equal(got, want, size);
    free(got);

    /* The same JSON from both, and back through the dynamic one. */
    char *cjson = json_from_message(cm, JSON_COMPACT);
    char *djson = json_from_message(dm, JSON_COMPACT);
    assert_non_null(cjson);
    assert_non_null(djson);
    assert_string_equal(cjson, djson);
    ProtobufCMessage *back = NULL;
    dossier_error_t err = {0};
    assert_ok(json_to_message(d, djson, strlen(djson), &back, &err), &err);
    got = s_pack(back, &size);
    assert_int_equal(size, want_size);
    assert_memory_equal(got, want, size);
    free(got);

    /* An empty one packs as the compiled one does (nothing, unless a
       proto2 required field is there: protobuf-c packs those always,
       and a NULL required string would not pack). */
    bool required = false;
    for (unsigned i = 0; i < c->n_fields; i++) {
        required |= c->fields[i].label == PROTOBUF_C_LABEL_REQUIRED;
    }
    if (!required) {
        ProtobufCMessage *empty_d = s_new(d), *empty_c = s_new(c);
        assert_int_equal(protobuf_c_message_get_packed_size(empty_d),
                         protobuf_c_message_get_packed_size(empty_c));
        protobuf_c_message_free_unpacked(empty_d, NULL);
        protobuf_c_message_free_unpacked(empty_c, NULL);
    }

    protobuf_c_message_free_unpacked(back, NULL);
    free(cjson);
    free(djson);
    protobuf_c_message_free_unpacked(dm, NULL);
    free(want);
    protobuf_c_message_free_unpacked(cm, NULL);
}

static void
test_api_types_match(void **state) {
    (void)state;
    dynpb_pool_t *pool = s_api_pool();
    s_reach_all();
    size_t dossier_types = 0;
    for (size_t i = 0; i < s_n_compiled; i++) {
        const ProtobufCMessageDescriptor *c = s_compiled[i];
        const ProtobufCMessageDescriptor *d = dynpb_pool_message(pool, c->name);
        if (d == NULL) {
            fail_msg("no dynamic descriptor for %s", c->name);
        }
        s_same_shape(c, d);
        s_same_behaviour(c, d);
        dossier_types += strncmp(c->name, "dossier.v1.", 11) == 0;
    }
    /* Every message type of dossier.v1 in the set was compared. */
    size_t n;
    const ProtobufCMessageDescriptor *const *all =
        dynpb_pool_messages(pool, &n);
    size_t in_set = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(all[i]->name, "dossier.v1.", 11) != 0) {
            continue;
        }
        in_set++;
        bool compared = false;
        for (size_t k = 0; k < s_n_compiled; k++) {
            compared |= strcmp(s_compiled[k]->name, all[i]->name) == 0;
        }
        if (!compared) {
            fail_msg("%s is not reachable from the test's roots", all[i]->name);
        }
    }
    print_message("%zu compiled types compared, %zu of dossier.v1\n",
                  s_n_compiled, dossier_types);
    assert_int_equal(in_set, dossier_types);
    assert_true(dossier_types > 40);
    dynpb_pool_destroy(&pool);
    assert_null(pool);
    dynpb_pool_destroy(&pool); /* takes a pointer to NULL */
    dynpb_pool_destroy(NULL);
}

static void
test_methods(void **state) {
    (void)state;
    dynpb_pool_t *pool = s_api_pool();
    size_t n = 0, n_spec = 0;
    const dynpb_method_t *methods = dynpb_pool_methods(pool, &n);
    const apispec_method_t *spec = apispec_methods(&n_spec);
    assert_int_equal(n, n_spec);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(methods[i].full_name, spec[i].full_name);
        assert_int_equal(methods[i].idempotency, spec[i].idempotency_declared
                                                     ? (int)spec[i].idempotency
                                                     : -1);
        char want[128];
        assert_format(want, sizeof want, "(dossier.v1.required_role) = ROLE_%s",
                      spec[i].role == APISPEC_ROLE_READER   ? "READER"
                      : spec[i].role == APISPEC_ROLE_WRITER ? "WRITER"
                                                            : "ADMIN");
        assert_int_equal(methods[i].n_extension_options, 1);
        assert_string_equal(methods[i].extension_options[0], want);
    }
    const dynpb_method_t *get = dynpb_pool_find_method(pool, "Get");
    assert_non_null(get);
    assert_string_equal(get->full_name, "dossier.v1.Reports/Get");
    assert_string_equal(get->input->name, "dossier.v1.GetRequest");
    assert_string_equal(get->output->name, "dossier.v1.Report");
    assert_ptr_equal(dynpb_pool_find_method(pool, "Reports/Get"), get);
    assert_ptr_equal(dynpb_pool_find_method(pool, "dossier.v1.Reports/Get"),
                     get);
    assert_ptr_equal(dynpb_pool_find_method(pool, "/dossier.v1.Reports/Get"),
                     get);
    assert_null(dynpb_pool_find_method(pool, "get"));
    assert_null(dynpb_pool_find_method(pool, "Other/Get"));
    assert_null(dynpb_pool_find_method(pool, "dossier.v1.Reports/"));
    assert_null(dynpb_pool_find_method(pool, ""));
    assert_non_null(dynpb_pool_enum(pool, ".dossier.v1.Tier"));
    assert_null(dynpb_pool_enum(pool, "dossier.v1.Report"));
    assert_null(dynpb_pool_message(pool, "dossier.v1.Tier"));
    dynpb_pool_destroy(&pool);
}

/* ---- node.proto: what the API does not use ----------------------------- */

/* tests/fixtures/dynpb/node.proto as protoc writes it (-o node.pb). */
static const uint8_t s_node_set[] = {
#include "../fixtures/dynpb/node_pb.inc"
};

/* protoc --encode=t.Node node.proto of:
   a: -7 child { a: 1 child { s: "deep" } } names { key: 5 value: "five" }
   names { key: -1 value: "minus" } n: 9 maybe: 0 r: [-1, 2, -300]
   tags: "x" tags: "y" color: BLUE blob: "\000\377" loose: [1, 2] d: 0.5 */
static const uint8_t s_node_bytes[] = {
    0x08, 0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x12,
    0x0a, 0x08, 0x01, 0x12, 0x06, 0x22, 0x04, 0x64, 0x65, 0x65, 0x70, 0x1a,
    0x08, 0x08, 0x05, 0x12, 0x04, 0x66, 0x69, 0x76, 0x65, 0x1a, 0x12, 0x08,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x12, 0x05,
    0x6d, 0x69, 0x6e, 0x75, 0x73, 0x28, 0x09, 0x30, 0x00, 0x3a, 0x04, 0x01,
    0x04, 0xd7, 0x04, 0x42, 0x01, 0x78, 0x42, 0x01, 0x79, 0x48, 0xfe, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x52, 0x02, 0x00, 0xff,
    0x5d, 0x01, 0x00, 0x00, 0x00, 0x5d, 0x02, 0x00, 0x00, 0x00, 0xf9, 0xff,
    0xff, 0xff, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f};

static const char s_node_json[] =
    "{\"a\":-7,\"child\":{\"a\":1,\"child\":{\"s\":\"deep\"}},"
    "\"names\":{\"5\":\"five\",\"-1\":\"minus\"},\"n\":\"9\",\"maybe\":0,"
    "\"r\":[\"-1\",\"2\",\"-300\"],\"tags\":[\"x\",\"y\"],\"color\":\"BLUE\","
    "\"blob\":\"AP8=\",\"loose\":[1,2],\"d\":0.5}";

static void
test_node_features(void **state) {
    (void)state;
    dynpb_pool_t *pool = NULL;
    dossier_error_t err = {0};
    assert_ok(dynpb_pool_new(s_node_set, sizeof s_node_set, &pool, &err), &err);
    const ProtobufCMessageDescriptor *node = dynpb_pool_message(pool, "t.Node");
    assert_non_null(node);
    const ProtobufCFieldDescriptor *f;
    f = protobuf_c_message_descriptor_get_field_by_name(node, "r");
    assert_true(f->flags & PROTOBUF_C_FIELD_FLAG_PACKED);
    f = protobuf_c_message_descriptor_get_field_by_name(node, "loose");
    assert_false(f->flags & PROTOBUF_C_FIELD_FLAG_PACKED);
    f = protobuf_c_message_descriptor_get_field_by_name(node, "maybe");
    assert_int_equal(f->label, PROTOBUF_C_LABEL_OPTIONAL);
    f = protobuf_c_message_descriptor_get_field_by_name(node, "n");
    assert_true(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
    const ProtobufCEnumDescriptor *color = dynpb_pool_enum(pool, "t.Color");
    assert_int_equal(color->n_values, 3); /* CRIMSON is RED's alias */
    assert_int_equal(color->n_value_names, 4);
    assert_int_equal(
        protobuf_c_enum_descriptor_get_value_by_name(color, "CRIMSON")->value,
        1);

    /* protoc's bytes unpack and pack back unchanged, render as the
       proto3 JSON mapping says, and that JSON parses to them again. */
    ProtobufCMessage *m = protobuf_c_message_unpack(
        node, NULL, sizeof s_node_bytes, s_node_bytes);
    assert_non_null(m);
    size_t size;
    uint8_t *packed = s_pack(m, &size);
    assert_int_equal(size, sizeof s_node_bytes);
    assert_memory_equal(packed, s_node_bytes, size);
    free(packed);
    char *json = json_from_message(m, JSON_COMPACT);
    assert_string_equal(json, s_node_json);
    ProtobufCMessage *back = NULL;
    assert_ok(json_to_message(node, json, strlen(json), &back, &err), &err);
    packed = s_pack(back, &size);
    assert_int_equal(size, sizeof s_node_bytes);
    assert_memory_equal(packed, s_node_bytes, size);
    free(packed);
    protobuf_c_message_free_unpacked(back, NULL);
    free(json);
    protobuf_c_message_free_unpacked(m, NULL);

    /* Two members of one oneof are refused. */
    const char two[] = "{\"s\":\"x\",\"n\":1}";
    assert_status(json_to_message(node, two, strlen(two), &back, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);

    /* A full Node through the generic filler survives a round trip. */
    m = s_new(node);
    s_fill(m, 3, 0);
    uint8_t *want = s_pack(m, &size);
    ProtobufCMessage *again = protobuf_c_message_unpack(node, NULL, size, want);
    assert_non_null(again);
    size_t size2;
    packed = s_pack(again, &size2);
    assert_int_equal(size, size2);
    assert_memory_equal(packed, want, size);
    free(packed);
    free(want);
    protobuf_c_message_free_unpacked(again, NULL);
    protobuf_c_message_free_unpacked(m, NULL);

    /* A reply may not nest deeper, nor ask for more memory, than said. */
    uint8_t deep[2 * 100];
    for (size_t i = 0; i < 100; i++) {
        deep[2 * i] = 0x12; /* child, length-delimited */
        deep[2 * i + 1] = (uint8_t)(2 * (99 - i));
    }
    /* Lengths above 127 would need two bytes: keep it 60 levels. */
    const uint8_t *d60 = deep + 2 * 40;
    for (size_t i = 0; i < 60; i++) {
        deep[2 * (40 + i) + 1] = (uint8_t)(2 * (59 - i));
    }
    assert_true(dynpb_wire_bounded(node, d60, 120, 64, SIZE_MAX));
    assert_false(dynpb_wire_bounded(node, d60, 120, 50, SIZE_MAX));
    uint8_t wide[2000];
    for (size_t i = 0; i < sizeof wide; i += 2) {
        wide[i] = 0x12, wide[i + 1] = 0;
    }
    assert_true(dynpb_wire_bounded(node, wide, sizeof wide, 64, SIZE_MAX));
    assert_false(dynpb_wire_bounded(node, wide, sizeof wide, 64,
                                    node->sizeof_message * 100));
    dynpb_pool_destroy(&pool);
}

/* ---- hostile sets ------------------------------------------------------ */

typedef Google__Protobuf__FileDescriptorSet s_set_t;

static s_set_t *
s_node_proto(void) {
    s_set_t *set = google__protobuf__file_descriptor_set__unpack(
        NULL, sizeof s_node_set, s_node_set);
    assert_non_null(set);
    return set;
}

static Google__Protobuf__FieldDescriptorProto *
s_node_field(s_set_t *set, const char *name) {
    Google__Protobuf__DescriptorProto *m = set->file[0]->message_type[0];
    for (size_t i = 0; i < m->n_field; i++) {
        if (strcmp(m->field[i]->name, name) == 0) {
            return m->field[i];
        }
    }
    fail_msg("node.proto has no field %s", name);
    return NULL;
}

/*  Packs set, frees it, and checks that a pool refuses it with a message
    holding want. */
static void
s_refused(s_set_t *set, const char *want) {
    size_t size = google__protobuf__file_descriptor_set__get_packed_size(set);
    uint8_t *data = malloc(size + 1);
    assert_non_null(data);
    google__protobuf__file_descriptor_set__pack(set, data);
    dynpb_pool_t *pool = NULL;
    dossier_error_t err = {0};
    assert_status(dynpb_pool_new(data, size, &pool, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_null(pool);
    if (strstr(err.message, want) == NULL) {
        fail_msg("refused with \"%s\", wanted \"%s\"", err.message, want);
    }
    free(data);
}

/*  Each case mutates node.proto in one way. The strings it sets are
    literals: clear them again before free_unpacked. */
static void
test_hostile_sets(void **state) {
    (void)state;
    s_set_t *set;
    Google__Protobuf__FieldDescriptorProto *f;
    char *saved;

    set = s_node_proto();
    f = s_node_field(set, "child");
    saved = f->type_name;
    f->type_name = ".t.Nope";
    s_refused(set, "no message type t.Nope");
    f->type_name = "Node";
    s_refused(set, "not fully qualified");
    f->type_name = ".t.Color"; /* an enum where a message is wanted */
    s_refused(set, "no message type t.Color");
    f->type_name = saved;

    f = s_node_field(set, "a");
    f->number = 2;
    s_refused(set, "field number 2 is used twice");
    f->number = 0;
    s_refused(set, "out of range");
    f->number = 536870912;
    s_refused(set, "out of range");
    f->number = 19500;
    s_refused(set, "reserved");
    f->number = 1;
    f->type = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP;
    s_refused(set, "groups are not supported");
    f->type = (Google__Protobuf__FieldDescriptorProto__Type)99;
    s_refused(set, "type is missing or unknown");
    f->type = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32;
    f->label = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED;
    s_refused(set, "required in a proto3 file");
    f->label = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_OPTIONAL;
    f->default_value = "7";
    s_refused(set, "default value is not allowed");
    f->default_value = NULL;
    saved = f->name;
    f->name = "tags";
    s_refused(set, "field tags is declared twice");
    f->name = "a b";
    s_refused(set, "has no valid name");
    f->name = saved;
    f->has_oneof_index = 1;
    f->oneof_index = 7;
    s_refused(set, "no oneof 7");
    f->has_oneof_index = 0;

    saved = set->file[0]->syntax;
    set->file[0]->syntax = "editions";
    s_refused(set, "not supported");
    set->file[0]->syntax = saved;
    saved = set->file[0]->package;
    set->file[0]->package = "t..x";
    s_refused(set, "not a dotted name");
    set->file[0]->package = saved;

    /* The enum: a name twice, no value at all. */
    Google__Protobuf__EnumDescriptorProto *color = set->file[0]->enum_type[0];
    saved = color->value[2]->name;
    color->value[2]->name = "RED";
    s_refused(set, "value RED is declared twice");
    color->value[2]->name = saved;
    size_t n_values = color->n_value;
    color->n_value = 0;
    s_refused(set, "has no value");
    color->n_value = n_values;

    /* A type declared twice: the enum under the message's name. */
    saved = color->name;
    color->name = "Node";
    s_refused(set, "type t.Node is declared twice");
    color->name = saved;
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);

    /* Bytes that are no FileDescriptorSet. */
    dynpb_pool_t *pool = NULL;
    dossier_error_t err = {0};
    const uint8_t junk[] = {0x0a, 0x05, 0x01};
    assert_status(dynpb_pool_new(junk, sizeof junk, &pool, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_non_null(strstr(err.message, "not a serialized"));
    assert_null(pool);
}

/*  Nested message declarations nest on the wire: 1000 of them are
    refused before protobuf-c recurses into them; 30 are fine. */
static void
test_deep_set(void **state) {
    (void)state;
    for (int levels = 30; levels <= 1000; levels += 970) {
        size_t cap = (size_t)levels * 8 + 64, len = 3;
        uint8_t *inner = malloc(cap), *outer = malloc(cap);
        assert_non_null(inner);
        assert_non_null(outer);
        memcpy(inner,
               "\x0a\x01"
               "A",
               3); /* DescriptorProto{name: "A"} */
        for (int i = 1; i < levels; i++) {
            /* name "A", nested_type (3) = inner */
            size_t k = 0;
            outer[k++] = 0x0a, outer[k++] = 0x01, outer[k++] = 'A';
            outer[k++] = 0x1a;
            for (size_t v = len;; v >>= 7) {
                outer[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                if (v <= 0x7f) {
                    break;
                }
            }
            memcpy(outer + k, inner, len);
            len += k;
            uint8_t *t = inner;
            inner = outer, outer = t;
        }
        /* FileDescriptorSet{file: {message_type (4): inner}} */
        size_t k = 0;
        uint8_t head[16];
        size_t file_len = len + 2 + (len > 0x7f) + (len > 0x3fff);
        head[k++] = 0x0a;
        for (size_t v = file_len;; v >>= 7) {
            head[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            if (v <= 0x7f) {
                break;
            }
        }
        head[k++] = 0x22;
        for (size_t v = len;; v >>= 7) {
            head[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            if (v <= 0x7f) {
                break;
            }
        }
        memcpy(outer, head, k);
        memcpy(outer + k, inner, len);
        dynpb_pool_t *pool = NULL;
        dossier_error_t err = {0};
        dossier_status_t rc = dynpb_pool_new(outer, k + len, &pool, &err);
        if (levels == 30) {
            assert_ok(rc, &err);
            assert_non_null(dynpb_pool_message(pool, "A.A.A.A"));
        } else {
            assert_int_equal(rc, DOSSIER_INVALID_ARGUMENT);
            assert_non_null(strstr(err.message, "deeper"));
        }
        dynpb_pool_destroy(&pool);
        free(inner);
        free(outer);
    }
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_types_match),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_node_features),
        cmocka_unit_test(test_hostile_sets),
        cmocka_unit_test(test_deep_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
