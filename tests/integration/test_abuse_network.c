/*  test_abuse_network.c: a live dossierd against hostile and careless
    peers.

    One server (--max-message-bytes 256K) holds S_RECORDS records. Each
    test below throws one kind of abuse at it, then s_sanity() checks that
    an ordinary libdossier client still gets correct answers (a Get of a
    known record, a Put that bumps a version, a List page, Health). The
    last test compares the server's resident memory (VmRSS) and open file
    descriptors with their values after warm-up.

    - random frames: random frame counts and bytes, and well-formed
      Requests with random payloads for every method (seeded:
      DOSSIER_TEST_SEED, printed); every message gets a Response;
    - truncated Requests, cut at every length;
    - frames bigger than max_message_bytes (the connection is dropped;
      the server is not);
    - a flood of zero-length frames over DEALER and REQ;
    - 2,000+ connections opened and dropped: ZeroMQ sockets, and raw TCP
      connections that send nothing, garbage, or a ZMTP greeting and then
      garbage;
    - a client that sends thousands of requests and never reads a reply;
    - requests whose deadline passes while the server is busy;
    - huge List and Search page sizes and page tokens;
    - requests quoting invalid or long UTF-8: every reply's message must
      be valid UTF-8, as protobuf requires of a string.

    Every loop is bounded in count and time; traffic goes only to
    127.0.0.1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "dossier.h"
#include "testclock.h"
#include "testserver.h"
#include "text.h"

#define M(name) "dossier.v1.Reports/" name
#define S_RECORDS 200
#define S_MAX_MESSAGE (256 * 1024)
/* The server's resident memory may grow this much over the whole run.
   Under AddressSanitizer (the test and the server are built alike) freed
   memory sits in ASan's quarantine (256 MiB by default) and every block
   has redzones, so VmRSS says little about the server's own use: the
   bound is wider there. */
#if defined(__SANITIZE_ADDRESS__)
#define S_RSS_GROWTH_KIB (768 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_RSS_GROWTH_KIB (768 * 1024)
#endif
#endif
#ifndef S_RSS_GROWTH_KIB
#define S_RSS_GROWTH_KIB (64 * 1024)
#endif
#define S_FD_GROWTH 32

static struct {
    testserver_t *server;
    unsigned seed;
    void *context;
    uint64_t sanity_version; /* version of "abuse-sanity" after the last
                                sanity check */
    long rss_warm_kib;
    long fds_warm;
} S;

/* ---- Small helpers ---- */

/*  VmRSS of the server in KiB, or -1. */
static long
s_server_rss_kib(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status",
             (int)testserver_pid(S.server));
    FILE *file = fopen(path, "r");
    if (!file) {
        return -1;
    }
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, file)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(file);
    return kib;
}

/*  Open file descriptors of the server, or -1. */
static long
s_server_fds(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)testserver_pid(S.server));
    DIR *dir = opendir(path);
    if (!dir) {
        return -1;
    }
    long n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.') {
            n++;
        }
    }
    closedir(dir);
    return n;
}

static const char *
s_endpoint(void) {
    return testserver_endpoint(S.server);
}

static int
s_port(void) {
    const char *colon = strrchr(s_endpoint(), ':');
    assert_non_null(colon);
    return atoi(colon + 1);
}

static void
s_random_bytes(uint8_t *buf, size_t size) {
    for (size_t i = 0; i < size; i++) {
        buf[i] = (uint8_t)(rand_r(&S.seed) >> 7);
    }
}

static void *
s_socket(int type) {
    void *socket = zmq_socket(S.context, type);
    assert_non_null(socket);
    int zero = 0;
    int timeout = 3000;
    int hwm = 100000;
    zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(socket, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof hwm);
    assert_int_equal(zmq_connect(socket, s_endpoint()), 0);
    return socket;
}

static void
s_close(void **socket_p) {
    if (*socket_p) {
        zmq_close(*socket_p);
        *socket_p = NULL;
    }
}

/*  Sends [empty][body] on a DEALER. Returns 0 or -1 (errno). */
static int
s_dealer_send(void *socket, const void *body, size_t size, int flags) {
    if (zmq_send(socket, "", 0, ZMQ_SNDMORE | flags) < 0) {
        return -1;
    }
    return zmq_send(socket, body, size, flags) < 0 ? -1 : 0;
}

/*  Receives one reply on a DEALER ([empty][Response]), waiting at most
    timeout_ms. Returns the Response (caller frees) or NULL on timeout;
    fails the test when the reply is not [empty][Response]. */
