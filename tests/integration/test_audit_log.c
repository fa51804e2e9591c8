/*  test_audit_log.c: idempotency keys, the audit log and the change feed
    against a live dossierd.

    - The same raw Request (same idempotency key) sent twice through one
      DEALER socket gets byte-identical replies and is applied once; a
      key reused for another method is refused.
    - Every write shows in Audit with user, method, ids and code; filters
      and paging work; a bad filter is INVALID_ARGUMENT.
    - Calls denied for their role (anonymous_role reader) are in the log
      too: read back from the store itself once the server stopped,
      since a reader may not call Audit.
    - A SUB socket on --feed sees (id, version, operation) of each put and
      delete in commit order, and nothing for a failed write; one that
      stops reading falls behind the high-water mark, misses events (a
      gap in seq) without slowing the writes, and gets the later ones. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <zmq.h>

#include "dossier/v1/reports.pb-c.h"
#include "dossier/v1/rpc.pb-c.h"
#include "store/store.h"
#include "testserver.h"

#define S_TIMEOUT_MS 10000
#define M(name) "dossier.v1.Reports/" name

static Dossier__V1__Report
s_report(const char *id, const char *title) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = (char *)title;
    r.country = "Azerbaijan";
    r.country_code = "AZE";
    r.year = 2004;
    return r;
}

/*  A packed Request; the caller frees it. key NULL: no metadata. */
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
    if (key) {
        entry.key = "idempotency-key";
        entry.value = (char *)key;
        request.metadata = entries;
        request.n_metadata = 1;
    }
    *size = dossier__v1__request__get_packed_size(&request);
    uint8_t *out = malloc(*size);
    assert_non_null(out);
    dossier__v1__request__pack(&request, out);
    free(bytes);
    return out;
}

