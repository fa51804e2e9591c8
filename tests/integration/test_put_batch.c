/*  test_put_batch.c: PutBatch and record history against a live dossierd.

    - PutBatch: a result per record in order, the bad records refused
      (id, year) while the others are stored; skip_unchanged leaves an
      identical record as it is; the same raw Request (same idempotency
      key) sent again gets the byte-identical reply and is applied once,
      even when a retry carries other records under that key.
    - History: Put, PutBatch and Delete keep the replaced versions;
      ListVersions lists them newest first with the deletion, pages with
      before_version; Get reads an old version, of a deleted record too,
      and refuses a deletion or a version never kept; the history
      survives a restart (it is committed with its write). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <zmq.h>

#include "dossier.h"
#include "dossier/v1/reports.pb-c.h"
#include "dossier/v1/rpc.pb-c.h"
#include "testserver.h"

#define S_TIMEOUT_MS 10000
#define M(name) "dossier.v1.Reports/" name

static Dossier__V1__Report
s_report(const char *id, const char *title, uint32_t year) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = (char *)title;
    r.country = "Chad";
    r.year = year;
    return r;
}

static dossier_client_t *
s_client(testserver_t *server) {
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    if (dossier_client_new(testserver_endpoint(server), NULL, &client, &err) !=
        DOSSIER_OK) {
        fail_msg("client: %s", err.message);
    }
    return client;
}

static uint64_t
s_version(dossier_client_t *client, const char *id) {
    Dossier__V1__Report *r = NULL;
    dossier_error_t err = {0};
    if (dossier_get(client, id, &r, &err) != DOSSIER_OK) {
        fail_msg("get %s: %s", id, err.message);
    }
    uint64_t v = r->version;
    dossier_report_free(r);
    return v;
}

static void
test_put_batch_results(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    dossier_client_t *client = s_client(server);
    Dossier__V1__Report r[4] = {
        s_report("pb-1", "One", 2004),
        s_report("bad id!", "Refused", 2004),
        s_report("pb-3", "Three", 99999),
        s_report("pb-4", "Four", 2005),
    };
    Dossier__V1__Report *ptrs[4] = {&r[0], &r[1], &r[2], &r[3]};
    Dossier__V1__PutBatchRequest req = DOSSIER__V1__PUT_BATCH_REQUEST__INIT;
    req.reports = ptrs;
    req.n_reports = 4;
    req.skip_unchanged = true;
    Dossier__V1__PutBatchResponse *resp = NULL;
    dossier_error_t err = {0};
    assert_int_equal(dossier_put_batch(client, &req, &resp, &err), DOSSIER_OK);
    assert_int_equal(resp->n_results, 4);
    assert_int_equal(resp->results[0]->code, DOSSIER_OK);
    assert_string_equal(resp->results[0]->id, "pb-1");
    assert_int_equal(resp->results[0]->version, 1);
    assert_int_equal(resp->results[0]->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED);
    assert_int_equal(resp->results[1]->code, DOSSIER_INVALID_ARGUMENT);
    assert_non_null(strstr(resp->results[1]->message, "reports[1].id"));
    assert_int_equal(resp->results[2]->code, DOSSIER_INVALID_ARGUMENT);
    assert_non_null(strstr(resp->results[2]->message, "year 99999"));
    assert_int_equal(resp->results[3]->code, DOSSIER_OK);
    assert_int_equal(resp->results[3]->version, 1);
    dossier_message_free(resp);

    /* The country's code is derived as Put derives it. */
    Dossier__V1__Report *got = NULL;
    assert_int_equal(dossier_get(client, "pb-4", &got, &err), DOSSIER_OK);
    assert_string_equal(got->country_code, "TCD");
    dossier_report_free(got);

    /* Again: the same records are unchanged, a changed one updated. */
    r[3].title = "Four, revised";
    resp = NULL;
    assert_int_equal(dossier_put_batch(client, &req, &resp, &err), DOSSIER_OK);
    assert_int_equal(resp->results[0]->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UNCHANGED);
    assert_int_equal(resp->results[0]->version, 1);
    assert_int_equal(resp->results[3]->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UPDATED);
    assert_int_equal(resp->results[3]->version, 2);
    dossier_message_free(resp);
    /* Without skip_unchanged, every record is written. */
    req.skip_unchanged = false;
    resp = NULL;
    assert_int_equal(dossier_put_batch(client, &req, &resp, &err), DOSSIER_OK);
    assert_int_equal(resp->results[0]->outcome,
                     DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UPDATED);
    assert_int_equal(resp->results[0]->version, 2);
    dossier_message_free(resp);

    /* An empty batch is refused. */
    req.n_reports = 0;
    assert_int_equal(dossier_put_batch(client, &req, &resp, &err),
                     DOSSIER_INVALID_ARGUMENT);
    dossier_client_destroy(&client);
    testserver_stop(&server);
}

