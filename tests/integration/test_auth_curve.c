/*  test_auth_curve.c: a dossierd with CURVE and a users directory.

    Each test starts its own server (tests/support/testserver.h) with
    --curve-key and --users pointing into a fresh temporary directory,
    in which it made (with czmq, as `dossier keygen` does) the server's
    key pair and users alice (reader), bob (writer) and root (admin).
    Clients are libdossier clients with the users' keys, or raw CURVE
    DEALERs for requests libdossier would not send (forged metadata). */
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
#include "testcurve.h"
#include "testserver.h"

/* The fixture: a CURVE dossierd with users alice (reader), bob (writer)
   and root (admin) (tests/support/testcurve.h). */
typedef testcurve_t s_fixture_t;

/*  A user's key pair, its public certificate written into dir (the
    users directory, or keys for a stranger) as NAME.key. */
static zcert_t *
s_make_user(s_fixture_t *fx, const char *dir, const char *name,
            const char *role) {
    return testcurve_user(fx, dir, name, name, role);
}

static int
s_setup(void **state) {
    s_fixture_t *fx = testcurve_new("auth");
    const char *users[][2] = {
        {"alice", "reader"}, {"bob", "writer"}, {"root", "admin"}};
    for (size_t i = 0; i < 3; i++) {
        zcert_t *cert = s_make_user(fx, fx->users, users[i][0], users[i][1]);
        zcert_destroy(&cert);
    }
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

static dossier_status_t
s_whoami(dossier_client_t *client, Dossier__V1__WhoAmIResponse **who_p,
         dossier_error_t *err) {
    Dossier__V1__WhoAmIRequest request = DOSSIER__V1__WHO_AM_IREQUEST__INIT;
    return dossier_call(client, "WhoAmI", &request.base,
                        &dossier__v1__who_am_iresponse__descriptor,
                        (ProtobufCMessage **)who_p, err);
}

static Dossier__V1__Report
s_report(const char *id) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = "Auth test";
    r.country = "Atlantis";
    r.year = 2020;
    r.doc_type = "Trafficking in Persons Report";
    return r;
}

static size_t
s_reload(dossier_client_t *client, dossier_status_t want) {
    Dossier__V1__ReloadUsersRequest request =
        DOSSIER__V1__RELOAD_USERS_REQUEST__INIT;
    Dossier__V1__ReloadUsersResponse *response = NULL;
    dossier_error_t err = {0};
    assert_status(dossier_call(client, "ReloadUsers", &request.base,
                               &dossier__v1__reload_users_response__descriptor,
                               (ProtobufCMessage **)&response, &err),
                  want, &err);
    size_t users = response ? response->users : 0;
    dossier_message_free(response);
    return users;
}

/* ---- Tests ---- */

static void
test_startup_log_names_curve(void **state) {
    s_fixture_t *fx = *state;
    char want[256];
    snprintf(want, sizeof want, "security: CURVE, 3 users from %s", fx->users);
    assert_true(testserver_log_has(fx->ts, want));
}

static void
test_reader_denied_write(void **state) {
    s_fixture_t *fx = *state;
    dossier_client_t *alice = testcurve_client(fx, "alice", 5000);
    dossier_error_t err = {0};
    Dossier__V1__WhoAmIResponse *who = NULL;
    assert_status(s_whoami(alice, &who, &err), DOSSIER_OK, &err);
    assert_string_equal(who->name, "alice");
    assert_string_equal(who->role, "reader");
    assert_string_equal(who->security, "curve");
    zcert_t *cert = testcurve_cert(fx, "alice");
    assert_string_equal(who->public_key, zcert_public_txt(cert));
    zcert_destroy(&cert);
    dossier_message_free(who);

    Dossier__V1__Report r = s_report("auth-denied-1");
    assert_status(dossier_put(alice, &r, 0, false, NULL, &err),
                  DOSSIER_PERMISSION_DENIED, &err);
    assert_string_equal(err.message,
                        "method dossier.v1.Reports/Put needs role writer; "
                        "alice has role reader");
    assert_status(dossier_delete(alice, "auth-denied-1", 0, NULL, &err),
                  DOSSIER_PERMISSION_DENIED, &err);
    /* Reads are allowed; the record was never written. */
    assert_status(dossier_get(alice, "auth-denied-1", NULL, &err),
                  DOSSIER_NOT_FOUND, &err);
    s_reload(alice, DOSSIER_PERMISSION_DENIED);
    dossier_client_destroy(&alice);
}

