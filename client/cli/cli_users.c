/*  cli_users.c: `dossier users reload`: has the server read its users
    directory again (ReloadUsers, role admin), so that a certificate just
    added, removed or changed takes effect without a restart. */
#include "cli.h"

#include <string.h>

static const cli_method_t s_reload_method = {
    .name = "ReloadUsers",
    .response_type = &dossier__v1__reload_users_response__descriptor,
};

static int
s_reload_show(const cli_global_t *g, dossier_client_t *client,
              const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__ReloadUsersResponse *r =
        (const Dossier__V1__ReloadUsersResponse *)response;
    printf("reloaded the users: %u user%s\n", r->users,
           r->users == 1 ? "" : "s");
    return CLI_EXIT_OK;
}

static int
s_users(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1 || strcmp(args.argv[0], "reload") != 0) {
        return cli_usage_error(verb,
                               args.argc == 0 ? "give what to do: reload"
                                              : "'%s' is not something users "
                                                "does; it does: reload",
                               args.argc ? args.argv[0] : "");
    }
    Dossier__V1__ReloadUsersRequest request =
        DOSSIER__V1__RELOAD_USERS_REQUEST__INIT;
    return cli_call(g, &s_reload_method, &request.base, s_reload_show, NULL);
}

const cli_verb_t cli_verb_users = {
    .name = "users",
    .summary = "reload the server's users directory (admin)",
    .usage = "usage: dossier users reload [--json]\n"
             "\n"
             "Has the server read its users directory again (role admin), "
             "as SIGHUP\n"
             "does: a certificate added, removed or changed there takes "
             "effect now.\n"
             "Prints the number of users the server now knows.\n",
    .run = s_users,
};
