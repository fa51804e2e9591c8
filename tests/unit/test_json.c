/*  test_json.c: the descriptor-driven protobuf <-> JSON codec.

    Round trips compare the packed protobuf bytes of the original and the
    re-parsed message, so every field must survive exactly. Besides the
    Dossier messages, a hand-written descriptor (test.All) exercises what
    the Dossier protos do not have: every scalar type, oneofs, optional
    fields with a has_ flag, maps with integer keys and recursion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "json.h"
#include "json_internal.h" /* json_fast_to_message, json_to_message_slow */
#include "dossier/v1/report.pb-c.h"
#include "dossier/v1/reports.pb-c.h"
#include "dossier/v1/rpc.pb-c.h"

/* ------------------------------------------------------------------ */
/*  test.All: a message described by hand                             */

typedef struct TestEntry {
    ProtobufCMessage base;
    int32_t key;
    char *value;
} TestEntry;

typedef struct TestAll TestAll;
struct TestAll {
    ProtobufCMessage base;
    int32_t i32;
    int64_t i64;
    uint32_t u32;
    uint64_t u64;
    int32_t s32;
    int64_t s64;
    uint32_t f32;
    uint64_t f64;
    int32_t sf32;
    int64_t sf64;
    float flt;
    double dbl;
    protobuf_c_boolean flag;
    int tier;
    char *text;
    ProtobufCBinaryData blob;
    TestAll *child;
    size_t n_r_i32;
    int32_t *r_i32;
    size_t n_r_dbl;
    double *r_dbl;
    size_t n_r_child;
    TestAll **r_child;
    protobuf_c_boolean has_opt_i32;
    int32_t opt_i32;
    size_t n_int_map;
    TestEntry **int_map;
    uint32_t choice_case;
    union {
        char *choice_text;
        int64_t choice_num;
    };
    size_t n_r_bytes;
    ProtobufCBinaryData *r_bytes;
    size_t n_r_enum;
    int *r_enum;
    size_t n_r_u64;
    uint64_t *r_u64;
    size_t n_r_flag;
    protobuf_c_boolean *r_flag;
    size_t n_r_flt;
    float *r_flt;
};

static const ProtobufCMessageDescriptor s_all_desc;
static const ProtobufCMessageDescriptor s_entry_desc;

static void
s_entry_init(ProtobufCMessage *m) {
    TestEntry *e = (TestEntry *)m;
    memset(e, 0, sizeof *e);
    e->base.descriptor = &s_entry_desc;
    e->value = (char *)protobuf_c_empty_string;
}

static void
s_all_init(ProtobufCMessage *m) {
    TestAll *a = (TestAll *)m;
    memset(a, 0, sizeof *a);
    a->base.descriptor = &s_all_desc;
    a->text = (char *)protobuf_c_empty_string;
}

#define S_F(T, name, id, label, type, q, member, desc, def, flags)             \
    {                                                                          \
        name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, q,         \
            offsetof(T, member), desc, def, flags, 0, NULL, NULL               \
    }
#define S_A(name, id, type, member)                                            \
    S_F(TestAll, name, id, NONE, type, 0, member, NULL, NULL, 0)
#define S_R(name, id, type, member, desc)                                      \
    S_F(TestAll, name, id, REPEATED, type, offsetof(TestAll, n_##member),      \
        member, desc, NULL, 0)

static const ProtobufCFieldDescriptor s_entry_fields[] = {
    S_F(TestEntry, "key", 1, NONE, INT32, 0, key, NULL, NULL, 0),
    S_F(TestEntry, "value", 2, NONE, STRING, 0, value, NULL,
        &protobuf_c_empty_string, 0),
};
static const unsigned s_entry_by_name[] = {0, 1};
static const ProtobufCIntRange s_entry_ranges[] = {{1, 0}, {0, 2}};

static const ProtobufCFieldDescriptor s_all_fields[] = {
    S_A("i32", 1, INT32, i32),
    S_A("i64", 2, INT64, i64),
    S_A("u32", 3, UINT32, u32),
    S_A("u64", 4, UINT64, u64),
    S_A("s32", 5, SINT32, s32),
    S_A("s64", 6, SINT64, s64),
    S_A("f32", 7, FIXED32, f32),
    S_A("f64", 8, FIXED64, f64),
    S_A("sf32", 9, SFIXED32, sf32),
    S_A("sf64", 10, SFIXED64, sf64),
    S_A("flt", 11, FLOAT, flt),
    S_A("dbl", 12, DOUBLE, dbl),
    S_A("flag", 13, BOOL, flag),
    S_F(TestAll, "tier", 14, NONE, ENUM, 0, tier,
        &dossier__v1__tier__descriptor, NULL, 0),
    S_F(TestAll, "text", 15, NONE, STRING, 0, text, NULL,
        &protobuf_c_empty_string, 0),
    S_A("blob", 16, BYTES, blob),
    S_F(TestAll, "child", 17, NONE, MESSAGE, 0, child, &s_all_desc, NULL, 0),
    S_R("r_i32", 18, INT32, r_i32, NULL),
    S_R("r_dbl", 19, DOUBLE, r_dbl, NULL),
    S_R("r_child", 20, MESSAGE, r_child, &s_all_desc),
    S_F(TestAll, "opt_i32", 21, OPTIONAL, INT32, offsetof(TestAll, has_opt_i32),
        opt_i32, NULL, NULL, 0),
    S_R("int_map", 22, MESSAGE, int_map, &s_entry_desc),
    S_F(TestAll, "choice_text", 23, NONE, STRING,
        offsetof(TestAll, choice_case), choice_text, NULL,
        &protobuf_c_empty_string, PROTOBUF_C_FIELD_FLAG_ONEOF),
    S_F(TestAll, "choice_num", 24, NONE, INT64, offsetof(TestAll, choice_case),
        choice_num, NULL, NULL, PROTOBUF_C_FIELD_FLAG_ONEOF),
    S_R("r_bytes", 25, BYTES, r_bytes, NULL),
    S_R("r_enum", 26, ENUM, r_enum, &dossier__v1__tier__descriptor),
    S_R("r_u64", 27, UINT64, r_u64, NULL),
    S_R("r_flag", 28, BOOL, r_flag, NULL),
    S_R("r_flt", 29, FLOAT, r_flt, NULL),
};
#define S_ALL_N (sizeof s_all_fields / sizeof s_all_fields[0])
static unsigned s_all_by_name[S_ALL_N];
static const ProtobufCIntRange s_all_ranges[] = {{1, 0}, {0, S_ALL_N}};

static const ProtobufCMessageDescriptor s_entry_desc = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "test.All.IntMapEntry",
    "IntMapEntry",
    "TestEntry",
    "test",
    sizeof(TestEntry),
    2,
    s_entry_fields,
    s_entry_by_name,
    1,
    s_entry_ranges,
    s_entry_init,
    NULL,
    NULL,
    NULL};

static const ProtobufCMessageDescriptor s_all_desc = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "test.All",
    "All",
    "TestAll",
    "test",
    sizeof(TestAll),
    S_ALL_N,
    s_all_fields,
    s_all_by_name,
    1,
    s_all_ranges,
    s_all_init,
    NULL,
    NULL,
    NULL};

static int
s_by_name(const void *a, const void *b) {
    return strcmp(s_all_fields[*(const unsigned *)a].name,
                  s_all_fields[*(const unsigned *)b].name);
}

