/*  test_user_scope.c: what a user's name may and may not carry, against
    a dossierd with CURVE and a users directory (made as in
    test_auth_curve.c: the server's key pair, alice a writer, root an
    admin).

    - Idempotency keys belong to the key that used them, not to its name:
      once alice's certificate is replaced by a new key pair with the
      same name, a write of the new key with an idempotency key the old
      one used is a new write, not the old key's stored reply.
    - Another user (bob) sending a key alice used gets a write of his
      own, not alice's stored reply.
    - A key is remembered across a restart: the same write sent again
      after it is answered from the key.
    - A key is forgotten after idempotency_ttl_s (1 s here, so that the
      test waits little): the same write sent again is then a new write.
    - The users directory gone: ReloadUsers and SIGHUP fail, and the
      table loaded before stays.
    - A certificate whose name is not UTF-8 is refused when the users
      table loads. */
#include <czmq.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dossier.h"
#include "testassert.h"
#include "testclock.h"
#include "testcurve.h"
#include "testserver.h"
#include "text.h"

#define M(name) "dossier.v1.Reports/" name

/* The fixture: a CURVE dossierd with users alice (writer) and root
   (admin) (tests/support/testcurve.h). */
typedef testcurve_t s_fixture_t;

/*  Writes a user's public certificate into the users dir as file.key
    and its secret as keys/file.key_secret. */
static void
s_make_user(s_fixture_t *fx, const char *file, const char *name,
            const char *role) {
    zcert_t *cert = testcurve_user(fx, NULL, file, name, role);
    zcert_destroy(&cert);
}

static int
s_setup(void **state) {
    s_fixture_t *fx = testcurve_new("scope");
    s_make_user(fx, "alice", "alice", "writer");
    s_make_user(fx, "root", "root", "admin");
    testcurve_start(fx, NULL);
    *state = fx;
    return 0;
}

static int
s_teardown(void **state) {
    s_fixture_t *fx = *state;
    testcurve_destroy(&fx);
    return 0;
}

/*  ReloadUsers as root; returns the number of users loaded. */
static size_t
s_reload(s_fixture_t *fx) {
    dossier_client_t *root = testcurve_client(fx, "root", 5000);
    Dossier__V1__ReloadUsersRequest request =
        DOSSIER__V1__RELOAD_USERS_REQUEST__INIT;
    Dossier__V1__ReloadUsersResponse *response = NULL;
    dossier_error_t err = {0};
    assert_ok(dossier_call(root, "ReloadUsers", &request.base,
                           &dossier__v1__reload_users_response__descriptor,
                           (ProtobufCMessage **)&response, &err),
              &err);
    size_t users = response->users;
    dossier_message_free(response);
    dossier_client_destroy(&root);
    return users;
}

/*  WhoAmI with the keys of file, with a fresh client each time, until it
    answers want (and with role, when want is DOSSIER_OK): a reload, and
    what the server admits to the CURVE handshake, are asynchronous to
    the test's new connections. At most 30 s. Returns the answer, the
    caller's (NULL unless want is DOSSIER_OK). */
static Dossier__V1__WhoAmIResponse *
s_wait_whoami(s_fixture_t *fx, const char *file, dossier_status_t want,
              const char *role) {
    dossier_error_t err = {0};
    dossier_status_t rc = DOSSIER_UNKNOWN;
    int64_t give_up = testclock_now_ms() + 30000;
    while (testclock_now_ms() < give_up) {
        dossier_client_t *client = testcurve_client(fx, file, 1000);
        Dossier__V1__WhoAmIRequest request = DOSSIER__V1__WHO_AM_IREQUEST__INIT;
        Dossier__V1__WhoAmIResponse *who = NULL;
        rc = dossier_call(client, "WhoAmI", &request.base,
                          &dossier__v1__who_am_iresponse__descriptor,
                          (ProtobufCMessage **)&who, &err);
        dossier_client_destroy(&client);
        if (rc == want && (rc != DOSSIER_OK || strcmp(who->role, role) == 0)) {
            return who;
        }
        dossier_message_free(who);
        testclock_sleep_ms(100);
    }
    testserver_print_log(fx->ts);
    fail_msg("%s: WhoAmI still %s (%s) after 30 s, want %s %s", file,
             dossier_strerror(rc), err.message, dossier_strerror(want),
             role ? role : "");
    return NULL;
}

