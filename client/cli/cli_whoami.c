/*  cli_whoami.c: `dossier whoami`: the name, role and public key the
    server takes this client for, and its security mode. */
#include "cli.h"

static const cli_method_t s_whoami_method = {
    .name = "WhoAmI",
    .response_type = &dossier__v1__who_am_iresponse__descriptor,
};

static int
s_whoami_show(const cli_global_t *g, dossier_client_t *client,
              const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__WhoAmIResponse *who =
        (const Dossier__V1__WhoAmIResponse *)response;
    printf("name       %s\n"
           "role       %s\n"
           "public key %s\n"
           "security   %s\n",
           who->name, who->role,
           who->public_key[0] ? who->public_key : "(none)", who->security);
    if (who->via[0]) {
        printf("via        %s (API token %s)\n", who->via, who->token_id);
    }
    return CLI_EXIT_OK;
}

static int
s_whoami(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[0]);
    }
    Dossier__V1__WhoAmIRequest request = DOSSIER__V1__WHO_AM_IREQUEST__INIT;
    return cli_call(g, &s_whoami_method, &request.base, s_whoami_show, NULL);
}

const cli_verb_t cli_verb_whoami = {
    .name = "whoami",
    .summary = "your name and role on the server",
    .usage = "usage: dossier whoami [--json]\n"
             "\n"
             "Prints who the server takes you for: name, role, public key and "
             "its\n"
             "security mode.\n",
    .run = s_whoami,
};
