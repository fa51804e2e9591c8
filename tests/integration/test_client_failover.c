/*  test_client_failover.c: libdossier when servers are missing, frozen,
    killed and restarted.

    A "dead" endpoint is a port the test holds bound and never listens
    on: a connection there is refused, and no other process (another
    test's server) can take the port meanwhile. A frozen server is a real
    dossierd stopped with SIGSTOP: its kernel still accepts connections,
    but it answers nothing, not even heartbeats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dossier.h"
#include "testassert.h"
#include "testclock.h"
#include "testserver.h"

/* A port on 127.0.0.1 bound without SO_REUSEADDR and never listened on:
   connections are refused, and no other socket can bind it while fd is
   open. */
typedef struct {
    int fd;
    int port;
} s_dead_port_t;

static s_dead_port_t
s_dead_port_open(void) {
    s_dead_port_t dead;
    dead.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(dead.fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(dead.fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(dead.fd, (struct sockaddr *)&a, &len), 0);
    dead.port = ntohs(a.sin_port);
    return dead;
}

static void
s_dead_port_close(s_dead_port_t *dead) {
    close(dead->fd);
    dead->fd = -1;
}

static dossier_client_t *
s_client(const char *endpoints, int timeout_ms, int retries, int hb_ms) {
    dossier_options_t o;
    dossier_options_init(&o);
    o.timeout_ms = timeout_ms;
    o.retries = retries;
    o.heartbeat_ivl_ms = hb_ms;
    dossier_client_t *c = NULL;
    dossier_error_t err = {0};
    assert_ok(dossier_client_new(endpoints, &o, &c, &err), &err);
    return c;
}

static Dossier__V1__Report
s_report(const char *id) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = "Failover test";
    r.country = "Atlantis";
    r.year = 2020;
    return r;
}

static void
test_unreachable_is_unavailable_within_timeout(void **state) {
    (void)state;
    s_dead_port_t dead = s_dead_port_open();
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", dead.port);
    dossier_client_t *c = s_client(ep, 1000, 3, 1000);
    dossier_error_t err = {0};

    /* The call keeps trying for its whole timeout, and no longer: not a
       timeout per attempt (4 attempts would take 4 s). The bound is what
       the broken behaviour reaches, not the expected time plus a slack
       a loaded machine can exceed. */
    int64_t t0 = testclock_now_ms();
    assert_status(dossier_health(c, NULL, NULL, &err), DOSSIER_UNAVAILABLE,
                  &err);
    int64_t took = testclock_now_ms() - t0;
    assert_true(took >= 900);
    assert_true(took < 4 * 1000);
    assert_non_null(strstr(err.message, "cannot reach"));
    assert_non_null(strstr(err.message, ep));
    assert_false(dossier_client_request_sent(c));

    /* A write fails the same way: nothing was sent. */
    Dossier__V1__Report r = s_report("failover-unreachable");
    t0 = testclock_now_ms();
    assert_status(dossier_put(c, &r, 0, false, NULL, &err), DOSSIER_UNAVAILABLE,
                  &err);
    took = testclock_now_ms() - t0;
    assert_true(took < 4 * 1000);
    assert_false(dossier_client_request_sent(c)); /* certainly not applied */
    dossier_client_destroy(&c);
    s_dead_port_close(&dead);
}