static Dossier__V1__Response *
s_dealer_recv(void *socket, int timeout_ms) {
    zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) {
        return NULL;
    }
    zmq_msg_t frames[2];
    size_t n = 0;
    bool more = true;
    while (more && n < 2) {
        zmq_msg_init(&frames[n]);
        assert_true(zmq_msg_recv(&frames[n], socket, 0) >= 0);
        more = zmq_msg_more(&frames[n]);
        n++;
    }
    assert_false(more);
    assert_int_equal(n, 2);
    assert_int_equal(zmq_msg_size(&frames[0]), 0);
    Dossier__V1__Response *response = dossier__v1__response__unpack(
        NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]));
    zmq_msg_close(&frames[0]);
    zmq_msg_close(&frames[1]);
    assert_non_null(response);
    return response;
}

/*  Receives up to expected replies, each within timeout_ms of the one
    before; counts codes per value (codes[17]). Returns how many came. */
static size_t
s_dealer_drain(void *socket, size_t expected, int timeout_ms,
               size_t codes[17]) {
    size_t got = 0;
    while (got < expected) {
        Dossier__V1__Response *response = s_dealer_recv(socket, timeout_ms);
        if (!response) {
            break;
        }
        if (codes && response->code >= 0 && response->code <= 16) {
            codes[response->code]++;
        }
        dossier__v1__response__free_unpacked(response, NULL);
        got++;
    }
    return got;
}

static void
s_report(Dossier__V1__Report *report, char *id, char *title, char **body,
         size_t n_body) {
    Dossier__V1__Report init = DOSSIER__V1__REPORT__INIT;
    *report = init;
    report->id = id;
    report->title = title;
    report->country = "Azerbaijan";
    report->country_code = "AZE";
    report->year = 2004;
    report->tier = DOSSIER__V1__TIER__TIER_2;
    report->doc_type = "Trafficking in Persons Report";
    report->body = body;
    report->n_body = n_body;
}

