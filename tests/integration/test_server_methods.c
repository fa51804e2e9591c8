/*  test_server_methods.c: every method of dossier.v1.Reports, happy path
    and its documented refusals, against a real dossierd over a real
    socket, with the raw REQ client of testserver.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dossier/v1/reports.pb-c.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "testserver.h"

#define M(name) "dossier.v1.Reports/" name
#define TIP "Trafficking in Persons Report"

static testserver_t *s_server;

static int
s_setup(void **state) {
    (void)state;
    s_server = testserver_start(NULL);
    return s_server ? 0 : -1;
}

static int
s_teardown(void **state) {
    (void)state;
    testserver_stop(&s_server);
    return 0;
}

static const char *
s_endpoint(void) {
    return testserver_endpoint(s_server);
}

static char *s_body[] = {"First paragraph.", "Second paragraph."};

static void
s_report(Dossier__V1__Report *report, const char *id, const char *country,
         const char *code, uint32_t year, Dossier__V1__Tier tier) {
    dossier__v1__report__init(report);
    report->id = (char *)id;
    report->title = (char *)"U.S. Department of State Trafficking in "
                            "Persons Report";
    report->publisher = (char *)"United States Department of State";
    report->country = (char *)country;
    report->country_code = (char *)code;
    report->year = year;
    report->tier = tier;
    report->doc_type = (char *)TIP;
    report->body = s_body;
    report->n_body = 2;
}

/*  Puts report; returns the PutResponse when expect_code is OK. */
static Dossier__V1__PutResponse *
s_put(const Dossier__V1__Report *report, uint64_t expected_version,
      bool create_only, int expect_code) {
    Dossier__V1__PutRequest request = DOSSIER__V1__PUT_REQUEST__INIT;
    request.report = (Dossier__V1__Report *)report;
    request.expected_version = expected_version;
    request.create_only = create_only;
    return (Dossier__V1__PutResponse *)testserver_expect(
        s_endpoint(), M("Put"), &request.base, expect_code,
        &dossier__v1__put_response__descriptor);
}

static Dossier__V1__Report *
s_get(const char *id, int expect_code) {
    Dossier__V1__GetRequest request = DOSSIER__V1__GET_REQUEST__INIT;
    request.id = (char *)id;
    return (Dossier__V1__Report *)testserver_expect(
        s_endpoint(), M("Get"), &request.base, expect_code,
        &dossier__v1__report__descriptor);
}