static int
s_setup(void **state) {
    (void)state;
    for (unsigned i = 0; i < S_ALL_N; i++) {
        s_all_by_name[i] = i;
    }
    qsort(s_all_by_name, S_ALL_N, sizeof s_all_by_name[0], s_by_name);
    return 0;
}

/* ------------------------------------------------------------------ */
/*  Helpers                                                           */

/*  Parses text as desc, failing the test with the codec's message. */
static ProtobufCMessage *
s_parse(const ProtobufCMessageDescriptor *desc, const char *text) {
    ProtobufCMessage *msg = NULL;
    dossier_error_t err = {0};
    dossier_status_t st = json_to_message(desc, text, strlen(text), &msg, &err);
    if (st != DOSSIER_OK) {
        fail_msg("parsing %s failed: %s: %s", text, dossier_strerror(st),
                 err.message);
    }
    assert_non_null(msg);
    return msg;
}

/*  Expects text to be refused with exactly message want. */
static void
s_reject(const ProtobufCMessageDescriptor *desc, const char *text, size_t size,
         const char *want) {
    ProtobufCMessage *sentinel = (ProtobufCMessage *)&sentinel;
    ProtobufCMessage *msg = sentinel;
    dossier_error_t err = {0};
    dossier_status_t st = json_to_message(desc, text, size, &msg, &err);
    if (st != DOSSIER_INVALID_ARGUMENT || strcmp(err.message, want) != 0) {
        fail_msg("for %.*s\n  want INVALID_ARGUMENT \"%s\"\n  got %s \"%s\"",
                 (int)size, text, want, dossier_strerror(st), err.message);
    }
    assert_ptr_equal(msg, sentinel); /* untouched on failure */
}

static void
s_reject_str(const ProtobufCMessageDescriptor *desc, const char *text,
             const char *want) {
    s_reject(desc, text, strlen(text), want);
}

static void
s_assert_same(const ProtobufCMessage *a, const ProtobufCMessage *b) {
    size_t na = protobuf_c_message_get_packed_size(a);
    size_t nb = protobuf_c_message_get_packed_size(b);
    assert_int_equal(na, nb);
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
    assert_non_null(pa);
    assert_non_null(pb);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
}

/*  JSON -> message -> JSON in both layouts: the message must come back
    byte for byte, and the JSON text must be stable. Returns the compact
    text (caller frees). */
static char *
s_round_trip(const ProtobufCMessage *msg) {
    char *compact = json_from_message(msg, JSON_COMPACT);
    char *pretty = json_from_message(msg, JSON_PRETTY);
    assert_non_null(compact);
    assert_non_null(pretty);
    assert_null(strchr(compact, '\n'));
    ProtobufCMessage *a = s_parse(msg->descriptor, compact);
    ProtobufCMessage *b = s_parse(msg->descriptor, pretty);
    s_assert_same(msg, a);
    s_assert_same(msg, b);
    char *again = json_from_message(a, JSON_COMPACT);
    assert_non_null(again);
    assert_string_equal(compact, again);
    free(again);
    free(pretty);
    protobuf_c_message_free_unpacked(a, NULL);
    protobuf_c_message_free_unpacked(b, NULL);
    return compact;
}

static char *
s_json(const ProtobufCMessage *msg, int flags) {
    char *text = json_from_message(msg, flags);
    assert_non_null(text);
    return text;
}

/* ------------------------------------------------------------------ */
/*  Output                                                            */

static void
test_small_report_exact(void **state) {
    (void)state;
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = "tip-2004-aze";
    r.year = 2004;
    r.tier = DOSSIER__V1__TIER__TIER_2_WATCH_LIST;
    r.version = 3;
    r.publication_date = "2004-06-14";
    char *text = s_json(&r.base, JSON_COMPACT);
    assert_string_equal(text, "{\"id\":\"tip-2004-aze\",\"publicationDate\":"
                              "\"2004-06-14\",\"year\":2004,\"tier\":"
                              "\"TIER_2_WATCH_LIST\",\"version\":\"3\"}");
    free(text);
    text = s_json(&r.base, JSON_PRETTY);
    assert_string_equal(text, "{\n"
                              "  \"id\": \"tip-2004-aze\",\n"
                              "  \"publicationDate\": \"2004-06-14\",\n"
                              "  \"year\": 2004,\n"
                              "  \"tier\": \"TIER_2_WATCH_LIST\",\n"
                              "  \"version\": \"3\"\n"
                              "}");
    free(text);
}

static void
test_defaults_omitted(void **state) {
    (void)state;
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    char *text = s_json(&r.base, JSON_COMPACT);
    assert_string_equal(text, "{}");
    free(text);
    text = s_json(&r.base, JSON_PRETTY);
    assert_string_equal(text, "{}");
    free(text);
    /* An empty repeated field and an unset message are omitted too. */
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    text = s_json(&put.base, JSON_COMPACT);
    assert_string_equal(text, "{}");
    free(text);
    put.report = &r;
    put.create_only = 1;
    text = s_json(&put.base, JSON_COMPACT);
    assert_string_equal(text, "{\"report\":{},\"createOnly\":true}");
    free(text);
}

static void
test_unknown_enum_number(void **state) {
    (void)state;
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.tier = (Dossier__V1__Tier)42;
    char *text = s_json(&r.base, JSON_COMPACT);
    assert_string_equal(text, "{\"tier\":42}");
    free(s_round_trip(&r.base));
    free(text);
}

static void
test_invalid_utf8_output(void **state) {
    (void)state;
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    char *body[] = {"ok \xC3\xA9", "bad \xFF end", "cut \xE2\x82",
                    "surrogate \xED\xA0\x80", "ctl \x01\t\"\\"};
    r.n_body = 5;
    r.body = body;
    char *text = s_json(&r.base, JSON_COMPACT);
    assert_string_equal(text,
                        "{\"body\":[\"ok \xC3\xA9\",\"bad \xEF\xBF\xBD end\","
                        "\"cut \xEF\xBF\xBD\xEF\xBF\xBD\","
                        "\"surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\","
                        "\"ctl \\u0001\\t\\\"\\\\\"]}");
    /* What was written is valid JSON that reads back. */
    ProtobufCMessage *m = s_parse(&dossier__v1__report__descriptor, text);
    Dossier__V1__Report *back = (Dossier__V1__Report *)m;
    assert_int_equal(back->n_body, 5);
    assert_string_equal(back->body[1], "bad \xEF\xBF\xBD end");
    assert_string_equal(back->body[4], "ctl \x01\t\"\\");
    protobuf_c_message_free_unpacked(m, NULL);
    free(text);
}