/*  One Put of report with idempotency key key over a raw CURVE DEALER
    with the keys of file (libdossier makes its own keys); returns the
    Response, the caller's. key NULL: no idempotency key. */
static Dossier__V1__Response *
s_put_with_key(s_fixture_t *fx, const char *file, Dossier__V1__Report *report,
               const char *key) {
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = report;
    Dossier__V1__Request__MetadataEntry entry =
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT;
    Dossier__V1__Request__MetadataEntry *metadata[1] = {&entry};
    entry.key = "idempotency-key";
    entry.value = (char *)key;
    return testcurve_call_raw(fx, file, M("Put"), &put.base, metadata,
                              key ? 1 : 0);
}

/*  The version a successful Put reply names. */
static uint64_t
s_put_version(const Dossier__V1__Response *response) {
    if (response->code != DOSSIER_OK) {
        fail_msg("Put: code %d (%s)", (int)response->code, response->message);
    }
    Dossier__V1__PutResponse *put = dossier__v1__put_response__unpack(
        NULL, response->payload.len, response->payload.data);
    assert_non_null(put);
    uint64_t version = put->version;
    dossier__v1__put_response__free_unpacked(put, NULL);
    return version;
}

static Dossier__V1__Report
s_report(const char *id, const char *title) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = (char *)title;
    r.country = "Atlantis";
    r.year = 2020;
    r.doc_type = "Trafficking in Persons Report";
    return r;
}

static void
test_idempotency_key_belongs_to_the_key(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__Report r = s_report("scope-1", "first");
    Dossier__V1__Response *response =
        s_put_with_key(fx, "alice", &r, "scope-key-1");
    assert_int_equal(s_put_version(response), 1);
    dossier__v1__response__free_unpacked(response, NULL);
    /* The same key pair again: answered from the key, not written. */
    response = s_put_with_key(fx, "alice", &r, "scope-key-1");
    assert_int_equal(s_put_version(response), 1);
    dossier__v1__response__free_unpacked(response, NULL);

    /* alice is re-keyed: her old key goes, then a new key pair with the
       same name comes. */
    zcert_t *old = testcurve_cert(fx, "alice");
    char path[256];
    snprintf(path, sizeof path, "%s/alice.key", fx->users);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(s_reload(fx), 1);
    s_wait_whoami(fx, "alice", DOSSIER_UNAUTHENTICATED, NULL);
    s_make_user(fx, "alice-new", "alice", "writer");
    assert_int_equal(s_reload(fx), 2);
    Dossier__V1__WhoAmIResponse *who =
        s_wait_whoami(fx, "alice-new", DOSSIER_OK, "writer");
    assert_string_equal(who->name, "alice");
    assert_string_not_equal(who->public_key, zcert_public_txt(old));
    dossier_message_free(who);
    zcert_destroy(&old);

    /* The new key's write with the old key's idempotency key is its own
       write. */
    r.title = "second";
    response = s_put_with_key(fx, "alice-new", &r, "scope-key-1");
    assert_int_equal(s_put_version(response), 2);
    dossier__v1__response__free_unpacked(response, NULL);
    dossier_client_t *client = testcurve_client(fx, "alice-new", 5000);
    Dossier__V1__Report *got = NULL;
    dossier_error_t err = {0};
    assert_ok(dossier_get(client, "scope-1", &got, &err), &err);
    assert_int_equal(got->version, 2);
    assert_string_equal(got->title, "second");
    dossier_report_free(got);
    dossier_client_destroy(&client);
}

