/*  test_poller.c: net/poller.h against real ZeroMQ sockets (inproc PAIRs):
    a socket is ready when a message reaches it, not once it is read to
    EAGAIN; a call that consumed its signal hides a waiting message until
    poller_recheck or poller_check; an idle round looks at every socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <zmq.h>

#include <cmocka.h>

#include "net/poller.h"

typedef struct {
    void *context;
    void *near; /* polled */
    void *far;  /* sends to near */
    poller_t *poller;
} s_pair_t;

static int
s_setup(void **state) {
    static s_pair_t pair;
    pair.context = zmq_ctx_new();
    pair.near = zmq_socket(pair.context, ZMQ_PAIR);
    pair.far = zmq_socket(pair.context, ZMQ_PAIR);
    if (!pair.near || !pair.far ||
        zmq_bind(pair.near, "inproc://test-poller") != 0 ||
        zmq_connect(pair.far, "inproc://test-poller") != 0) {
        return -1;
    }
    dossier_error_t err = {0};
    pair.poller = poller_new(&pair.near, 1, &err);
    if (!pair.poller) {
        return -1;
    }
    *state = &pair;
    return 0;
}

static int
s_teardown(void **state) {
    s_pair_t *pair = *state;
    poller_destroy(&pair->poller);
    int linger = 0;
    zmq_setsockopt(pair->near, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(pair->far, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(pair->near);
    zmq_close(pair->far);
    zmq_ctx_term(pair->context);
    return 0;
}

/*  Reads near until EAGAIN, as the loop does; returns the messages. */
static int
s_drain(s_pair_t *pair) {
    int count = 0;
    char byte;
    while (zmq_recv(pair->near, &byte, 1, ZMQ_DONTWAIT) >= 0) {
        count++;
    }
    assert_int_equal(errno, EAGAIN);
    poller_settled(pair->poller, 0);
    return count;
}

static void
test_ready_on_message(void **state) {
    s_pair_t *pair = *state;
    /* New: every socket is looked at once. */
    assert_int_equal(poller_wait(pair->poller, 0), 0);
    assert_true(poller_ready(pair->poller, 0));
    assert_int_equal(s_drain(pair), 0);
    /* Read to EAGAIN and nothing sent: not ready. */
    assert_int_equal(poller_wait(pair->poller, 0), 0);
    assert_false(poller_ready(pair->poller, 0));
    assert_int_equal(zmq_send(pair->far, "x", 1, 0), 1);
    /* The message's signal wakes the wait (bounded at 10 s). */
    assert_int_equal(poller_wait(pair->poller, 10000), 0);
    assert_true(poller_ready(pair->poller, 0));
    assert_int_equal(s_drain(pair), 1);
    assert_int_equal(poller_wait(pair->poller, 0), 0);
    assert_false(poller_ready(pair->poller, 0));
}

/*  ZMQ_EVENTS processes the socket's commands, as a send may: the
    message waits and the descriptor no longer says so. */
static void
s_hide_message(s_pair_t *pair) {
    assert_int_equal(zmq_send(pair->far, "y", 1, 0), 1);
    uint32_t events = 0;
    size_t size = sizeof events;
    assert_int_equal(zmq_getsockopt(pair->near, ZMQ_EVENTS, &events, &size), 0);
    assert_true(events & ZMQ_POLLIN);
    assert_int_equal(poller_wait(pair->poller, 0), 0);
    assert_false(poller_ready(pair->poller, 0));
}

static void
test_recheck_shows_hidden_message(void **state) {
    s_pair_t *pair = *state;
    poller_wait(pair->poller, 0);
    s_drain(pair);
    s_hide_message(pair);
    poller_recheck(pair->poller, 0);
    assert_int_equal(poller_wait(pair->poller, 0), 0);
    assert_true(poller_ready(pair->poller, 0));
    assert_int_equal(s_drain(pair), 1);
    /* The mark was used once. */
    assert_int_equal(poller_wait(pair->poller, 0), 0);
    assert_false(poller_ready(pair->poller, 0));
}

static void
test_check_marks_only_when_waiting(void **state) {
    s_pair_t *pair = *state;
    poller_wait(pair->poller, 0);
    s_drain(pair);
    s_hide_message(pair);
    poller_check(pair->poller, 0);
    assert_int_equal(poller_wait(pair->poller, 0), 0);
    assert_true(poller_ready(pair->poller, 0));
    char byte;
    assert_int_equal(zmq_recv(pair->near, &byte, 1, ZMQ_DONTWAIT), 1);
    poller_check(pair->poller, 0); /* nothing left: settled */
    assert_int_equal(poller_wait(pair->poller, 0), 0);
    assert_false(poller_ready(pair->poller, 0));
}

static void
test_idle_round_looks_at_every_socket(void **state) {
    s_pair_t *pair = *state;
    poller_wait(pair->poller, 0);
    s_drain(pair);
    s_hide_message(pair);
    /* Nothing signals: the wait sleeps its timeout, then reports all. */
    assert_int_equal(poller_wait(pair->poller, 20), 0);
    assert_true(poller_ready(pair->poller, 0));
    assert_int_equal(s_drain(pair), 1);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ready_on_message, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_recheck_shows_hidden_message,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_marks_only_when_waiting,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_idle_round_looks_at_every_socket,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
