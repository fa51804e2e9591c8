/*  test_client_api.c: every call of libdossier against a real dossierd.

    One server (tests/support/testserver.h) serves the whole group; each
    test uses ids and countries of its own so the order of tests does not
    matter. Documents are written here in the Refworld text shape, so the
    test needs no fixture files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "dossier.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "testassert.h"
#include "testserver.h"

typedef struct {
    testserver_t *server;
    dossier_client_t *client;
} s_fixture_t;

/* A Refworld page for country's TIP report of year with tier. */
static char *
s_document(const char *country, unsigned year, const char *tier,
           const char *sentence) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    fprintf(f,
            "Last Updated: Monday, 05 October 2015, 08:49 GMT\n\n"
            "U.S. Department of State %u Trafficking in Persons Report - "
            "%s\n\n"
            "Publisher United States Department of State\n"
            "Author Office to Monitor and Combat Trafficking in Persons\n"
            "Publication Date 14 June %u\n"
            "Cite as United States Department of State, U.S. Department of "
            "State %u Trafficking in Persons Report - %s, 14 June %u, "
            "available at: [accessed 5 October 2015]\n"
            "DisclaimerThis is not a UNHCR publication.\n\n"
            "%s (%s)\n\n"
            "%s is a country of origin and transit. %s\n\n"
            "The government made efforts against trafficking.\n\n"
            "Search Refworld\n",
            year, country, year, year, country, year, country, tier, country,
            sentence ? sentence : "");
    fclose(f);
    return text;
}