static void
test_another_user_reusing_a_key_writes_its_own(void **state) {
    s_fixture_t *fx = *state;
    s_make_user(fx, "bob", "bob", "writer");
    assert_int_equal(s_reload(fx), 3);
    dossier_message_free(s_wait_whoami(fx, "bob", DOSSIER_OK, "writer"));
    Dossier__V1__Report mine = s_report("scope-alice", "alice's");
    Dossier__V1__Response *response =
        s_put_with_key(fx, "alice", &mine, "shared-key-1");
    assert_int_equal(s_put_version(response), 1);
    dossier__v1__response__free_unpacked(response, NULL);
    /* bob, the same key, a write of another record: applied as his. */
    Dossier__V1__Report his = s_report("scope-bob", "bob's");
    response = s_put_with_key(fx, "bob", &his, "shared-key-1");
    assert_int_equal(s_put_version(response), 1);
    dossier__v1__response__free_unpacked(response, NULL);
    dossier_client_t *client = testcurve_client(fx, "root", 5000);
    Dossier__V1__Report *got = NULL;
    dossier_error_t err = {0};
    assert_ok(dossier_get(client, "scope-bob", &got, &err), &err);
    assert_string_equal(got->title, "bob's");
    assert_string_equal(got->created_by, "bob");
    dossier_report_free(got);
    /* And bob's key does not shadow alice's: hers still replays. */
    mine.title = "changed";
    response = s_put_with_key(fx, "alice", &mine, "shared-key-1");
    assert_int_equal(s_put_version(response), 1);
    dossier__v1__response__free_unpacked(response, NULL);
    assert_ok(dossier_get(client, "scope-alice", &got, &err), &err);
    assert_string_equal(got->title, "alice's");
    assert_int_equal(got->version, 1);
    dossier_report_free(got);
    dossier_client_destroy(&client);
}

static void
test_key_replayed_after_restart(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__Report r = s_report("scope-restart", "before");
    Dossier__V1__Response *response =
        s_put_with_key(fx, "alice", &r, "restart-key-1");
    assert_int_equal(s_put_version(response), 1);
    dossier__v1__response__free_unpacked(response, NULL);
    assert_int_equal(testserver_restart(fx->ts), 0);
    /* The same write after the restart: its stored reply, not version
       2, and the record untouched. */
    r.title = "after";
    response = s_put_with_key(fx, "alice", &r, "restart-key-1");
    assert_int_equal(s_put_version(response), 1);
    dossier__v1__response__free_unpacked(response, NULL);
    dossier_client_t *client = testcurve_client(fx, "alice", 5000);
    Dossier__V1__Report *got = NULL;
    dossier_error_t err = {0};
    assert_ok(dossier_get(client, "scope-restart", &got, &err), &err);
    assert_string_equal(got->title, "before");
    assert_int_equal(got->version, 1);
    dossier_report_free(got);
    dossier_client_destroy(&client);
}

/*  A server that keeps keys 1 s: the same write is replayed at once, and
    once a commit after that second has expired the key, it is a new
    write. Keys expire in commits that write (a batch of replays alone
    commits nothing), so each round writes another record first. Polled
    every 100 ms for at most 30 s. */
static void
test_key_forgotten_after_its_ttl(void **state) {
    (void)state;
    s_fixture_t *fx = testcurve_new("ttl");
    s_make_user(fx, "alice", "alice", "writer");
    testcurve_start(fx, "--idempotency-ttl-s 1");
    Dossier__V1__Report r = s_report("scope-ttl", "ttl");
    Dossier__V1__Response *response =
        s_put_with_key(fx, "alice", &r, "ttl-key-1");
    assert_int_equal(s_put_version(response), 1);
    dossier__v1__response__free_unpacked(response, NULL);
    response = s_put_with_key(fx, "alice", &r, "ttl-key-1");
    assert_int_equal(s_put_version(response), 1); /* within its TTL */
    dossier__v1__response__free_unpacked(response, NULL);
    uint64_t version = 1;
    int64_t started = testclock_now_ms();
    for (int i = 0; i < 300 && version == 1; i++) {
        testclock_sleep_ms(100);
        Dossier__V1__Report tick = s_report("scope-ttl-tick", "tick");
        response = s_put_with_key(fx, "alice", &tick, NULL);
        assert_int_equal(response->code, DOSSIER_OK);
        dossier__v1__response__free_unpacked(response, NULL);
        response = s_put_with_key(fx, "alice", &r, "ttl-key-1");
        version = s_put_version(response);
        dossier__v1__response__free_unpacked(response, NULL);
    }
    int64_t waited = testclock_now_ms() - started;
    print_message("the key was forgotten after %lld ms\n", (long long)waited);
    assert_int_equal(version, 2);
    assert_true(waited >= 900); /* not before its TTL */
    testcurve_destroy(&fx);
}

