/*  test_roles.c: every method against every role, over a real socket.

    A server with --anonymous-role reader, one with writer, and the
    default loopback server (admin) each get every method of the service
    with an empty request. A method the role may not call is refused
    PERMISSION_DENIED with a message naming the role it needs; one it may
    call gets anything else (an empty request is often INVALID_ARGUMENT).
    The least role of each method is written out here by hand, from
    docs/PROTOCOL.md's table, so that a handler or a proto option that
    loosens a method's role (Backup, BackupRead, Audit and ReloadUsers
    above all) fails this test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dossier/v1/reports.pb-c.h"
#include "dossier/v1/rpc.pb-c.h"
#include "status.h"
#include "testserver.h"

enum { S_READER, S_WRITER, S_ADMIN };

static const char *const s_role_names[] = {"reader", "writer", "admin"};

/* docs/PROTOCOL.md: the least role of each method, in the service's
   order. */
static const struct {
    const char *name;
    int role;
} s_least_role[] = {
    {"Put", S_WRITER},          {"Get", S_READER},
    {"Delete", S_WRITER},       {"List", S_READER},
    {"ImportText", S_WRITER},   {"ImportBatch", S_WRITER},
    {"PutBatch", S_WRITER},     {"ListVersions", S_READER},
    {"History", S_READER},      {"Changes", S_READER},
    {"Search", S_READER},       {"Stats", S_READER},
    {"Health", S_READER},       {"Describe", S_READER},
    {"Audit", S_ADMIN},         {"Backup", S_ADMIN},
    {"BackupRead", S_ADMIN},    {"ReloadUsers", S_ADMIN},
    {"WhoAmI", S_READER},       {"CreateToken", S_ADMIN},
    {"ListTokens", S_ADMIN},    {"RevokeToken", S_ADMIN},
    {"ClusterStatus", S_ADMIN},
};

/*  Calls every method as role (the server's anonymous role) and checks
    each answer against s_least_role. */
static void
s_every_method_as(int role) {
    char args[64];
    snprintf(args, sizeof args, "--anonymous-role %s", s_role_names[role]);
    testserver_t *server = testserver_start(role == S_ADMIN ? NULL : args);
    assert_non_null(server);
    const ProtobufCServiceDescriptor *service =
        &dossier__v1__reports__descriptor;
    assert_int_equal(service->n_methods,
                     sizeof s_least_role / sizeof s_least_role[0]);
    int refused = 0;
    for (size_t i = 0; i < service->n_methods; i++) {
        const ProtobufCMethodDescriptor *method = &service->methods[i];
        assert_string_equal(method->name, s_least_role[i].name);
        ProtobufCMessage *input = calloc(1, method->input->sizeof_message);
        assert_non_null(input);
        method->input->message_init(input);
        char full[128];
        snprintf(full, sizeof full, "dossier.v1.Reports/%s", method->name);
        Dossier__V1__Response *response = NULL;
        assert_int_equal(testserver_call(testserver_endpoint(server), full,
                                         input, &response, 10000),
                         DOSSIER_OK);
        free(input);
        bool allowed = role >= s_least_role[i].role;
        if (allowed && response->code == DOSSIER_PERMISSION_DENIED) {
            fail_msg("%s refused to %s: %s", method->name, s_role_names[role],
                     response->message);
        }
        if (!allowed) {
            if (response->code != DOSSIER_PERMISSION_DENIED) {
                fail_msg("%s answered %d to %s, want PERMISSION_DENIED: %s",
                         method->name, (int)response->code, s_role_names[role],
                         response->message);
            }
            char want[160];
            snprintf(want, sizeof want, "method %s needs role %s", full,
                     s_role_names[s_least_role[i].role]);
            if (!strstr(response->message, want)) {
                fail_msg("%s: the refusal says \"%s\", not \"%s\"",
                         method->name, response->message, want);
            }
            refused++;
        }
        dossier__v1__response__free_unpacked(response, NULL);
    }
    print_message("%s: %d of %zu methods refused\n", s_role_names[role],
                  refused, (size_t)service->n_methods);
    testserver_stop(&server);
}

static void
test_reader(void **state) {
    (void)state;
    s_every_method_as(S_READER);
}

static void
test_writer(void **state) {
    (void)state;
    s_every_method_as(S_WRITER);
}

static void
test_admin(void **state) {
    (void)state;
    s_every_method_as(S_ADMIN);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