static int
s_setup(void **state) {
    s_fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->server = testserver_start(NULL);
    if (fx->server == NULL) {
        free(fx);
        return -1;
    }
    dossier_error_t err = {0};
    if (dossier_client_new(testserver_endpoint(fx->server), NULL, &fx->client,
                           &err) != DOSSIER_OK) {
        fprintf(stderr, "dossier_client_new: %s\n", err.message);
        testserver_stop(&fx->server);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int
s_teardown(void **state) {
    s_fixture_t *fx = *state;
    dossier_client_destroy(&fx->client);
    assert_null(fx->client);
    testserver_stop(&fx->server);
    free(fx);
    return 0;
}

static void
test_client_new_rejects_bad_arguments(void **state) {
    (void)state;
    dossier_client_t *c = NULL;
    dossier_error_t err = {0};
    assert_status(dossier_client_new("", NULL, &c, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_status(dossier_client_new(" , ", NULL, &c, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_status(dossier_client_new("localhost:7531", NULL, &c, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_non_null(strstr(err.message, "localhost:7531"));
    dossier_options_t o;
    dossier_options_init(&o);
    o.timeout_ms = 0;
    assert_status(dossier_client_new("tcp://127.0.0.1:1", &o, &c, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    dossier_options_init(&o);
    o.curve_server_key = "too short";
    assert_status(dossier_client_new("tcp://127.0.0.1:1", &o, &c, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_null(c);

    /* Well-formed keys are accepted (their use is a later issue). */
    char server_pub[41], server_sec[41], pub[41], sec[41];
    if (zmq_has("curve")) {
        assert_int_equal(zmq_curve_keypair(server_pub, server_sec), 0);
        assert_int_equal(zmq_curve_keypair(pub, sec), 0);
        o.curve_server_key = server_pub;
        o.curve_public_key = pub;
        o.curve_secret_key = sec;
        assert_ok(dossier_client_new("tcp://127.0.0.1:1, tcp://127.0.0.1:2", &o,
                                     &c, &err),
                  &err);
        assert_string_equal(dossier_client_endpoint(c), "tcp://127.0.0.1:1");
        dossier_client_destroy(&c);
        assert_null(c);
    }
    dossier_client_destroy(&c); /* NULL is fine */
    dossier_client_destroy(NULL);
}

static Dossier__V1__Report
s_report(const char *id, const char *title) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = (char *)title;
    r.country = "Atlantis";
    r.year = 2019;
    r.tier = DOSSIER__V1__TIER__TIER_2;
    r.doc_type = "Trafficking in Persons Report";
    static char *body[] = {"First paragraph.", "Second paragraph."};
    r.body = body;
    r.n_body = 2;
    return r;
}

static void
test_put_get_delete(void **state) {
    s_fixture_t *fx = *state;
    dossier_client_t *c = fx->client;
    dossier_error_t err = {0};
    Dossier__V1__Report r = s_report("api-put-1", "First title");

    Dossier__V1__PutResponse *put = NULL;
    assert_ok(dossier_put(c, &r, 0, true, &put, &err), &err);
    assert_string_equal(put->id, "api-put-1");
    assert_int_equal(put->version, 1);
    assert_true(put->created);
    dossier_message_free(put);
    put = NULL;

    Dossier__V1__Report *got = NULL;
    assert_ok(dossier_get(c, "api-put-1", &got, &err), &err);
    assert_string_equal(got->title, "First title");
    assert_string_equal(got->country, "Atlantis");
    assert_int_equal(got->year, 2019);
    assert_int_equal(got->tier, DOSSIER__V1__TIER__TIER_2);
    assert_int_equal(got->n_body, 2);
    assert_string_equal(got->body[1], "Second paragraph.");
    assert_int_equal(got->version, 1);
    dossier_report_free(got);
    got = NULL;

    /* create_only on an existing id. */
    assert_status(dossier_put(c, &r, 0, true, NULL, &err),
                  DOSSIER_ALREADY_EXISTS, &err);

    /* An update from version 1 succeeds once... */
    r.title = "Second title";
    assert_ok(dossier_put(c, &r, 1, false, &put, &err), &err);
    assert_int_equal(put->version, 2);
    assert_false(put->created);
    dossier_message_free(put);
    /* ...and a second edit of the same stale copy is refused. */
    r.title = "Lost update";
    assert_status(dossier_put(c, &r, 1, false, NULL, &err), DOSSIER_ABORTED,
                  &err);
    assert_ok(dossier_get(c, "api-put-1", &got, &err), &err);
    assert_string_equal(got->title, "Second title");
    dossier_report_free(got);

    Dossier__V1__DeleteResponse *del = NULL;
    assert_status(dossier_delete(c, "api-put-1", 1, NULL, &err),
                  DOSSIER_ABORTED, &err);
    assert_ok(dossier_delete(c, "api-put-1", 2, &del, &err), &err);
    assert_string_equal(del->id, "api-put-1");
    assert_int_equal(del->version, 2);
    dossier_message_free(del);

    got = NULL;
    assert_status(dossier_get(c, "api-put-1", &got, &err), DOSSIER_NOT_FOUND,
                  &err);
    assert_null(got); /* out-parameters are written only on success */
    assert_int_equal(err.code, DOSSIER_NOT_FOUND);
    assert_true(strlen(err.message) > 0);
    assert_status(dossier_delete(c, "api-put-1", 0, NULL, &err),
                  DOSSIER_NOT_FOUND, &err);
    /* A bad id is the server's INVALID_ARGUMENT, not a transport error. */
    assert_status(dossier_get(c, "no spaces allowed", NULL, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
}

static void
test_import_and_queries(void **state) {
    s_fixture_t *fx = *state;
    dossier_client_t *c = fx->client;
    dossier_error_t err = {0};

    char *doc2004 = s_document("Azerbaijan", 2004, "Tier 2 Watch List",
                               "Victims were trafficked to Turkey.");
    Dossier__V1__ImportTextRequest one = DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
    one.text = doc2004;
    one.filename = "aze-2004.txt";

    /* A dry run parses without storing. */
    one.dry_run = true;
    Dossier__V1__ImportTextResponse *itr = NULL;
    assert_ok(dossier_import_text(c, &one, &itr, &err), &err);
    assert_int_equal(itr->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_PARSED);
    assert_non_null(itr->report);
    assert_int_equal(itr->report->year, 2004);
    char *id = strdup(itr->id);
    dossier_message_free(itr);
    assert_status(dossier_get(c, id, NULL, &err), DOSSIER_NOT_FOUND, &err);

    one.dry_run = false;
    assert_ok(dossier_import_text(c, &one, &itr, &err), &err);
    assert_int_equal(itr->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED);
    assert_string_equal(itr->id, id);
    dossier_message_free(itr);
    assert_ok(dossier_import_text(c, &one, &itr, &err), &err);
    assert_int_equal(itr->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UNCHANGED);
    dossier_message_free(itr);

    Dossier__V1__Report *got = NULL;
    assert_ok(dossier_get(c, id, &got, &err), &err);
    assert_string_equal(got->country_code, "AZE");
    assert_int_equal(got->tier, DOSSIER__V1__TIER__TIER_2_WATCH_LIST);
    dossier_report_free(got);

    /* A batch: two good documents and one that is not Refworld text. */
    char *doc2005 = s_document("Azerbaijan", 2005, "Tier 2", "");
    char *doc2006 = s_document("Azerbaijan", 2006, "Tier 3", "");
    Dossier__V1__ImportTextRequest docs[3];
    Dossier__V1__ImportTextRequest *ptrs[3];
    for (int i = 0; i < 3; i++) {
        Dossier__V1__ImportTextRequest init =
            DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
        docs[i] = init;
        ptrs[i] = &docs[i];
    }
    docs[0].text = doc2005;
    docs[1].text = " \n \n"; /* blank: nothing to import */
    docs[1].filename = "junk.txt";
    docs[2].text = doc2006;
    Dossier__V1__ImportBatchRequest batch =
        DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
    batch.documents = ptrs;
    batch.n_documents = 3;
    Dossier__V1__ImportBatchResponse *br = NULL;
    assert_ok(dossier_import_batch(c, &batch, &br, &err), &err);
    assert_int_equal(br->n_results, 3);
    assert_int_equal(br->results[0]->code, DOSSIER_OK);
    assert_int_equal(br->results[1]->code, DOSSIER_INVALID_ARGUMENT);
    assert_true(strlen(br->results[1]->message) > 0);
    assert_int_equal(br->results[2]->code, DOSSIER_OK);
    assert_int_equal(br->results[2]->response->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED);
    dossier_message_free(br);

    /* List by country, one record per page, following tokens. */
    Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
    filter.country = "AZE";
    Dossier__V1__ListRequest lr = DOSSIER__V1__LIST_REQUEST__INIT;
    lr.filter = &filter;
    lr.page_size = 1;
    unsigned years_seen = 0;
    char *token = NULL;
    for (int page = 0; page < 10; page++) {
        lr.page_token = token ? token : "";
        Dossier__V1__ListResponse *list = NULL;
        assert_ok(dossier_list(c, &lr, &list, &err), &err);
        assert_true(list->n_reports <= 1);
        for (size_t i = 0; i < list->n_reports; i++) {
            assert_string_equal(list->reports[i]->country_code, "AZE");
            assert_int_equal(list->reports[i]->n_body, 0); /* summary */
            years_seen |= 1u << (list->reports[i]->year - 2004);
        }
        free(token);
        token = *list->next_page_token ? strdup(list->next_page_token) : NULL;
        dossier_message_free(list);
        if (token == NULL) {
            break;
        }
    }
    assert_null(token);
    assert_int_equal(years_seen, 7); /* 2004, 2005, 2006 */

    /* A year range and a tier. */
    filter.year_min = 2005;
    filter.year_max = 2006;
    filter.tier = DOSSIER__V1__TIER__TIER_3;
    lr.page_size = 0;
    lr.page_token = "";
    Dossier__V1__ListResponse *list = NULL;
    assert_ok(dossier_list(c, &lr, &list, &err), &err);
    assert_int_equal(list->n_reports, 1);
    assert_int_equal(list->reports[0]->year, 2006);
    dossier_message_free(list);

    Dossier__V1__HistoryResponse *h = NULL;
    assert_ok(dossier_history(c, "Azerbaijan", NULL, &h, &err), &err);
    assert_string_equal(h->country_code, "AZE");
    assert_int_equal(h->n_entries, 3);
    assert_int_equal(h->entries[0]->year, 2004);
    assert_int_equal(h->entries[0]->tier, DOSSIER__V1__TIER__TIER_2_WATCH_LIST);
    assert_int_equal(h->entries[2]->year, 2006);
    assert_int_equal(h->entries[2]->tier, DOSSIER__V1__TIER__TIER_3);
    dossier_message_free(h);

    Dossier__V1__ChangesResponse *ch = NULL;
    assert_ok(dossier_changes(c, 2006, NULL, &ch, &err), &err);
    assert_int_equal(ch->year, 2006);
    bool found = false;
    for (size_t i = 0; i < ch->n_changes; i++) {
        if (strcmp(ch->changes[i]->country_code, "AZE") == 0) {
            found = true;
            assert_int_equal(ch->changes[i]->previous,
                             DOSSIER__V1__TIER__TIER_2);
            assert_int_equal(ch->changes[i]->current,
                             DOSSIER__V1__TIER__TIER_3);
            assert_int_equal(ch->changes[i]->move,
                             DOSSIER__V1__TIER_MOVE__TIER_MOVE_DOWNGRADE);
        }
    }
    assert_true(found);
    dossier_message_free(ch);

    Dossier__V1__StatsResponse *st = NULL;
    assert_ok(dossier_stats(c, &st, &err), &err);
    assert_true(st->records >= 3);
    dossier_message_free(st);

    /* Search through libdossier finds the imported report. */
    Dossier__V1__SearchRequest sr = DOSSIER__V1__SEARCH_REQUEST__INIT;
    sr.query = "Turkey";
    Dossier__V1__SearchResponse *sresp = NULL;
    assert_ok(dossier_search(c, &sr, &sresp, &err), &err);
    assert_true(sresp->total_hits >= 1);
    assert_true(sresp->n_hits >= 1);
    assert_string_equal(sresp->hits[0]->report->id, id);
    dossier_message_free(sresp);

    free(id);
    free(doc2004);
    free(doc2005);
    free(doc2006);
}

/* Pipelined calls: each finish gets its own call's reply, whatever the
   order of finishing, and one connection's writes apply in the order
   sent, even when the first parses long on a worker while the later ones
   would be quick (another import, then a Put straight to the writer). */
static void
test_pipelined_calls_keep_order(void **state) {
    s_fixture_t *fx = *state;
    dossier_client_t *c = fx->client;
    dossier_error_t err = {0};
    enum { N = 400 };
    static const char *const countries[] = {"Azerbaijan", "Chad", "Peru",
                                            "Nepal", "Ghana"};
    char *texts[N];
    char ids[N][32];
    Dossier__V1__ImportTextRequest docs[N];
    Dossier__V1__ImportTextRequest *ptrs[N];
    for (int i = 0; i < N; i++) {
        texts[i] = s_document(countries[i % 5], 1990 + (unsigned)(i % 30),
                              "Tier 2", i == N - 1 ? "first version" : "");
        Dossier__V1__ImportTextRequest init =
            DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
        docs[i] = init;
        snprintf(ids[i], sizeof ids[i], "pipe-%d", i);
        docs[i].id = i == N - 1 ? "pipe-x" : ids[i];
        docs[i].text = texts[i];
        ptrs[i] = &docs[i];
    }
    Dossier__V1__ImportBatchRequest first =
        DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
    first.documents = ptrs;
    first.n_documents = N;

    char *again = s_document("Chad", 2001, "Tier 3", "second version");
    Dossier__V1__ImportTextRequest one = DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
    one.id = "pipe-x";
    one.text = again;
    Dossier__V1__ImportTextRequest *one_ptr = &one;
    Dossier__V1__ImportBatchRequest second =
        DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
    second.documents = &one_ptr;
    second.n_documents = 1;

    Dossier__V1__Report put = DOSSIER__V1__REPORT__INIT;
    put.id = "pipe-x";
    put.country = "Chad";
    put.year = 2002;
    put.title = "third version";
    Dossier__V1__PutRequest put_req = DOSSIER__V1__PUT_REQUEST__INIT;
    put_req.report = &put;
    Dossier__V1__GetRequest get_req = DOSSIER__V1__GET_REQUEST__INIT;
    get_req.id = "pipe-0";

    dossier_pending_t *p_first = NULL, *p_second = NULL, *p_put = NULL,
                      *p_get = NULL;
    assert_ok(dossier_call_start(c, "ImportBatch", &first.base, &p_first, &err),
              &err);
    assert_ok(
        dossier_call_start(c, "ImportBatch", &second.base, &p_second, &err),
        &err);
    assert_ok(dossier_call_start(c, "Put", &put_req.base, &p_put, &err), &err);
    assert_ok(dossier_call_start(c, "Get", &get_req.base, &p_get, &err), &err);

    /* Finished last to first: the earlier replies wait for their turn. */
    /* The Get is a read, not ordered with the writes: it finds the
       import's document or nothing yet, but its own answer either way. */
    Dossier__V1__Report *got = NULL;
    dossier_status_t get_rc =
        dossier_call_finish(c, &p_get, &dossier__v1__report__descriptor,
                            (ProtobufCMessage **)&got, &err);
    assert_null(p_get);
    if (get_rc == DOSSIER_OK) {
        assert_string_equal(got->id, "pipe-0");
        dossier_report_free(got);
    } else {
        assert_status(get_rc, DOSSIER_NOT_FOUND, &err);
        assert_non_null(strstr(err.message, "pipe-0"));
    }
    Dossier__V1__PutResponse *put_resp = NULL;
    assert_ok(dossier_call_finish(c, &p_put,
                                  &dossier__v1__put_response__descriptor,
                                  (ProtobufCMessage **)&put_resp, &err),
              &err);
    assert_int_equal(put_resp->version, 3);
    dossier_message_free(put_resp);
    Dossier__V1__ImportBatchResponse *second_resp = NULL;
    assert_ok(dossier_call_finish(
                  c, &p_second, &dossier__v1__import_batch_response__descriptor,
                  (ProtobufCMessage **)&second_resp, &err),
              &err);
    assert_int_equal(second_resp->n_results, 1);
    assert_int_equal(second_resp->results[0]->code, DOSSIER_OK);
    assert_int_equal(second_resp->results[0]->response->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UPDATED);
    dossier_message_free(second_resp);
    Dossier__V1__ImportBatchResponse *first_resp = NULL;
    assert_ok(dossier_call_finish(
                  c, &p_first, &dossier__v1__import_batch_response__descriptor,
                  (ProtobufCMessage **)&first_resp, &err),
              &err);
    assert_int_equal(first_resp->n_results, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(first_resp->results[i]->code, DOSSIER_OK);
        assert_int_equal(first_resp->results[i]->response->outcome,
                         DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED);
    }
    dossier_message_free(first_resp);

    got = NULL;
    assert_ok(dossier_get(c, "pipe-x", &got, &err), &err);
    assert_string_equal(got->title, "third version");
    assert_int_equal(got->version, 3);
    dossier_report_free(got);

    assert_int_equal(dossier_call_finish(c, &p_get,
                                         &dossier__v1__report__descriptor, NULL,
                                         &err),
                     DOSSIER_INVALID_ARGUMENT);
    for (int i = 0; i < N; i++) {
        free(texts[i]);
    }
    free(again);
}

/* A pipelined call whose reply is late fails with DEADLINE_EXCEEDED and
   drops its connection; the others pending on it fail as UNAVAILABLE;
   the next call connects afresh. */
static void
test_pipelined_calls_fail_together(void **state) {
    s_fixture_t *fx = *state;
    dossier_error_t err = {0};
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = 600;
    options.retries = 0;
    dossier_client_t *c = NULL;
    assert_ok(
        dossier_client_new(testserver_endpoint(fx->server), &options, &c, &err),
        &err);
    Dossier__V1__HealthRequest health = DOSSIER__V1__HEALTH_REQUEST__INIT;
    assert_ok(dossier_call(c, "Health", &health.base,
                           &dossier__v1__health_response__descriptor, NULL,
                           &err),
              &err);
    assert_int_equal(testserver_kill(fx->server, SIGSTOP), 0);
    dossier_pending_t *a = NULL, *b = NULL;
    assert_ok(dossier_call_start(c, "Health", &health.base, &a, &err), &err);
    assert_ok(dossier_call_start(c, "Health", &health.base, &b, &err), &err);
    assert_status(dossier_call_finish(c, &a,
                                      &dossier__v1__health_response__descriptor,
                                      NULL, &err),
                  DOSSIER_DEADLINE_EXCEEDED, &err);
    assert_status(dossier_call_finish(c, &b,
                                      &dossier__v1__health_response__descriptor,
                                      NULL, &err),
                  DOSSIER_UNAVAILABLE, &err);
    assert_null(b);
    assert_int_equal(testserver_kill(fx->server, SIGCONT), 0);
    assert_ok(dossier_call(c, "Health", &health.base,
                           &dossier__v1__health_response__descriptor, NULL,
                           &err),
              &err);
    dossier_client_destroy(&c);
}

static void
test_health_describe_and_generic_call(void **state) {
    s_fixture_t *fx = *state;
    dossier_client_t *c = fx->client;
    dossier_error_t err = {0};

    Dossier__V1__HealthResponse *health = NULL;
    assert_ok(dossier_health(c, NULL, &health, &err), &err);
    assert_int_equal(health->status,
                     DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    dossier_message_free(health);

    /* The generic call, with the full method name. */
    Dossier__V1__HealthRequest hreq = DOSSIER__V1__HEALTH_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    assert_ok(dossier_call(c, "dossier.v1.Reports/Health", &hreq.base,
                           &dossier__v1__health_response__descriptor, &m, &err),
              &err);
    assert_ptr_equal(m->descriptor, &dossier__v1__health_response__descriptor);
    dossier_message_free(m);
    assert_status(dossier_call(c, "dossier.v1.Reports/NoSuchMethod", &hreq.base,
                               &dossier__v1__health_response__descriptor, NULL,
                               &err),
                  DOSSIER_UNIMPLEMENTED, &err);
    assert_status(dossier_call(c, NULL, &hreq.base,
                               &dossier__v1__health_response__descriptor, NULL,
                               &err),
                  DOSSIER_INVALID_ARGUMENT, &err);

    Dossier__V1__DescribeResponse *d = NULL;
    assert_ok(dossier_describe(c, &d, &err), &err);
    Google__Protobuf__FileDescriptorSet *set =
        google__protobuf__file_descriptor_set__unpack(
            NULL, d->file_descriptor_set.len, d->file_descriptor_set.data);
    assert_non_null(set);
    size_t methods = 0;
    bool get = false;
    for (size_t f = 0; f < set->n_file; f++) {
        for (size_t s = 0; s < set->file[f]->n_service; s++) {
            const Google__Protobuf__ServiceDescriptorProto *svc =
                set->file[f]->service[s];
            assert_string_equal(svc->name, "Reports");
            for (size_t i = 0; i < svc->n_method; i++) {
                methods++;
                if (strcmp(svc->method[i]->name, "Get") == 0) {
                    get = true;
                    assert_string_equal(svc->method[i]->output_type,
                                        ".dossier.v1.Report");
                }
            }
        }
    }
    assert_int_equal(methods, dossier__v1__reports__descriptor.n_methods);
    assert_true(get);
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    dossier_message_free(d);
}

/* dossier_call_raw: serialized payloads in and out, the server's code,
   message and current_version as they came, the caller's idempotency key
   and the per-call deadline. */
static void
test_call_raw(void **state) {
    s_fixture_t *fx = *state;
    dossier_client_t *c = fx->client;
    dossier_error_t err = {0};
    Dossier__V1__Report r = s_report("api-raw-1", "Raw title");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    uint8_t packed[1024];
    assert_true(protobuf_c_message_get_packed_size(&put.base) <= sizeof packed);
    size_t size = protobuf_c_message_pack(&put.base, packed);

    dossier_metadata_t md[] = {{"idempotency-key", "raw-key-0001"}};
    dossier_call_options_t opts = {
        .timeout_ms = 3000, .metadata = md, .n_metadata = 1};
    dossier_reply_t reply = {0};
    assert_ok(dossier_call_raw(c, "Put", packed, size, &opts, &reply, &err),
              &err);
    assert_int_equal(reply.code, DOSSIER_OK);
    assert_string_equal(reply.message, "");
    Dossier__V1__PutResponse *pr = dossier__v1__put_response__unpack(
        NULL, reply.payload_size, reply.payload);
    assert_non_null(pr);
    assert_int_equal(pr->version, 1);
    dossier__v1__put_response__free_unpacked(pr, NULL);
    dossier_reply_clear(&reply);
    assert_null(reply.payload);

    /* The same key again: the server answers with its first reply and
       applies nothing, so the caller's key was sent, not a fresh one. */
    r.title = "Changed under the same key";
    size = protobuf_c_message_pack(&put.base, packed);
    assert_ok(dossier_call_raw(c, "Put", packed, size, &opts, &reply, &err),
              &err);
    assert_int_equal(reply.code, DOSSIER_OK);
    pr = dossier__v1__put_response__unpack(NULL, reply.payload_size,
                                           reply.payload);
    assert_non_null(pr);
    assert_int_equal(pr->version, 1);
    dossier__v1__put_response__free_unpacked(pr, NULL);
    dossier_reply_clear(&reply);

    /* A refused write is still DOSSIER_OK from the call: the code, the
       message and current_version are the server's. */
    put.expected_version = 7;
    size = protobuf_c_message_pack(&put.base, packed);
    assert_ok(dossier_call_raw(c, "dossier.v1.Reports/Put", packed, size, NULL,
                               &reply, &err),
              &err);
    assert_int_equal(reply.code, DOSSIER_ABORTED);
    assert_int_equal(reply.current_version, 1);
    assert_non_null(strstr(reply.message, "version"));
    assert_int_equal(dossier_client_current_version(c), 1);
    dossier_reply_clear(&reply);

    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = "api-raw-none";
    size = protobuf_c_message_pack(&get.base, packed);
    assert_ok(dossier_call_raw(c, "Get", packed, size, NULL, &reply, &err),
              &err);
    assert_int_equal(reply.code, DOSSIER_NOT_FOUND);
    dossier_reply_clear(&reply);
    /* An empty payload is a request with every field at its default. */
    assert_ok(dossier_call_raw(c, "Health", NULL, 0, NULL, &reply, &err), &err);
    assert_int_equal(reply.code, DOSSIER_OK);
    dossier_reply_clear(&reply);

    /* Bad arguments never reach the wire; *reply stays as it was. */
    dossier_metadata_t bad[] = {{"x", NULL}};
    opts.metadata = bad;
    assert_status(dossier_call_raw(c, "Get", packed, size, &opts, &reply, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    opts.metadata = md;
    opts.timeout_ms = -1;
    assert_status(dossier_call_raw(c, "Get", packed, size, &opts, &reply, &err),
                  DOSSIER_INVALID_ARGUMENT, &err);
    assert_null(reply.message);

    /* The per-call deadline, not the client's 5 s, bounds the wait. */
    dossier_client_t *dead = NULL;
    assert_ok(dossier_client_new("tcp://127.0.0.1:1", NULL, &dead, &err), &err);
    opts.timeout_ms = 150;
    assert_status(
        dossier_call_raw(dead, "Get", packed, size, &opts, &reply, &err),
        DOSSIER_UNAVAILABLE, &err);
    assert_non_null(strstr(err.message, "150 ms"));
    dossier_client_destroy(&dead);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_new_rejects_bad_arguments),
        cmocka_unit_test(test_put_get_delete),
        cmocka_unit_test(test_import_and_queries),
        cmocka_unit_test(test_health_describe_and_generic_call),
        cmocka_unit_test(test_call_raw),
        cmocka_unit_test(test_pipelined_calls_keep_order),
        cmocka_unit_test(test_pipelined_calls_fail_together),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