static void
test_health(void **state) {
    (void)state;
    Dossier__V1__HealthRequest request = DOSSIER__V1__HEALTH_REQUEST__INIT;
    Dossier__V1__HealthResponse *response =
        (Dossier__V1__HealthResponse *)testserver_expect(
            s_endpoint(), M("Health"), &request.base, 0,
            &dossier__v1__health_response__descriptor);
    assert_int_equal(response->status,
                     DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    dossier__v1__health_response__free_unpacked(response, NULL);

    request.service = (char *)"dossier.v1.Reports";
    response = (Dossier__V1__HealthResponse *)testserver_expect(
        s_endpoint(), M("Health"), &request.base, 0,
        &dossier__v1__health_response__descriptor);
    dossier__v1__health_response__free_unpacked(response, NULL);

    request.service = (char *)"no.such.Service";
    testserver_expect(s_endpoint(), M("Health"), &request.base, 5, NULL);
}

static void
test_describe(void **state) {
    (void)state;
    Dossier__V1__DescribeRequest request = DOSSIER__V1__DESCRIBE_REQUEST__INIT;
    Dossier__V1__DescribeResponse *response =
        (Dossier__V1__DescribeResponse *)testserver_expect(
            s_endpoint(), M("Describe"), &request.base, 0,
            &dossier__v1__describe_response__descriptor);
    Google__Protobuf__FileDescriptorSet *set =
        google__protobuf__file_descriptor_set__unpack(
            NULL, response->file_descriptor_set.len,
            response->file_descriptor_set.data);
    assert_non_null(set);
    bool found = false;
    for (size_t i = 0; i < set->n_file; i++) {
        Google__Protobuf__FileDescriptorProto *file = set->file[i];
        if (strcmp(file->name, "dossier/v1/reports.proto") != 0) {
            continue;
        }
        assert_int_equal(file->n_service, 1);
        assert_string_equal(file->service[0]->name, "Reports");
        assert_int_equal(file->service[0]->n_method,
                         dossier__v1__reports__descriptor.n_methods);
        found = true;
    }
    assert_true(found);
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    dossier__v1__describe_response__free_unpacked(response, NULL);
}

static void
test_put_get_delete(void **state) {
    (void)state;
    Dossier__V1__Report report;
    s_report(&report, "m-put-1", "Azerbaijan", "AZE", 2004,
             DOSSIER__V1__TIER__TIER_2_WATCH_LIST);

    Dossier__V1__PutResponse *put = s_put(&report, 0, false, 0);
    assert_string_equal(put->id, "m-put-1");
    assert_int_equal(put->version, 1);
    assert_true(put->created);
    dossier__v1__put_response__free_unpacked(put, NULL);

    put = s_put(&report, 0, false, 0);
    assert_int_equal(put->version, 2);
    assert_false(put->created);
    dossier__v1__put_response__free_unpacked(put, NULL);

    /* Optimistic concurrency and create_only. */
    s_put(&report, 1, false, 10 /* ABORTED */);
    s_put(&report, 0, true, 6 /* ALREADY_EXISTS */);
    put = s_put(&report, 2, false, 0);
    assert_int_equal(put->version, 3);
    dossier__v1__put_response__free_unpacked(put, NULL);

    Dossier__V1__Report *got = s_get("m-put-1", 0);
    assert_string_equal(got->id, "m-put-1");
    assert_string_equal(got->country, "Azerbaijan");
    assert_int_equal(got->year, 2004);
    assert_int_equal(got->tier, DOSSIER__V1__TIER__TIER_2_WATCH_LIST);
    assert_int_equal(got->n_body, 2);
    assert_string_equal(got->body[1], "Second paragraph.");
    assert_int_equal(got->version, 3);
    assert_string_equal(got->created_by, "anonymous");
    assert_true(strlen(got->updated_at) > 0);
    dossier__v1__report__free_unpacked(got, NULL);

    s_get("m-no-such", 5);
    s_get("bad id with spaces", 3);

    Dossier__V1__DeleteRequest del = DOSSIER__V1__DELETE_REQUEST__INIT;
    del.id = (char *)"m-put-1";
    del.expected_version = 1;
    testserver_expect(s_endpoint(), M("Delete"), &del.base, 10, NULL);
    del.expected_version = 0;
    Dossier__V1__DeleteResponse *deleted =
        (Dossier__V1__DeleteResponse *)testserver_expect(
            s_endpoint(), M("Delete"), &del.base, 0,
            &dossier__v1__delete_response__descriptor);
    assert_string_equal(deleted->id, "m-put-1");
    assert_int_equal(deleted->version, 3);
    dossier__v1__delete_response__free_unpacked(deleted, NULL);
    s_get("m-put-1", 5);
    testserver_expect(s_endpoint(), M("Delete"), &del.base, 5, NULL);

    /* A Put without a report is refused, not crashed on. */
    Dossier__V1__PutRequest empty = DOSSIER__V1__PUT_REQUEST__INIT;
    testserver_expect(s_endpoint(), M("Put"), &empty.base, 3, NULL);
}

static void
test_list(void **state) {
    (void)state;
    const char *ids[] = {"m-list-a", "m-list-b", "m-list-c"};
    for (size_t i = 0; i < 3; i++) {
        Dossier__V1__Report report;
        s_report(&report, ids[i], "Côte d'Ivoire", "CIV", (uint32_t)(2001 + i),
                 DOSSIER__V1__TIER__TIER_2);
        dossier__v1__put_response__free_unpacked(s_put(&report, 0, false, 0),
                                                 NULL);
    }
    Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
    filter.country = (char *)"Ivory Coast"; /* a variant name */
    Dossier__V1__ListRequest request = DOSSIER__V1__LIST_REQUEST__INIT;
    request.filter = &filter;
    request.page_size = 2;

    /* Two pages of two and one, in id order, summary view. */
    Dossier__V1__ListResponse *page =
        (Dossier__V1__ListResponse *)testserver_expect(
            s_endpoint(), M("List"), &request.base, 0,
            &dossier__v1__list_response__descriptor);
    assert_int_equal(page->n_reports, 2);
    assert_string_equal(page->reports[0]->id, "m-list-a");
    assert_string_equal(page->reports[1]->id, "m-list-b");
    assert_int_equal(page->reports[0]->n_body, 0);
    assert_true(strlen(page->next_page_token) > 0);
    char token[512];
    snprintf(token, sizeof token, "%s", page->next_page_token);
    dossier__v1__list_response__free_unpacked(page, NULL);

    request.page_token = token;
    request.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    page = (Dossier__V1__ListResponse *)testserver_expect(
        s_endpoint(), M("List"), &request.base, 0,
        &dossier__v1__list_response__descriptor);
    assert_int_equal(page->n_reports, 1);
    assert_string_equal(page->reports[0]->id, "m-list-c");
    assert_int_equal(page->reports[0]->n_body, 2);
    assert_string_equal(page->next_page_token, "");
    dossier__v1__list_response__free_unpacked(page, NULL);

    /* Year range. */
    filter.year_min = 2002;
    filter.year_max = 2002;
    request.page_token = (char *)"";
    page = (Dossier__V1__ListResponse *)testserver_expect(
        s_endpoint(), M("List"), &request.base, 0,
        &dossier__v1__list_response__descriptor);
    assert_int_equal(page->n_reports, 1);
    assert_string_equal(page->reports[0]->id, "m-list-b");
    dossier__v1__list_response__free_unpacked(page, NULL);

    /* Refusals: page over max_page_size, inverted years, bad token. */
    request.page_size = 1001;
    testserver_expect(s_endpoint(), M("List"), &request.base, 3, NULL);
    request.page_size = 10;
    filter.year_min = 2005;
    filter.year_max = 2001;
    testserver_expect(s_endpoint(), M("List"), &request.base, 3, NULL);
    filter.year_min = filter.year_max = 0;
    request.page_token = (char *)"not-a-token";
    testserver_expect(s_endpoint(), M("List"), &request.base, 3, NULL);
}

static void
test_history_changes(void **state) {
    (void)state;
    static const struct {
        const char *id;
        uint32_t year;
        Dossier__V1__Tier tier;
    } rows[] = {
        {"m-hist-2004", 2004, DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"m-hist-2005", 2005, DOSSIER__V1__TIER__TIER_2},
        {"m-hist-2006", 2006, DOSSIER__V1__TIER__TIER_3},
    };
    for (size_t i = 0; i < 3; i++) {
        Dossier__V1__Report report;
        s_report(&report, rows[i].id, "Moldova", "MDA", rows[i].year,
                 rows[i].tier);
        dossier__v1__put_response__free_unpacked(s_put(&report, 0, false, 0),
                                                 NULL);
    }
    Dossier__V1__HistoryRequest history = DOSSIER__V1__HISTORY_REQUEST__INIT;
    history.country = (char *)"MDA";
    Dossier__V1__HistoryResponse *entries =
        (Dossier__V1__HistoryResponse *)testserver_expect(
            s_endpoint(), M("History"), &history.base, 0,
            &dossier__v1__history_response__descriptor);
    assert_int_equal(entries->n_entries, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(entries->entries[i]->year, rows[i].year);
        assert_int_equal(entries->entries[i]->tier, rows[i].tier);
        assert_string_equal(entries->entries[i]->report_id, rows[i].id);
    }
    dossier__v1__history_response__free_unpacked(entries, NULL);
    history.country = (char *)"";
    testserver_expect(s_endpoint(), M("History"), &history.base, 3, NULL);

    Dossier__V1__ChangesRequest changes = DOSSIER__V1__CHANGES_REQUEST__INIT;
    changes.year = 2006;
    Dossier__V1__ChangesResponse *moved =
        (Dossier__V1__ChangesResponse *)testserver_expect(
            s_endpoint(), M("Changes"), &changes.base, 0,
            &dossier__v1__changes_response__descriptor);
    bool found = false;
    for (size_t i = 0; i < moved->n_changes; i++) {
        if (strcmp(moved->changes[i]->report_id, "m-hist-2006") == 0) {
            assert_int_equal(moved->changes[i]->previous,
                             DOSSIER__V1__TIER__TIER_2);
            assert_int_equal(moved->changes[i]->current,
                             DOSSIER__V1__TIER__TIER_3);
            assert_int_equal(moved->changes[i]->move,
                             DOSSIER__V1__TIER_MOVE__TIER_MOVE_DOWNGRADE);
            found = true;
        }
    }
    assert_true(found);
    dossier__v1__changes_response__free_unpacked(moved, NULL);
    changes.year = 0;
    testserver_expect(s_endpoint(), M("Changes"), &changes.base, 3, NULL);
}

/*  A Put that names a country but leaves country_code empty gets the ISO
    code, so History under any spelling finds it, code and all. */
static void
test_put_fills_country_code(void **state) {
    (void)state;
    Dossier__V1__Report report;
    s_report(&report, "m-civ-2009", "Ivory Coast", "", 2009,
             DOSSIER__V1__TIER__TIER_2);
    dossier__v1__put_response__free_unpacked(s_put(&report, 0, false, 0), NULL);
    Dossier__V1__Report *stored = s_get("m-civ-2009", 0);
    assert_string_equal(stored->country, "Ivory Coast");
    assert_string_equal(stored->country_code, "CIV");
    dossier__v1__report__free_unpacked(stored, NULL);

    s_report(&report, "m-atlantis-2009", "Atlantis", "", 2009,
             DOSSIER__V1__TIER__TIER_2);
    dossier__v1__put_response__free_unpacked(s_put(&report, 0, false, 0), NULL);
    stored = s_get("m-atlantis-2009", 0);
    assert_string_equal(stored->country_code, "");
    dossier__v1__report__free_unpacked(stored, NULL);

    Dossier__V1__HistoryRequest history = DOSSIER__V1__HISTORY_REQUEST__INIT;
    history.country = (char *)"C\xc3\xb4te d'Ivoire";
    Dossier__V1__HistoryResponse *entries =
        (Dossier__V1__HistoryResponse *)testserver_expect(
            s_endpoint(), M("History"), &history.base, 0,
            &dossier__v1__history_response__descriptor);
    assert_string_equal(entries->country_code, "CIV");
    bool found = false; /* other tests here store CIV reports too */
    for (size_t i = 0; i < entries->n_entries; i++) {
        found |= strcmp(entries->entries[i]->report_id, "m-civ-2009") == 0;
    }
    assert_true(found);
    dossier__v1__history_response__free_unpacked(entries, NULL);
}

static char *
s_read_sample(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/deploy/samples/%s", DOSSIER_SOURCE_DIR,
             name);
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
    fclose(file);
    return text;
}

