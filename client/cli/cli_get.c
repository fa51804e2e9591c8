/*  cli_get.c: `dossier get ID`: one record, as a readable record (header
    fields, then the paragraphs) or as JSON. */
#include "cli.h"

static const cli_method_t s_get_method = {
    .name = "Get",
    .response_type = &dossier__v1__report__descriptor,
};

static int
s_get_show(const cli_global_t *g, dossier_client_t *client,
           const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    cli_print_record(stdout, (const Dossier__V1__Report *)response);
    return CLI_EXIT_OK;
}

static int
s_get(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one ID");
    }
    Dossier__V1__GetRequest request = DOSSIER__V1__GET_REQUEST__INIT;
    request.id = args.argv[0];
    return cli_call(g, &s_get_method, &request.base, s_get_show, NULL);
}

const cli_verb_t cli_verb_get = {
    .name = "get",
    .summary = "print one record",
    .usage = "usage: dossier get [--json] ID\n"
             "\n"
             "Prints the record with ID: its header fields, then its "
             "paragraphs.\n",
    .run = s_get,
};