static void
test_failover_to_second_endpoint(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    s_dead_port_t dead = s_dead_port_open();
    char eps[256];
    snprintf(eps, sizeof eps, "tcp://127.0.0.1:%d,%s", dead.port,
             testserver_endpoint(server));
    dossier_client_t *c = s_client(eps, 4000, 3, 1000);
    dossier_error_t err = {0};

    int64_t t0 = testclock_now_ms();
    Dossier__V1__HealthResponse *h = NULL;
    assert_ok(dossier_health(c, NULL, &h, &err), &err);
    assert_int_equal(h->status,
                     DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_SERVING);
    dossier_message_free(h);
    /* The dead endpoint had a quarter of the time (4 attempts). */
    assert_true(testclock_now_ms() - t0 < 4000);
    assert_string_equal(dossier_client_endpoint(c),
                        testserver_endpoint(server));

    /* The client stays on the live endpoint: no more waiting. */
    t0 = testclock_now_ms();
    Dossier__V1__Report r = s_report("failover-write");
    assert_ok(dossier_put(c, &r, 0, false, NULL, &err), &err);
    assert_true(testclock_now_ms() - t0 < 1000);

    /* A write also moves past a dead endpoint, since it was never sent. */
    dossier_client_t *c2 = s_client(eps, 4000, 3, 1000);
    r.title = "written after failover";
    assert_ok(dossier_put(c2, &r, 0, false, NULL, &err), &err);
    Dossier__V1__Report *got = NULL;
    assert_ok(dossier_get(c, "failover-write", &got, &err), &err);
    assert_string_equal(got->title, "written after failover");
    assert_int_equal(got->version, 2);
    dossier_report_free(got);

    dossier_client_destroy(&c2);
    dossier_client_destroy(&c);
    testserver_stop(&server);
    s_dead_port_close(&dead);
}

/* A call made in a thread of its own, so that the main thread can kill
   and restart the server meanwhile (testserver wants one thread to start
   its servers: a server dies with the thread that started it). */
typedef struct {
    dossier_client_t *client;
    const char *id;
    bool put; /* else get */
    dossier_status_t rc;
    dossier_error_t err;
    Dossier__V1__Report *got;
    int64_t took_ms;
} s_call_t;

static void *
s_call_thread(void *arg) {
    s_call_t *call = arg;
    int64_t t0 = testclock_now_ms();
    if (call->put) {
        Dossier__V1__Report r = s_report(call->id);
        call->rc = dossier_put(call->client, &r, 0, false, NULL, &call->err);
    } else {
        call->rc = dossier_get(call->client, call->id, &call->got, &call->err);
    }
    call->took_ms = testclock_now_ms() - t0;
    return NULL;
}

/* Runs call in a thread while the frozen server is killed after
   delay_ms and started again on the same data and endpoint. */
static void
s_call_across_restart(testserver_t *server, s_call_t *call, int delay_ms) {
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_call_thread, call), 0);
    testclock_sleep_ms(delay_ms);
    assert_int_equal(testserver_kill(server, SIGKILL), 0);
    assert_true(testserver_wait(server, 5000) >= 0);
    int restarted = testserver_restart(server);
    pthread_join(thread, NULL);
    assert_int_equal(restarted, 0);
}

static testserver_t *
s_server_on_fixed_port(char *endpoint, size_t size) {
    /* The server picks its port; restarts then bind that same port. */
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    assert_int_equal(testserver_keep_endpoint(server), 0);
    snprintf(endpoint, size, "%s", testserver_endpoint(server));
    return server;
}

static void
test_idempotent_call_retried_after_restart(void **state) {
    (void)state;
    char ep[64];
    testserver_t *server = s_server_on_fixed_port(ep, sizeof ep);
    dossier_client_t *c = s_client(ep, 8000, 3, 200);
    dossier_error_t err = {0};
    Dossier__V1__Report r = s_report("restart-1");
    assert_ok(dossier_put(c, &r, 0, false, NULL, &err), &err);

    /* The server freezes with our connection open: the Get is sent into
       it and never answered. Heartbeats notice, the client reconnects,
       and once the server is back the Get is sent again. */
    assert_int_equal(testserver_kill(server, SIGSTOP), 0);
    s_call_t call = {.client = c, .id = "restart-1"};
    s_call_across_restart(server, &call, 1000);
    assert_ok(call.rc, &call.err);
    assert_string_equal(call.got->title, "Failover test");
    dossier_report_free(call.got);
    assert_true(call.took_ms >= 900); /* it did wait for the restart */
    assert_true(call.took_ms < 8000);

    dossier_client_destroy(&c);
    testserver_stop(&server);
}