static void
test_import_text(void **state) {
    (void)state;
    char *text = s_read_sample("tip-2004-azerbaijan.txt");
    Dossier__V1__ImportTextRequest request =
        DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
    request.text = text;
    request.filename = (char *)"tip-2004-azerbaijan.txt";
    request.id = (char *)"m-import-aze";
    request.source_url = (char *)"https://example.org/tip-2004-aze";

    request.dry_run = true;
    Dossier__V1__ImportTextResponse *response =
        (Dossier__V1__ImportTextResponse *)testserver_expect(
            s_endpoint(), M("ImportText"), &request.base, 0,
            &dossier__v1__import_text_response__descriptor);
    assert_int_equal(response->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_PARSED);
    assert_non_null(response->report);
    assert_string_equal(response->report->id, "m-import-aze");
    assert_string_equal(response->report->country, "Azerbaijan");
    assert_int_equal(response->report->year, 2004);
    assert_int_equal(response->report->tier,
                     DOSSIER__V1__TIER__TIER_2_WATCH_LIST);
    assert_string_equal(response->report->source_url,
                        "https://example.org/tip-2004-aze");
    dossier__v1__import_text_response__free_unpacked(response, NULL);
    s_get("m-import-aze", 5); /* a dry run stores nothing */

    request.dry_run = false;
    response = (Dossier__V1__ImportTextResponse *)testserver_expect(
        s_endpoint(), M("ImportText"), &request.base, 0,
        &dossier__v1__import_text_response__descriptor);
    assert_string_equal(response->id, "m-import-aze");
    assert_int_equal(response->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED);
    assert_int_equal(response->version, 1);
    assert_null(response->report);
    dossier__v1__import_text_response__free_unpacked(response, NULL);

    /* The same text again writes nothing. */
    response = (Dossier__V1__ImportTextResponse *)testserver_expect(
        s_endpoint(), M("ImportText"), &request.base, 0,
        &dossier__v1__import_text_response__descriptor);
    assert_int_equal(response->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UNCHANGED);
    assert_int_equal(response->version, 1);
    dossier__v1__import_text_response__free_unpacked(response, NULL);

    Dossier__V1__Report *got = s_get("m-import-aze", 0);
    assert_int_equal(got->tier, DOSSIER__V1__TIER__TIER_2_WATCH_LIST);
    assert_true(strlen(got->source_sha256) == 64);
    assert_true(got->n_body > 0);
    dossier__v1__report__free_unpacked(got, NULL);

    /* Blank text is nothing to import; an empty one. (Any text with
       something in it imports: test_import_cli.sh.) */
    request.text = (char *)" \n\n\t\n";
    testserver_expect(s_endpoint(), M("ImportText"), &request.base, 3, NULL);
    request.text = (char *)"";
    testserver_expect(s_endpoint(), M("ImportText"), &request.base, 3, NULL);
    free(text);
}