static void
test_writer_write_names_writer(void **state) {
    s_fixture_t *fx = *state;
    dossier_client_t *bob = testcurve_client(fx, "bob", 5000);
    dossier_client_t *root = testcurve_client(fx, "root", 5000);
    dossier_client_t *alice = testcurve_client(fx, "alice", 5000);
    dossier_error_t err = {0};
    Dossier__V1__Report r = s_report("auth-written-1");
    assert_status(dossier_put(bob, &r, 0, true, NULL, &err), DOSSIER_OK, &err);
    Dossier__V1__Report *got = NULL;
    assert_status(dossier_get(alice, "auth-written-1", &got, &err), DOSSIER_OK,
                  &err);
    assert_string_equal(got->created_by, "bob");
    assert_string_equal(got->updated_by, "bob");
    dossier_report_free(got);
    /* An admin may write too; the update names them, the creation stays. */
    r.title = "Auth test, revised";
    assert_status(dossier_put(root, &r, 0, false, NULL, &err), DOSSIER_OK,
                  &err);
    assert_status(dossier_get(alice, "auth-written-1", &got, &err), DOSSIER_OK,
                  &err);
    assert_string_equal(got->created_by, "bob");
    assert_string_equal(got->updated_by, "root");
    dossier_report_free(got);
    dossier_client_destroy(&alice);
    dossier_client_destroy(&root);
    dossier_client_destroy(&bob);
}

static void
test_unknown_key_cannot_connect(void **state) {
    s_fixture_t *fx = *state;
    /* mallory has a key pair, but no certificate in the users dir. */
    zcert_t *mallory = s_make_user(fx, fx->keys, "mallory", "admin");
    zcert_destroy(&mallory);
    dossier_client_t *client = testcurve_client(fx, "mallory", 1500);
    dossier_error_t err = {0};
    dossier_status_t rc = dossier_health(client, NULL, NULL, &err);
    /* ZAP refuses the handshake; libdossier sees the refusal. Nothing
       was sent. */
    if (rc != DOSSIER_UNAUTHENTICATED) {
        fail_msg("unknown key: got %s (%s), want UNAUTHENTICATED",
                 dossier_strerror(rc), err.message);
    }
    assert_false(dossier_client_request_sent(client));
    dossier_client_destroy(&client);

    /* The server still serves the others, and logged no error. */
    dossier_client_t *alice = testcurve_client(fx, "alice", 5000);
    assert_status(dossier_health(alice, NULL, NULL, &err), DOSSIER_OK, &err);
    dossier_client_destroy(&alice);
    assert_false(testserver_log_has(fx->ts, " ERROR "));
    assert_int_equal(kill(testserver_pid(fx->ts), 0), 0);
}

static void
test_plain_client_cannot_connect(void **state) {
    s_fixture_t *fx = *state;
    dossier_client_t *plain = testcurve_client(fx, NULL, 1000);
    dossier_error_t err = {0};
    dossier_status_t rc = dossier_health(plain, NULL, NULL, &err);
    if (rc != DOSSIER_UNAVAILABLE) {
        fail_msg("plain client: got %s (%s), want UNAVAILABLE",
                 dossier_strerror(rc), err.message);
    }
    dossier_client_destroy(&plain);
    /* A raw REQ without CURVE: its request never reaches the server. */
    Dossier__V1__HealthRequest health = DOSSIER__V1__HEALTH_REQUEST__INIT;
    Dossier__V1__Response *response = NULL;
    assert_int_equal(testserver_call(testserver_endpoint(fx->ts),
                                     "dossier.v1.Reports/Health", &health.base,
                                     &response, 1000),
                     DOSSIER_DEADLINE_EXCEEDED);
    assert_null(response);
}

/*  Polls WhoAmI with a fresh client until it answers want_code: a reload
    is asynchronous to the test. Bounded by wall-clock time, generously,
    since under valgrind every CURVE handshake takes a good part of a
    second. */