static void
test_write_retried_with_its_key(void **state) {
    (void)state;
    char ep[64];
    testserver_t *server = s_server_on_fixed_port(ep, sizeof ep);
    dossier_client_t *c = s_client(ep, 8000, 3, 200);
    dossier_error_t err = {0};
    assert_ok(dossier_health(c, NULL, NULL, &err), &err);

    /* Sent into a frozen server that is killed and restarted within the
       timeout: the write is sent again with the same idempotency key and
       applied once, by the new server. */
    assert_int_equal(testserver_kill(server, SIGSTOP), 0);
    s_call_t call = {.client = c, .id = "restart-write", .put = true};
    s_call_across_restart(server, &call, 500);
    assert_ok(call.rc, &call.err);
    assert_true(dossier_client_request_sent(c));
    assert_true(call.took_ms >= 400);
    Dossier__V1__Report *got = NULL;
    assert_ok(dossier_get(c, "restart-write", &got, &err), &err);
    assert_int_equal(got->version, 1);
    dossier_report_free(got);
    dossier_client_destroy(&c);
    testserver_stop(&server);
}

static void
test_slow_reply_is_deadline_exceeded(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    /* Heartbeats off: a frozen server then looks like a slow one. */
    dossier_client_t *c = s_client(testserver_endpoint(server), 800, 0, 0);
    dossier_error_t err = {0};
    assert_ok(dossier_health(c, NULL, NULL, &err), &err);
    assert_int_equal(testserver_kill(server, SIGSTOP), 0);
    int64_t t0 = testclock_now_ms();
    assert_status(dossier_stats(c, NULL, &err), DOSSIER_DEADLINE_EXCEEDED,
                  &err);
    int64_t took = testclock_now_ms() - t0;
    /* It ended by its deadline: with heartbeats off and no retries,
       nothing else could end it (the server stays frozen meanwhile). */
    assert_true(took >= 700);
    assert_int_equal(testserver_kill(server, SIGCONT), 0);
    /* The client recovers; the abandoned call's late reply (on the
       closed socket) is not mistaken for this one's. */
    Dossier__V1__HealthResponse *h = NULL;
    assert_ok(dossier_health(c, NULL, &h, &err), &err);
    assert_ptr_equal(h->base.descriptor,
                     &dossier__v1__health_response__descriptor);
    dossier_message_free(h);
    dossier_client_destroy(&c);
    testserver_stop(&server);
}

/* A peer that takes requests and never answers: a ROUTER socket, as a
   hung server whose ZeroMQ threads still keep the connection alive. */
typedef struct {
    void *ctx;
    void *router;
    char endpoint[64];
} s_silent_t;

static void
s_silent_start(s_silent_t *s) {
    s->ctx = zmq_ctx_new();
    assert_non_null(s->ctx);
    s->router = zmq_socket(s->ctx, ZMQ_ROUTER);
    assert_non_null(s->router);
    int zero = 0;
    zmq_setsockopt(s->router, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(s->router, "tcp://127.0.0.1:*"), 0);
    size_t size = sizeof s->endpoint;
    assert_int_equal(
        zmq_getsockopt(s->router, ZMQ_LAST_ENDPOINT, s->endpoint, &size), 0);
}

/* Reads one request the silent peer got: [identity][empty][Request]. */
static Dossier__V1__Request *
s_silent_request(s_silent_t *s) {
    zmq_msg_t frames[3];
    int n = 0;
    int more = 1;
    while (more && n < 3) {
        zmq_msg_init(&frames[n]);
        if (zmq_msg_recv(&frames[n], s->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frames[n]);
            break;
        }
        more = zmq_msg_more(&frames[n]);
        n++;
    }
    Dossier__V1__Request *req = NULL;
    if (n == 3 && !more && zmq_msg_size(&frames[1]) == 0) {
        req = dossier__v1__request__unpack(NULL, zmq_msg_size(&frames[2]),
                                           zmq_msg_data(&frames[2]));
    }
    for (int i = 0; i < n; i++) {
        zmq_msg_close(&frames[i]);
    }
    return req;
}

