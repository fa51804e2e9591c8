/*  test_server_load.c: a real dossierd under concurrent clients.

    - 16 client threads mix Get, Put and List on their own records for a
      bounded number of calls and check every reply against what they
      wrote (versions, contents, counts).
    - SIGTERM while 8 threads write: exit 0, the pid file is gone, and
      every write that was acknowledged is there after a restart.
    - SIGKILL while 8 threads write: every acknowledged write is there
      after a restart (acknowledged means committed durably).
    Each thread has its own ZeroMQ context and REQ socket. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "dossier/v1/reports.pb-c.h"
#include "testassert.h"
#include "testserver.h"

#define M(name) "dossier.v1.Reports/" name
#define S_THREADS 16
#define S_OPS 150
#define S_WRITERS 8
#define S_MAX_WRITES 20000

/* ---- A tiny per-thread client on a REQ socket ---- */

typedef struct {
    void *context;
    void *socket;
    const char *endpoint;
    uint64_t next_id;
    char failure[512]; /* first failure, for the main thread to report */
} s_client_t;

static void
s_client_open(s_client_t *client, const char *endpoint, int timeout_ms) {
    memset(client, 0, sizeof *client);
    client->endpoint = endpoint;
    client->context = zmq_ctx_new();
    client->socket = zmq_socket(client->context, ZMQ_REQ);
    int linger = 0;
    zmq_setsockopt(client->socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(client->socket, ZMQ_RCVTIMEO, &timeout_ms,
                   sizeof timeout_ms);
    zmq_connect(client->socket, endpoint);
}

static void
s_client_close(s_client_t *client) {
    zmq_close(client->socket);
    zmq_ctx_term(client->context);
}

/*  One call. Returns the Response (caller frees) or NULL on timeout, after
    which the REQ socket is unusable: the caller stops. */
static Dossier__V1__Response *
s_client_call(s_client_t *client, const char *method,
              const ProtobufCMessage *request) {
    Dossier__V1__Request envelope = DOSSIER__V1__REQUEST__INIT;
    envelope.id = ++client->next_id;
    envelope.method = (char *)method;
    size_t payload_size = protobuf_c_message_get_packed_size(request);
    uint8_t *payload = malloc(payload_size + 1);
    protobuf_c_message_pack(request, payload);
    envelope.payload.data = payload;
    envelope.payload.len = payload_size;
    size_t size = dossier__v1__request__get_packed_size(&envelope);
    uint8_t *body = malloc(size + 1);
    dossier__v1__request__pack(&envelope, body);
    free(payload);
    int sent = zmq_send(client->socket, body, size, 0);
    free(body);
    if (sent < 0) {
        return NULL;
    }
    zmq_msg_t reply;
    zmq_msg_init(&reply);
    if (zmq_msg_recv(&reply, client->socket, 0) < 0) {
        zmq_msg_close(&reply);
        return NULL;
    }
    Dossier__V1__Response *response = dossier__v1__response__unpack(
        NULL, zmq_msg_size(&reply), zmq_msg_data(&reply));
    zmq_msg_close(&reply);
    if (response && response->id != envelope.id) {
        dossier__v1__response__free_unpacked(response, NULL);
        return NULL;
    }
    return response;
}

/* ---- 16 threads mixing Get, Put, List ---- */

typedef struct {
    int index;
    const char *endpoint;
    s_client_t client;
    int calls;
} s_mixer_t;

static void *
s_mixer_main(void *arg) {
    s_mixer_t *mixer = arg;
    s_client_t *client = &mixer->client;
    s_client_open(client, mixer->endpoint, 20000);
    unsigned seed = (unsigned)mixer->index * 7919u + 1;
    enum { RECORDS = 5 };
    uint64_t versions[RECORDS] = {0};
    char country[32];
    snprintf(country, sizeof country, "Mixland %c", (char)('a' + mixer->index));
    Dossier__V1__Response *response = NULL;

    for (int op = 0; op < S_OPS; op++) {
        int record = rand_r(&seed) % RECORDS;
        char id[32];
        snprintf(id, sizeof id, "mix-%02d-%d", mixer->index, record);
        int kind = rand_r(&seed) % 3;
        if (kind == 0 || versions[record] == 0) {
            char title[64];
            snprintf(title, sizeof title, "title %d of %s", op, id);
            Dossier__V1__Report report = DOSSIER__V1__REPORT__INIT;
            report.id = id;
            report.title = title;
            report.country = country;
            report.year = 2000 + (uint32_t)record;
            report.doc_type = (char *)"Trafficking in Persons Report";
            Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
            put.report = &report;
            put.expected_version = versions[record];
            response = s_client_call(client, M("Put"), &put.base);
            worker_check(client, response, "Put %s: no reply", id);
            worker_check(client, response->code == 0, "Put %s: %d %s", id,
                         response->code, response->message);
            Dossier__V1__PutResponse *put_response =
                dossier__v1__put_response__unpack(NULL, response->payload.len,
                                                  response->payload.data);
            worker_check(client, put_response, "Put %s: bad payload", id);
            bool right = put_response->version == versions[record] + 1;
            dossier__v1__put_response__free_unpacked(put_response, NULL);
            worker_check(client, right, "Put %s: unexpected version", id);
            versions[record]++;
        } else if (kind == 1) {
            Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
            get.id = id;
            response = s_client_call(client, M("Get"), &get.base);
            worker_check(client, response, "Get %s: no reply", id);
            worker_check(client, response->code == 0, "Get %s: %d %s", id,
                         response->code, response->message);
            Dossier__V1__Report *report = dossier__v1__report__unpack(
                NULL, response->payload.len, response->payload.data);
            worker_check(client, report, "Get %s: bad payload", id);
            bool right = report->version == versions[record] &&
                         strcmp(report->id, id) == 0 &&
                         strcmp(report->country, country) == 0;
            dossier__v1__report__free_unpacked(report, NULL);
            worker_check(client, right, "Get %s: stale or wrong record", id);
        } else {
            Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
            filter.country = country;
            Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
            list.filter = &filter;
            list.page_size = 100;
            response = s_client_call(client, M("List"), &list.base);
            worker_check(client, response, "List: no reply");
            worker_check(client, response->code == 0, "List: %d %s",
                         response->code, response->message);
            Dossier__V1__ListResponse *page =
                dossier__v1__list_response__unpack(NULL, response->payload.len,
                                                   response->payload.data);
            worker_check(client, page, "List: bad payload");
            size_t expected = 0;
            for (int i = 0; i < RECORDS; i++) {
                expected += versions[i] > 0;
            }
            bool right = page->n_reports == expected;
            for (size_t i = 0; right && i < page->n_reports; i++) {
                right = strcmp(page->reports[i]->country, country) == 0;
            }
            dossier__v1__list_response__free_unpacked(page, NULL);
            worker_check(client, right, "List %s: wrong records", country);
        }
        dossier__v1__response__free_unpacked(response, NULL);
        response = NULL;
        mixer->calls++;
    }
done:
    dossier__v1__response__free_unpacked(response, NULL);
    s_client_close(client);
    return NULL;
}

static void
test_sixteen_clients(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    s_mixer_t mixers[S_THREADS];
    pthread_t threads[S_THREADS];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < S_THREADS; i++) {
        memset(&mixers[i], 0, sizeof mixers[i]);
        mixers[i].index = i;
        mixers[i].endpoint = testserver_endpoint(server);
        assert_int_equal(
            pthread_create(&threads[i], NULL, s_mixer_main, &mixers[i]), 0);
    }
    int calls = 0;
    for (int i = 0; i < S_THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (mixers[i].client.failure[0]) {
            fail_msg("client %d: %s", i, mixers[i].client.failure);
        }
        calls += mixers[i].calls;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) +
                     (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    assert_int_equal(calls, S_THREADS * S_OPS);
    printf("# %d calls from %d threads in %.2f s (%.0f calls/s)\n", calls,
           S_THREADS, seconds, calls / seconds);
    testserver_stop(&server);
}

/* ---- Writers racing a signal ---- */

typedef struct {
    int index;
    const char *endpoint;
    s_client_t client;
    volatile int *stop;
    int acked; /* writes 0..acked-1 were acknowledged */
} s_writer_t;

static void *
s_writer_main(void *arg) {
    s_writer_t *writer = arg;
    s_client_open(&writer->client, writer->endpoint, 3000);
    for (int n = 0; n < S_MAX_WRITES && !*writer->stop; n++) {
        char id[32];
        snprintf(id, sizeof id, "ack-%d-%05d", writer->index, n);
        Dossier__V1__Report report = DOSSIER__V1__REPORT__INIT;
        report.id = id;
        report.title = id;
        report.country = (char *)"Durability";
        report.year = 2020;
        Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
        put.report = &report;
        Dossier__V1__Response *response =
            s_client_call(&writer->client, M("Put"), &put.base);
        if (!response) {
            break; /* the server went away mid-call: not acknowledged */
        }
        int code = response->code;
        dossier__v1__response__free_unpacked(response, NULL);
        if (code != 0) {
            break; /* UNAVAILABLE while draining: not acknowledged */
        }
        writer->acked = n + 1;
    }
    s_client_close(&writer->client);
    return NULL;
}

/*  Runs S_WRITERS writers, sends signal after delay_ms, waits for the
    server to exit; returns its exit status. acked[i] gets each writer's
    acknowledged count. */
static int
s_write_then_signal(testserver_t *server, int signal, int delay_ms,
                    int *acked) {
    volatile int stop = 0;
    s_writer_t writers[S_WRITERS];
    pthread_t threads[S_WRITERS];
    for (int i = 0; i < S_WRITERS; i++) {
        memset(&writers[i], 0, sizeof writers[i]);
        writers[i].index = i;
        writers[i].endpoint = testserver_endpoint(server);
        writers[i].stop = &stop;
        assert_int_equal(
            pthread_create(&threads[i], NULL, s_writer_main, &writers[i]), 0);
    }
    struct timespec delay = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
    nanosleep(&delay, NULL);
    assert_int_equal(testserver_kill(server, signal), 0);
    int status = testserver_wait(server, 15000);
    stop = 1;
    int total = 0;
    for (int i = 0; i < S_WRITERS; i++) {
        pthread_join(threads[i], NULL);
        acked[i] = writers[i].acked;
        total += acked[i];
    }
    printf("# %d writes acknowledged before signal %d\n", total, signal);
    assert_true(total > 0);
    return status;
}

static void
s_check_acknowledged(testserver_t *server, const int *acked) {
    for (int i = 0; i < S_WRITERS; i++) {
        for (int n = 0; n < acked[i]; n++) {
            char id[32];
            snprintf(id, sizeof id, "ack-%d-%05d", i, n);
            Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
            get.id = id;
            Dossier__V1__Report *report =
                (Dossier__V1__Report *)testserver_expect(
                    testserver_endpoint(server), M("Get"), &get.base, 0,
                    &dossier__v1__report__descriptor);
            assert_string_equal(report->title, id);
            dossier__v1__report__free_unpacked(report, NULL);
        }
    }
}

static void
test_sigterm_under_load(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    char pidfile[512];
    snprintf(pidfile, sizeof pidfile, "%s/dossierd.pid",
             testserver_datadir(server));
    assert_int_equal(access(pidfile, F_OK), 0);

    int acked[S_WRITERS];
    int status = s_write_then_signal(server, SIGTERM, 400, acked);
    assert_int_equal(status, 0);
    assert_int_not_equal(access(pidfile, F_OK), 0);

    assert_int_equal(testserver_restart(server), 0);
    s_check_acknowledged(server, acked);
    testserver_stop(&server);
}

static void
test_sigkill_keeps_acknowledged_writes(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    int acked[S_WRITERS];
    int status = s_write_then_signal(server, SIGKILL, 400, acked);
    assert_int_equal(status, 128 + SIGKILL);
    /* The stale pid file names a dead process: the restart takes over. */
    assert_int_equal(testserver_restart(server), 0);
    s_check_acknowledged(server, acked);
    testserver_stop(&server);
}

/* ---- Group commit ---- */

typedef struct {
    int index;
    const char *endpoint;
    s_client_t client;
    int acked;
} s_batcher_t;

#define S_BATCH_WRITES 40

static void *
s_batcher_main(void *arg) {
    s_batcher_t *batcher = arg;
    s_client_open(&batcher->client, batcher->endpoint, 20000);
    for (int n = 0; n < S_BATCH_WRITES; n++) {
        char id[32];
        snprintf(id, sizeof id, "gc-%02d-%03d", batcher->index, n);
        Dossier__V1__Report report = DOSSIER__V1__REPORT__INIT;
        report.id = id;
        report.year = 2021;
        Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
        put.report = &report;
        Dossier__V1__Response *response =
            s_client_call(&batcher->client, M("Put"), &put.base);
        if (!response) {
            break;
        }
        batcher->acked += response->code == 0;
        dossier__v1__response__free_unpacked(response, NULL);
    }
    s_client_close(&batcher->client);
    return NULL;
}

static void
test_group_commit(void **state) {
    (void)state;
    /* The writer logs each commit at debug level with its size. 16
       concurrent writers must see commits of several writes, and the
       commits must add up to exactly the writes acknowledged. */
    testserver_t *server = testserver_start("--log-level debug");
    assert_non_null(server);
    s_batcher_t batchers[S_THREADS];
    pthread_t threads[S_THREADS];
    for (int i = 0; i < S_THREADS; i++) {
        memset(&batchers[i], 0, sizeof batchers[i]);
        batchers[i].index = i;
        batchers[i].endpoint = testserver_endpoint(server);
        assert_int_equal(
            pthread_create(&threads[i], NULL, s_batcher_main, &batchers[i]), 0);
    }
    int acked = 0;
    for (int i = 0; i < S_THREADS; i++) {
        pthread_join(threads[i], NULL);
        acked += batchers[i].acked;
    }
    assert_int_equal(acked, S_THREADS * S_BATCH_WRITES);
    assert_int_equal(testserver_kill(server, SIGTERM), 0);
    assert_int_equal(testserver_wait(server, 15000), 0);

    FILE *log = fopen(testserver_logpath(server), "r");
    assert_non_null(log);
    char line[1024];
    unsigned long committed = 0, commits = 0, largest = 0;
    while (fgets(line, sizeof line, log)) {
        const char *at = strstr(line, "group commit: ");
        unsigned long n;
        if (at && sscanf(at, "group commit: %lu writes", &n) == 1) {
            committed += n;
            commits++;
            largest = n > largest ? n : largest;
        }
    }
    fclose(log);
    printf("# %lu writes in %lu commits, largest %lu\n", committed, commits,
           largest);
    assert_int_equal(committed, (unsigned long)acked);
    assert_true(largest > 1);
    assert_true(commits < committed);
    testserver_stop(&server);
}

/* ---- Cheap calls are not stuck behind slow ones ---- */

/*  Takes every List reply that has reached dealer by now, without
    waiting; returns how many, each checked OK. */
static int
s_take_list_replies(void *dealer) {
    int taken = 0;
    while (true) {
        zmq_msg_t delimiter, reply;
        zmq_msg_init(&delimiter);
        if (zmq_msg_recv(&delimiter, dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&delimiter);
            return taken;
        }
        zmq_msg_init(&reply);
        assert_true(zmq_msg_recv(&reply, dealer, 0) >= 0);
        Dossier__V1__Response *listed = dossier__v1__response__unpack(
            NULL, zmq_msg_size(&reply), zmq_msg_data(&reply));
        assert_non_null(listed);
        assert_int_equal(listed->code, 0);
        dossier__v1__response__free_unpacked(listed, NULL);
        zmq_msg_close(&delimiter);
        zmq_msg_close(&reply);
        taken++;
    }
}

static void
test_cheap_calls_not_stalled(void **state) {
    (void)state;
    /* One worker, hundreds of heavy Lists queued on it: a Get (inline)
       and a Put (writer) are answered while Lists are still queued. The
       test counts, not times: when the Get's and the Put's replies are
       in, some List replies must still be to come. (Speed is bench/'s.) */
    testserver_t *server = testserver_start("--workers 1 --max-in-flight 1000");
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    static char paragraph[2048];
    memset(paragraph, 's', sizeof paragraph - 1);
    char *body[8];
    for (size_t i = 0; i < 8; i++) {
        body[i] = paragraph;
    }
    s_client_t client;
    s_client_open(&client, endpoint, 20000);
    for (int i = 0; i < 300; i++) {
        char id[32];
        snprintf(id, sizeof id, "stall-%03d", i);
        Dossier__V1__Report report = DOSSIER__V1__REPORT__INIT;
        report.id = id;
        report.year = 2003;
        report.body = body;
        report.n_body = 8;
        Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
        put.report = &report;
        Dossier__V1__Response *response =
            s_client_call(&client, M("Put"), &put.base);
        assert_non_null(response);
        assert_int_equal(response->code, 0);
        dossier__v1__response__free_unpacked(response, NULL);
    }

    void *context = zmq_ctx_new();
    void *dealer = zmq_socket(context, ZMQ_DEALER);
    int linger = 0, timeout = 60000;
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    assert_int_equal(zmq_connect(dealer, endpoint), 0);
    Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
    list.page_size = 1000;
    list.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    size_t payload_size = protobuf_c_message_get_packed_size(&list.base);
    uint8_t payload[64];
    protobuf_c_message_pack(&list.base, payload);
    enum { LISTS = 200 };
    for (int i = 0; i < LISTS; i++) {
        Dossier__V1__Request request = DOSSIER__V1__REQUEST__INIT;
        request.id = (uint64_t)i + 1;
        request.method = (char *)M("List");
        request.payload.data = payload;
        request.payload.len = payload_size;
        uint8_t packed[256];
        size_t size = dossier__v1__request__pack(&request, packed);
        zmq_send(dealer, "", 0, ZMQ_SNDMORE);
        assert_int_equal(zmq_send(dealer, packed, size, 0), (int)size);
    }

    /* A Health after the Lists, on the same connection, answered on
       the loop: its reply means the server has read every List, so the
       Get and the Put below come after them in every queue. */
    Dossier__V1__Request health = DOSSIER__V1__REQUEST__INIT;
    health.id = LISTS + 1;
    health.method = (char *)M("Health");
    uint8_t packed_health[64];
    size_t health_size = dossier__v1__request__pack(&health, packed_health);
    zmq_send(dealer, "", 0, ZMQ_SNDMORE);
    assert_int_equal(zmq_send(dealer, packed_health, health_size, 0),
                     (int)health_size);
    int lists_done = 0;
    while (true) {
        zmq_msg_t delimiter, reply;
        zmq_msg_init(&delimiter);
        zmq_msg_init(&reply);
        assert_true(zmq_msg_recv(&delimiter, dealer, 0) >= 0);
        assert_true(zmq_msg_recv(&reply, dealer, 0) >= 0);
        Dossier__V1__Response *got = dossier__v1__response__unpack(
            NULL, zmq_msg_size(&reply), zmq_msg_data(&reply));
        assert_non_null(got);
        assert_int_equal(got->code, 0);
        uint64_t got_id = got->id;
        dossier__v1__response__free_unpacked(got, NULL);
        zmq_msg_close(&delimiter);
        zmq_msg_close(&reply);
        if (got_id == LISTS + 1) {
            break;
        }
        lists_done++;
    }

    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = (char *)"stall-042";
    Dossier__V1__Response *response =
        s_client_call(&client, M("Get"), &get.base);
    assert_non_null(response);
    assert_int_equal(response->code, 0);
    dossier__v1__response__free_unpacked(response, NULL);
    lists_done += s_take_list_replies(dealer);
    int lists_at_get = lists_done;

    Dossier__V1__Report report = DOSSIER__V1__REPORT__INIT;
    report.id = (char *)"stall-new";
    report.year = 2003;
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &report;
    response = s_client_call(&client, M("Put"), &put.base);
    assert_non_null(response);
    assert_int_equal(response->code, 0);
    dossier__v1__response__free_unpacked(response, NULL);
    lists_done += s_take_list_replies(dealer);
    int lists_at_put = lists_done;

    /* Then every List completes. */
    int timeout_ms = 60000;
    zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    while (lists_done < LISTS) {
        zmq_msg_t delimiter, reply;
        zmq_msg_init(&delimiter);
        zmq_msg_init(&reply);
        assert_true(zmq_msg_recv(&delimiter, dealer, 0) >= 0);
        assert_true(zmq_msg_recv(&reply, dealer, 0) >= 0);
        Dossier__V1__Response *listed = dossier__v1__response__unpack(
            NULL, zmq_msg_size(&reply), zmq_msg_data(&reply));
        assert_non_null(listed);
        assert_int_equal(listed->code, 0);
        dossier__v1__response__free_unpacked(listed, NULL);
        zmq_msg_close(&delimiter);
        zmq_msg_close(&reply);
        lists_done++;
    }
    printf("# of %d Lists queued first, %d were answered when the Get was "
           "and %d when the Put was\n",
           LISTS, lists_at_get, lists_at_put);
    /* Neither waited for the worker queue. */
    assert_true(lists_at_get < LISTS);
    assert_true(lists_at_put < LISTS);
    zmq_close(dealer);
    zmq_ctx_term(context);
    s_client_close(&client);
    testserver_stop(&server);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sixteen_clients),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_cheap_calls_not_stalled),
        cmocka_unit_test(test_sigterm_under_load),
        cmocka_unit_test(test_sigkill_keeps_acknowledged_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