static void
test_import_batch(void **state) {
    (void)state;
    char *texts[2] = {s_read_sample("tip2007-azerbaijan-newformat.txt"),
                      s_read_sample("tip2010-sweden-noauthor.txt")};
    Dossier__V1__ImportTextRequest docs[3];
    Dossier__V1__ImportTextRequest *doc_ptrs[3];
    for (size_t i = 0; i < 3; i++) {
        dossier__v1__import_text_request__init(&docs[i]);
        doc_ptrs[i] = &docs[i];
    }
    docs[0].text = texts[0];
    docs[0].id = (char *)"m-batch-aze-2007";
    docs[1].text = (char *)"\n  \n"; /* blank: nothing to import */
    docs[2].text = texts[1];
    docs[2].id = (char *)"m-batch-swe-2010";
    Dossier__V1__ImportBatchRequest request =
        DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
    request.documents = doc_ptrs;
    request.n_documents = 3;
    Dossier__V1__ImportBatchResponse *response =
        (Dossier__V1__ImportBatchResponse *)testserver_expect(
            s_endpoint(), M("ImportBatch"), &request.base, 0,
            &dossier__v1__import_batch_response__descriptor);
    assert_int_equal(response->n_results, 3);
    assert_int_equal(response->results[0]->code, 0);
    assert_string_equal(response->results[0]->response->id, "m-batch-aze-2007");
    assert_int_equal(response->results[0]->response->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED);
    assert_int_equal(response->results[1]->code, 3);
    assert_true(strlen(response->results[1]->message) > 0);
    assert_int_equal(response->results[2]->code, 0);
    assert_int_equal(response->results[2]->response->version, 1);
    /* The parser's warnings come back: this sample lacks its closing
       "Search Refworld" line. */
    Dossier__V1__ImportTextResponse *sweden = response->results[2]->response;
    bool warned = false;
    for (size_t i = 0; i < sweden->n_warnings; i++) {
        warned |= strstr(sweden->warnings[i], "Search Refworld") != NULL;
    }
    assert_true(warned);
    dossier__v1__import_batch_response__free_unpacked(response, NULL);

    Dossier__V1__Report *got = s_get("m-batch-swe-2010", 0);
    assert_int_equal(got->year, 2010);
    dossier__v1__report__free_unpacked(got, NULL);

    request.n_documents = 0;
    testserver_expect(s_endpoint(), M("ImportBatch"), &request.base, 3, NULL);
    free(texts[0]);
    free(texts[1]);
}