static void
test_report_round_trip(void **state) {
    (void)state;
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    char *body[] = {"Azərbaycan is a source, transit and destination "
                    "country — «quotes», \"escaped\", tab\tand newline\n.",
                    "日本語 and emoji \xF0\x9F\x98\x80 and U+2028 "
                    "\xE2\x80\xA8 and a backslash \\",
                    ""};
    r.id = "tip-2004-aze";
    r.title = "Trafficking in Persons Report 2004 - Azerbaijan";
    r.publisher = "United States Department of State";
    r.author = "Office to Monitor and Combat Trafficking";
    r.publication_date = "2004-06-14";
    r.last_updated = "2015-10-05T08:49:00Z";
    r.cite_as = "cite me";
    r.disclaimer = "not UNHCR's";
    r.country = "Azerbaijan";
    r.country_code = "AZE";
    r.year = 4294967295u;
    r.tier = DOSSIER__V1__TIER__TIER_2_WATCH_LIST;
    r.doc_type = "Trafficking in Persons Report";
    r.n_body = 3;
    r.body = body;
    r.source_url = "https://www.refworld.org/docid/4680d82c2.html";
    r.source_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c"
                      "15b0f00a08";
    r.version = UINT64_MAX;
    r.created_at = "2026-11-27T20:00:00.000Z";
    r.updated_at = "2026-11-27T20:00:01.000Z";
    r.created_by = "alice";
    r.updated_by = "bob";
    r.tier_note = "upgraded to Tier 2 in 2005";
    char *text = s_round_trip(&r.base);
    assert_non_null(strstr(text, "\"version\":\"18446744073709551615\""));
    assert_non_null(strstr(text, "\"year\":4294967295,"));
    assert_non_null(strstr(text, "\"tier\":\"TIER_2_WATCH_LIST\""));
    assert_non_null(strstr(text, "\"countryCode\":\"AZE\""));
    assert_non_null(strstr(text, "\"tierNote\":"));
    assert_non_null(strstr(text, "\"sourceSha256\":"));
    assert_non_null(strstr(text, "日本語"));
    /* Field-number order: id (1) ... tierNote (22) last. */
    assert_true(strstr(text, "\"id\"") < strstr(text, "\"title\""));
    assert_true(strstr(text, "\"updatedBy\"") < strstr(text, "\"tierNote\""));
    free(text);
}

static void
test_search_response_round_trip(void **state) {
    (void)state;
    Dossier__V1__Report r1 = DOSSIER__V1__REPORT__INIT;
    Dossier__V1__Report r2 = DOSSIER__V1__REPORT__INIT;
    r1.id = "a";
    r1.year = 2004;
    r2.id = "b";
    r2.tier = DOSSIER__V1__TIER__SPECIAL_CASE;
    Dossier__V1__SearchHit h1 = DOSSIER__V1__SEARCH_HIT__INIT;
    Dossier__V1__SearchHit h2 = DOSSIER__V1__SEARCH_HIT__INIT;
    Dossier__V1__SearchHit h3 = DOSSIER__V1__SEARCH_HIT__INIT;
    h1.report = &r1;
    h1.score = 0.1;
    h1.snippet = "the [trafficking] of";
    h2.report = &r2;
    h2.score = -1.2345678901234567e-300;
    h3.score = 1e21;
    Dossier__V1__SearchHit *hits[] = {&h1, &h2, &h3};
    Dossier__V1__FacetCount c1 = DOSSIER__V1__FACET_COUNT__INIT;
    Dossier__V1__FacetCount c2 = DOSSIER__V1__FACET_COUNT__INIT;
    c1.value = "2004";
    c1.count = 12;
    c2.value = "2005";
    Dossier__V1__FacetCount *counts[] = {&c1, &c2};
    Dossier__V1__Facet f = DOSSIER__V1__FACET__INIT;
    f.field = "year";
    f.n_counts = 2;
    f.counts = counts;
    Dossier__V1__Facet *facets[] = {&f};
    Dossier__V1__SearchResponse resp = DOSSIER__V1__SEARCH_RESPONSE__INIT;
    resp.n_hits = 3;
    resp.hits = hits;
    resp.next_page_token = "tok";
    resp.total_hits = 1234567890123ull;
    resp.n_facets = 1;
    resp.facets = facets;
    char *text = s_round_trip(&resp.base);
    assert_string_equal(
        text,
        "{\"hits\":[{\"report\":{\"id\":\"a\",\"year\":2004},\"score\":0.1,"
        "\"snippet\":\"the [trafficking] of\"},{\"report\":{\"id\":\"b\","
        "\"tier\":\"SPECIAL_CASE\"},\"score\":-1.2345678901234568e-300},"
        "{\"score\":1e+21}],\"nextPageToken\":\"tok\",\"totalHits\":"
        "\"1234567890123\",\"facets\":[{\"field\":\"year\",\"counts\":"
        "[{\"value\":\"2004\",\"count\":\"12\"},{\"value\":\"2005\"}]}]}");
    free(text);

    /* Pretty layout: two spaces per level, arrays one element a line. */
    Dossier__V1__SearchResponse small = DOSSIER__V1__SEARCH_RESPONSE__INIT;
    Dossier__V1__SearchHit *one[] = {&h1};
    h1.snippet = "";
    r1.year = 0;
    small.n_hits = 1;
    small.hits = one;
    small.total_hits = 1;
    text = s_json(&small.base, JSON_PRETTY);
    assert_string_equal(text, "{\n"
                              "  \"hits\": [\n"
                              "    {\n"
                              "      \"report\": {\n"
                              "        \"id\": \"a\"\n"
                              "      },\n"
                              "      \"score\": 0.1\n"
                              "    }\n"
                              "  ],\n"
                              "  \"totalHits\": \"1\"\n"
                              "}");
    free(text);
}

static void
test_request_round_trip(void **state) {
    (void)state;
    uint8_t payload[256];
    for (int i = 0; i < 256; i++) {
        payload[i] = (uint8_t)(255 - i);
    }
    Dossier__V1__Request__MetadataEntry e1 =
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT;
    Dossier__V1__Request__MetadataEntry e2 =
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT;
    e1.key = "idempotency-key";
    e1.value = "k-1";
    e2.key = "client";
    e2.value = "dossier-cli \xC3\xA9";
    Dossier__V1__Request__MetadataEntry *meta[] = {&e1, &e2};
    Dossier__V1__Request req = DOSSIER__V1__REQUEST__INIT;
    req.id = 9007199254740993ull; /* not exact as a double */
    req.method = "dossier.v1.Reports/Get";
    req.payload.data = payload;
    req.payload.len = sizeof payload;
    req.deadline_ms = 250;
    req.n_metadata = 2;
    req.metadata = meta;
    char *text = s_round_trip(&req.base);
    assert_non_null(strstr(text, "\"id\":\"9007199254740993\""));
    assert_non_null(strstr(text, "\"deadlineMs\":250"));
    assert_non_null(strstr(text, ",\"metadata\":{\"idempotency-key\":\"k-1\","
                                 "\"client\":\"dossier-cli \xC3\xA9\"}}"));
    assert_non_null(
        strstr(text, "\"payload\":\"//79/Pv6+fj39vX08/Lx8O/u7ezr6u"));
    free(text);

    /* Exact text of a small envelope, bytes padded. */
    Dossier__V1__Request__MetadataEntry *one[] = {&e1};
    req.id = 7;
    req.payload.len = 4;
    req.deadline_ms = 0;
    req.n_metadata = 1;
    req.metadata = one;
    text = s_json(&req.base, JSON_COMPACT);
    assert_string_equal(text, "{\"id\":\"7\",\"method\":\"dossier.v1.Reports/"
                              "Get\",\"payload\":\"//79/A==\",\"metadata\":"
                              "{\"idempotency-key\":\"k-1\"}}");
    free(text);
}