/*  A packed Request of method with payload and an idempotency key. */
static uint8_t *
s_pack(uint64_t id, const char *method, const ProtobufCMessage *payload,
       const char *key, size_t *size) {
    Dossier__V1__Request request = DOSSIER__V1__REQUEST__INIT;
    Dossier__V1__Request__MetadataEntry entry =
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT;
    Dossier__V1__Request__MetadataEntry *entries[1] = {&entry};
    request.id = id;
    request.method = (char *)method;
    size_t n = protobuf_c_message_get_packed_size(payload);
    uint8_t *bytes = malloc(n ? n : 1);
    assert_non_null(bytes);
    protobuf_c_message_pack(payload, bytes);
    request.payload.data = bytes;
    request.payload.len = n;
    entry.key = "idempotency-key";
    entry.value = (char *)key;
    request.metadata = entries;
    request.n_metadata = 1;
    *size = dossier__v1__request__get_packed_size(&request);
    uint8_t *out = malloc(*size);
    assert_non_null(out);
    dossier__v1__request__pack(&request, out);
    free(bytes);
    return out;
}

/*  Sends [empty][body] on socket and returns the Response. */
static Dossier__V1__Response *
s_roundtrip(void *socket, const uint8_t *body, size_t size) {
    assert_int_equal(zmq_send(socket, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(socket, body, size, 0), (int)size);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_int_equal(zmq_msg_recv(&msg, socket, 0), 0); /* delimiter */
    assert_true(zmq_msg_more(&msg));
    int n = zmq_msg_recv(&msg, socket, 0);
    assert_true(n >= 0);
    Dossier__V1__Response *r =
        dossier__v1__response__unpack(NULL, (size_t)n, zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    assert_non_null(r);
    return r;
}

static void
test_put_batch_idempotent_retry(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    dossier_client_t *client = s_client(server);
    void *context = zmq_ctx_new();
    void *dealer =
        testserver_dealer(context, testserver_endpoint(server), S_TIMEOUT_MS);

    Dossier__V1__Report r[2] = {s_report("idem-1", "One", 2004),
                                s_report("idem-2", "Two", 2004)};
    Dossier__V1__Report *ptrs[2] = {&r[0], &r[1]};
    Dossier__V1__PutBatchRequest req = DOSSIER__V1__PUT_BATCH_REQUEST__INIT;
    req.reports = ptrs;
    req.n_reports = 2;
    size_t size = 0;
    uint8_t *body = s_pack(1, M("PutBatch"), &req.base, "batch-key-1", &size);
    Dossier__V1__Response *first = s_roundtrip(dealer, body, size);
    assert_int_equal(first->code, DOSSIER_OK);
    /* The lost reply's retry: the same bytes, the same answer, applied
       once (no version 2). */
    Dossier__V1__Response *again = s_roundtrip(dealer, body, size);
    assert_int_equal(again->code, DOSSIER_OK);
    assert_int_equal(again->payload.len, first->payload.len);
    assert_memory_equal(again->payload.data, first->payload.data,
                        first->payload.len);
    assert_int_equal(s_version(client, "idem-1"), 1);
    assert_int_equal(s_version(client, "idem-2"), 1);
    free(body);
    /* A retry under that key with other content is still the first
       call: nothing written. */
    r[0].title = "One, changed";
    body = s_pack(2, M("PutBatch"), &req.base, "batch-key-1", &size);
    Dossier__V1__Response *third = s_roundtrip(dealer, body, size);
    assert_int_equal(third->code, DOSSIER_OK);
    assert_memory_equal(third->payload.data, first->payload.data,
                        first->payload.len);
    assert_int_equal(s_version(client, "idem-1"), 1);
    free(body);
    /* A new key is a new call. */
    body = s_pack(3, M("PutBatch"), &req.base, "batch-key-2", &size);
    Dossier__V1__Response *fourth = s_roundtrip(dealer, body, size);
    assert_int_equal(fourth->code, DOSSIER_OK);
    assert_int_equal(s_version(client, "idem-1"), 2);
    free(body);

    dossier__v1__response__free_unpacked(first, NULL);
    dossier__v1__response__free_unpacked(again, NULL);
    dossier__v1__response__free_unpacked(third, NULL);
    dossier__v1__response__free_unpacked(fourth, NULL);
    zmq_close(dealer);
    zmq_ctx_term(context);
    dossier_client_destroy(&client);
    testserver_stop(&server);
}

static void
test_history(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    dossier_client_t *client = s_client(server);
    dossier_error_t err = {0};
    char *body1[] = {"First paragraph.", "Second paragraph."};
    Dossier__V1__Report r = s_report("h-1", "Take one", 2004);
    r.body = body1;
    r.n_body = 2;
    r.source_sha256 = "aaaa";
    assert_int_equal(dossier_put(client, &r, 0, false, NULL, &err), DOSSIER_OK);
    r.title = "Take two";
    r.source_sha256 = "bbbb";
    assert_int_equal(dossier_put(client, &r, 1, false, NULL, &err), DOSSIER_OK);
    /* Through PutBatch too. */
    r.title = "Take three";
    Dossier__V1__Report *ptrs[1] = {&r};
    Dossier__V1__PutBatchRequest req = DOSSIER__V1__PUT_BATCH_REQUEST__INIT;
    req.reports = ptrs;
    req.n_reports = 1;
    Dossier__V1__PutBatchResponse *presp = NULL;
    assert_int_equal(dossier_put_batch(client, &req, &presp, &err), DOSSIER_OK);
    assert_int_equal(presp->results[0]->version, 3);
    dossier_message_free(presp);
    Dossier__V1__DeleteResponse *deleted = NULL;
    assert_int_equal(dossier_delete(client, "h-1", 0, &deleted, &err),
                     DOSSIER_OK);
    assert_int_equal(deleted->version, 3);
    dossier_message_free(deleted);

    /* Committed with the writes: a restart keeps the history. */
    dossier_client_destroy(&client);
    assert_int_equal(testserver_restart(server), 0);
    client = s_client(server);

    Dossier__V1__ListVersionsResponse *log = NULL;
    assert_int_equal(dossier_list_versions(client, "h-1", 0, 0, &log, &err),
                     DOSSIER_OK);
    assert_int_equal(log->n_versions, 4);
    assert_int_equal(log->versions[0]->version, 4);
    assert_true(log->versions[0]->deleted);
    assert_string_equal(log->versions[0]->user, "anonymous");
    assert_true(strlen(log->versions[0]->time) == 24);
    assert_int_equal(log->versions[1]->version, 3);
    assert_string_equal(log->versions[1]->title, "Take three");
    assert_int_equal(log->versions[2]->version, 2);
    assert_string_equal(log->versions[2]->source_sha256, "bbbb");
    assert_int_equal(log->versions[3]->version, 1);
    assert_string_equal(log->versions[3]->source_sha256, "aaaa");
    assert_int_equal(log->next_before_version, 0);
    for (size_t i = 0; i < log->n_versions; i++) {
        assert_false(log->versions[i]->current);
    }
    dossier_message_free(log);

    /* Pages: two at a time. */
    log = NULL;
    assert_int_equal(dossier_list_versions(client, "h-1", 2, 0, &log, &err),
                     DOSSIER_OK);
    assert_int_equal(log->n_versions, 2);
    uint64_t next = log->next_before_version;
    assert_int_equal(next, 3);
    dossier_message_free(log);
    log = NULL;
    assert_int_equal(dossier_list_versions(client, "h-1", 2, next, &log, &err),
                     DOSSIER_OK);
    assert_int_equal(log->n_versions, 2);
    assert_int_equal(log->versions[0]->version, 2);
    assert_int_equal(log->next_before_version, 0);
    dossier_message_free(log);

    /* Old versions read whole; the deletion and unknown ones do not. */
    Dossier__V1__Report *got = NULL;
    assert_int_equal(dossier_get_version(client, "h-1", 1, &got, &err),
                     DOSSIER_OK);
    assert_string_equal(got->title, "Take one");
    assert_int_equal(got->n_body, 2);
    assert_string_equal(got->body[1], "Second paragraph.");
    dossier_report_free(got);
    assert_int_equal(dossier_get_version(client, "h-1", 4, &got, &err),
                     DOSSIER_NOT_FOUND);
    assert_non_null(strstr(err.message, "its deletion"));
    assert_int_equal(dossier_get_version(client, "h-1", 9, &got, &err),
                     DOSSIER_NOT_FOUND);
    assert_int_equal(dossier_get(client, "h-1", &got, &err), DOSSIER_NOT_FOUND);
    assert_non_null(strstr(err.message, "deleted (version 4)"));

    /* Put again: version 5, current in the log. */
    Dossier__V1__PutResponse *put = NULL;
    assert_int_equal(dossier_put(client, &r, 0, false, &put, &err), DOSSIER_OK);
    assert_int_equal(put->version, 5);
    assert_true(put->created);
    dossier_message_free(put);
    log = NULL;
    assert_int_equal(dossier_list_versions(client, "h-1", 0, 0, &log, &err),
                     DOSSIER_OK);
    assert_int_equal(log->n_versions, 5);
    assert_true(log->versions[0]->current);
    assert_int_equal(log->versions[0]->version, 5);
    dossier_message_free(log);
    assert_int_equal(dossier_get_version(client, "h-1", 5, &got, &err),
                     DOSSIER_OK);
    dossier_report_free(got);

    /* Bad requests. */
    assert_int_equal(dossier_list_versions(client, "no such", 0, 0, &log, &err),
                     DOSSIER_INVALID_ARGUMENT);
    assert_int_equal(dossier_list_versions(client, "never", 0, 0, &log, &err),
                     DOSSIER_NOT_FOUND);
    dossier_client_destroy(&client);
    testserver_stop(&server);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_batch_results),
        cmocka_unit_test(test_put_batch_idempotent_retry),
        cmocka_unit_test(test_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