/*  An ordinary client still gets correct answers. */
static void
s_sanity(const char *after) {
    dossier_options_t options;
    dossier_options_init(&options);
    /* Generous: a server under valgrind may still be answering the
       requests of a client that left. */
    options.timeout_ms = 15000;
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    assert_int_equal(dossier_client_new(s_endpoint(), &options, &client, &err),
                     DOSSIER_OK);

    Dossier__V1__Report *report = NULL;
    dossier_status_t rc = dossier_get(client, "abuse-000007", &report, &err);
    if (rc != DOSSIER_OK) {
        dossier_client_destroy(&client);
        fail_msg("after %s: get: %s: %s", after, dossier_strerror(rc),
                 err.message);
    }
    assert_string_equal(report->title, "Abuse record 7");
    assert_int_equal(report->year, 2004);
    assert_int_equal(report->n_body, 8);
    dossier_report_free(report);

    char title[] = "Sanity";
    char para[] = "A record rewritten after every abuse.";
    char *body[] = {para};
    char id[] = "abuse-sanity";
    Dossier__V1__Report sanity;
    s_report(&sanity, id, title, body, 1);
    Dossier__V1__PutResponse *put = NULL;
    rc = dossier_put(client, &sanity, S.sanity_version, false, &put, &err);
    if (rc != DOSSIER_OK) {
        dossier_client_destroy(&client);
        fail_msg("after %s: put: %s: %s", after, dossier_strerror(rc),
                 err.message);
    }
    assert_int_equal(put->version, S.sanity_version + 1);
    S.sanity_version = put->version;
    dossier_message_free(put);

    Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
    list.page_size = 10;
    Dossier__V1__ListResponse *page = NULL;
    rc = dossier_list(client, &list, &page, &err);
    if (rc != DOSSIER_OK) {
        dossier_client_destroy(&client);
        fail_msg("after %s: list: %s: %s", after, dossier_strerror(rc),
                 err.message);
    }
    assert_int_equal(page->n_reports, 10);
    assert_string_equal(page->reports[0]->id, "abuse-000000");
    dossier_message_free(page);

    Dossier__V1__HealthResponse *health = NULL;
    assert_int_equal(dossier_health(client, NULL, &health, &err), DOSSIER_OK);
    assert_int_equal(health->status,
                     DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    dossier_message_free(health);
    dossier_client_destroy(&client);
    printf("# after %s: answers correct; VmRSS %ld KiB, %ld fds\n", after,
           s_server_rss_kib(), s_server_fds());
}

/* ---- Setup: a server with records, warmed up ---- */

static int
s_setup(void **state) {
    (void)state;
    const char *text = getenv("DOSSIER_TEST_SEED");
    S.seed = text && *text ? (unsigned)strtoul(text, NULL, 10)
                           : (unsigned)time(NULL) ^ (unsigned)getpid();
    printf("# seed %u (set DOSSIER_TEST_SEED=%u to repeat)\n", S.seed, S.seed);
    S.server = testserver_start("--max-message-bytes 256K");
    if (!S.server) {
        return -1;
    }
    S.context = zmq_ctx_new();
    if (!S.context) {
        return -1;
    }
    zmq_ctx_set(S.context, ZMQ_MAX_SOCKETS, 4096);

    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    if (dossier_client_new(s_endpoint(), NULL, &client, &err) != DOSSIER_OK) {
        return -1;
    }
    /* Eight ~1 KiB paragraphs per record: replies worth buffering. */
    char paragraph[1024];
    for (size_t i = 0; i + 1 < sizeof paragraph; i++) {
        paragraph[i] = "trafficking victims shelter "[i % 28];
    }
    paragraph[sizeof paragraph - 1] = '\0';
    char *body[8];
    for (int i = 0; i < 8; i++) {
        body[i] = paragraph;
    }
    for (int r = 0; r < S_RECORDS; r++) {
        char id[32];
        char title[64];
        snprintf(id, sizeof id, "abuse-%06d", r);
        snprintf(title, sizeof title, "Abuse record %d", r);
        Dossier__V1__Report report;
        s_report(&report, id, title, body, 8);
        if (dossier_put(client, &report, 0, false, NULL, &err) != DOSSIER_OK) {
            fprintf(stderr, "put %s: %s\n", id, err.message);
            dossier_client_destroy(&client);
            return -1;
        }
    }
    /* Warm-up: every kind of call once or twice. */
    for (int i = 0; i < 3; i++) {
        Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
        list.page_size = 1000;
        list.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
        Dossier__V1__ListResponse *page = NULL;
        if (dossier_list(client, &list, &page, &err) == DOSSIER_OK) {
            dossier_message_free(page);
        }
        Dossier__V1__SearchRequest search = DOSSIER__V1__SEARCH_REQUEST__INIT;
        search.query = "trafficking shelter";
        Dossier__V1__SearchResponse *hits = NULL;
        if (dossier_search(client, &search, &hits, &err) == DOSSIER_OK) {
            dossier_message_free(hits);
        }
        Dossier__V1__StatsResponse *stats = NULL;
        if (dossier_stats(client, &stats, &err) == DOSSIER_OK) {
            dossier_message_free(stats);
        }
    }
    dossier_client_destroy(&client);
    S.rss_warm_kib = s_server_rss_kib();
    S.fds_warm = s_server_fds();
    printf("# after warm-up: VmRSS %ld KiB, %ld fds\n", S.rss_warm_kib,
           S.fds_warm);
    return S.rss_warm_kib > 0 ? 0 : -1;
}

static int
s_teardown(void **state) {
    (void)state;
    if (S.context) {
        zmq_ctx_term(S.context);
        S.context = NULL;
    }
    testserver_stop(&S.server);
    return 0;
}

/* ---- The abuse ---- */

static void
test_random_frames(void **state) {
    (void)state;
    void *dealer = s_socket(ZMQ_DEALER);
    size_t sent = 0;
    size_t got = 0;
    size_t codes[17] = {0};
    uint8_t buf[600];
    /* Random frame sets: 1..4 frames of 0..512 random bytes. */
    for (int batch = 0; batch < 20; batch++) {
        size_t in_batch = 0;
        for (int i = 0; i < 100; i++) {
            int frames = 1 + rand_r(&S.seed) % 4;
            for (int f = 0; f < frames; f++) {
                size_t size = (size_t)rand_r(&S.seed) % 513;
                s_random_bytes(buf, size);
                assert_true(zmq_send(dealer, buf, size,
                                     f + 1 < frames ? ZMQ_SNDMORE : 0) >= 0);
            }
            in_batch++;
        }
        sent += in_batch;
        got += s_dealer_drain(dealer, in_batch, 3000, codes);
    }
    printf("# random frame sets: %zu sent, %zu answered, %zu OK\n", sent, got,
           codes[0]);
    /* "A frame that is not a valid Request still gets a Response". */
    assert_int_equal(got, sent);
    assert_int_equal(codes[0], 0);

    /* Well-formed Requests of every method with random payloads. */
    const char *methods[] = {
        M("Get"),         M("Put"),      M("Delete"),     M("List"),
        M("Search"),      M("History"),  M("Changes"),    M("Stats"),
        M("Health"),      M("Describe"), M("ImportText"), M("ImportBatch"),
        M("NoSuchMethod")};
    size_t n_methods = sizeof methods / sizeof methods[0];
    sent = got = 0;
    memset(codes, 0, sizeof codes);
    for (int batch = 0; batch < 10; batch++) {
        for (int i = 0; i < 50; i++) {
            size_t size = (size_t)rand_r(&S.seed) % 200;
            s_random_bytes(buf, size);
            Dossier__V1__Request request = DOSSIER__V1__REQUEST__INIT;
            request.id = sent + 1;
            request.method = (char *)methods[sent % n_methods];
            request.payload.data = buf;
            request.payload.len = size;
            uint8_t packed[800];
            size_t packed_size = dossier__v1__request__pack(&request, packed);
            assert_int_equal(s_dealer_send(dealer, packed, packed_size, 0), 0);
            sent++;
        }
        got += s_dealer_drain(dealer, 50, 5000, codes);
    }
    printf("# random payloads: %zu sent, %zu answered (%zu OK, %zu "
           "INVALID_ARGUMENT, %zu UNIMPLEMENTED)\n",
           sent, got, codes[0], codes[3], codes[12]);
    assert_int_equal(got, sent);
    s_close(&dealer);
    s_sanity("random frames");
}

static void
test_truncated_requests(void **state) {
    (void)state;
    char title[] = "Truncated";
    char para[] = "This request is cut short at every length.";
    char *body[] = {para, para, para};
    char id[] = "abuse-truncated";
    Dossier__V1__Report report;
    s_report(&report, id, title, body, 3);
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &report;
    put.create_only = true; /* one of the cuts may decode: write once */
    size_t size = 0;
    uint8_t *packed =
        testserver_pack_request(42, M("Put"), &put.base, 0, &size);
    void *dealer = s_socket(ZMQ_DEALER);
    size_t sent = 0;
    size_t got = 0;
    size_t codes[17] = {0};
    for (size_t cut = 1; cut < size; cut += 50) {
        size_t in_batch = 0;
        for (size_t len = cut; len < size && len < cut + 50; len++) {
            assert_int_equal(s_dealer_send(dealer, packed, len, 0), 0);
            in_batch++;
        }
        sent += in_batch;
        got += s_dealer_drain(dealer, in_batch, 3000, codes);
    }
    free(packed);
    printf("# truncated Requests (%zu bytes whole): %zu sent, %zu answered, "
           "%zu INVALID_ARGUMENT\n",
           size, sent, got, codes[3]);
    assert_int_equal(got, sent);
    assert_true(codes[3] > sent / 2);
    s_close(&dealer);
    s_sanity("truncated requests");
}

static void
test_oversized_frames(void **state) {
    (void)state;
    size_t big = 4 * S_MAX_MESSAGE;
    uint8_t *data = malloc(big);
    assert_non_null(data);
    s_random_bytes(data, big);
    /* Just under the limit: an ordinary bad request. */
    void *dealer = s_socket(ZMQ_DEALER);
    assert_int_equal(s_dealer_send(dealer, data, S_MAX_MESSAGE - 1024, 0), 0);
    Dossier__V1__Response *response = s_dealer_recv(dealer, 5000);
    assert_non_null(response);
    assert_int_equal(response->code, DOSSIER_INVALID_ARGUMENT);
    dossier__v1__response__free_unpacked(response, NULL);
    s_close(&dealer);

    /* Over it: libzmq drops the connection; no reply, no harm. A REQ and
       a DEALER, several times, some frames far over. */
    for (int i = 0; i < 20; i++) {
        void *socket = s_socket(i % 2 ? ZMQ_REQ : ZMQ_DEALER);
        size_t size = S_MAX_MESSAGE + 1 + (size_t)(i * (big / 20));
        if (size > big) {
            size = big;
        }
        if (i % 2) {
            assert_true(zmq_send(socket, data, size, 0) >= 0);
        } else {
            assert_int_equal(s_dealer_send(socket, data, size, 0), 0);
        }
        zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&item, 1, i < 2 ? 500 : 20), 0);
        s_close(&socket);
    }
    free(data);
    s_sanity("oversized frames");
}

