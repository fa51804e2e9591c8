/*  test_server_startup.c: how dossierd starts, refuses to start, reads
    its settings, and stops: the pid file, the one-server-per-directory
    rule, the zconfig file and the flags over it, bad command lines, a
    busy endpoint, and the drain on SIGTERM (requests in flight finish,
    new ones are refused, Health says NOT_SERVING). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "dossier/v1/reports.pb-c.h"
#include "testserver.h"

#define M(name) "dossier.v1.Reports/" name
#define S_DRAIN_LISTS 500
#define S_DRAIN_RECORDS 300

/* ---- Running dossierd directly, for the cases that must not start ---- */

typedef struct {
    int status; /* exit code, 128 + signal, or -1 on timeout */
    char output[8192];
} s_run_t;

/*  Runs dossierd with argv (NULL-terminated, without the program), at
    most 10 s, capturing stdout and stderr together. */
static void
s_run(const char *const *args, s_run_t *run) {
    char binary[1024];
    const char *dir = getenv("DOSSIER_BIN_DIR");
    snprintf(binary, sizeof binary, "%s/dossierd",
             dir && *dir ? dir : DOSSIER_BIN_DIR);
    char out_path[] = "/tmp/dossier-run-XXXXXX";
    int out = mkstemp(out_path);
    assert_true(out >= 0);
    const char *argv[32] = {binary};
    size_t argc = 1;
    for (size_t i = 0; args[i] && argc < 31; i++) {
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    run->status = -1;
    for (int waited = 0; waited < 10000; waited += 10) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            run->status = WIFEXITED(status) ? WEXITSTATUS(status)
                                            : 128 + WTERMSIG(status);
            break;
        }
        struct timespec tick = {0, 10 * 1000000L};
        nanosleep(&tick, NULL);
    }
    if (run->status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    ssize_t size = pread(out, run->output, sizeof run->output - 1, 0);
    run->output[size > 0 ? size : 0] = '\0';
    close(out);
    unlink(out_path);
}

static char *
s_read_file(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) {
        return NULL;
    }
    static char text[65536];
    size_t size = fread(text, 1, sizeof text - 1, file);
    text[size] = '\0';
    fclose(file);
    return text;
}

static void
s_expect_list(const char *endpoint, uint32_t page_size, int code) {
    Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
    list.page_size = page_size;
    protobuf_c_message_free_unpacked(
        testserver_expect(endpoint, M("List"), &list.base, code,
                          code ? NULL
                               : &dossier__v1__list_response__descriptor),
        NULL);
}

/* ---- Tests ---- */