/*  Sends [empty][body] and returns the reply body (malloc'd). */
static uint8_t *
s_roundtrip(void *socket, const uint8_t *body, size_t size, size_t *out_size) {
    assert_int_equal(zmq_send(socket, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(socket, body, size, 0), (int)size);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_int_equal(zmq_msg_recv(&msg, socket, 0), 0); /* delimiter */
    assert_true(zmq_msg_more(&msg));
    int n = zmq_msg_recv(&msg, socket, 0);
    assert_true(n >= 0);
    uint8_t *out = malloc((size_t)n + 1);
    assert_non_null(out);
    memcpy(out, zmq_msg_data(&msg), (size_t)n);
    *out_size = (size_t)n;
    zmq_msg_close(&msg);
    return out;
}

static Dossier__V1__Response *
s_unpack(const uint8_t *data, size_t size) {
    Dossier__V1__Response *r = dossier__v1__response__unpack(NULL, size, data);
    assert_non_null(r);
    return r;
}

static uint64_t
s_version(const char *endpoint, const char *id) {
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = (char *)id;
    Dossier__V1__Report *r = (Dossier__V1__Report *)testserver_expect(
        endpoint, M("Get"), &get.base, 0, &dossier__v1__report__descriptor);
    uint64_t v = r->version;
    assert_string_equal(r->created_by, "anonymous");
    assert_string_equal(r->updated_by, "anonymous");
    assert_true(r->created_at[0] && r->updated_at[0]);
    assert_true(strcmp(r->created_at, r->updated_at) <= 0);
    dossier__v1__report__free_unpacked(r, NULL);
    return v;
}

static void
test_idempotency_key_applies_once(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    void *context = zmq_ctx_new();
    void *socket = testserver_dealer(context, endpoint, S_TIMEOUT_MS);

    Dossier__V1__Report r = s_report("idem-1", "once");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    size_t size, size1, size2;
    uint8_t *body = s_pack(41, M("Put"), &put.base, "key-idem-1", &size);
    uint8_t *first = s_roundtrip(socket, body, size, &size1);
    uint8_t *second = s_roundtrip(socket, body, size, &size2);
    assert_int_equal(size1, size2);
    assert_memory_equal(first, second, size1);
    Dossier__V1__Response *resp = s_unpack(first, size1);
    assert_int_equal(resp->code, 0);
    Dossier__V1__PutResponse *pr = dossier__v1__put_response__unpack(
        NULL, resp->payload.len, resp->payload.data);
    assert_non_null(pr);
    assert_int_equal(pr->version, 1);
    assert_true(pr->created);
    dossier__v1__put_response__free_unpacked(pr, NULL);
    dossier__v1__response__free_unpacked(resp, NULL);
    free(first);
    free(second);
    free(body);
    assert_int_equal(s_version(endpoint, "idem-1"), 1);

    /* A new key is a new write. */
    body = s_pack(42, M("Put"), &put.base, "key-idem-2", &size);
    first = s_roundtrip(socket, body, size, &size1);
    resp = s_unpack(first, size1);
    assert_int_equal(resp->code, 0);
    dossier__v1__response__free_unpacked(resp, NULL);
    free(first);
    free(body);
    assert_int_equal(s_version(endpoint, "idem-1"), 2);

    /* A refused write is answered the same way again, even once the
       record has moved on: the reply is the first one. */
    put.expected_version = 1;
    body = s_pack(43, M("Put"), &put.base, "key-idem-3", &size);
    first = s_roundtrip(socket, body, size, &size1);
    resp = s_unpack(first, size1);
    assert_int_equal(resp->code, DOSSIER_ABORTED);
    assert_int_equal(resp->current_version, 2);
    dossier__v1__response__free_unpacked(resp, NULL);
    second = s_roundtrip(socket, body, size, &size2);
    assert_int_equal(size1, size2);
    assert_memory_equal(first, second, size1);
    free(first);
    free(second);
    free(body);

    /* The same key for another method is a mistake, said so. */
    Dossier__V1__DeleteRequest del = DOSSIER__V1__DELETE_REQUEST__INIT;
    del.id = "idem-1";
    body = s_pack(44, M("Delete"), &del.base, "key-idem-1", &size);
    first = s_roundtrip(socket, body, size, &size1);
    resp = s_unpack(first, size1);
    assert_int_equal(resp->code, DOSSIER_INVALID_ARGUMENT);
    assert_non_null(strstr(resp->message, "another method"));
    dossier__v1__response__free_unpacked(resp, NULL);
    free(first);
    free(body);
    assert_int_equal(s_version(endpoint, "idem-1"), 2);

    /* An oversized key is refused before anything runs. */
    char big[200];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    body = s_pack(45, M("Delete"), &del.base, big, &size);
    first = s_roundtrip(socket, body, size, &size1);
    resp = s_unpack(first, size1);
    assert_int_equal(resp->code, DOSSIER_INVALID_ARGUMENT);
    assert_non_null(strstr(resp->message, "idempotency-key"));
    dossier__v1__response__free_unpacked(resp, NULL);
    free(first);
    free(body);
    assert_int_equal(s_version(endpoint, "idem-1"), 2);

    zmq_close(socket);
    zmq_ctx_term(context);
    testserver_stop(&server);
}

static Dossier__V1__AuditResponse *
s_audit(const char *endpoint, const char *user, const char *since,
        const char *method, uint32_t page_size, const char *token) {
    Dossier__V1__AuditRequest req = DOSSIER__V1__AUDIT_REQUEST__INIT;
    req.user = (char *)(user ? user : "");
    req.since = (char *)(since ? since : "");
    req.method = (char *)(method ? method : "");
    req.page_size = page_size;
    req.page_token = (char *)(token ? token : "");
    return (Dossier__V1__AuditResponse *)testserver_expect(
        endpoint, M("Audit"), &req.base, 0,
        &dossier__v1__audit_response__descriptor);
}

static void
test_audit_shows_every_write(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    Dossier__V1__Report r = s_report("aud-1", "one");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    testserver_expect(endpoint, M("Put"), &put.base, 0, NULL);
    put.expected_version = 9;
    testserver_expect(endpoint, M("Put"), &put.base, DOSSIER_ABORTED, NULL);
    Dossier__V1__DeleteRequest del = DOSSIER__V1__DELETE_REQUEST__INIT;
    del.id = "aud-1";
    testserver_expect(endpoint, M("Delete"), &del.base, 0, NULL);
    testserver_expect(endpoint, M("Delete"), &del.base, DOSSIER_NOT_FOUND,
                      NULL);

    Dossier__V1__AuditResponse *a = s_audit(endpoint, NULL, NULL, NULL, 0, 0);
    assert_int_equal(a->n_entries, 4);
    const char *methods[] = {M("Put"), M("Put"), M("Delete"), M("Delete")};
    int codes[] = {0, DOSSIER_ABORTED, 0, DOSSIER_NOT_FOUND};
    for (size_t i = 0; i < 4; i++) {
        Dossier__V1__AuditEntry *e = a->entries[i];
        assert_int_equal(e->seq, i + 1);
        assert_string_equal(e->user, "anonymous");
        assert_string_equal(e->method, methods[i]);
        assert_int_equal(e->code, codes[i]);
        assert_int_equal(e->n_ids, 1);
        assert_string_equal(e->ids[0], "aud-1");
        assert_int_equal(strlen(e->time), 24); /* ...T20:54:02.123Z */
        assert_true(codes[i] == 0 ? e->message[0] == '\0'
                                  : e->message[0] != '\0');
    }
    assert_string_equal(a->next_page_token, "");
    char since[32];
    snprintf(since, sizeof since, "%.10s", a->entries[0]->time);
    dossier__v1__audit_response__free_unpacked(a, NULL);

    /* Filters. */
    a = s_audit(endpoint, NULL, NULL, "Delete", 0, NULL);
    assert_int_equal(a->n_entries, 2);
    assert_int_equal(a->entries[0]->seq, 3);
    dossier__v1__audit_response__free_unpacked(a, NULL);
    a = s_audit(endpoint, "somebody-else", NULL, NULL, 0, NULL);
    assert_int_equal(a->n_entries, 0);
    dossier__v1__audit_response__free_unpacked(a, NULL);
    a = s_audit(endpoint, "anonymous", since, M("Put"), 0, NULL);
    assert_int_equal(a->n_entries, 2);
    dossier__v1__audit_response__free_unpacked(a, NULL);
    a = s_audit(endpoint, NULL, "2999-01-01T00:00:00Z", NULL, 0, NULL);
    assert_int_equal(a->n_entries, 0);
    dossier__v1__audit_response__free_unpacked(a, NULL);

    /* Paging: one entry a page, following the tokens. */
    char token[64] = "";
    uint64_t seen = 0;
    for (int page = 0; page < 10; page++) {
        a = s_audit(endpoint, NULL, NULL, NULL, 1, token);
        if (a->n_entries) {
            assert_int_equal(a->n_entries, 1);
            assert_int_equal(a->entries[0]->seq, seen + 1);
            seen++;
        }
        snprintf(token, sizeof token, "%s", a->next_page_token);
        dossier__v1__audit_response__free_unpacked(a, NULL);
        if (!token[0]) {
            break;
        }
    }
    assert_int_equal(seen, 4);

    /* Bad filters. */
    Dossier__V1__AuditRequest bad = DOSSIER__V1__AUDIT_REQUEST__INIT;
    bad.since = "yesterday";
    testserver_expect(endpoint, M("Audit"), &bad.base, DOSSIER_INVALID_ARGUMENT,
                      NULL);
    bad.since = "";
    bad.page_token = "nonsense";
    testserver_expect(endpoint, M("Audit"), &bad.base, DOSSIER_INVALID_ARGUMENT,
                      NULL);
    bad.page_token = "";
    bad.page_size = 5000;
    testserver_expect(endpoint, M("Audit"), &bad.base, DOSSIER_INVALID_ARGUMENT,
                      NULL);
    testserver_stop(&server);
}

/*  A malformed id is refused, and its audit entry still decodes in any
    language: the id is stored as valid UTF-8. */
static void
test_audit_entries_are_utf8(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    Dossier__V1__Report r = s_report("bad\xff\xc3id\xe2\x82", "x");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    testserver_expect(endpoint, M("Put"), &put.base, DOSSIER_INVALID_ARGUMENT,
                      NULL);
    Dossier__V1__AuditResponse *a = s_audit(endpoint, NULL, NULL, NULL, 0, 0);
    assert_int_equal(a->n_entries, 1);
    assert_int_equal(a->entries[0]->code, DOSSIER_INVALID_ARGUMENT);
    assert_int_equal(a->entries[0]->n_ids, 1);
    assert_string_equal(a->entries[0]->ids[0], "bad??id??");
    for (const unsigned char *p = (const unsigned char *)a->entries[0]->message;
         *p; p++) {
        assert_true(*p < 0x80); /* this message quotes no raw byte */
    }
    dossier__v1__audit_response__free_unpacked(a, NULL);
    testserver_stop(&server);
}

typedef struct {
    size_t n;
    char lines[16][256];
} s_scan_t;

static bool
s_collect(uint64_t seq, const void *entry, size_t size, void *arg) {
    s_scan_t *s = arg;
    Dossier__V1__AuditEntry *e =
        dossier__v1__audit_entry__unpack(NULL, size, entry);
    assert_non_null(e);
    assert_int_equal(e->seq, seq);
    if (s->n < 16) {
        snprintf(s->lines[s->n++], sizeof s->lines[0], "%s %s %d %s", e->user,
                 e->method, e->code, e->message);
    }
    dossier__v1__audit_entry__free_unpacked(e, NULL);
    return true;
}

static void
test_audit_records_denied_calls(void **state) {
    (void)state;
    testserver_t *server = testserver_start("--anonymous-role reader");
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    Dossier__V1__Report r = s_report("denied-1", "no");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    testserver_expect(endpoint, M("Put"), &put.base, DOSSIER_PERMISSION_DENIED,
                      NULL);
    Dossier__V1__AuditRequest audit = DOSSIER__V1__AUDIT_REQUEST__INIT;
    testserver_expect(endpoint, M("Audit"), &audit.base,
                      DOSSIER_PERMISSION_DENIED, NULL);
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = "denied-1";
    testserver_expect(endpoint, M("Get"), &get.base, DOSSIER_NOT_FOUND, NULL);

    /* Stop it (its notes are committed by then) and read its store. */
    assert_int_equal(testserver_kill(server, SIGTERM), 0);
    assert_int_equal(testserver_wait(server, 10000), 0);
    store_t *store = NULL;
    dossier_error_t err = {0};
    assert_int_equal(store_open(testserver_datadir(server), NULL, &store, &err),
                     0);
    s_scan_t scan = {0};
    uint64_t next = 99;
    assert_int_equal(
        store_audit_scan(store, 0, 1000, s_collect, &scan, &next, &err), 0);
    store_destroy(&store);
    assert_int_equal(next, 0);
    assert_int_equal(scan.n, 2);
    assert_non_null(
        strstr(scan.lines[0], "anonymous dossier.v1.Reports/Put 7 "));
    assert_non_null(strstr(scan.lines[0], "needs role writer"));
    assert_non_null(
        strstr(scan.lines[1], "anonymous dossier.v1.Reports/Audit 7 "));
    testserver_stop(&server);
}

/*  Every write shows in the log whatever its outcome, also when it
    failed before the writer: an import that does not parse, a payload
    that does not decode, a bad idempotency key, a deadline that passed
    while it waited behind the connection's import. And a reader's Put
    with a bad key is refused for its role first. */
static void
test_audit_every_write_outcome(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    Dossier__V1__ImportTextRequest text =
        DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
    text.text = "\n\n"; /* blank: refused */
    testserver_expect(endpoint, M("ImportText"), &text.base,
                      DOSSIER_INVALID_ARGUMENT, NULL);

    void *context = zmq_ctx_new();
    void *dealer = testserver_dealer(context, endpoint, S_TIMEOUT_MS);
    /* A Put whose payload is not a PutRequest. */
    Dossier__V1__Request request = DOSSIER__V1__REQUEST__INIT;
    uint8_t junk[] = {0xff, 0xff, 0xff};
    request.id = 7;
    request.method = M("Put");
    request.payload.data = junk;
    request.payload.len = sizeof junk;
    size_t size = dossier__v1__request__get_packed_size(&request);
    uint8_t *body = malloc(size);
    assert_non_null(body);
    dossier__v1__request__pack(&request, body);
    size_t reply_size = 0;
    uint8_t *reply = s_roundtrip(dealer, body, size, &reply_size);
    Dossier__V1__Response *response = s_unpack(reply, reply_size);
    assert_int_equal(response->code, DOSSIER_INVALID_ARGUMENT);
    dossier__v1__response__free_unpacked(response, NULL);
    free(reply);
    free(body);

    /* A Put with an empty idempotency key. */
    Dossier__V1__Report r = s_report("outcome-1", "t");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    body = s_pack(8, M("Put"), &put.base, "", &size);
    reply = s_roundtrip(dealer, body, size, &reply_size);
    response = s_unpack(reply, reply_size);
    assert_int_equal(response->code, DOSSIER_INVALID_ARGUMENT);
    dossier__v1__response__free_unpacked(response, NULL);
    free(reply);
    free(body);

    /* A Put with a 1 ms deadline behind an import on the same connection:
       it waits for the import to parse, so its deadline has passed when
       the writer takes it. */
    enum { S_DOCS = 200 };
    const char *path = DOSSIER_FIXTURE_DIR "/refworld/tip-2004-azerbaijan.txt";
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char doc[1 << 20];
    size_t doc_size = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[doc_size] = '\0';
    Dossier__V1__ImportTextRequest items[S_DOCS];
    Dossier__V1__ImportTextRequest *item_ptrs[S_DOCS];
    char ids[S_DOCS][32];
    for (int i = 0; i < S_DOCS; i++) {
        dossier__v1__import_text_request__init(&items[i]);
        snprintf(ids[i], sizeof ids[i], "outcome-batch-%d", i);
        items[i].id = ids[i];
        items[i].text = doc;
        item_ptrs[i] = &items[i];
    }
    Dossier__V1__ImportBatchRequest batch =
        DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
    batch.documents = item_ptrs;
    batch.n_documents = S_DOCS;
    uint8_t *first =
        testserver_pack_request(9, M("ImportBatch"), &batch.base, 0, &size);
    assert_int_equal(zmq_send(dealer, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(dealer, first, size, 0), (int)size);
    free(first);
    Dossier__V1__Report late = s_report("outcome-late", "t");
    put.report = &late;
    body = testserver_pack_request(10, M("Put"), &put.base, 1, &size);
    assert_int_equal(zmq_send(dealer, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(dealer, body, size, 0), (int)size);
    free(body);
    int codes[11] = {0};
    for (int i = 0; i < 2; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        assert_int_equal(zmq_msg_recv(&msg, dealer, 0), 0);
        assert_true(zmq_msg_recv(&msg, dealer, 0) >= 0);
        response = s_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg));
        assert_true(response->id == 9 || response->id == 10);
        codes[response->id] = response->code;
        dossier__v1__response__free_unpacked(response, NULL);
        zmq_msg_close(&msg);
    }
    assert_int_equal(codes[9], DOSSIER_OK);
    assert_int_equal(codes[10], DOSSIER_DEADLINE_EXCEEDED);
    zmq_close(dealer);
    zmq_ctx_term(context);

    Dossier__V1__AuditRequest audit = DOSSIER__V1__AUDIT_REQUEST__INIT;
    Dossier__V1__AuditResponse *a =
        (Dossier__V1__AuditResponse *)testserver_expect(
            endpoint, M("Audit"), &audit.base, 0,
            &dossier__v1__audit_response__descriptor);
    int want[][2] = {{'T', DOSSIER_INVALID_ARGUMENT},
                     {'P', DOSSIER_INVALID_ARGUMENT},
                     {'P', DOSSIER_INVALID_ARGUMENT},
                     {'B', DOSSIER_OK},
                     {'P', DOSSIER_DEADLINE_EXCEEDED}};
    assert_int_equal(a->n_entries, 5);
    for (size_t i = 0; i < 5; i++) {
        const char *method = strrchr(a->entries[i]->method, '/') + 1;
        char kind = strcmp(method, "ImportText") == 0    ? 'T'
                    : strcmp(method, "ImportBatch") == 0 ? 'B'
                    : strcmp(method, "Put") == 0         ? 'P'
                                                         : '?';
        if (kind != want[i][0] || a->entries[i]->code != want[i][1]) {
            fail_msg("entry %zu: %s code %d", i, a->entries[i]->method,
                     (int)a->entries[i]->code);
        }
    }
    dossier__v1__audit_response__free_unpacked(a, NULL);
    testserver_stop(&server);

    /* A reader's Put with a bad key: refused for its role, first. */
    server = testserver_start("--anonymous-role reader");
    assert_non_null(server);
    context = zmq_ctx_new();
    dealer =
        testserver_dealer(context, testserver_endpoint(server), S_TIMEOUT_MS);
    put.report = &r;
    body = s_pack(11, M("Put"), &put.base, "", &size);
    reply = s_roundtrip(dealer, body, size, &reply_size);
    response = s_unpack(reply, reply_size);
    assert_int_equal(response->code, DOSSIER_PERMISSION_DENIED);
    dossier__v1__response__free_unpacked(response, NULL);
    free(reply);
    free(body);
    zmq_close(dealer);
    zmq_ctx_term(context);
    testserver_stop(&server);
}

/* ---- The change feed ---- */

typedef struct {
    char id[64];
    uint64_t version;
    int operation;
    uint64_t seq;
} s_event_t;

/*  Waits at most timeout_ms for one event; returns false on none. */
static bool
s_next_event(void *sub, int timeout_ms, s_event_t *out) {
    zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) {
        return false;
    }
    char topic[64];
    int n = zmq_recv(sub, topic, sizeof topic, 0);
    assert_int_equal(n, (int)strlen("dossier.v1.change"));
    assert_memory_equal(topic, "dossier.v1.change", (size_t)n);
    int more = 0;
    size_t more_size = sizeof more;
    zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &more_size);
    assert_true(more);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, sub, 0) >= 0);
    assert_false(zmq_msg_more(&msg));
    Dossier__V1__ChangeEvent *e = dossier__v1__change_event__unpack(
        NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    assert_non_null(e);
    snprintf(out->id, sizeof out->id, "%s", e->id);
    out->version = e->version;
    out->operation = (int)e->operation;
    out->seq = e->seq;
    assert_string_equal(e->user, "anonymous");
    assert_int_equal(strlen(e->time), 24);
    dossier__v1__change_event__free_unpacked(e, NULL);
    return true;
}