/*  A batch large enough to be parsed on several threads: every result
    is the one of its own document, in order, good and bad alike. */
static void
test_import_batch_large(void **state) {
    (void)state;
    enum { N = 300 };
    char *text = s_read_sample("tip2007-azerbaijan-newformat.txt");
    static Dossier__V1__ImportTextRequest docs[N];
    static Dossier__V1__ImportTextRequest *doc_ptrs[N];
    static char ids[N][32];
    for (size_t i = 0; i < N; i++) {
        dossier__v1__import_text_request__init(&docs[i]);
        doc_ptrs[i] = &docs[i];
        snprintf(ids[i], sizeof ids[i], "m-big-%03zu", i);
        docs[i].id = ids[i];
        docs[i].text = i % 7 == 3 ? (char *)" \n \n" : text; /* blank */
    }
    Dossier__V1__ImportBatchRequest request =
        DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
    request.documents = doc_ptrs;
    request.n_documents = N;
    Dossier__V1__ImportBatchResponse *response =
        (Dossier__V1__ImportBatchResponse *)testserver_expect(
            s_endpoint(), M("ImportBatch"), &request.base, 0,
            &dossier__v1__import_batch_response__descriptor);
    assert_int_equal(response->n_results, N);
    for (size_t i = 0; i < N; i++) {
        const Dossier__V1__ImportResult *r = response->results[i];
        if (i % 7 == 3) {
            assert_int_equal(r->code, 3);
            assert_non_null(strstr(r->message, "documents["));
            char field[32];
            snprintf(field, sizeof field, "documents[%zu]", i);
            assert_non_null(strstr(r->message, field));
        } else {
            assert_int_equal(r->code, 0);
            assert_string_equal(r->response->id, ids[i]);
            assert_int_equal(
                r->response->outcome,
                DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED);
        }
    }
    dossier__v1__import_batch_response__free_unpacked(response, NULL);
    Dossier__V1__Report *got = s_get("m-big-299", 0);
    assert_int_equal(got->year, 2007);
    assert_true(got->n_body > 0);
    dossier__v1__report__free_unpacked(got, NULL);
    s_get("m-big-003", 5); /* the bad one was not stored */
    free(text);
}

