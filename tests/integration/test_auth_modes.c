/*  test_auth_modes.c: which security mode dossierd starts in, and when it
    refuses to start.

    A server bound to a non-loopback address without CURVE must refuse to
    start unless --insecure is given; then every peer is "anonymous" with
    anonymous_role (default reader). The refused starts run dossierd
    directly and read its exit code and log; the servers that do start
    bind tcp://0.0.0.0 (every address of this machine) on a free port, and
    the test talks to them only over 127.0.0.1. */
#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dossier.h"
#include "testserver.h"

/*  Runs dossierd with args (NULL-terminated) and a fresh --data, waits at
    most 10 s, returns its exit code and its stderr in log (at most
    log_size bytes). */
static int
s_run_dossierd(char *log, size_t log_size, ...) {
    char root[] = "/tmp/dossier-authmode-XXXXXX";
    assert_non_null(mkdtemp(root));
    char data[64], log_path[64], binary[4096];
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(log_path, sizeof log_path, "%s/log", root);
    snprintf(binary, sizeof binary, "%s/dossierd", testserver_bin_dir());
    char *argv[32] = {binary, "--data", data};
    int argc = 3;
    va_list args;
    va_start(args, log_size);
    const char *arg;
    while ((arg = va_arg(args, const char *)) != NULL && argc < 30) {
        argv[argc++] = (char *)arg;
    }
    va_end(args);
    argv[argc] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(log_path, "w", stderr);
        (void)f;
        execv(binary, argv);
        _exit(127);
    }
    int status = 0;
    int waited = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (waited++ > 1000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("dossierd did not exit within 10 s");
        }
        usleep(10 * 1000);
    }
    FILE *f = fopen(log_path, "r");
    size_t n = f ? fread(log, 1, log_size - 1, f) : 0;
    log[n] = '\0';
    if (f) {
        fclose(f);
    }
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", root);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", root);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*  A client on 127.0.0.1 at the port of ts's endpoint. */
static dossier_client_t *
s_loopback_client(testserver_t *ts) {
    const char *endpoint = testserver_endpoint(ts);
    const char *colon = strrchr(endpoint, ':');
    assert_non_null(colon);
    char local[64];
    snprintf(local, sizeof local, "tcp://127.0.0.1%s", colon);
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    assert_int_equal(dossier_client_new(local, NULL, &client, &err),
                     DOSSIER_OK);
    return client;
}

static void
s_expect_whoami(dossier_client_t *client, const char *role) {
    Dossier__V1__WhoAmIRequest request = DOSSIER__V1__WHO_AM_IREQUEST__INIT;
    Dossier__V1__WhoAmIResponse *who = NULL;
    dossier_error_t err = {0};
    dossier_status_t rc =
        dossier_call(client, "WhoAmI", &request.base,
                     &dossier__v1__who_am_iresponse__descriptor,
                     (ProtobufCMessage **)&who, &err);
    if (rc != DOSSIER_OK) {
        fail_msg("WhoAmI: %s: %s", dossier_strerror(rc), err.message);
    }
    assert_string_equal(who->name, "anonymous");
    assert_string_equal(who->role, role);
    assert_string_equal(who->public_key, "");
    assert_string_equal(who->security, "none");
    dossier_message_free(who);
}

static dossier_status_t
s_put(dossier_client_t *client, const char *id, dossier_error_t *err) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = "Mode test";
    r.country = "Atlantis";
    r.year = 2021;
    return dossier_put(client, &r, 0, false, NULL, err);
}

static void
test_public_bind_refused_without_curve(void **state) {
    (void)state;
    char log[8192];
    int code =
        s_run_dossierd(log, sizeof log, "--bind", "tcp://0.0.0.0:0", NULL);
    assert_int_equal(code, 1);
    if (!strstr(log, "refusing to serve tcp://0.0.0.0:0 without "
                     "authentication")) {
        fail_msg("log does not say why:\n%s", log);
    }
    /* Any address that is not loopback, named by host too. */
    code = s_run_dossierd(log, sizeof log, "--bind", "tcp://*:0", NULL);
    assert_int_equal(code, 1);
    assert_non_null(strstr(log, "refusing to serve tcp://*:0"));
}

static void
test_bad_security_settings_refused(void **state) {
    (void)state;
    char log[8192];
    assert_int_equal(
        s_run_dossierd(log, sizeof log, "--users", "/nonexistent", NULL), 1);
    assert_non_null(strstr(log, "CURVE needs both"));
    assert_int_equal(s_run_dossierd(log, sizeof log, "--curve-key",
                                    "/nonexistent/server.key_secret", "--users",
                                    "/tmp", NULL),
                     1);
    assert_non_null(strstr(log, "cannot read the server key"));
    assert_int_equal(
        s_run_dossierd(log, sizeof log, "--anonymous-role", "superuser", NULL),
        1);
    assert_non_null(strstr(log, "anonymous_role 'superuser'"));
    /* The change feed follows the front socket's rule: not on a network
       address without keys, unless --insecure says so. */
    assert_int_equal(
        s_run_dossierd(log, sizeof log, "--feed", "tcp://0.0.0.0:0", NULL), 1);
    assert_non_null(
        strstr(log, "refusing to publish the change feed on tcp://0.0.0.0:0 "
                    "without authentication"));
    /* A public certificate has no secret key to serve with. */
    char dir[] = "/tmp/dossier-authmode-key-XXXXXX";
    assert_non_null(mkdtemp(dir));
    zcert_t *cert = zcert_new();
    char path[128];
    snprintf(path, sizeof path, "%s/server.key", dir);
    assert_int_equal(zcert_save_public(cert, path), 0);
    zcert_destroy(&cert);
    assert_int_equal(s_run_dossierd(log, sizeof log, "--curve-key", path,
                                    "--users", dir, NULL),
                     1);
    assert_non_null(strstr(log, "is not a czmq secret certificate"));
    unlink(path);
    rmdir(dir);
}