static void
test_feed_in_commit_order(void **state) {
    (void)state;
    char dir[] = "/tmp/dossier-feed-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char feed[128], args[160];
    snprintf(feed, sizeof feed, "ipc://%s/feed", dir);
    snprintf(args, sizeof args, "--feed %s", feed);
    testserver_t *server = testserver_start(args);
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    void *context = zmq_ctx_new();
    void *sub = zmq_socket(context, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "dossier.v1.change", 17);
    assert_int_equal(zmq_connect(sub, feed), 0);

    /* A subscription takes a moment to reach the publisher: write a
       warm-up record until its event shows (bounded). */
    Dossier__V1__Report warm = s_report("feed-warm", "warm");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &warm;
    s_event_t ev;
    bool seen = false;
    uint64_t last_seq = 0;
    for (int i = 0; i < 50 && !seen; i++) {
        testserver_expect(endpoint, M("Put"), &put.base, 0, NULL);
        seen = s_next_event(sub, 200, &ev);
    }
    assert_true(seen);
    while (s_next_event(sub, 300, &ev)) { /* late warm-up events */
    }
    last_seq = ev.seq;

    Dossier__V1__Report a = s_report("feed-a", "a");
    Dossier__V1__Report b = s_report("feed-b", "b");
    put.report = &a;
    testserver_expect(endpoint, M("Put"), &put.base, 0, NULL); /* a v1 */
    testserver_expect(endpoint, M("Put"), &put.base, 0, NULL); /* a v2 */
    put.report = &b;
    put.expected_version = 5; /* fails: no event */
    testserver_expect(endpoint, M("Put"), &put.base, DOSSIER_ABORTED, NULL);
    put.expected_version = 0;
    Dossier__V1__DeleteRequest del = DOSSIER__V1__DELETE_REQUEST__INIT;
    del.id = "feed-a";
    testserver_expect(endpoint, M("Delete"), &del.base, 0, NULL);
    testserver_expect(endpoint, M("Delete"), &del.base, DOSSIER_NOT_FOUND,
                      NULL);
    testserver_expect(endpoint, M("Put"), &put.base, 0, NULL); /* b v1 */

    const struct {
        const char *id;
        uint64_t version;
        int op;
    } want[] = {
        {"feed-a", 1, DOSSIER__V1__CHANGE_OPERATION__CHANGE_OPERATION_PUT},
        {"feed-a", 2, DOSSIER__V1__CHANGE_OPERATION__CHANGE_OPERATION_PUT},
        {"feed-a", 2, DOSSIER__V1__CHANGE_OPERATION__CHANGE_OPERATION_DELETE},
        {"feed-b", 1, DOSSIER__V1__CHANGE_OPERATION__CHANGE_OPERATION_PUT},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(s_next_event(sub, 5000, &ev));
        assert_string_equal(ev.id, want[i].id);
        assert_int_equal(ev.version, want[i].version);
        assert_int_equal(ev.operation, want[i].op);
        assert_true(ev.seq > last_seq);
        last_seq = ev.seq;
    }
    assert_false(s_next_event(sub, 500, &ev)); /* nothing else */
    zmq_close(sub);
    zmq_ctx_term(context);
    testserver_stop(&server);
    char path[160];
    snprintf(path, sizeof path, "%s/feed", dir);
    unlink(path);
    rmdir(dir);
}