/*  The users directory gone: ReloadUsers fails and says why, SIGHUP logs
    it, and the table loaded before stays (alice still writes, root is
    still admin); once the directory is back, a reload takes it. */
static void
test_users_directory_gone_keeps_the_table(void **state) {
    s_fixture_t *fx = *state;
    char moved[160];
    snprintf(moved, sizeof moved, "%s.moved", fx->users);
    assert_int_equal(rename(fx->users, moved), 0);

    dossier_client_t *root = testcurve_client(fx, "root", 5000);
    Dossier__V1__ReloadUsersRequest request =
        DOSSIER__V1__RELOAD_USERS_REQUEST__INIT;
    dossier_error_t err = {0};
    dossier_status_t rc = dossier_call(
        root, "ReloadUsers", &request.base,
        &dossier__v1__reload_users_response__descriptor, NULL, &err);
    if (rc == DOSSIER_OK) {
        fail_msg("ReloadUsers without its directory answered OK");
    }
    print_message("ReloadUsers, directory gone: %s: %s\n", dossier_strerror(rc),
                  err.message);
    assert_non_null(strstr(err.message, fx->users));
    assert_int_equal(testserver_kill(fx->ts, SIGHUP), 0);
    assert_true(
        testserver_wait_log(fx->ts, "users: not reloaded on SIGHUP", 10000));

    /* The old table: the same users, the same roles, over new
       connections too. */
    Dossier__V1__WhoAmIResponse *who =
        s_wait_whoami(fx, "alice", DOSSIER_OK, "writer");
    dossier_message_free(who);
    dossier_client_t *alice = testcurve_client(fx, "alice", 5000);
    Dossier__V1__Report r = s_report("scope-gone", "written meanwhile");
    assert_ok(dossier_put(alice, &r, 0, false, NULL, &err), &err);
    dossier_client_destroy(&alice);
    who = s_wait_whoami(fx, "root", DOSSIER_OK, "admin");
    dossier_message_free(who);

    assert_int_equal(rename(moved, fx->users), 0);
    Dossier__V1__ReloadUsersResponse *response = NULL;
    assert_ok(dossier_call(root, "ReloadUsers", &request.base,
                           &dossier__v1__reload_users_response__descriptor,
                           (ProtobufCMessage **)&response, &err),
              &err);
    assert_int_equal(response->users, 2);
    dossier_message_free(response);
    dossier_client_destroy(&root);
}

/*  A certificate whose name is not UTF-8 is refused when the users
    table loads (OPERATIONS.md: 1 to 63 bytes of UTF-8), so the key is
    not admitted and nothing can be written under that name. (The loop
    also sanitises names, '?' for each bad byte, behind this check.) */
static void
test_name_not_utf8_is_refused_at_load(void **state) {
    s_fixture_t *fx = *state;
    s_make_user(fx, "latin1", "caf\xe9", "writer");
    assert_int_equal(s_reload(fx), 2);
    assert_true(testserver_log_has(fx->ts, "latin1.key"));
    Dossier__V1__WhoAmIResponse *who =
        s_wait_whoami(fx, "latin1", DOSSIER_UNAUTHENTICATED, NULL);
    assert_null(who);
}

int
main(void) {
    /* See auth_lsan.supp: czmq's leaks on certificate files. */
    if (!getenv("LSAN_OPTIONS")) {
        setenv("LSAN_OPTIONS",
               "suppressions=" DOSSIER_SOURCE_DIR
               "/tests/integration/auth_lsan.supp",
               1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_idempotency_key_belongs_to_the_key,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_name_not_utf8_is_refused_at_load,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_another_user_reusing_a_key_writes_its_own, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_key_replayed_after_restart,
                                        s_setup, s_teardown),
        cmocka_unit_test(test_key_forgotten_after_its_ttl),
        cmocka_unit_test_setup_teardown(
            test_users_directory_gone_keeps_the_table, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
