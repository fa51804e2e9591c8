/*  test_server_config.c: dossierd's settings (defaults, zconfig file,
    flags over the file, refusals) and the method table's start-up check
    against the service descriptor, without starting a server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dossier/v1/reports.pb-c.h"
#include "api/methods.h"

static dossier_status_t
s_parse(config_t *config, dossier_error_t *err, int argc, ...) {
    char *argv[32] = {"dossierd"};
    va_list args;
    va_start(args, argc);
    for (int i = 0; i < argc && i < 30; i++) {
        argv[i + 1] = va_arg(args, char *);
    }
    va_end(args);
    return config_from_args(config, argc + 1, argv, err);
}

static void
test_defaults(void **state) {
    (void)state;
    config_t config;
    dossier_error_t err = {0};
    assert_int_equal(s_parse(&config, &err, 2, "--data", "/tmp/x"), DOSSIER_OK);
    assert_string_equal(config.data_dir, "/tmp/x");
    assert_string_equal(config.bind, "tcp://127.0.0.1:7531");
    assert_int_equal(config.workers, 2);
    assert_int_equal(config.max_message_bytes, 16u << 20);
    assert_int_equal(config.max_page_size, 1000);
    assert_false(config.no_sync);
    assert_int_equal(config.log_level, LOG_LEVEL_INFO);
    config_free(&config);
}

static void
test_flags(void **state) {
    (void)state;
    config_t config;
    dossier_error_t err = {0};
    assert_int_equal(s_parse(&config, &err, 13, "--data", "d", "--bind",
                             "tcp://127.0.0.1:*", "--workers", "4",
                             "--max-message-bytes", "1MiB", "--map-size", "2G",
                             "--no-sync", "--log-level", "WARN"),
                     DOSSIER_OK);
    assert_string_equal(config.bind, "tcp://127.0.0.1:*");
    assert_int_equal(config.workers, 4);

    assert_int_equal(config.max_message_bytes, 1u << 20);
    assert_int_equal(config.map_size, (size_t)2 << 30);
    assert_true(config.no_sync);
    assert_int_equal(config.log_level, LOG_LEVEL_WARN);
    config_free(&config);

    /* The last of a repeated flag wins. */
    assert_int_equal(s_parse(&config, &err, 4, "--data", "a", "--data", "b"),
                     DOSSIER_OK);
    assert_string_equal(config.data_dir, "b");
    config_free(&config);
}

static void
test_file_then_flags(void **state) {
    (void)state;
    char path[] = "/tmp/dossier-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "server\n"
                        "    data = /srv/dossier\n"
                        "    bind = tcp://127.0.0.1:9999\n"
                        "    workers = 5\n"
                        "    max_page_size = 20\n"
                        "    no_sync = true\n";
    assert_int_equal(write(fd, text, sizeof text - 1),
                     (ssize_t)(sizeof text - 1));
    close(fd);
    config_t config;
    dossier_error_t err = {0};
    assert_int_equal(
        s_parse(&config, &err, 4, "--config", path, "--workers", "1"),
        DOSSIER_OK);
    assert_string_equal(config.data_dir, "/srv/dossier");
    assert_string_equal(config.bind, "tcp://127.0.0.1:9999");
    assert_int_equal(config.workers, 1); /* the flag wins */
    assert_int_equal(config.max_page_size, 20);
    assert_true(config.no_sync);
    config_free(&config);
    unlink(path);
}