static void
test_doubles(void **state) {
    (void)state;
    Dossier__V1__SearchHit h = DOSSIER__V1__SEARCH_HIT__INIT;
    const struct {
        double value;
        const char *text;
    } cases[] = {
        {NAN, "{\"score\":\"NaN\"}"},
        {INFINITY, "{\"score\":\"Infinity\"}"},
        {-INFINITY, "{\"score\":\"-Infinity\"}"},
        {0.5, "{\"score\":0.5}"},
        {100, "{\"score\":100}"},
        {1.0 / 3, "{\"score\":0.3333333333333333}"},
        {5e-324, "{\"score\":4.94065645841247e-324}"},
        {1.7976931348623157e308, "{\"score\":1.7976931348623157e+308}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        h.score = cases[i].value;
        char *text = s_json(&h.base, JSON_COMPACT);
        assert_string_equal(text, cases[i].text);
        Dossier__V1__SearchHit *back = (Dossier__V1__SearchHit *)s_parse(
            &dossier__v1__search_hit__descriptor, text);
        if (isnan(cases[i].value)) {
            assert_true(isnan(back->score));
        } else {
            assert_true(back->score == cases[i].value);
        }
        dossier__v1__search_hit__free_unpacked(back, NULL);
        free(text);
    }
    /* Numbers as strings, integers for doubles. */
    Dossier__V1__SearchHit *back = (Dossier__V1__SearchHit *)s_parse(
        &dossier__v1__search_hit__descriptor, "{\"score\":\"-2.5e3\"}");
    assert_true(back->score == -2500);
    dossier__v1__search_hit__free_unpacked(back, NULL);
    back = (Dossier__V1__SearchHit *)s_parse(
        &dossier__v1__search_hit__descriptor,
        "{\"score\":123456789012345678901234567890}");
    assert_true(back->score == 123456789012345678901234567890.0);
    dossier__v1__search_hit__free_unpacked(back, NULL);
}

/* ------------------------------------------------------------------ */
/*  Input                                                             */

static void
test_proto_names_accepted(void **state) {
    (void)state;
    ProtobufCMessage *m = s_parse(
        &dossier__v1__report__descriptor,
        "{\"publication_date\":\"2004-06-14\",\"country_code\":\"AZE\","
        "\"sourceSha256\":\"ab\",\"tier_note\":\"n\",\"doc_type\":\"TIP\"}");
    Dossier__V1__Report *r = (Dossier__V1__Report *)m;
    assert_string_equal(r->publication_date, "2004-06-14");
    assert_string_equal(r->country_code, "AZE");
    assert_string_equal(r->source_sha256, "ab");
    assert_string_equal(r->tier_note, "n");
    assert_string_equal(r->doc_type, "TIP");
    protobuf_c_message_free_unpacked(m, NULL);
    m = s_parse(&dossier__v1__request__descriptor,
                "{\"deadline_ms\":5,\"metadata\":{\"a\":\"b\"}}");
    Dossier__V1__Request *req = (Dossier__V1__Request *)m;
    assert_int_equal(req->deadline_ms, 5);
    assert_int_equal(req->n_metadata, 1);
    assert_string_equal(req->metadata[0]->key, "a");
    assert_string_equal(req->metadata[0]->value, "b");
    protobuf_c_message_free_unpacked(m, NULL);
}

static void
test_parse_forms(void **state) {
    (void)state;
    ProtobufCMessage *m = s_parse(
        &dossier__v1__report__descriptor,
        "  {\"year\":\"2004\",\"tier\":3,\"version\":18446744073709551615}\n");
    Dossier__V1__Report *r = (Dossier__V1__Report *)m;
    assert_int_equal(r->year, 2004);
    assert_int_equal(r->tier, DOSSIER__V1__TIER__TIER_2_WATCH_LIST);
    assert_true(r->version == UINT64_MAX);
    protobuf_c_message_free_unpacked(m, NULL);

    /* Enum values as people write them (issue 21). */
    const struct {
        const char *json;
        Dossier__V1__Tier tier;
    } written[] = {
        {"{\"tier\":\"Tier 2\"}", DOSSIER__V1__TIER__TIER_2},
        {"{\"tier\":\"Tier 2 Watch List\"}",
         DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"{\"tier\":\"tier-3\"}", DOSSIER__V1__TIER__TIER_3},
        {"{\"tier\":\"Special Case\"}", DOSSIER__V1__TIER__SPECIAL_CASE},
    };
    for (size_t i = 0; i < sizeof written / sizeof written[0]; i++) {
        m = s_parse(&dossier__v1__report__descriptor, written[i].json);
        assert_int_equal(((Dossier__V1__Report *)m)->tier, written[i].tier);
        protobuf_c_message_free_unpacked(m, NULL);
    }

    m = s_parse(&dossier__v1__report__descriptor,
                "{\"year\":2.004e3,\"tier\":\"TIER_3\",\"version\":\"42\"}");
    r = (Dossier__V1__Report *)m;
    assert_int_equal(r->year, 2004);
    assert_int_equal(r->tier, DOSSIER__V1__TIER__TIER_3);
    assert_true(r->version == 42);
    protobuf_c_message_free_unpacked(m, NULL);

    /* null is the default; empty arrays and objects are fine. */
    m = s_parse(&dossier__v1__report__descriptor,
                "{\"id\":null,\"body\":null,\"tier\":null,\"year\":null}");
    r = (Dossier__V1__Report *)m;
    assert_string_equal(r->id, "");
    assert_int_equal(r->n_body, 0);
    protobuf_c_message_free_unpacked(m, NULL);
    m = s_parse(&dossier__v1__request__descriptor,
                "{\"metadata\":{},\"payload\":\"\"}");
    assert_int_equal(((Dossier__V1__Request *)m)->n_metadata, 0);
    assert_int_equal(((Dossier__V1__Request *)m)->payload.len, 0);
    protobuf_c_message_free_unpacked(m, NULL);

    /* int32 limits, both ways, as numbers and strings. */
    m = s_parse(&dossier__v1__response__descriptor,
                "{\"code\":-2147483648,\"id\":\"0\"}");
    assert_int_equal(((Dossier__V1__Response *)m)->code, INT32_MIN);
    protobuf_c_message_free_unpacked(m, NULL);
    m = s_parse(&dossier__v1__response__descriptor,
                "{\"code\":\"2147483647\"}");
    assert_int_equal(((Dossier__V1__Response *)m)->code, INT32_MAX);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void
test_base64_forms(void **state) {
    (void)state;
    const char *forms[] = {
        "{\"payload\":\"+/8=\"}", /* standard, padded */
        "{\"payload\":\"+/8\"}",  /* standard, unpadded */
        "{\"payload\":\"-_8=\"}", /* URL-safe, padded */
        "{\"payload\":\"-_8\"}",  /* URL-safe, unpadded */
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        ProtobufCMessage *m =
            s_parse(&dossier__v1__request__descriptor, forms[i]);
        Dossier__V1__Request *req = (Dossier__V1__Request *)m;
        assert_int_equal(req->payload.len, 2);
        assert_int_equal(req->payload.data[0], 0xFB);
        assert_int_equal(req->payload.data[1], 0xFF);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    ProtobufCMessage *m = s_parse(&dossier__v1__request__descriptor,
                                  "{\"payload\":\"SGVsbG8=\"}");
    Dossier__V1__Request *req = (Dossier__V1__Request *)m;
    assert_int_equal(req->payload.len, 5);
    assert_memory_equal(req->payload.data, "Hello", 5);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void
test_rejections(void **state) {
    (void)state;
    const ProtobufCMessageDescriptor *rep = &dossier__v1__report__descriptor;
    const ProtobufCMessageDescriptor *put =
        &dossier__v1__put_request__descriptor;
    const ProtobufCMessageDescriptor *req = &dossier__v1__request__descriptor;
    const ProtobufCMessageDescriptor *rsp = &dossier__v1__response__descriptor;

    s_reject_str(rep, "{\"nope\":1}",
                 "nope: no such field in dossier.v1.Report");
    s_reject_str(put, "{\"report\":{\"id\":\"x\",\"Title\":\"y\"}}",
                 "report.Title: no such field in dossier.v1.Report; did you "
                 "mean \"title\"?");
    s_reject_str(rep, "{\"body\":[\"a\",\"b\",\"c\",4]}",
                 "body[3]: expected a string");
    s_reject_str(rep, "{\"body\":[\"a\",null]}",
                 "body[1]: null is not a valid array element");
    s_reject_str(rep, "{\"body\":\"a\"}", "body: expected an array");
    s_reject_str(rep, "{\"id\":5}", "id: expected a string");
    s_reject_str(rep, "{\"id\":12345678901234567890123}",
                 "id: expected a string");
    s_reject_str(rep, "{\"id\":{}}", "id: expected a string");
    s_reject_str(rep, "{\"year\":\"x\"}",
                 "year: expected an integer, got \"x\"");
    s_reject_str(rep, "{\"year\":\" 1\"}",
                 "year: expected an integer, got \" 1\"");
    s_reject_str(rep, "{\"year\":true}", "year: expected an integer");
    s_reject_str(rep, "{\"year\":1.5}", "year: 1.5 is not an integer");
    s_reject_str(rep, "{\"year\":-1}", "year: -1 is out of range for uint32");
    s_reject_str(rep, "{\"year\":4294967296}",
                 "year: 4294967296 is out of range for uint32");
    s_reject_str(rep, "{\"version\":18446744073709551616}",
                 "version: 18446744073709551616 is out of range for uint64");
    s_reject_str(put, "{\"report\":{\"version\":18446744073709551616}}",
                 "report.version: 18446744073709551616 is out of range for "
                 "uint64");
    s_reject_str(put, "{\"report\":{\"version\":\"18446744073709551616\"}}",
                 "report.version: 18446744073709551616 is out of range for "
                 "uint64");
    s_reject_str(rep, "{\"version\":\"-1\"}",
                 "version: -1 is out of range for uint64");
    s_reject_str(rep, "{\"version\":1e20}",
                 "version: 1e+20 is out of range for uint64");
    s_reject_str(rsp, "{\"code\":2147483648}",
                 "code: 2147483648 is out of range for int32");
    s_reject_str(rsp, "{\"code\":\"-2147483649\"}",
                 "code: -2147483649 is out of range for int32");
    s_reject_str(rsp, "{\"id\":-9223372036854775809}",
                 "id: -9223372036854775809 is out of range for uint64");
    s_reject_str(rep, "{\"tier\":\"TIER_9\"}",
                 "tier: \"TIER_9\" is not a value of dossier.v1.Tier; use one "
                 "of TIER_1, TIER_2, TIER_2_WATCH_LIST, TIER_3, "
                 "SPECIAL_CASE");
    s_reject_str(rep, "{\"tier\":\"3\"}",
                 "tier: \"3\" is not a value of dossier.v1.Tier; use one "
                 "of TIER_1, TIER_2, TIER_2_WATCH_LIST, TIER_3, "
                 "SPECIAL_CASE");
    s_reject_str(rep, "{\"yaer\":2004}",
                 "yaer: no such field in dossier.v1.Report; did you mean "
                 "\"year\"?");
    s_reject_str(rep, "{\"countrycode\":\"AZE\"}",
                 "countrycode: no such field in dossier.v1.Report; did you "
                 "mean \"countryCode\"?");
    s_reject_str(rep, "{\"country_cod\":\"AZE\"}",
                 "country_cod: no such field in dossier.v1.Report; did you "
                 "mean \"country_code\"?");
    s_reject_str(rep, "{\"tier\":true}",
                 "tier: expected a name or number of dossier.v1.Tier");
    s_reject_str(rep, "{\"tier\":4294967296}",
                 "tier: 4294967296 is out of range for an enum");
    s_reject_str(put, "{\"createOnly\":\"yes\"}",
                 "createOnly: expected true or false");
    s_reject_str(put, "{\"report\":[]}",
                 "report: expected an object (dossier.v1.Report)");
    s_reject_str(req, "{\"metadata\":[]}", "metadata: expected an object");
    s_reject_str(req, "{\"metadata\":{\"a\":1}}",
                 "metadata.a: expected a string");
    s_reject_str(req, "{\"metadata\":{\"a\":null}}",
                 "metadata.a: null is not a valid map value");
    s_reject_str(req, "{\"payload\":\"ab$d\"}",
                 "payload: invalid base64 at character 3");
    s_reject_str(req, "{\"payload\":\"abcde\"}",
                 "payload: invalid base64: wrong length");
    s_reject_str(req, "{\"payload\":7}", "payload: expected a base64 string");
    s_reject_str(&dossier__v1__search_hit__descriptor, "{\"score\":\"fast\"}",
                 "score: expected a number, got \"fast\"");
    s_reject_str(&dossier__v1__search_hit__descriptor, "{\"score\":\"inf\"}",
                 "score: expected a number, got \"inf\"");
    s_reject_str(rep, "{\"publicationDate\":\"a\",\"publication_date\":\"b\"}",
                 "publication_date: field publication_date is given twice");
    /* A long hostile key is clipped in the message. */
    s_reject_str(rep,
                 "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "\":1}",
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...: no "
                 "such field in dossier.v1.Report");

    /* Syntax: trailing garbage, truncation, not an object, empty. */
    s_reject_str(rep, "{\"id\":\"a\"} x",
                 "invalid JSON at line 1 column 12: end of file expected "
                 "near 'x'");
    s_reject_str(rep, "{\"id\":\"a\"}{}",
                 "invalid JSON at line 1 column 11: end of file expected "
                 "near '{'");
    s_reject_str(rep, "{\"id\":\"a\"",
                 "invalid JSON at line 1 column 9: '}' expected near end "
                 "of file");
    s_reject_str(rep, "[]", "expected an object (dossier.v1.Report)");
    s_reject_str(rep, "",
                 "invalid JSON at line 1 column 0: '[' or '{' "
                 "expected near end of file");
    s_reject_str(rep, "\"id\"",
                 "invalid JSON at line 1 column 4: '[' or "
                 "'{' expected near '\"id\"'");

    /* Invalid UTF-8 and NUL. */
    s_reject_str(rep, "{\"id\":\"ab\xFF\"}",
                 "id: invalid UTF-8 at line 1 column 10");
    s_reject_str(rep, "{\"id\":\"\xC0\xAF\"}",
                 "id: invalid UTF-8 at line 1 column 8");
    s_reject_str(rep, "{\n\"id\":\"\xED\xA0\x80\"}",
                 "id: invalid UTF-8 at line 2 column 7");
    s_reject_str(rep, "{\"id\":\"a\\u0000\"}",
                 "id: \\u0000 is not allowed in a string at line 1 column 9");
    s_reject_str(rep, "{\"body\":[\"a\", \"b\",\"c\" , \"\xF5\"]}",
                 "body[3]: invalid UTF-8 at line 1 column 26");
    s_reject_str(put,
                 "{\"report\" : {\"title\":\"ok\",\"body\":[],"
                 "\"cite\\\"As\":\"\xE2\x82\"}}",
                 "report.cite\\\"As: invalid UTF-8 at line 1 column 49");
    s_reject_str(put, "{\"rep\xFFort\":1}",
                 "rep: invalid UTF-8 at line 1 column 6");
    s_reject(rep, "{\"id\":\"a\"}\0", 11,
             "invalid JSON at line 1 column 11: end of file expected near "
             "end of file");
    s_reject(rep, "{\"id\":\"a\0b\"}", 12,
             "invalid JSON at line 1 column 8: control character 0x0 near "
             "'\"a'");
}

static void
test_nesting_limit(void **state) {
    (void)state;
    /* 64 levels of JSON are accepted (63 nested messages), 65 are not. */
    char text[2048];
    size_t n = 0;
    for (int i = 0; i < 63; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "{\"child\":");
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "{\"i32\":1}");
    for (int i = 0; i < 63; i++) {
        text[n++] = '}';
    }
    text[n] = '\0';
    ProtobufCMessage *m = s_parse(&s_all_desc, text);
    char *out = s_json(m, JSON_COMPACT);
    assert_string_equal(out, text);
    free(out);
    protobuf_c_message_free_unpacked(m, NULL);

    n = 0;
    for (int i = 0; i < 64; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "{\"child\":");
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "{\"i32\":1}");
    for (int i = 0; i < 64; i++) {
        text[n++] = '}';
    }
    text[n] = '\0';
    s_reject(&s_all_desc, text, n,
             "JSON nested deeper than 64 at line 1 column 577");

    /* Deep arrays inside a field are cut at the same depth, before jansson
       recurses into them. */
    n = (size_t)snprintf(text, sizeof text, "{\"body\":");
    for (int i = 0; i < 1000; i++) {
        text[n++] = '[';
    }
    text[n] = '\0';
    s_reject(&dossier__v1__report__descriptor, text, n,
             "JSON nested deeper than 64 at line 1 column 72");
}

static void
test_arguments(void **state) {
    (void)state;
    ProtobufCMessage *m = NULL;
    dossier_error_t err = {0};
    assert_null(json_from_message(NULL, JSON_PRETTY));
    assert_int_equal(json_to_message(NULL, "{}", 2, &m, &err),
                     DOSSIER_INVALID_ARGUMENT);
    assert_int_equal(
        json_to_message(&dossier__v1__report__descriptor, "{}", 2, NULL, &err),
        DOSSIER_INVALID_ARGUMENT);
    assert_int_equal(
        json_to_message(&dossier__v1__report__descriptor, NULL, 2, &m, NULL),
        DOSSIER_INVALID_ARGUMENT);
    assert_int_equal(
        json_to_message(&dossier__v1__report__descriptor, NULL, 0, &m, &err),
        DOSSIER_INVALID_ARGUMENT);
    assert_null(m);
    /* Only size bytes are read: the text need not end in NUL. */
    const char text[] = "{\"id\":\"a\"}garbage";
    assert_int_equal(
        json_to_message(&dossier__v1__report__descriptor, text, 10, &m, &err),
        DOSSIER_OK);
    assert_string_equal(((Dossier__V1__Report *)m)->id, "a");
    protobuf_c_message_free_unpacked(m, NULL);
}

/* ------------------------------------------------------------------ */
/*  test.All                                                          */

static void
test_all_types(void **state) {
    (void)state;
    TestAll a, child, rc1, rc2;
    s_all_init(&a.base);
    s_all_init(&child.base);
    s_all_init(&rc1.base);
    s_all_init(&rc2.base);
    a.i32 = INT32_MIN;
    a.i64 = INT64_MIN;
    a.u32 = UINT32_MAX;
    a.u64 = UINT64_MAX;
    a.s32 = -5;
    a.s64 = INT64_MAX;
    a.f32 = 7;
    a.f64 = 8;
    a.sf32 = -9;
    a.sf64 = -10;
    a.flt = 0.1f;
    a.dbl = -0.25;
    a.flag = 1;
    a.tier = DOSSIER__V1__TIER__TIER_1;
    a.text = "t";
    uint8_t blob[] = {0, 1, 2};
    a.blob.data = blob;
    a.blob.len = 3;
    child.i32 = 1;
    a.child = &child;
    int32_t r_i32[] = {0, -1, 2};
    a.n_r_i32 = 3;
    a.r_i32 = r_i32;
    double r_dbl[] = {0, NAN, -INFINITY, 2.5};
    a.n_r_dbl = 4;
    a.r_dbl = r_dbl;
    rc2.text = "x";
    TestAll *r_child[] = {&rc1, &rc2};
    a.n_r_child = 2;
    a.r_child = r_child;
    a.has_opt_i32 = 1;
    a.opt_i32 = 0; /* set to the default: still written */
    TestEntry e1, e2;
    s_entry_init(&e1.base);
    s_entry_init(&e2.base);
    e1.key = -3;
    e1.value = "minus three";
    e2.key = 0;
    TestEntry *map[] = {&e1, &e2};
    a.n_int_map = 2;
    a.int_map = map;
    a.choice_case = 24;
    a.choice_num = 0; /* the active oneof member is written even if 0 */
    ProtobufCBinaryData r_bytes[] = {{0, NULL}, {1, blob + 1}};
    a.n_r_bytes = 2;
    a.r_bytes = r_bytes;
    int r_enum[] = {0, 4, 99};
    a.n_r_enum = 3;
    a.r_enum = r_enum;
    uint64_t r_u64[] = {0, UINT64_MAX};
    a.n_r_u64 = 2;
    a.r_u64 = r_u64;
    protobuf_c_boolean r_flag[] = {1, 0};
    a.n_r_flag = 2;
    a.r_flag = r_flag;
    float r_flt[] = {1.5f, 3.4028235e38f, NAN};
    a.n_r_flt = 3;
    a.r_flt = r_flt;

    char *text = s_round_trip(&a.base);
    assert_string_equal(
        text,
        "{\"i32\":-2147483648,\"i64\":\"-9223372036854775808\","
        "\"u32\":4294967295,\"u64\":\"18446744073709551615\",\"s32\":-5,"
        "\"s64\":\"9223372036854775807\",\"f32\":7,\"f64\":\"8\",\"sf32\":-9,"
        "\"sf64\":\"-10\",\"flt\":0.1,\"dbl\":-0.25,\"flag\":true,"
        "\"tier\":\"TIER_1\",\"text\":\"t\",\"blob\":\"AAEC\","
        "\"child\":{\"i32\":1},\"rI32\":[0,-1,2],"
        "\"rDbl\":[0,\"NaN\",\"-Infinity\",2.5],"
        "\"rChild\":[{},{\"text\":\"x\"}],\"optI32\":0,"
        "\"intMap\":{\"-3\":\"minus three\",\"0\":\"\"},\"choiceNum\":\"0\","
        "\"rBytes\":[\"\",\"AQ==\"],\"rEnum\":[\"TIER_UNSPECIFIED\","
        "\"TIER_3\",99],\"rU64\":[\"0\",\"18446744073709551615\"],"
        "\"rFlag\":[true,false],\"rFlt\":[1.5,3.4028235e+38,\"NaN\"]}");
    free(text);

    /* The other oneof member, and an unset optional. */
    TestAll b;
    s_all_init(&b.base);
    b.choice_case = 23;
    b.choice_text = "";
    text = s_round_trip(&b.base);
    assert_string_equal(text, "{\"choiceText\":\"\"}");
    free(text);
}

static void
test_all_parse(void **state) {
    (void)state;
    ProtobufCMessage *m = s_parse(
        &s_all_desc,
        "{\"opt_i32\":null,\"choice_text\":\"hi\",\"int_map\":{\"7\":\"seven\","
        "\"-2147483648\":\"min\"},\"flt\":\"Infinity\",\"sf64\":\"-5\","
        "\"i64\":-9223372036854775808,\"rU64\":[1,\"2\",3e2]}");
    TestAll *a = (TestAll *)m;
    assert_false(a->has_opt_i32);
    assert_int_equal(a->choice_case, 23);
    assert_string_equal(a->choice_text, "hi");
    assert_int_equal(a->n_int_map, 2);
    assert_int_equal(a->int_map[0]->key, 7);
    assert_string_equal(a->int_map[0]->value, "seven");
    assert_int_equal(a->int_map[1]->key, INT32_MIN);
    assert_true(isinf(a->flt) && a->flt > 0);
    assert_true(a->sf64 == -5);
    assert_true(a->i64 == INT64_MIN);
    assert_int_equal(a->n_r_u64, 3);
    assert_true(a->r_u64[2] == 300);
    protobuf_c_message_free_unpacked(m, NULL);

    m = s_parse(&s_all_desc, "{\"optI32\":0}");
    assert_true(((TestAll *)m)->has_opt_i32);
    char *text = s_json(m, JSON_COMPACT);
    assert_string_equal(text, "{\"optI32\":0}");
    free(text);
    protobuf_c_message_free_unpacked(m, NULL);

    s_reject_str(&s_all_desc, "{\"choiceText\":\"a\",\"choiceNum\":1}",
                 "choiceNum: only one of a oneof may be set, and choice_text "
                 "already is");
    s_reject_str(&s_all_desc, "{\"intMap\":{\"x\":\"a\"}}",
                 "intMap.x: map key \"x\" is not an integer");
    s_reject_str(&s_all_desc, "{\"intMap\":{\"2147483648\":\"a\"}}",
                 "intMap.2147483648: 2147483648 is out of range for int32");
    s_reject_str(&s_all_desc, "{\"flt\":1e39}",
                 "flt: 1e+39 is out of range for float");
    s_reject_str(&s_all_desc, "{\"i64\":9223372036854775808}",
                 "i64: 9223372036854775808 is out of range for int64");
    s_reject_str(&s_all_desc, "{\"f32\":-1}",
                 "f32: -1 is out of range for fixed32");
    s_reject_str(&s_all_desc,
                 "{\"rChild\":[{},{\"child\":{\"rFlag\":[true,1]}}]}",
                 "rChild[1].child.rFlag[1]: expected true or false");
    /* Errors deep inside partly built messages: everything is freed
       (valgrind and ASan check). */
    s_reject_str(&s_all_desc,
                 "{\"text\":\"a\",\"blob\":\"AAEC\",\"rI32\":[1,2],"
                 "\"intMap\":{\"1\":\"a\",\"2\":3},\"child\":{}}",
                 "intMap.2: expected a string");
    s_reject_str(&s_all_desc,
                 "{\"choiceText\":\"a\",\"rBytes\":[\"AA\",\"!\"]}",
                 "rBytes[1]: invalid base64: wrong length");
    s_reject_str(&s_all_desc,
                 "{\"child\":{\"text\":\"a\",\"rChild\":[{\"text\":\"b\"},"
                 "{\"nope\":0}]}}",
                 "child.rChild[1].nope: no such field in test.All");
}

/* ------------------------------------------------------------------ */
/*  Mutation                                                          */

static uint64_t s_rng = 0x9E3779B97F4A7C15ull;

static uint32_t
s_rand(void) {
    s_rng = s_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(s_rng >> 33);
}

/*  One random edit of text (len bytes, room for 64 more). */
static size_t
s_mutate(char *text, size_t len) {
    static const char *const tokens[] = {"\"",
                                         "{",
                                         "}",
                                         "[",
                                         "]",
                                         ":",
                                         ",",
                                         "null",
                                         "1",
                                         "-",
                                         "e",
                                         ".",
                                         "\\",
                                         "\\u00e9",
                                         "\xFF",
                                         "\xC3",
                                         "0",
                                         "true",
                                         "\"a\"",
                                         "1e400",
                                         "99999999999999999999999",
                                         "\\u0000",
                                         "\"NaN\"",
                                         "[[[[[[[[",
                                         "{\"body\":[\"x\"]}",
                                         "\x00"};
    static const char letters[] = "az09AZ _-+/=.";
    uint32_t op = s_rand() % 6;
    size_t at = len ? s_rand() % (len + 1) : 0;
    if (op == 0 && len > 0 && at < len) { /* any byte */
        text[at] = (char)(s_rand() & 0xFF);
    } else if (op == 5 && len > 0 && at < len) { /* a harmless-looking one */
        text[at] = letters[s_rand() % (sizeof letters - 1)];
    } else if (op == 1 && len > 0 && at < len) { /* delete a range */
        size_t n = 1 + s_rand() % 8;
        if (n > len - at) {
            n = len - at;
        }
        memmove(text + at, text + at + n, len - at - n);
        len -= n;
    } else if (op == 2) { /* truncate */
        len = at;
    } else { /* insert a token */
        size_t t = s_rand() % (sizeof tokens / sizeof tokens[0]);
        size_t n = tokens[t][0] ? strlen(tokens[t]) : 1;
        memmove(text + at + n, text + at, len - at);
        memcpy(text + at, tokens[t], n);
        len += n;
    }
    return len;
}

/*  json_to_message (fast path first) and json_to_message_slow (jansson
    alone) must agree on text: the same status, the same message bytes,
    the same error. Returns whether the fast path took the text. */
static bool
s_paths_agree(const ProtobufCMessageDescriptor *desc, const char *text,
              size_t len) {
    ProtobufCMessage *fast = NULL, *slow = NULL;
    dossier_error_t fast_err = {0}, slow_err = {0};
    ProtobufCMessage *taken = NULL;
    bool took = json_fast_to_message(desc, text, len, &taken);
    if (took) {
        protobuf_c_message_free_unpacked(taken, NULL);
    }
    dossier_status_t fast_st =
        json_to_message(desc, text, len, &fast, &fast_err);
    dossier_status_t slow_st =
        json_to_message_slow(desc, text, len, &slow, &slow_err);
    if (fast_st != slow_st || strcmp(fast_err.message, slow_err.message) != 0) {
        fail_msg("for %.*s\n  json_to_message: %s \"%s\"\n  slow path: %s "
                 "\"%s\"",
                 (int)len, text, dossier_strerror(fast_st), fast_err.message,
                 dossier_strerror(slow_st), slow_err.message);
    }
    if (took && slow_st != DOSSIER_OK) {
        fail_msg("the fast path took what the slow path refuses: %.*s",
                 (int)len, text);
    }
    if (fast_st == DOSSIER_OK) {
        s_assert_same(fast, slow);
        protobuf_c_message_free_unpacked(fast, NULL);
        protobuf_c_message_free_unpacked(slow, NULL);
    }
    return took;
}

static void
test_fast_path(void **state) {
    (void)state;
    const ProtobufCMessageDescriptor *report = &dossier__v1__report__descriptor;
    /* What a dump holds goes the fast way... */
    static const char *const taken[] = {
        "{\"id\":\"tip-2004-aze\",\"title\":\"T \xC3\xA9 \\\"q\\\" \\u00e9 "
        "\\ud83d\\ude00 \\/ \\b\\f\\n\\r\\t\\\\\",\"year\":2004,"
        "\"tier\":\"TIER_2_WATCH_LIST\",\"body\":[\"a\",\"b\\n\"],"
        "\"version\":\"3\",\"publication_date\":\"2004-06-14\"}",
        " {\n\t\"year\" : 0 , \"body\" : [ ] , \"id\":null}\r\n",
        "{}",
        "{\"year\":\"007\",\"version\":-0}",
        "{\"version\":\"999999999999999999\",\"year\":4294967295}",
        "{\"body\":[\"0123456789abcdef0123456789abcdef\\\"0123456789abcdef\"]}",
        /* a byte to look at, then long runs: the 16-byte steps resume */
        "{\"title\":\"\xC3\xA9 0123456789abcdef0123456789abcdef \xE2\x82\xAC "
        "0123456789abcdef0123456789 \\n 0123456789abcdef0123456789\"}",
    };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
        if (!s_paths_agree(report, taken[i], strlen(taken[i]))) {
            fail_msg("the fast path declined %s", taken[i]);
        }
    }
    /* ...and what it does not handle, or refuses, the old way: the same
       result or the same error either way. */
    static const char *const declined[] = {
        "{\"title\":\"a\",\"title\":\"b\"}", /* jansson: the last */
        "{\"title\":\"a\",\"tier\":\"tier 2 watch list\"}",
        "{\"tier\":2}",
        "{\"year\":2004.0}",
        "{\"year\":1e3}",
        "{\"year\":01}",
        "{\"year\":4294967296}",
        "{\"version\":-1}",
        "{\"version\":18446744073709551615}",
        "{\"version\":\"1234567890123456789\"}",
        "{\"title\":\"a\\u0000b\"}",
        "{\"title\":\"\\ud800\"}",
        "{\"title\":\"\\udc00\\ud800\"}",
        "{\"title\":\"\\x\"}",
        "{\"title\":\"a\x01\"}",
        "{\"title\":\"0123456789abcdef0123456789abcdef\x1f"
        "0123456789\"}",
        "{\"title\":\"0123456789abcdef\xC3\xA9\xFF"
        "0123456789abcdef\"}",
        "{\"title\":\"\xC3\"}",
        "{\"title\":\"\xED\xA0\x80\"}",
        "{\"ti\\u0074le\":\"x\"}",
        "{\"title\":\"a\"} x",
        "{\"title\":\"a\",}",
        "{\"title\" \"a\"}",
        "{\"body\":[\"a\",null]}",
        "{\"body\":\"a\"}",
        "{\"title\":[\"a\"]}",
        "{\"title\":truex}",
        "{\"nope\":1}",
        "[]",
        "",
        "\xEF\xBB\xBF{}",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++) {
        s_paths_agree(report, declined[i], strlen(declined[i]));
    }
    /* A NUL byte outside a string, and one inside. */
    s_paths_agree(report, "{}\0", 3);
    s_paths_agree(report, "{\"title\":\"a\0b\"}", 15);
    /* Every prefix of a report: truncated input is refused alike. */
    const char *full = taken[0];
    for (size_t n = 0; n < strlen(full); n++) {
        s_paths_agree(report, full, n);
    }
}

static void
test_mutations(void **state) {
    (void)state;
    static const struct {
        const ProtobufCMessageDescriptor *desc;
        const char *text;
    } seeds[] = {
        {&dossier__v1__report__descriptor,
         "{\"id\":\"tip-2004-aze\",\"title\":\"T \xC3\xA9\",\"year\":2004,"
         "\"tier\":\"TIER_2_WATCH_LIST\",\"body\":[\"a\",\"b\\n\"],"
         "\"version\":\"3\",\"publication_date\":\"2004-06-14\"}"},
        {&dossier__v1__request__descriptor,
         "{\"id\":\"18446744073709551615\",\"method\":\"m\",\"payload\":"
         "\"SGVsbG8=\",\"deadlineMs\":250,\"metadata\":{\"a\":\"b\","
         "\"c\":\"d\"}}"},
        {&dossier__v1__search_response__descriptor,
         "{\"hits\":[{\"report\":{\"id\":\"a\",\"year\":2004},\"score\":0.1,"
         "\"snippet\":\"s\"},{\"score\":\"NaN\"}],\"totalHits\":\"2\","
         "\"facets\":[{\"field\":\"year\",\"counts\":[{\"value\":\"2004\","
         "\"count\":\"1\"}]}]}"},
        {&s_all_desc,
         "{\"i32\":-1,\"u64\":\"5\",\"child\":{\"rChild\":[{\"flt\":1.5}]},"
         "\"intMap\":{\"1\":\"a\"},\"choiceNum\":\"3\",\"optI32\":0,"
         "\"rBytes\":[\"AQ\"],\"rDbl\":[1e300,\"-Infinity\"]}"},
    };
    char text[8192];
    int accepted = 0, refused = 0, fast_taken = 0;
    for (int round = 0; round < 4000; round++) {
        size_t s = (size_t)round % (sizeof seeds / sizeof seeds[0]);
        size_t len = strlen(seeds[s].text);
        memcpy(text, seeds[s].text, len);
        int edits = 1 + (s_rand() % 3 == 0);
        for (int e = 0; e < edits && len + 64 < sizeof text; e++) {
            len = s_mutate(text, len);
        }
        /* The fast path takes or declines; the outcome is the same. */
        fast_taken += s_paths_agree(seeds[s].desc, text, len);
        ProtobufCMessage *m = NULL;
        dossier_error_t err = {0};
        dossier_status_t st =
            json_to_message(seeds[s].desc, text, len, &m, &err);
        if (st != DOSSIER_OK) {
            assert_int_equal(st, DOSSIER_INVALID_ARGUMENT);
            assert_null(m);
            assert_true(err.message[0] != '\0');
            refused++;
            continue;
        }
        accepted++;
        /* Whatever was accepted is written as JSON that reads back as the
           same message. */
        char *out = s_json(m, round % 2 ? JSON_PRETTY : JSON_COMPACT);
        ProtobufCMessage *back = s_parse(seeds[s].desc, out);
        if (seeds[s].desc != &s_all_desc) { /* no floats: exact */
            s_assert_same(m, back);
        }
        protobuf_c_message_free_unpacked(back, NULL);
        protobuf_c_message_free_unpacked(m, NULL);
        free(out);
    }
    /* The mutations must exercise both outcomes to mean anything. */
    print_message("%d mutations accepted (%d by the fast path), %d refused\n",
                  accepted, fast_taken, refused);
    assert_true(accepted > 100);
    assert_true(fast_taken > 50);
    assert_true(refused > 100);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_report_exact),
        cmocka_unit_test(test_defaults_omitted),
        cmocka_unit_test(test_unknown_enum_number),
        cmocka_unit_test(test_invalid_utf8_output),
        cmocka_unit_test(test_report_round_trip),
        cmocka_unit_test(test_search_response_round_trip),
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_proto_names_accepted),
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_base64_forms),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_all_types),
        cmocka_unit_test(test_all_parse),
        cmocka_unit_test(test_fast_path),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