static void
test_zero_length_flood(void **state) {
    (void)state;
    void *dealer = s_socket(ZMQ_DEALER);
    size_t sent = 0;
    size_t got = 0;
    size_t codes[17] = {0};
    int64_t start = testclock_now_ms();
    for (int batch = 0; batch < 50 && testclock_now_ms() - start < 20000;
         batch++) {
        for (int i = 0; i < 100; i++) {
            switch (i % 4) {
            case 0: /* [empty] */
                assert_true(zmq_send(dealer, "", 0, 0) >= 0);
                break;
            case 1: /* [empty][empty] */
                assert_int_equal(s_dealer_send(dealer, "", 0, 0), 0);
                break;
            case 2: /* [empty][empty][empty] */
                assert_true(zmq_send(dealer, "", 0, ZMQ_SNDMORE) >= 0);
                assert_int_equal(s_dealer_send(dealer, "", 0, 0), 0);
                break;
            default: /* a Request with nothing in it */
                assert_int_equal(s_dealer_send(dealer, "\x08\x00", 2, 0), 0);
                break;
            }
        }
        sent += 100;
        got += s_dealer_drain(dealer, 100, 3000, codes);
    }
    printf("# zero-length frames over DEALER: %zu sent, %zu answered, "
           "%zu INVALID_ARGUMENT\n",
           sent, got, codes[3]);
    assert_int_equal(got, sent);
    assert_int_equal(codes[3], sent);
    s_close(&dealer);

    /* REQ: an empty body, then read the reply, many times. */
    void *req = s_socket(ZMQ_REQ);
    int answered = 0;
    for (int i = 0; i < 1000; i++) {
        assert_true(zmq_send(req, "", 0, 0) >= 0);
        uint8_t buf[1024];
        int n = zmq_recv(req, buf, sizeof buf, 0);
        assert_true(n > 0);
        Dossier__V1__Response *response =
            dossier__v1__response__unpack(NULL, (size_t)n, buf);
        assert_non_null(response);
        assert_int_equal(response->code, DOSSIER_INVALID_ARGUMENT);
        dossier__v1__response__free_unpacked(response, NULL);
        answered++;
    }
    printf("# empty bodies over REQ: %d answered INVALID_ARGUMENT\n", answered);
    s_close(&req);
    s_sanity("zero-length flood");
}