#define S_WAIT_WHOAMI_SECONDS 30
static void
s_wait_whoami(s_fixture_t *fx, const char *name, dossier_status_t want_code,
              const char *want_role) {
    dossier_status_t rc = DOSSIER_UNKNOWN;
    dossier_error_t err = {0};
    time_t give_up = time(NULL) + S_WAIT_WHOAMI_SECONDS;
    while (time(NULL) < give_up) {
        dossier_client_t *client = testcurve_client(fx, name, 1000);
        Dossier__V1__WhoAmIResponse *who = NULL;
        rc = s_whoami(client, &who, &err);
        bool done = rc == want_code &&
                    (!want_role || strcmp(who->role, want_role) == 0);
        dossier_message_free(who);
        dossier_client_destroy(&client);
        if (done) {
            return;
        }
        usleep(100 * 1000);
    }
    /* Intermittent under valgrind (a SIGHUP reload not seen within
       30 s): what did the server log? */
    testserver_print_log(fx->ts);
    fail_msg("%s: WhoAmI still %s (%s) after %d s, want %s", name,
             dossier_strerror(rc), err.message, S_WAIT_WHOAMI_SECONDS,
             dossier_strerror(want_code));
}

static void
test_sighup_adds_user(void **state) {
    s_fixture_t *fx = *state;
    zcert_t *dave = s_make_user(fx, fx->users, "dave", "writer");
    zcert_destroy(&dave);
    /* The users table, which alone answers ZAP, does not know dave
       before a reload: his handshake is refused. */
    dossier_client_t *client = testcurve_client(fx, "dave", 5000);
    dossier_error_t err = {0};
    Dossier__V1__Report r = s_report("auth-dave-1");
    assert_status(dossier_put(client, &r, 0, false, NULL, &err),
                  DOSSIER_UNAUTHENTICATED, &err);
    dossier_client_destroy(&client);

    assert_int_equal(testserver_kill(fx->ts, SIGHUP), 0);
    s_wait_whoami(fx, "dave", DOSSIER_OK, "writer");
    client = testcurve_client(fx, "dave", 5000);
    assert_status(dossier_put(client, &r, 0, false, NULL, &err), DOSSIER_OK,
                  &err);
    dossier_client_destroy(&client);
    assert_true(
        testserver_log_has(fx->ts, "users: reloaded on SIGHUP: 4 users"));
}

static void
test_reload_rpc_adds_and_removes(void **state) {
    s_fixture_t *fx = *state;
    dossier_client_t *root = testcurve_client(fx, "root", 5000);
    assert_int_equal(s_reload(root, DOSSIER_OK), 3);

    zcert_t *erin = s_make_user(fx, fx->users, "erin", "reader");
    zcert_destroy(&erin);
    assert_int_equal(s_reload(root, DOSSIER_OK), 4);
    s_wait_whoami(fx, "erin", DOSSIER_OK, "reader");

    /* A connection erin opens now, before her certificate goes. */
    dossier_client_t *erin_client = testcurve_client(fx, "erin", 3000);
    dossier_error_t err = {0};
    assert_status(dossier_get(erin_client, "nothing", NULL, &err),
                  DOSSIER_NOT_FOUND, &err);

    char path[256];
    snprintf(path, sizeof path, "%s/erin.key", fx->users);
    assert_int_equal(unlink(path), 0);
    /* Nothing changes before the reload: erin's file is only read then. */
    assert_status(dossier_get(erin_client, "nothing", NULL, &err),
                  DOSSIER_NOT_FOUND, &err);
    /* At the reload, the open connection loses its role (and its name:
       the table no longer has it), and new ones are refused. */
    assert_int_equal(s_reload(root, DOSSIER_OK), 3);
    dossier_status_t rc = dossier_get(erin_client, "nothing", NULL, &err);
    if (rc != DOSSIER_PERMISSION_DENIED) {
        fail_msg("erin after removal: got %s (%s)", dossier_strerror(rc),
                 err.message);
    }
    assert_non_null(strstr(err.message, "unknown has role none"));
    /* ...and what to do about it (issue 21). */
    assert_non_null(strstr(err.message, "must reload the users"));
    s_wait_whoami(fx, "erin", DOSSIER_UNAUTHENTICATED, NULL);
    dossier_client_destroy(&erin_client);
    dossier_client_destroy(&root);
}