static void
s_silent_stop(s_silent_t *s) {
    zmq_close(s->router);
    zmq_ctx_term(s->ctx);
}

static const char *
s_metadata(const Dossier__V1__Request *req, const char *key) {
    for (size_t i = 0; i < req->n_metadata; i++) {
        if (strcmp(req->metadata[i]->key, key) == 0) {
            return req->metadata[i]->value;
        }
    }
    return NULL;
}

static void
test_failover_from_silent_server(void **state) {
    (void)state;
    s_silent_t silent;
    s_silent_start(&silent);
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    char eps[256];
    snprintf(eps, sizeof eps, "%s,%s", silent.endpoint,
             testserver_endpoint(server));
    dossier_error_t err = {0};

    /* A read waits half its time on the silent peer, then fails over. */
    dossier_client_t *c = s_client(eps, 4000, 3, 1000);
    int64_t t0 = testclock_now_ms();
    assert_ok(dossier_stats(c, NULL, &err), &err);
    int64_t took = testclock_now_ms() - t0;
    assert_true(took >= 1900 && took < 4000);
    Dossier__V1__Request *req = s_silent_request(&silent);
    assert_non_null(req); /* [empty delimiter][Request], as documented */
    assert_string_equal(req->method, "dossier.v1.Reports/Stats");
    assert_true(req->id > 0);
    assert_true(req->deadline_ms > 0 && req->deadline_ms <= 4000);
    assert_null(s_metadata(req, "idempotency-key")); /* reads need none */
    assert_non_null(s_metadata(req, "client"));
    dossier__v1__request__free_unpacked(req, NULL);
    dossier_client_destroy(&c);

    /* A write is sent again like a read, with the same idempotency key
       (the server applies a key once): the silent peer got it first,
       then the live server, which applied it. */
    c = s_client(eps, 4000, 3, 1000);
    Dossier__V1__Report r = s_report("silent-write");
    Dossier__V1__PutResponse *put_response = NULL;
    t0 = testclock_now_ms();
    assert_ok(dossier_put(c, &r, 0, false, &put_response, &err), &err);
    took = testclock_now_ms() - t0;
    assert_true(took >= 1900 && took < 4000);
    assert_int_equal(put_response->version, 1);
    dossier_message_free(put_response);
    assert_true(dossier_client_request_sent(c));
    req = s_silent_request(&silent);
    assert_non_null(req);
    assert_string_equal(req->method, "dossier.v1.Reports/Put");
    const char *key = s_metadata(req, "idempotency-key");
    assert_non_null(key);
    assert_int_equal(strlen(key), 32);
    assert_int_equal(strspn(key, "0123456789abcdef"), 32);
    Dossier__V1__PutRequest *put = dossier__v1__put_request__unpack(
        NULL, req->payload.len, req->payload.data);
    assert_non_null(put);
    assert_string_equal(put->report->id, "silent-write");
    dossier__v1__put_request__free_unpacked(put, NULL);
    dossier__v1__request__free_unpacked(req, NULL);
    assert_null(s_silent_request(&silent)); /* the silent peer got it once */
    Dossier__V1__Report *got = NULL;
    assert_ok(dossier_get(c, "silent-write", &got, &err), &err);
    assert_int_equal(got->version, 1);
    dossier_report_free(got);

    /* Two calls, two keys: the key names one logical call. */
    dossier_client_destroy(&c);
    c = s_client(silent.endpoint, 300, 0, 1000);
    assert_status(dossier_delete(c, "a", 0, NULL, &err),
                  DOSSIER_DEADLINE_EXCEEDED, &err);
    assert_status(dossier_delete(c, "a", 0, NULL, &err),
                  DOSSIER_DEADLINE_EXCEEDED, &err);
    Dossier__V1__Request *first = s_silent_request(&silent);
    Dossier__V1__Request *second = s_silent_request(&silent);
    assert_non_null(first);
    assert_non_null(second);
    /* Each call has an id of its own (the two may arrive in either
       order: each went out on a socket of its own). */
    assert_int_not_equal(first->id, second->id);
    assert_string_not_equal(s_metadata(first, "idempotency-key"),
                            s_metadata(second, "idempotency-key"));
    dossier__v1__request__free_unpacked(first, NULL);
    dossier__v1__request__free_unpacked(second, NULL);

    dossier_client_destroy(&c);
    testserver_stop(&server);
    s_silent_stop(&silent);
}