static void
test_loopback_plain_is_admin(void **state) {
    (void)state;
    testserver_t *ts = testserver_start(NULL);
    assert_non_null(ts);
    assert_true(testserver_log_has(ts, "security: NONE (loopback only)"));
    dossier_client_t *client = s_loopback_client(ts);
    s_expect_whoami(client, "admin");
    dossier_client_destroy(&client);
    testserver_stop(&ts);
}

static void
test_insecure_public_bind_is_reader(void **state) {
    (void)state;
    testserver_t *ts = testserver_start("--bind tcp://0.0.0.0:0 --insecure");
    assert_non_null(ts);
    assert_true(
        testserver_log_has(ts, "security: NONE (--insecure on "
                               "tcp://0.0.0.0:0); every peer is 'anonymous' "
                               "with role reader"));
    dossier_client_t *client = s_loopback_client(ts);
    s_expect_whoami(client, "reader");
    dossier_error_t err = {0};
    assert_int_equal(s_put(client, "mode-1", &err), DOSSIER_PERMISSION_DENIED);
    assert_string_equal(err.message,
                        "method dossier.v1.Reports/Put needs role writer; "
                        "anonymous has role reader");
    dossier_client_destroy(&client);
    testserver_stop(&ts);
}

static void
test_insecure_public_feed_is_said(void **state) {
    (void)state;
    testserver_t *ts = testserver_start("--feed tcp://0.0.0.0:0 --insecure");
    assert_non_null(ts);
    assert_true(testserver_log_has(
        ts, "security: NONE (--insecure: the change feed on tcp://0.0.0.0:0)"));
    assert_false(testserver_log_has(ts, "NONE (loopback only)"));
    testserver_stop(&ts);
}

static void
test_insecure_anonymous_role_writer(void **state) {
    (void)state;
    testserver_t *ts = testserver_start(
        "--bind tcp://0.0.0.0:0 --insecure --anonymous-role writer");
    assert_non_null(ts);
    dossier_client_t *client = s_loopback_client(ts);
    s_expect_whoami(client, "writer");
    dossier_error_t err = {0};
    assert_int_equal(s_put(client, "mode-2", &err), DOSSIER_OK);
    Dossier__V1__ReloadUsersRequest reload =
        DOSSIER__V1__RELOAD_USERS_REQUEST__INIT;
    assert_int_equal(
        dossier_call(client, "ReloadUsers", &reload.base,
                     &dossier__v1__reload_users_response__descriptor, NULL,
                     &err),
        DOSSIER_PERMISSION_DENIED);
    dossier_client_destroy(&client);
    testserver_stop(&ts);
}

static void
test_plain_reload_is_failed_precondition(void **state) {
    (void)state;
    testserver_t *ts = testserver_start(NULL);
    assert_non_null(ts);
    dossier_client_t *client = s_loopback_client(ts);
    Dossier__V1__ReloadUsersRequest reload =
        DOSSIER__V1__RELOAD_USERS_REQUEST__INIT;
    dossier_error_t err = {0};
    assert_int_equal(
        dossier_call(client, "ReloadUsers", &reload.base,
                     &dossier__v1__reload_users_response__descriptor, NULL,
                     &err),
        DOSSIER_FAILED_PRECONDITION);
    dossier_client_destroy(&client);
    /* SIGHUP without CURVE is logged, not fatal: the log line proves the
       signal was handled before Health is asked. */
    assert_int_equal(testserver_kill(ts, SIGHUP), 0);
    assert_true(testserver_wait_log(
        ts, "users: not reloaded on SIGHUP: the server runs without CURVE",
        10000));
    client = s_loopback_client(ts);
    assert_int_equal(dossier_health(client, NULL, NULL, &err), DOSSIER_OK);
    dossier_client_destroy(&client);
    testserver_stop(&ts);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_bind_refused_without_curve),
        cmocka_unit_test(test_bad_security_settings_refused),
        cmocka_unit_test(test_loopback_plain_is_admin),
        cmocka_unit_test(test_insecure_public_bind_is_reader),
        cmocka_unit_test(test_insecure_public_feed_is_said),
        cmocka_unit_test(test_insecure_anonymous_role_writer),
        cmocka_unit_test(test_plain_reload_is_failed_precondition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