static void
test_identity_not_forged_by_metadata(void **state) {
    s_fixture_t *fx = *state;
    zcert_t *root = testcurve_cert(fx, "root");
    /* Everything a client could write to claim another identity. */
    Dossier__V1__Request__MetadataEntry entries[] = {
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT,
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT,
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT,
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT,
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT,
    };
    const char *pairs[][2] = {
        {"user", "root"},
        {"role", "admin"},
        {"name", "root"},
        {"User-Id", zcert_public_txt(root)},
        {"user-id", zcert_public_txt(root)},
    };
    Dossier__V1__Request__MetadataEntry *metadata[5];
    for (size_t i = 0; i < 5; i++) {
        entries[i].key = (char *)pairs[i][0];
        entries[i].value = (char *)pairs[i][1];
        metadata[i] = &entries[i];
    }
    Dossier__V1__Report r = s_report("auth-forged-1");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    Dossier__V1__Response *response = testcurve_call_raw(
        fx, "alice", "dossier.v1.Reports/Put", &put.base, metadata, 5);
    assert_int_equal(response->code, DOSSIER_PERMISSION_DENIED);
    assert_string_equal(response->message,
                        "method dossier.v1.Reports/Put needs role writer; "
                        "alice has role reader");
    dossier__v1__response__free_unpacked(response, NULL);

    Dossier__V1__WhoAmIRequest whoami = DOSSIER__V1__WHO_AM_IREQUEST__INIT;
    response = testcurve_call_raw(fx, "alice", "dossier.v1.Reports/WhoAmI",
                                  &whoami.base, metadata, 5);
    assert_int_equal(response->code, DOSSIER_OK);
    Dossier__V1__WhoAmIResponse *who = dossier__v1__who_am_iresponse__unpack(
        NULL, response->payload.len, response->payload.data);
    assert_non_null(who);
    assert_string_equal(who->name, "alice");
    assert_string_equal(who->role, "reader");
    dossier__v1__who_am_iresponse__free_unpacked(who, NULL);
    dossier__v1__response__free_unpacked(response, NULL);
    zcert_destroy(&root);
}

static void
test_bad_user_files_skipped(void **state) {
    s_fixture_t *fx = *state;
    /* A role that is not one, a missing name, and garbage: skipped with a
       warning, never a crash; the others still count. */
    zcert_t *c = s_make_user(fx, fx->users, "frank", "superuser");
    zcert_destroy(&c);
    c = zcert_new();
    zcert_set_meta(c, "role", "admin");
    char path[256];
    snprintf(path, sizeof path, "%s/noname.key", fx->users);
    assert_int_equal(zcert_save_public(c, path), 0);
    zcert_destroy(&c);
    snprintf(path, sizeof path, "%s/garbage.key", fx->users);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("curve\n    public-key = \"\x01\x02 not a key\n\xff\xfe\n", f);
    fclose(f);
    dossier_client_t *root = testcurve_client(fx, "root", 5000);
    assert_int_equal(s_reload(root, DOSSIER_OK), 3);
    dossier_client_destroy(&root);
    assert_true(testserver_log_has(
        fx->ts, "frank): metadata 'role' is missing or not reader"));
    assert_true(
        testserver_log_has(fx->ts, "noname.key: metadata 'name' is missing"));
    /* A certificate without a valid role admits nobody. */
    dossier_client_t *frank = testcurve_client(fx, "frank", 5000);
    dossier_error_t err = {0};
    assert_status(dossier_health(frank, NULL, NULL, &err),
                  DOSSIER_UNAUTHENTICATED, &err);
    dossier_client_destroy(&frank);
}

int
main(void) {
    /* See auth_lsan.supp: a czmq leak on malformed certificate files,
       should anything load them with zconfig_load (dossierd does not). */
    if (!getenv("LSAN_OPTIONS")) {
        setenv("LSAN_OPTIONS",
               "suppressions=" DOSSIER_SOURCE_DIR
               "/tests/integration/auth_lsan.supp",
               1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_startup_log_names_curve, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_reader_denied_write, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_writer_write_names_writer, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_cannot_connect,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plain_client_cannot_connect,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sighup_adds_user, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_reload_rpc_adds_and_removes,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_identity_not_forged_by_metadata,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_user_files_skipped, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