/* A peer that answers each request in a way given by its mode: the
   client must turn every odd reply into a clear status, never a crash. */
typedef enum {
    S_REPLY_GARBAGE,      /* bytes that are not a Response */
    S_REPLY_ODD_CODE,     /* code 999 */
    S_REPLY_BAD_PAYLOAD,  /* OK, but the payload is not the message */
    S_REPLY_STALE_FIRST,  /* a reply with another id, then the right one */
    S_REPLY_NO_DELIMITER, /* [Response] without the empty frame */
} s_reply_mode_t;

typedef struct {
    s_silent_t peer;
    s_reply_mode_t mode;
} s_odd_t;

static void
s_send_reply(void *router, zmq_msg_t *identity, bool delimiter,
             const void *body, size_t size) {
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, identity);
    zmq_msg_send(&copy, router, ZMQ_SNDMORE);
    if (delimiter) {
        zmq_send(router, "", 0, ZMQ_SNDMORE);
    }
    zmq_send(router, body, size, 0);
}

static void
s_send_response(void *router, zmq_msg_t *identity, uint64_t id, int code,
                const void *payload, size_t size, bool delimiter) {
    Dossier__V1__Response resp = DOSSIER__V1__RESPONSE__INIT;
    resp.id = id;
    resp.code = code;
    resp.message = code ? "odd" : "";
    resp.payload.data = (uint8_t *)payload;
    resp.payload.len = size;
    uint8_t buf[256];
    size_t n = dossier__v1__response__pack(&resp, buf);
    s_send_reply(router, identity, delimiter, buf, n);
}

static void *
s_odd_thread(void *arg) {
    s_odd_t *o = arg;
    zmq_pollitem_t item = {o->peer.router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 5000) != 1) {
        return NULL;
    }
    zmq_msg_t identity;
    zmq_msg_init(&identity);
    zmq_msg_recv(&identity, o->peer.router, 0);
    /* Then [empty][Request]: the body is the last frame. */
    Dossier__V1__Request *req = NULL;
    for (int i = 0; i < 4; i++) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, o->peer.router, 0) < 0) {
            zmq_msg_close(&frame);
            break;
        }
        bool last = !zmq_msg_more(&frame);
        if (last) {
            req = dossier__v1__request__unpack(NULL, zmq_msg_size(&frame),
                                               zmq_msg_data(&frame));
        }
        zmq_msg_close(&frame);
        if (last) {
            break;
        }
    }
    if (req != NULL) {
        static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01, 0x02};
        switch (o->mode) {
        case S_REPLY_GARBAGE:
            s_send_reply(o->peer.router, &identity, true, junk, sizeof junk);
            break;
        case S_REPLY_ODD_CODE:
            s_send_response(o->peer.router, &identity, req->id, 999, NULL, 0,
                            true);
            break;
        case S_REPLY_BAD_PAYLOAD:
            s_send_response(o->peer.router, &identity, req->id, 0, junk,
                            sizeof junk, true);
            break;
        case S_REPLY_STALE_FIRST:
            s_send_response(o->peer.router, &identity, req->id + 1000, 5, NULL,
                            0, true);
            s_send_response(o->peer.router, &identity, req->id, 0, NULL, 0,
                            true);
            break;
        case S_REPLY_NO_DELIMITER:
            s_send_response(o->peer.router, &identity, req->id, 0, NULL, 0,
                            false);
            break;
        }
        dossier__v1__request__free_unpacked(req, NULL);
    }
    zmq_msg_close(&identity);
    return NULL;
}

