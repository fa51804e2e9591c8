/*  test_zap_handler.c: auth_zap_handle, dossierd's ZAP handler (RFC 27),
    against requests libzmq would send and requests it never would: each
    gets exactly one well-formed reply, and only a CURVE key of the users
    table gets "200" with that key as User-Id. A DEALER plays libzmq's
    side of a REP bound at an inproc endpoint of the test's own. */
#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "net/auth.h"

typedef struct {
    char dir[64];
    char users[128];
    char server_key[128];
    config_t config;
    auth_t *auth;
    zcert_t *alice; /* a user of the table */
    void *context;
    void *handler; /* REP: what the loop binds */
    void *client;  /* DEALER: libzmq's side */
} s_fixture_t;

static int
s_setup(void **state) {
    s_fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dossier-zap-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->users, sizeof fx->users, "%s/users", fx->dir);
    assert_int_equal(zsys_dir_create("%s", fx->users), 0);
    zcert_t *server = zcert_new();
    snprintf(fx->server_key, sizeof fx->server_key, "%s/server.key", fx->dir);
    assert_int_equal(zcert_save(server, fx->server_key), 0);
    zcert_destroy(&server);
    strcat(fx->server_key, "_secret");
    fx->alice = zcert_new();
    zcert_set_meta(fx->alice, "name", "alice");
    zcert_set_meta(fx->alice, "role", "reader");
    char path[256];
    snprintf(path, sizeof path, "%s/alice.key", fx->users);
    assert_int_equal(zcert_save_public(fx->alice, path), 0);

    fx->config.bind = "tcp://127.0.0.1:*";
    fx->config.curve_secret_key_file = fx->server_key;
    fx->config.users_dir = fx->users;
    dossier_error_t err = {0};
    fx->auth = auth_new(&fx->config, &err);
    if (!fx->auth) {
        fail_msg("auth_new: %s", err.message);
    }
    fx->context = zmq_ctx_new();
    fx->handler = zmq_socket(fx->context, ZMQ_REP);
    fx->client = zmq_socket(fx->context, ZMQ_DEALER);
    int timeout = 5000;
    assert_int_equal(
        zmq_setsockopt(fx->client, ZMQ_RCVTIMEO, &timeout, sizeof timeout), 0);
    assert_int_equal(zmq_bind(fx->handler, "inproc://test-zap"), 0);
    assert_int_equal(zmq_connect(fx->client, "inproc://test-zap"), 0);
    *state = fx;
    return 0;
}