static int
s_tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int saved = errno;
        close(fd);
        fail_msg("connect 127.0.0.1:%d: %s", port, strerror(saved));
    }
    struct timeval timeout = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    return fd;
}

static void
test_connection_churn(void **state) {
    (void)state;
    int64_t start = testclock_now_ms();
    /* 1,000 ZeroMQ sockets, 100 open at a time; half send a request and
       leave without reading the reply. */
    size_t health_size = 0;
    uint8_t *health =
        testserver_pack_request(1, M("Health"), NULL, 0, &health_size);
    int zmq_opened = 0;
    for (int batch = 0; batch < 10; batch++) {
        void *sockets[100];
        for (int i = 0; i < 100; i++) {
            sockets[i] = s_socket(i % 3 ? ZMQ_DEALER : ZMQ_REQ);
            zmq_opened++;
        }
        for (int i = 0; i < 100; i += 2) {
            if (i % 3) {
                s_dealer_send(sockets[i], health, health_size, ZMQ_DONTWAIT);
            } else {
                zmq_send(sockets[i], health, health_size, ZMQ_DONTWAIT);
            }
        }
        testclock_sleep_ms(20);
        for (int i = 0; i < 100; i++) {
            s_close(&sockets[i]);
        }
    }
    free(health);

    /* 1,200 raw TCP connections: nothing, garbage, or a ZMTP greeting's
       signature followed by garbage; 100 held open at a time. */
    static const uint8_t signature[10] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F};
    int port = s_port();
    int tcp_opened = 0;
    for (int batch = 0; batch < 12; batch++) {
        int fds[100];
        for (int i = 0; i < 100; i++) {
            fds[i] = s_tcp_connect(port);
            tcp_opened++;
            uint8_t junk[300];
            size_t size = 1 + (size_t)rand_r(&S.seed) % 256;
            s_random_bytes(junk, size);
            switch (i % 4) {
            case 0:
                break;
            case 1:
                (void)!send(fds[i], junk, size, MSG_NOSIGNAL);
                break;
            case 2:
                (void)!send(fds[i], signature, sizeof signature, MSG_NOSIGNAL);
                (void)!send(fds[i], junk, size, MSG_NOSIGNAL);
                break;
            default: /* a greeting cut short: the server waits, we leave */
                (void)!send(fds[i], signature, 5, MSG_NOSIGNAL);
                break;
            }
        }
        testclock_sleep_ms(20);
        for (int i = 0; i < 100; i++) {
            close(fds[i]);
        }
    }
    printf("# opened and dropped %d ZeroMQ sockets and %d TCP connections "
           "in %lld ms\n",
           zmq_opened, tcp_opened, (long long)(testclock_now_ms() - start));
    assert_true(zmq_opened + tcp_opened >= 2000);
    s_sanity("connection churn");
}