static dossier_status_t
s_call_odd_peer(s_reply_mode_t mode, dossier_error_t *err) {
    s_odd_t odd = {.mode = mode};
    s_silent_start(&odd.peer);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_odd_thread, &odd), 0);
    dossier_client_t *c = s_client(odd.peer.endpoint, 2000, 0, 1000);
    Dossier__V1__HealthResponse *h = NULL;
    dossier_status_t rc = dossier_health(c, NULL, &h, err);
    if (rc == DOSSIER_OK) {
        assert_non_null(h);
        dossier_message_free(h);
    } else {
        assert_null(h);
    }
    pthread_join(thread, NULL);
    dossier_client_destroy(&c);
    s_silent_stop(&odd.peer);
    return rc;
}

static void
test_odd_replies(void **state) {
    (void)state;
    dossier_error_t err = {0};
    assert_status(s_call_odd_peer(S_REPLY_GARBAGE, &err), DOSSIER_INTERNAL,
                  &err);
    assert_non_null(strstr(err.message, "not a dossier.v1.Response"));
    assert_status(s_call_odd_peer(S_REPLY_ODD_CODE, &err), DOSSIER_UNKNOWN,
                  &err);
    assert_non_null(strstr(err.message, "999"));
    assert_status(s_call_odd_peer(S_REPLY_BAD_PAYLOAD, &err), DOSSIER_INTERNAL,
                  &err);
    assert_non_null(strstr(err.message, "cannot decode"));
    /* A reply with another id is dropped; the right one is taken. */
    assert_ok(s_call_odd_peer(S_REPLY_STALE_FIRST, &err), &err);
    /* A REQ-style reply (no delimiter) is still read. */
    assert_ok(s_call_odd_peer(S_REPLY_NO_DELIMITER, &err), &err);
}

/*  Waits up to timeout_ms for a request at the silent peer s; NULL when
    none came. */
static Dossier__V1__Request *
s_silent_wait(s_silent_t *s, int timeout_ms) {
    zmq_pollitem_t item = {s->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) != 1) {
        return NULL;
    }
    return s_silent_request(s);
}

/*  The next request for method name ("Put") the silent peer gets within
    timeout_ms, or NULL. Requests of other methods are dropped: a late
    copy of the previous method's resend, still on its way when that
    call gave up, must not pass for this method's. */
static Dossier__V1__Request *
s_silent_wait_for(s_silent_t *s, const char *name, int timeout_ms) {
    int64_t give_up = testclock_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = give_up - testclock_now_ms();
        Dossier__V1__Request *req = s_silent_wait(s, left > 0 ? (int)left : 0);
        if (!req) {
            return NULL;
        }
        const char *slash = req->method ? strrchr(req->method, '/') : NULL;
        if (slash && strcmp(slash + 1, name) == 0) {
            return req;
        }
        dossier__v1__request__free_unpacked(req, NULL);
    }
}

/*  What reports.proto says of each method, written out here by hand so
    that a change of the proto that loosens a method's resend rule fails
    this test: R a read (NO_SIDE_EFFECTS: resent, no key), W a write
    (IDEMPOTENT: resent with the same key), N never resent (Backup,
    CreateToken). */
static const struct {
    const char *name;
    char kind;
} s_resend_rules[] = {
    {"Put", 'W'},         {"Get", 'R'},           {"Delete", 'W'},
    {"List", 'R'},        {"ImportText", 'W'},    {"ImportBatch", 'W'},
    {"PutBatch", 'W'},    {"ListVersions", 'R'},  {"History", 'R'},
    {"Changes", 'R'},     {"Search", 'R'},        {"Stats", 'R'},
    {"Health", 'R'},      {"Describe", 'R'},      {"Audit", 'R'},
    {"Backup", 'N'},      {"BackupRead", 'R'},    {"ReloadUsers", 'W'},
    {"WhoAmI", 'R'},      {"CreateToken", 'N'},   {"ListTokens", 'R'},
    {"RevokeToken", 'W'}, {"ClusterStatus", 'R'},
};