static void
test_pidfile_and_log(void **state) {
    (void)state;
    testserver_t *server = testserver_start("--bind tcp://127.0.0.1:0");
    assert_non_null(server);
    char path[512];
    snprintf(path, sizeof path, "%s/dossierd.pid", testserver_datadir(server));
    char *text = s_read_file(path);
    assert_non_null(text);
    char expected[512];
    snprintf(expected, sizeof expected, "%ld\n%s\n",
             (long)testserver_pid(server), testserver_endpoint(server));
    assert_string_equal(text, expected);
    /* Port 0 was resolved to the real port. */
    assert_non_null(strstr(testserver_endpoint(server), "tcp://127.0.0.1:"));
    assert_null(strstr(testserver_endpoint(server), ":0\n"));
    assert_int_not_equal(
        strcmp(testserver_endpoint(server), "tcp://127.0.0.1:0"), 0);

    /* The start line names version, endpoint, data dir and mode, with a
       level and an ISO 8601 timestamp. */
    text = s_read_file(testserver_logpath(server));
    assert_non_null(text);
    assert_non_null(
        strstr(text, " INFO dossierd: started: dossierd " DOSSIER_VERSION));
    assert_non_null(strstr(text, testserver_endpoint(server)));
    assert_non_null(strstr(text, testserver_datadir(server)));
    /* The security mode is logged at start (in the start line, or on its
       own line once authentication exists). */
    assert_true(strstr(text, "mode anonymous") || strstr(text, "security: "));
    assert_true(text[4] == '-' && text[10] == 'T' && text[23] == 'Z');

    /* A clean stop (SIGINT, as Ctrl-C; SIGTERM elsewhere) removes the pid
       file and logs the stop. */
    char log_copy[512];
    snprintf(log_copy, sizeof log_copy, "%s", testserver_logpath(server));
    assert_int_equal(testserver_kill(server, SIGINT), 0);
    assert_int_equal(testserver_wait(server, 10000), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    text = s_read_file(log_copy);
    assert_non_null(strstr(text, "dossierd: stopped"));
    testserver_stop(&server);
}

static void
test_second_server_refused(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    const char *args[] = {"--data", testserver_datadir(server), "--bind",
                          "tcp://127.0.0.1:*", NULL};
    s_run_t run;
    s_run(args, &run);
    assert_int_equal(run.status, 1);
    assert_non_null(strstr(run.output, "in use"));
    assert_non_null(strstr(run.output, " ERROR "));
    /* The first one is untouched. */
    Dossier__V1__HealthRequest health = DOSSIER__V1__HEALTH_REQUEST__INIT;
    protobuf_c_message_free_unpacked(
        testserver_expect(testserver_endpoint(server), M("Health"),
                          &health.base, 0,
                          &dossier__v1__health_response__descriptor),
        NULL);
    testserver_stop(&server);
}

static void
test_config_file_and_flags(void **state) {
    (void)state;
    char path[] = "/tmp/dossier-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char config[] = "#   dossierd test configuration\n"
                          "server\n"
                          "    workers = 3\n"
                          "    max_page_size = 5\n"
                          "    log_level = debug\n";
    assert_int_equal(write(fd, config, sizeof config - 1),
                     (ssize_t)(sizeof config - 1));
    close(fd);

    char args[256];
    snprintf(args, sizeof args, "--config %s", path);
    testserver_t *server = testserver_start(args);
    assert_non_null(server);
    s_expect_list(testserver_endpoint(server), 5, 0);
    s_expect_list(testserver_endpoint(server), 6, 3);
    /* log_level = debug from the file: requests are logged. */
    char *log = s_read_file(testserver_logpath(server));
    assert_non_null(strstr(log, " DEBUG dossierd: request "));
    assert_non_null(strstr(log, "3 workers"));
    testserver_stop(&server);

    /* A flag overrides the file. */
    snprintf(args, sizeof args, "--config %s --max-page-size 7", path);
    server = testserver_start(args);
    assert_non_null(server);
    s_expect_list(testserver_endpoint(server), 7, 0);
    s_expect_list(testserver_endpoint(server), 8, 3);
    testserver_stop(&server);
    unlink(path);
}

static void
test_bad_command_lines(void **state) {
    (void)state;
    char dir[] = "/tmp/dossier-bad-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char data[600];
    snprintf(data, sizeof data, "%s/data", dir);
    char config[600];
    snprintf(config, sizeof config, "%s/bad.cfg", dir);
    FILE *file = fopen(config, "w");
    assert_non_null(file);
    fputs("server\n    no_such_setting = 1\n", file);
    fclose(file);

    static const struct {
        const char *args[8];
        int status;
        const char *says;
    } cases[] = {
        {{"--data", NULL, "--no-such-flag", NULL}, 2, "unknown option"},
        {{"--bind", "tcp://127.0.0.1:*", NULL}, 2, "no data directory"},
        {{"--data", NULL, "--workers", "0", NULL}, 2, "--workers"},
        {{"--data", NULL, "--workers", "many", NULL}, 2, "--workers"},
        {{"--data", NULL, "--log-level", "loud", NULL}, 2, "--log-level"},
        {{"--data", NULL, "--max-message-bytes", "12Q", NULL},
         2,
         "--max-message-bytes"},
        {{"--data", NULL, "--config", "/nonexistent/dossierd.cfg", NULL},
         2,
         "cannot read config file"},
        {{"--data", NULL, "--config", "CONFIG", NULL},
         2,
         "unknown setting server/no_such_setting"},
        {{"--data", NULL, "--bind", "tcp://127.0.0.1:no-port", NULL},
         2,
         "the port must be"},
        /* libzmq would listen on 4464 (70000 modulo 65536) */
        {{"--data", NULL, "--bind", "tcp://127.0.0.1:70000", NULL},
         2,
         "the port must be"},
        {{"--data", NULL, "--bind", "ipc:///nonexistent/dir/dossierd.sock",
          NULL},
         1,
         "cannot bind"},
        {{"--help", NULL}, 0, "usage: dossierd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[8];
        for (size_t j = 0; j < 8; j++) {
            args[j] = cases[i].args[j];
            if (j > 0 && args[j - 1] && strcmp(args[j - 1], "--data") == 0) {
                args[j] = data;
            }
            if (args[j] && strcmp(args[j], "CONFIG") == 0) {
                args[j] = config;
            }
            if (!args[j] &&
                !(j > 0 && args[j - 1] && strcmp(args[j - 1], "--data") == 0)) {
                break;
            }
        }
        s_run_t run;
        s_run(args, &run);
        if (run.status != cases[i].status ||
            !strstr(run.output, cases[i].says)) {
            fail_msg("case %zu: status %d (want %d), output: %s", i, run.status,
                     cases[i].status, run.output);
        }
    }
    char pidfile[700];
    snprintf(pidfile, sizeof pidfile, "%s/dossierd.pid", data);
    assert_int_not_equal(access(pidfile, F_OK), 0); /* none left behind */
    unlink(config);
    char command[700];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
}

static void
test_bind_in_use_and_nested_data_dir(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    char dir[] = "/tmp/dossier-nest-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char data[600];
    snprintf(data, sizeof data, "%s/a/b/c", dir);
    const char *args[] = {"--data", data, "--bind", testserver_endpoint(server),
                          NULL};
    s_run_t run;
    s_run(args, &run);
    assert_int_equal(run.status, 1);
    assert_non_null(strstr(run.output, "cannot bind"));
    /* The nested data directory was created on the way. */
    struct stat st;
    assert_int_equal(stat(data, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    testserver_stop(&server);
    char command[700];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
}

/*  Sends [empty][Request] from a DEALER. */
static void
s_dealer_send(void *socket, uint64_t id, const char *method,
              const ProtobufCMessage *payload) {
    Dossier__V1__Request request = DOSSIER__V1__REQUEST__INIT;
    request.id = id;
    request.method = (char *)method;
    size_t payload_size = protobuf_c_message_get_packed_size(payload);
    uint8_t *packed = malloc(payload_size + 1);
    protobuf_c_message_pack(payload, packed);
    request.payload.data = packed;
    request.payload.len = payload_size;
    size_t size = dossier__v1__request__get_packed_size(&request);
    uint8_t *body = malloc(size + 1);
    dossier__v1__request__pack(&request, body);
    zmq_send(socket, "", 0, ZMQ_SNDMORE);
    assert_int_equal(zmq_send(socket, body, size, 0), (int)size);
    free(body);
    free(packed);
}

static Dossier__V1__Response *
s_dealer_recv(void *socket) {
    zmq_msg_t delimiter, body;
    zmq_msg_init(&delimiter);
    zmq_msg_init(&body);
    assert_true(zmq_msg_recv(&delimiter, socket, 0) >= 0);
    assert_true(zmq_msg_recv(&body, socket, 0) >= 0);
    Dossier__V1__Response *response = dossier__v1__response__unpack(
        NULL, zmq_msg_size(&body), zmq_msg_data(&body));
    zmq_msg_close(&delimiter);
    zmq_msg_close(&body);
    assert_non_null(response);
    return response;
}

static void
test_drain_on_sigterm(void **state) {
    (void)state;
    testserver_t *server = testserver_start(
        "--workers 1 --max-in-flight 1000 --shutdown-timeout-ms 60000");
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);

    /* 200 records of 16 KiB make each full List a few milliseconds. */
    static char paragraph[2048];
    memset(paragraph, 'd', sizeof paragraph - 1);
    char *body[8];
    for (size_t i = 0; i < 8; i++) {
        body[i] = paragraph;
    }
    void *context = zmq_ctx_new();
    void *socket = zmq_socket(context, ZMQ_DEALER);
    int linger = 0, timeout = 20000;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    assert_int_equal(zmq_connect(socket, endpoint), 0);
    for (int i = 0; i < S_DRAIN_RECORDS; i++) {
        char id[32];
        snprintf(id, sizeof id, "drain-%03d", i);
        Dossier__V1__Report report = DOSSIER__V1__REPORT__INIT;
        report.id = id;
        report.year = 2001;
        report.body = body;
        report.n_body = 8;
        Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
        put.report = &report;
        s_dealer_send(socket, (uint64_t)i, M("Put"), &put.base);
        if (i % 32 == 31 || i == S_DRAIN_RECORDS - 1) {
            for (int j = i - (i % 32); j <= i; j++) {
                Dossier__V1__Response *response = s_dealer_recv(socket);
                assert_int_equal(response->code, 0);
                dossier__v1__response__free_unpacked(response, NULL);
            }
        }
    }

    /* S_DRAIN_LISTS Lists of every record (summary view: heavy for the
       store, small replies) queued on the one worker, then a Health on
       the same connection: its reply means the server has read (so
       accepted) every List before it. Then SIGTERM. */
    Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
    list.page_size = 1000;
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    for (uint64_t id = 1000; id < 1000 + S_DRAIN_LISTS; id++) {
        s_dealer_send(socket, id, M("List"), &list.base);
    }
    Dossier__V1__HealthRequest health = DOSSIER__V1__HEALTH_REQUEST__INIT;
    s_dealer_send(socket, 1, M("Health"), &health.base);
    int lists = 0;
    while (true) {
        Dossier__V1__Response *response = s_dealer_recv(socket);
        uint64_t id = response->id;
        int code = response->code;
        dossier__v1__response__free_unpacked(response, NULL);
        assert_int_equal(code, 0);
        if (id == 1) {
            break;
        }
        lists++;
    }
    assert_int_equal(testserver_kill(server, SIGTERM), 0);
    /* The loop logs when it starts to drain: from then on, not before. */
    assert_true(testserver_wait_log(server, "stopping: no new work", 10000));

    /* While draining: Health answers NOT_SERVING, new work UNAVAILABLE. */
    Dossier__V1__HealthResponse *status =
        (Dossier__V1__HealthResponse *)testserver_expect(
            endpoint, M("Health"), &health.base, 0,
            &dossier__v1__health_response__descriptor);
    assert_int_equal(status->status,
                     DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING);
    dossier__v1__health_response__free_unpacked(status, NULL);
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = (char *)"drain-000";
    testserver_expect(endpoint, M("Get"), &get.base, 14 /* UNAVAILABLE */,
                      NULL);

    /* Every List accepted before the signal completes. */
    for (; lists < S_DRAIN_LISTS; lists++) {
        Dossier__V1__Response *response = s_dealer_recv(socket);
        assert_true(response->id >= 1000 &&
                    response->id < 1000 + S_DRAIN_LISTS);
        if (response->code != 0) {
            fail_msg("List %llu during drain: %s",
                     (unsigned long long)response->id, response->message);
        }
        Dossier__V1__ListResponse *page = dossier__v1__list_response__unpack(
            NULL, response->payload.len, response->payload.data);
        assert_non_null(page);
        assert_int_equal(page->n_reports, S_DRAIN_RECORDS);
        dossier__v1__list_response__free_unpacked(page, NULL);
        dossier__v1__response__free_unpacked(response, NULL);
    }
    struct timespec ended;
    clock_gettime(CLOCK_MONOTONIC, &ended);
    printf("# %d Lists drained in %.0f ms\n", S_DRAIN_LISTS,
           (double)(ended.tv_sec - started.tv_sec) * 1e3 +
               (double)(ended.tv_nsec - started.tv_nsec) / 1e6);
    zmq_close(socket);
    zmq_ctx_term(context);
    assert_int_equal(testserver_wait(server, 15000), 0);
    testserver_stop(&server);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pidfile_and_log),
        cmocka_unit_test(test_second_server_refused),
        cmocka_unit_test(test_config_file_and_flags),
        cmocka_unit_test(test_bad_command_lines),
        cmocka_unit_test(test_bind_in_use_and_nested_data_dir),
        cmocka_unit_test(test_drain_on_sigterm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
