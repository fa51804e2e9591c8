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

enum { S_GET_VERSION = 1 };

static const cli_option_t s_get_options[] = {
    {.name = "version",
     .key = S_GET_VERSION,
     .kind = CLI_COUNT,
     .min = 1,
     .max = UINT64_MAX,
     .wants = "a version number (see `dossier log ID`)",
     .help = "  --version N   that version of the record, current or kept "
             "in its\n"
             "                history (`dossier log ID` lists them)\n"},
    {.name = NULL},
};

static int
s_get_take(const cli_verb_t *verb, void *state, int key,
           const cli_value_t *value) {
    (void)verb;
    (void)key;
    *(uint64_t *)state = value->count;
    return CLI_GO_ON;
}

static int
s_get(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    uint64_t version = 0;
    int rc = cli_parse(verb, verb->options, s_get_take, &version, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one ID");
    }
    Dossier__V1__GetRequest request = DOSSIER__V1__GET_REQUEST__INIT;
    request.id = args.argv[0];
    request.version = version;
    return cli_call(g, &s_get_method, &request.base, s_get_show, NULL);
}

const cli_verb_t cli_verb_get = {
    .name = "get",
    .summary = "print one record",
    .usage = "usage: dossier get [--json] [--version N] ID\n"
             "\n"
             "Prints the record with ID: its header fields, then its "
             "paragraphs.\n",
    .options = s_get_options,
    .run = s_get,
};