/*  Every method against two silent peers: a call the proto allows to be
    resent moves on to the second peer after half its time and is sent
    there again (a write with the key of its first attempt); Backup is
    sent once, to the first peer only. */
static void
test_resend_follows_the_proto(void **state) {
    (void)state;
    const ProtobufCServiceDescriptor *service =
        &dossier__v1__reports__descriptor;
    assert_int_equal(service->n_methods,
                     sizeof s_resend_rules / sizeof s_resend_rules[0]);
    s_silent_t first, second;
    s_silent_start(&first);
    s_silent_start(&second);
    char eps[256];
    snprintf(eps, sizeof eps, "%s,%s", first.endpoint, second.endpoint);
    for (size_t i = 0; i < service->n_methods; i++) {
        const ProtobufCMethodDescriptor *method = &service->methods[i];
        char kind = s_resend_rules[i].kind;
        assert_string_equal(method->name, s_resend_rules[i].name);
        /* An empty message of the method's input type. */
        ProtobufCMessage *input = calloc(1, method->input->sizeof_message);
        assert_non_null(input);
        method->input->message_init(input);
        dossier_client_t *c = s_client(eps, 600, 3, 1000);
        dossier_error_t err = {0};
        dossier_status_t rc =
            dossier_call(c, method->name, input, method->output, NULL, &err);
        assert_int_not_equal(rc, DOSSIER_OK);
        dossier_client_destroy(&c);
        free(input);

        Dossier__V1__Request *sent =
            s_silent_wait_for(&first, method->name, 2000);
        if (!sent) {
            fail_msg("%s was not sent to the first peer", method->name);
        }
        const char *key = s_metadata(sent, "idempotency-key");
        if (kind == 'R' && key) {
            fail_msg("%s, a read, was sent with an idempotency key",
                     method->name);
        }
        if (kind == 'W' && !key) {
            fail_msg("%s, a write, was sent without an idempotency key",
                     method->name);
        }
        Dossier__V1__Request *resent =
            s_silent_wait_for(&second, method->name, kind == 'N' ? 300 : 2000);
        if (kind == 'N' && resent) {
            fail_msg("%s was sent again; the proto does not allow it",
                     method->name);
        }
        if (kind != 'N' && !resent) {
            fail_msg("%s was not sent again; the proto allows it",
                     method->name);
        }
        if (kind == 'W') {
            const char *again = s_metadata(resent, "idempotency-key");
            assert_non_null(again);
            assert_string_equal(again, key);
        }
        dossier__v1__request__free_unpacked(sent, NULL);
        if (resent) {
            dossier__v1__request__free_unpacked(resent, NULL);
        }
        /* Nothing else may still come. */
        while ((sent = s_silent_request(&first)) != NULL) {
            dossier__v1__request__free_unpacked(sent, NULL);
        }
        while ((sent = s_silent_request(&second)) != NULL) {
            dossier__v1__request__free_unpacked(sent, NULL);
        }
    }
    s_silent_stop(&first);
    s_silent_stop(&second);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unreachable_is_unavailable_within_timeout),
        cmocka_unit_test(test_failover_to_second_endpoint),
        cmocka_unit_test(test_failover_from_silent_server),
        cmocka_unit_test(test_odd_replies),
        cmocka_unit_test(test_resend_follows_the_proto),
        cmocka_unit_test(test_idempotent_call_retried_after_restart),
        cmocka_unit_test(test_write_retried_with_its_key),
        cmocka_unit_test(test_slow_reply_is_deadline_exceeded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