static int
s_teardown(void **state) {
    s_fixture_t *fx = *state;
    zmq_close(fx->client);
    zmq_close(fx->handler);
    zmq_ctx_term(fx->context);
    auth_destroy(&fx->auth);
    zcert_destroy(&fx->alice);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", fx->dir);
    int rc = system(command);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/*  Sends [empty] then n >= 1 frames (text, or 32 bytes when size says so),
    lets the handler answer, and checks the reply: 6 frames after the
    delimiter, version "1.0", the request id want_id, status
    want_status, and User-Id want_user with empty metadata. */
static void
s_exchange(s_fixture_t *fx, const char *const *frames, const size_t *sizes,
           size_t n, const char *want_id, const char *want_status,
           const char *want_user) {
    assert_int_equal(zmq_send(fx->client, "", 0, ZMQ_SNDMORE), 0);
    for (size_t i = 0; i < n; i++) {
        size_t size = sizes && sizes[i] ? sizes[i] : strlen(frames[i]);
        assert_int_equal(
            zmq_send(fx->client, frames[i], size, i + 1 < n ? ZMQ_SNDMORE : 0),
            (int)size);
    }
    zmq_pollitem_t item = {fx->handler, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 5000), 1);
    auth_zap_handle(fx->auth, fx->handler);

    zmsg_t *reply = zmsg_new();
    zmq_msg_t part;
    int more = 1;
    while (more) {
        zmq_msg_init(&part);
        assert_true(zmq_msg_recv(&part, fx->client, 0) >= 0);
        zmsg_addmem(reply, zmq_msg_data(&part), zmq_msg_size(&part));
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    assert_int_equal(zmsg_size(reply), 7);
    char *delimiter = zmsg_popstr(reply);
    char *version = zmsg_popstr(reply);
    char *id = zmsg_popstr(reply);
    char *status = zmsg_popstr(reply);
    char *text = zmsg_popstr(reply);
    char *user = zmsg_popstr(reply);
    char *metadata = zmsg_popstr(reply);
    assert_string_equal(delimiter, "");
    assert_string_equal(version, "1.0");
    assert_string_equal(id, want_id);
    assert_string_equal(status, want_status);
    assert_true(strlen(text) > 0);
    assert_string_equal(user, want_user);
    assert_string_equal(metadata, "");
    zstr_free(&delimiter);
    zstr_free(&version);
    zstr_free(&id);
    zstr_free(&status);
    zstr_free(&text);
    zstr_free(&user);
    zstr_free(&metadata);
    zmsg_destroy(&reply);
}

static void
test_known_key_admitted_as_itself(void **state) {
    s_fixture_t *fx = *state;
    const char *frames[] = {"1.0",
                            "17",
                            "dossier",
                            "127.0.0.1",
                            "peer",
                            "CURVE",
                            (const char *)zcert_public_key(fx->alice)};
    const size_t sizes[] = {0, 0, 0, 0, 0, 0, 32};
    s_exchange(fx, frames, sizes, 7, "17", "200", zcert_public_txt(fx->alice));
}

static void
test_unknown_key_refused(void **state) {
    s_fixture_t *fx = *state;
    zcert_t *stranger = zcert_new();
    const char *frames[] = {"1.0",
                            "18",
                            "dossier",
                            "127.0.0.1",
                            "peer",
                            "CURVE",
                            (const char *)zcert_public_key(stranger)};
    const size_t sizes[] = {0, 0, 0, 0, 0, 0, 32};
    s_exchange(fx, frames, sizes, 7, "18", "400", "");
    zcert_destroy(&stranger);
}

static void
test_malformed_requests_refused(void **state) {
    s_fixture_t *fx = *state;
    const char *key = (const char *)zcert_public_key(fx->alice);
    const size_t sizes[] = {0, 0, 0, 0, 0, 0, 32, 0, 0};
    /* Too few frames. */
    const char *one[] = {"1.0"};
    s_exchange(fx, one, NULL, 1, "", "400", "");
    const char *three[] = {"1.0", "19", "dossier"};
    s_exchange(fx, three, NULL, 3, "19", "400", "");
    /* Too many. */
    const char *nine[] = {"1.0",   "20", "dossier", "a", "b",
                          "CURVE", key,  "x",       "y"};
    s_exchange(fx, nine, sizes, 9, "20", "400", "");
    /* Another version, mechanism, domain; a key of the wrong size. */
    const char *version[] = {"2.0", "21", "dossier", "a", "b", "CURVE", key};
    s_exchange(fx, version, sizes, 7, "21", "400", "");
    const char *plain[] = {"1.0", "22", "dossier", "a", "b", "PLAIN", key};
    s_exchange(fx, plain, sizes, 7, "22", "400", "");
    const char *domain[] = {"1.0", "23", "other", "a", "b", "CURVE", key};
    s_exchange(fx, domain, sizes, 7, "23", "400", "");
    const char *shortkey[] = {"1.0", "24",    "dossier", "a",
                              "b",   "CURVE", "short"};
    s_exchange(fx, shortkey, NULL, 7, "24", "400", "");
    /* And the handler still admits alice. */
    const char *good[] = {"1.0", "25", "dossier", "a", "b", "CURVE", key};
    s_exchange(fx, good, sizes, 7, "25", "200", zcert_public_txt(fx->alice));
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_key_admitted_as_itself,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_requests_refused,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