static void
test_search_dispatched(void **state) {
    (void)state;
    Dossier__V1__SearchRequest request = DOSSIER__V1__SEARCH_REQUEST__INIT;
    request.query = (char *)"trafficking";
    Dossier__V1__Response *response = NULL;
    assert_int_equal(testserver_call(s_endpoint(), M("Search"), &request.base,
                                     &response, 5000),
                     0);
    /* The search module answers: OK, a SearchResponse. */
    assert_int_equal(response->code, 0);
    Dossier__V1__SearchResponse *hits = dossier__v1__search_response__unpack(
        NULL, response->payload.len, response->payload.data);
    assert_non_null(hits);
    assert_true(hits->n_hits <= hits->total_hits);
    dossier__v1__search_response__free_unpacked(hits, NULL);
    dossier__v1__response__free_unpacked(response, NULL);
}

static void
test_stats(void **state) {
    (void)state;
    Dossier__V1__Report report;
    s_report(&report, "m-stats-1", "Sweden", "SWE", 2010,
             DOSSIER__V1__TIER__TIER_1);
    dossier__v1__put_response__free_unpacked(s_put(&report, 0, false, 0), NULL);
    dossier__v1__report__free_unpacked(s_get("m-stats-1", 0), NULL);
    s_get("m-stats-missing", 5);

    Dossier__V1__StatsRequest request = DOSSIER__V1__STATS_REQUEST__INIT;
    Dossier__V1__StatsResponse *stats =
        (Dossier__V1__StatsResponse *)testserver_expect(
            s_endpoint(), M("Stats"), &request.base, 0,
            &dossier__v1__stats_response__descriptor);
    assert_true(stats->records >= 1);
    assert_string_equal(stats->server_version, DOSSIER_VERSION);
    assert_true(stats->map_bytes > 0);
    uint64_t get_ok = 0, get_not_found = 0, put_ok = 0;
    for (size_t i = 0; i < stats->n_requests; i++) {
        Dossier__V1__MethodCount *count = stats->requests[i];
        if (strcmp(count->method, M("Get")) == 0 && count->code == 0) {
            get_ok = count->count;
        } else if (strcmp(count->method, M("Get")) == 0 && count->code == 5) {
            get_not_found = count->count;
        } else if (strcmp(count->method, M("Put")) == 0 && count->code == 0) {
            put_ok = count->count;
        }
    }
    assert_true(get_ok >= 1);
    assert_true(get_not_found >= 1);
    assert_true(put_ok >= 1);
    bool year_found = false;
    for (size_t i = 0; i < stats->n_by_year; i++) {
        year_found |= stats->by_year[i]->year == 2010;
    }
    assert_true(year_found);
    dossier__v1__stats_response__free_unpacked(stats, NULL);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_put_get_delete),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_history_changes),
        cmocka_unit_test(test_put_fills_country_code),
        cmocka_unit_test(test_import_text),
        cmocka_unit_test(test_import_batch),
        cmocka_unit_test(test_import_batch_large),
        cmocka_unit_test(test_search_dispatched),
        cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