static void
test_long_routing_ids(void **state) {
    (void)state;
    /* A peer may name itself with up to 255 bytes (ZMQ_ROUTING_ID); the
       server must answer it, and two peers that pick the same name must
       not crash it (libzmq drops the second, or hands over). */
    size_t health_size = 0;
    uint8_t *health =
        testserver_pack_request(5, M("Health"), NULL, 0, &health_size);
    char name[255];
    memset(name, 'x', sizeof name);
    void *first = zmq_socket(S.context, ZMQ_DEALER);
    void *second = zmq_socket(S.context, ZMQ_DEALER);
    assert_non_null(first);
    assert_non_null(second);
    int zero = 0;
    zmq_setsockopt(first, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(second, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_setsockopt(first, ZMQ_ROUTING_ID, name, sizeof name),
                     0);
    assert_int_equal(zmq_setsockopt(second, ZMQ_ROUTING_ID, name, sizeof name),
                     0);
    assert_int_equal(zmq_connect(first, s_endpoint()), 0);
    assert_int_equal(s_dealer_send(first, health, health_size, 0), 0);
    Dossier__V1__Response *response = s_dealer_recv(first, 5000);
    assert_non_null(response);
    assert_int_equal(response->code, DOSSIER_OK);
    assert_int_equal(response->id, 5);
    dossier__v1__response__free_unpacked(response, NULL);
    assert_int_equal(zmq_connect(second, s_endpoint()), 0);
    for (int i = 0; i < 10; i++) {
        s_dealer_send(second, health, health_size, ZMQ_DONTWAIT);
        s_dealer_send(first, health, health_size, ZMQ_DONTWAIT);
    }
    /* The server does not set ZMQ_ROUTER_HANDOVER: the second peer is
       refused its name, so the first keeps it and all its answers. */
    size_t got_first = s_dealer_drain(first, 10, 5000, NULL);
    size_t got_second = s_dealer_drain(second, 10, 200, NULL);
    printf("# two peers named alike (255 bytes): the first answered %zu "
           "times of 10, the second %zu\n",
           got_first, got_second);
    assert_int_equal(got_first, 10);
    free(health);
    s_close(&first);
    s_close(&second);
    s_sanity("long routing ids");
}

static void
test_never_reads_replies(void **state) {
    (void)state;
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = "abuse-000001";
    size_t get_size = 0;
    uint8_t *get_packed =
        testserver_pack_request(7, M("Get"), &get.base, 0, &get_size);
    Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
    list.page_size = 100;
    list.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    size_t list_size = 0;
    uint8_t *list_packed =
        testserver_pack_request(8, M("List"), &list.base, 0, &list_size);

    for (int round = 0; round < 3; round++) {
        void *dealer = s_socket(ZMQ_DEALER);
        int rcvbuf = 4096; /* keep the kernel from reading for us */
        zmq_setsockopt(dealer, ZMQ_RCVBUF, &rcvbuf, sizeof rcvbuf);
        int64_t start = testclock_now_ms();
        int sent = 0;
        for (int i = 0; i < 5000 && testclock_now_ms() - start < 3000; i++) {
            bool is_list = i % 10 == 9;
            if (s_dealer_send(dealer, is_list ? list_packed : get_packed,
                              is_list ? list_size : get_size,
                              ZMQ_DONTWAIT) != 0) {
                break;
            }
            sent++;
        }
        printf("# round %d: sent %d requests, reads no reply\n", round, sent);
        /* While the replies pile up unread, the server serves others:
           the pipe to this peer fills, the loop does not block on it. */
        s_sanity("a client that does not read, still connected");
        s_close(&dealer);
    }
    free(get_packed);
    free(list_packed);
    s_sanity("clients that never read");
}

static void
test_past_deadlines(void **state) {
    (void)state;
    /* Keep the workers busy: full-view pages of every record. */
    void *busy = s_socket(ZMQ_DEALER);
    Dossier__V1__ListRequest heavy = DOSSIER__V1__LIST_REQUEST__INIT;
    heavy.page_size = 1000;
    heavy.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    size_t heavy_size = 0;
    uint8_t *heavy_packed =
        testserver_pack_request(1, M("List"), &heavy.base, 0, &heavy_size);
    const int n_heavy = 40;
    for (int i = 0; i < n_heavy; i++) {
        assert_int_equal(s_dealer_send(busy, heavy_packed, heavy_size, 0), 0);
    }
    free(heavy_packed);

    /* Then requests that give the server 1 ms. */
    void *hurried = s_socket(ZMQ_DEALER);
    Dossier__V1__ListRequest light = DOSSIER__V1__LIST_REQUEST__INIT;
    light.page_size = 5;
    Dossier__V1__SearchRequest search = DOSSIER__V1__SEARCH_REQUEST__INIT;
    search.query = "victims";
    const int n_hurried = 40;
    for (int i = 0; i < n_hurried; i++) {
        size_t size = 0;
        uint8_t *packed = testserver_pack_request(
            100 + (uint64_t)i, i % 2 ? M("Search") : M("List"),
            i % 2 ? &search.base : &light.base, 1, &size);
        assert_int_equal(s_dealer_send(hurried, packed, size, 0), 0);
        free(packed);
    }
    /* And one with the largest deadline there is. */
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = "abuse-000003";
    size_t get_size = 0;
    uint8_t *get_packed = testserver_pack_request(999, M("Get"), &get.base,
                                                  UINT32_MAX, &get_size);
    assert_int_equal(s_dealer_send(hurried, get_packed, get_size, 0), 0);
    free(get_packed);

    size_t codes[17] = {0};
    size_t got = s_dealer_drain(hurried, (size_t)n_hurried + 1, 10000, codes);
    printf("# deadline 1 ms behind %d heavy Lists: %zu answered, %zu OK, "
           "%zu DEADLINE_EXCEEDED\n",
           n_heavy, got, codes[0], codes[4]);
    assert_int_equal(got, (size_t)n_hurried + 1);
    assert_int_equal(codes[0] + codes[4], got);
    assert_true(codes[4] >= 1);
    size_t heavy_codes[17] = {0};
    size_t heavy_got =
        s_dealer_drain(busy, (size_t)n_heavy, 10000, heavy_codes);
    assert_int_equal(heavy_got, (size_t)n_heavy);
    assert_int_equal(heavy_codes[0], (size_t)n_heavy);
    s_close(&busy);
    s_close(&hurried);
    s_sanity("past deadlines");
}

static void
test_huge_pages(void **state) {
    (void)state;
    const char *endpoint = s_endpoint();
    const uint32_t sizes[] = {1001, 65536, UINT32_MAX / 2 + 1, UINT32_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
        list.page_size = sizes[i];
        list.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
        testserver_expect(endpoint, M("List"), &list.base,
                          DOSSIER_INVALID_ARGUMENT, NULL);
        Dossier__V1__SearchRequest search = DOSSIER__V1__SEARCH_REQUEST__INIT;
        search.query = "trafficking";
        search.page_size = sizes[i];
        testserver_expect(endpoint, M("Search"), &search.base,
                          DOSSIER_INVALID_ARGUMENT, NULL);
    }
    /* The largest allowed page holds every record. */
    Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
    list.page_size = 1000;
    list.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    Dossier__V1__ListResponse *page =
        (Dossier__V1__ListResponse *)testserver_expect(
            endpoint, M("List"), &list.base, DOSSIER_OK,
            &dossier__v1__list_response__descriptor);
    assert_non_null(page);
    assert_true(page->n_reports >= S_RECORDS);
    assert_string_equal(page->next_page_token, "");
    dossier__v1__list_response__free_unpacked(page, NULL);

    /* A page token of 200 KiB of junk. */
    size_t token_size = 200 * 1024;
    char *token = malloc(token_size + 1);
    assert_non_null(token);
    for (size_t i = 0; i < token_size; i++) {
        token[i] = "AZaz09-_=+/"[rand_r(&S.seed) % 11];
    }
    token[token_size] = '\0';
    list.page_token = token;
    testserver_expect(endpoint, M("List"), &list.base, DOSSIER_INVALID_ARGUMENT,
                      NULL);
    Dossier__V1__SearchRequest search = DOSSIER__V1__SEARCH_REQUEST__INIT;
    search.query = "trafficking";
    search.page_token = token;
    testserver_expect(endpoint, M("Search"), &search.base,
                      DOSSIER_INVALID_ARGUMENT, NULL);
    free(token);
    s_sanity("huge pages");
}

static void
test_reply_messages_are_utf8(void **state) {
    (void)state;
    /* Requests whose strings are invalid UTF-8 (protobuf-c does not check
       them on unpack), or valid UTF-8 long enough that a reply message
       quoting them must be cut: every Response.message must still be
       valid UTF-8, or a Python or Go client cannot even read the error. */
    char long_accents[601];
    for (size_t i = 0; i + 1 < sizeof long_accents; i += 2) {
        long_accents[i] = (char)0xC3; /* "é" */
        long_accents[i + 1] = (char)0xA9;
    }
    long_accents[sizeof long_accents - 1] = '\0';
    char odd_method[300];
    /* 199 bytes, then "é": "%.200s" would keep half of it. */
    snprintf(odd_method, sizeof odd_method, "dossier.v1.Reports/%0180d\xc3\xa9",
             0);
    char bad_id[] = "abuse-\xff\xfe";
    char bad_name[] = "\xff\xfenotes.txt";
    char text[] = " \n\n"; /* blank: refused, naming the file */

    Dossier__V1__GetRequest get_bad = DOSSIER__V1__GET_REQUEST__INIT;
    get_bad.id = bad_id;
    Dossier__V1__GetRequest get_long = DOSSIER__V1__GET_REQUEST__INIT;
    get_long.id = long_accents;
    Dossier__V1__ImportTextRequest import =
        DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
    import.text = text;
    import.filename = bad_name;
    import.dry_run = true;
    char bad_service[] = "dossier.\xff.Reports";
    Dossier__V1__HealthRequest health = DOSSIER__V1__HEALTH_REQUEST__INIT;
    health.service = bad_service;
    Dossier__V1__HistoryRequest history = DOSSIER__V1__HISTORY_REQUEST__INIT;
    history.country = long_accents;
    struct {
        const char *what;
        const char *method;
        const ProtobufCMessage *message;
    } cases[] = {
        {"a method name of invalid UTF-8", M("\xff\xfe"), NULL},
        {"a long method name cut inside a character", odd_method, NULL},
        {"a Get of an id of invalid UTF-8", M("Get"), &get_bad.base},
        {"a Get of a 600-byte id of accents", M("Get"), &get_long.base},
        {"an import whose filename is invalid UTF-8", M("ImportText"),
         &import.base},
        {"a Health of a service named in invalid UTF-8", M("Health"),
         &health.base},
        {"a History of a 600-byte country of accents", M("History"),
         &history.base},
    };
    size_t n_cases = sizeof cases / sizeof cases[0];
    size_t bad = 0;
    for (size_t i = 0; i < n_cases; i++) {
        Dossier__V1__Response *response = NULL;
        int rc = testserver_call(s_endpoint(), cases[i].method,
                                 cases[i].message, &response, 5000);
        assert_int_equal(rc, 0);
        bool ok = text_utf8_valid(response->message, strlen(response->message));
        printf("# %s: %s, message %s UTF-8: %.120s\n", cases[i].what,
               dossier_strerror(response->code), ok ? "is" : "is NOT",
               response->message);
        bad += !ok;
        assert_int_not_equal(response->code, DOSSIER_OK);
        dossier__v1__response__free_unpacked(response, NULL);
    }
    s_sanity("replies quoting bad UTF-8");
    if (bad) {
        fail_msg("%zu of %zu replies carry a message that is not valid "
                 "UTF-8 (a protobuf string field): the server must "
                 "sanitize what it quotes, and cut messages on a character "
                 "boundary",
                 bad, n_cases);
    }
}

static void
test_memory_and_fds_bounded(void **state) {
    (void)state;
    /* Closed connections are reaped asynchronously: give it a moment. */
    long fds = s_server_fds();
    for (int i = 0; i < 30 && fds > S.fds_warm + S_FD_GROWTH; i++) {
        testclock_sleep_ms(100);
        fds = s_server_fds();
    }
    long rss = s_server_rss_kib();
    printf("# VmRSS after warm-up %ld KiB, after the abuse %ld KiB "
           "(growth %ld KiB, bound %d KiB); fds %ld -> %ld (bound +%d)\n",
           S.rss_warm_kib, rss, rss - S.rss_warm_kib, S_RSS_GROWTH_KIB,
           S.fds_warm, fds, S_FD_GROWTH);
    assert_true(rss > 0);
    assert_true(rss - S.rss_warm_kib < S_RSS_GROWTH_KIB);
    assert_true(fds <= S.fds_warm + S_FD_GROWTH);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_frames),
        cmocka_unit_test(test_truncated_requests),
        cmocka_unit_test(test_oversized_frames),
        cmocka_unit_test(test_zero_length_flood),
        cmocka_unit_test(test_connection_churn),
        cmocka_unit_test(test_long_routing_ids),
        cmocka_unit_test(test_never_reads_replies),
        cmocka_unit_test(test_past_deadlines),
        cmocka_unit_test(test_huge_pages),
        cmocka_unit_test(test_reply_messages_are_utf8),
        cmocka_unit_test(test_memory_and_fds_bounded),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