/*  A subscriber that stops reading falls behind the feed's high-water
    mark (--feed-sndhwm 10, its own receive buffers small): the writes go
    on, none waits for it; when it reads again it has missed events, seen
    as a gap in seq, and it still gets the events after. */
static void
test_feed_subscriber_behind_the_high_water_mark(void **state) {
    (void)state;
    char dir[] = "/tmp/dossier-feed-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char feed[128], args[200];
    snprintf(feed, sizeof feed, "ipc://%s/feed", dir);
    snprintf(args, sizeof args, "--feed %s --feed-sndhwm 10 --no-sync", feed);
    testserver_t *server = testserver_start(args);
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    void *context = zmq_ctx_new();
    void *sub = zmq_socket(context, ZMQ_SUB);
    int linger = 0, hwm = 10, buffer = 4096;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sub, ZMQ_RCVBUF, &buffer, sizeof buffer);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "dossier.v1.change", 17);
    assert_int_equal(zmq_connect(sub, feed), 0);
    Dossier__V1__Report warm = s_report("hwm-warm", "warm");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &warm;
    s_event_t ev;
    bool seen = false;
    for (int i = 0; i < 50 && !seen; i++) {
        testserver_expect(endpoint, M("Put"), &put.base, 0, NULL);
        seen = s_next_event(sub, 200, &ev);
    }
    assert_true(seen);
    while (s_next_event(sub, 300, &ev)) {
    }

    /* 3000 writes, pipelined on one DEALER, while the subscriber reads
       nothing. */
    enum { S_WRITES = 3000, S_WINDOW = 20 };
    void *dealer = testserver_dealer(context, endpoint, 30000);
    for (int sent = 0; sent < S_WRITES; sent += S_WINDOW) {
        for (int i = sent; i < sent + S_WINDOW; i++) {
            char id[32];
            snprintf(id, sizeof id, "hwm-%05d", i);
            Dossier__V1__Report r = s_report(id, "behind");
            put.report = &r;
            size_t size = 0;
            uint8_t *packed = testserver_pack_request((uint64_t)i + 1, M("Put"),
                                                      &put.base, 0, &size);
            assert_int_equal(zmq_send(dealer, "", 0, ZMQ_SNDMORE), 0);
            assert_int_equal(zmq_send(dealer, packed, size, 0), (int)size);
            free(packed);
        }
        for (int i = 0; i < S_WINDOW; i++) {
            char delimiter[8];
            assert_true(zmq_recv(dealer, delimiter, sizeof delimiter, 0) >= 0);
            zmq_msg_t body;
            zmq_msg_init(&body);
            assert_true(zmq_msg_recv(&body, dealer, 0) >= 0);
            Dossier__V1__Response *response = dossier__v1__response__unpack(
                NULL, zmq_msg_size(&body), zmq_msg_data(&body));
            zmq_msg_close(&body);
            assert_non_null(response);
            assert_int_equal(response->code, 0);
            dossier__v1__response__free_unpacked(response, NULL);
        }
    }
    zmq_close(dealer);

    /* Read what is left: fewer than 3000, in order, with a gap. */
    int got = 0;
    uint64_t previous = ev.seq;
    bool gap = false;
    while (s_next_event(sub, 500, &ev)) {
        assert_true(ev.seq > previous);
        gap = gap || ev.seq > previous + 1;
        previous = ev.seq;
        got++;
    }
    print_message("a subscriber behind the high-water mark got %d of %d "
                  "events\n",
                  got, S_WRITES);
    assert_true(got < S_WRITES);
    assert_true(gap);
    /* Still subscribed: the next write's event comes. */
    Dossier__V1__Report last = s_report("hwm-last", "last");
    put.report = &last;
    testserver_expect(endpoint, M("Put"), &put.base, 0, NULL);
    assert_true(s_next_event(sub, 5000, &ev));
    assert_string_equal(ev.id, "hwm-last");
    assert_true(ev.seq > previous);
    zmq_close(sub);
    zmq_ctx_term(context);
    testserver_stop(&server);
    char path[160];
    snprintf(path, sizeof path, "%s/feed", dir);
    unlink(path);
    rmdir(dir);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotency_key_applies_once),
        cmocka_unit_test(test_audit_shows_every_write),
        cmocka_unit_test(test_audit_entries_are_utf8),
        cmocka_unit_test(test_audit_records_denied_calls),
        cmocka_unit_test(test_audit_every_write_outcome),
        cmocka_unit_test(test_feed_in_commit_order),
        cmocka_unit_test(test_feed_subscriber_behind_the_high_water_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