static void
test_refusals(void **state) {
    (void)state;
    static const struct {
        int argc;
        char *argv[6];
        const char *says;
    } cases[] = {
        {2, {"--bind", "tcp://127.0.0.1:1"}, "no data directory"},
        {3, {"--data", "d", "--bogus"}, "unknown option"},
        {4, {"--data", "d", "--workers", "0"}, "--workers"},
        {4, {"--data", "d", "--workers", "65"}, "--workers"},
        {4, {"--data", "d", "--workers", "-1"}, "--workers"},
        {4, {"--data", "d", "--max-page-size", "12x"}, "--max-page-size"},
        {4, {"--data", "d", "--map-size", "1Q"}, "--map-size"},
        {6,
         {"--data", "d", "--map-size", "2G", "--max-map-size", "1G"},
         "larger than max_map_size"},
        {4, {"--data", "d", "--config", "/nonexistent"}, "cannot read"},
        {3, {"--data", "d", "stray"}, "unexpected argument"},
        /* libzmq would listen on 70000 % 65536 = 4464 */
        {4, {"--data", "d", "--bind", "tcp://127.0.0.1:70000"}, "the port"},
        {4, {"--data", "d", "--bind", "tcp://127.0.0.1:75x"}, "the port"},
        {4, {"--data", "d", "--bind", "tcp://127.0.0.1:"}, "the port"},
        {4, {"--data", "d", "--bind", "tcp://127.0.0.1"}, "has no port"},
        {4, {"--data", "d", "--bind", "tcp://[::1]"}, "has no port"},
        {4, {"--data", "d", "--feed", "tcp://127.0.0.1:99999"}, "feed_bind"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[8] = {"dossierd"};
        for (int j = 0; j < cases[i].argc; j++) {
            argv[j + 1] = cases[i].argv[j];
        }
        config_t config;
        dossier_error_t err = {0};
        dossier_status_t rc =
            config_from_args(&config, cases[i].argc + 1, argv, &err);
        if (rc != DOSSIER_INVALID_ARGUMENT ||
            !strstr(err.message, cases[i].says)) {
            fail_msg("case %zu: %s: %s", i, dossier_strerror(rc), err.message);
        }
        config_free(&config);
    }
}

static void
test_endpoints(void **state) {
    (void)state;
    /* Ports at the ends of the range, 0 and * (a free one), IPv6, other
       transports: taken (test_refusals has the ports refused). */
    static const char *const fine[] = {
        "tcp://127.0.0.1:1", "tcp://127.0.0.1:65535", "tcp://127.0.0.1:0",
        "tcp://[::1]:7531",  "tcp://[::1]:*",         "ipc:///tmp/d.sock"};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        config_t config;
        dossier_error_t err = {0};
        if (s_parse(&config, &err, 6, "--data", "d", "--bind", fine[i],
                    "--feed", fine[i]) != DOSSIER_OK) {
            fail_msg("%s: %s", fine[i], err.message);
        }
        assert_string_equal(config.bind, fine[i]);
        config_free(&config);
    }
}

static void
test_sizes(void **state) {
    (void)state;
    size_t value = 0;
    assert_true(config_parse_size("123", &value));
    assert_int_equal(value, 123);
    assert_true(config_parse_size("16M", &value));
    assert_int_equal(value, 16u << 20);
    assert_true(config_parse_size("4KiB", &value));
    assert_int_equal(value, 4096);
    assert_true(config_parse_size("1g", &value));
    assert_int_equal(value, 1u << 30);
    assert_false(config_parse_size("", &value));
    assert_false(config_parse_size("-1", &value));
    assert_false(config_parse_size("M", &value));
    assert_false(config_parse_size("99999999999999999999", &value));
    assert_false(config_parse_size("99999999999T", &value));
}

static dossier_status_t
s_fake_handler(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    (void)env;
    (void)job;
    (void)err;
    return DOSSIER_OK;
}

static void
test_method_table(void **state) {
    (void)state;
    dossier_error_t err = {0};
    assert_int_equal(methods_init(&err), DOSSIER_OK);
    const ProtobufCServiceDescriptor *service =
        &dossier__v1__reports__descriptor;
    assert_int_equal(methods_count(), service->n_methods);
    for (unsigned i = 0; i < service->n_methods; i++) {
        char name[128];
        snprintf(name, sizeof name, "dossier.v1.Reports/%s",
                 service->methods[i].name);
        const method_t *method = methods_find(name);
        assert_non_null(method);
        assert_ptr_equal(method->input, service->methods[i].input);
        assert_ptr_equal(method->output, service->methods[i].output);
        assert_true(method->role >= ROLE_READER);
    }
    assert_null(methods_find("dossier.v1.Reports/Nope"));
    assert_null(methods_find("Get"));
    assert_non_null(methods_find("/dossier.v1.Reports/Get"));
    assert_true(
        methods_allowed(methods_find("dossier.v1.Reports/Put"), ROLE_ADMIN));
    assert_false(
        methods_allowed(methods_find("dossier.v1.Reports/Put"), ROLE_READER));
    assert_true(
        methods_allowed(methods_find("dossier.v1.Reports/Get"), ROLE_READER));
    /* A gateway's key is no role in the order: request.c alone lets it
       call Health and Describe. */
    assert_false(
        methods_allowed(methods_find("dossier.v1.Reports/Get"), ROLE_GATEWAY));
    role_t parsed = ROLE_NONE;
    assert_false(methods_role_parse("gateway", &parsed));
    assert_true(methods_role_parse("writer", &parsed));
    assert_int_equal(parsed, ROLE_WRITER);

    /* A table missing a method, or with a row the service lacks, is
       refused at start-up. */
    size_t n = service->n_methods;
    method_t *rows = calloc(n + 1, sizeof *rows);
    assert_non_null(rows);
    for (size_t i = 0; i < n; i++) {
        rows[i].name = service->methods[i].name;
        rows[i].handler = s_fake_handler;
        rows[i].runs = RUNS_INLINE;
    }
    assert_int_equal(methods_join(service, rows, n, &err), DOSSIER_OK);
    assert_int_equal(methods_join(service, rows, n - 1, &err),
                     DOSSIER_INTERNAL);
    assert_non_null(strstr(err.message, "has no row"));
    rows[n] = rows[0];
    rows[n].name = "Frobnicate";
    assert_int_equal(methods_join(service, rows, n + 1, &err),
                     DOSSIER_INTERNAL);
    assert_non_null(strstr(err.message, "Frobnicate"));
    rows[n].name = rows[0].name; /* two rows for one method */
    assert_int_equal(methods_join(service, rows, n + 1, &err),
                     DOSSIER_INTERNAL);
    rows[0].runs = RUNS_WRITER; /* handlers that do not fit */
    assert_int_equal(methods_join(service, rows, n, &err), DOSSIER_INTERNAL);
    free(rows);
}

/*  The role each method needs and whether clients may resend it come
    from reports.proto's method options; the policy is written out here
    by hand, so that a proto edit that opens a method to a lesser role
    fails this test. */
static void
test_method_facts_from_proto(void **state) {
    (void)state;
    static const struct {
        const char *name;
        role_t role;
        apispec_idempotency_t idempotency;
    } want[] = {
        {"Put", ROLE_WRITER, APISPEC_IDEMPOTENT},
        {"Get", ROLE_READER, APISPEC_NO_SIDE_EFFECTS},
        {"Delete", ROLE_WRITER, APISPEC_IDEMPOTENT},
        {"List", ROLE_READER, APISPEC_NO_SIDE_EFFECTS},
        {"ImportText", ROLE_WRITER, APISPEC_IDEMPOTENT},
        {"ImportBatch", ROLE_WRITER, APISPEC_IDEMPOTENT},
        {"PutBatch", ROLE_WRITER, APISPEC_IDEMPOTENT},
        {"ListVersions", ROLE_READER, APISPEC_NO_SIDE_EFFECTS},
        {"History", ROLE_READER, APISPEC_NO_SIDE_EFFECTS},
        {"Changes", ROLE_READER, APISPEC_NO_SIDE_EFFECTS},
        {"Search", ROLE_READER, APISPEC_NO_SIDE_EFFECTS},
        {"Stats", ROLE_READER, APISPEC_NO_SIDE_EFFECTS},
        {"Health", ROLE_READER, APISPEC_NO_SIDE_EFFECTS},
        {"Describe", ROLE_READER, APISPEC_NO_SIDE_EFFECTS},
        {"Audit", ROLE_ADMIN, APISPEC_NO_SIDE_EFFECTS},
        {"Backup", ROLE_ADMIN, APISPEC_IDEMPOTENCY_UNKNOWN},
        {"BackupRead", ROLE_ADMIN, APISPEC_NO_SIDE_EFFECTS},
        {"ReloadUsers", ROLE_ADMIN, APISPEC_IDEMPOTENT},
        {"WhoAmI", ROLE_READER, APISPEC_NO_SIDE_EFFECTS},
        {"CreateToken", ROLE_ADMIN, APISPEC_IDEMPOTENCY_UNKNOWN},
        {"ListTokens", ROLE_ADMIN, APISPEC_NO_SIDE_EFFECTS},
        {"RevokeToken", ROLE_ADMIN, APISPEC_IDEMPOTENT},
        {"ClusterStatus", ROLE_ADMIN, APISPEC_NO_SIDE_EFFECTS},
    };
    dossier_error_t err = {0};
    assert_int_equal(methods_init(&err), DOSSIER_OK);
    assert_int_equal(methods_count(), sizeof want / sizeof want[0]);
    size_t n = 0;
    const apispec_method_t *spec = apispec_methods(&n);
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "dossier.v1.Reports/%s", want[i].name);
        const method_t *method = methods_find(name);
        assert_non_null(method);
        if (method->role != want[i].role ||
            method->idempotency != want[i].idempotency) {
            fail_msg("%s: role %s, idempotency %d; want %s, %d", name,
                     methods_role_name(method->role), (int)method->idempotency,
                     methods_role_name(want[i].role), (int)want[i].idempotency);
        }
        assert_string_equal(spec[i].full_name, name);
        assert_true(spec[i].idempotency_declared);
        assert_int_equal(apispec_retry_safe(&spec[i]),
                         want[i].idempotency != APISPEC_IDEMPOTENCY_UNKNOWN);
    }
    assert_null(apispec_find("dossier.v1.Reports/Nope"));
    assert_non_null(apispec_find("/dossier.v1.Reports/Backup"));
    assert_false(apispec_retry_safe(NULL));
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_file_then_flags),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_method_table),
        cmocka_unit_test(test_method_facts_from_proto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
