/*  cli_delete.c: `dossier delete ID`, with --expected-version as the
    condition on the delete. */
#include "cli.h"

enum { S_DELETE_EXPECTED_VERSION = 1 };

/* --expected-version is described in the prose. */
static const cli_option_t s_delete_options[] = {
    {.name = "expected-version",
     .key = S_DELETE_EXPECTED_VERSION,
     .kind = CLI_COUNT,
     .min = 1,
     .max = UINT64_MAX,
     .wants = "a version >= 1"},
    {.name = NULL},
};

static int
s_delete_take(const cli_verb_t *verb, void *state, int key,
              const cli_value_t *value) {
    (void)verb;
    (void)key;
    *(uint64_t *)state = value->count;
    return CLI_GO_ON;
}

static const cli_method_t s_delete_method = {
    .name = "Delete",
    .response_type = &dossier__v1__delete_response__descriptor,
};

static int
s_delete_show(const cli_global_t *g, dossier_client_t *client,
              const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__DeleteResponse *resp =
        (const Dossier__V1__DeleteResponse *)response;
    printf("deleted %s (it was version %llu)\n", resp->id,
           (unsigned long long)resp->version);
    return CLI_EXIT_OK;
}

static int
s_delete(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    uint64_t expected = 0;
    int rc = cli_parse(verb, verb->options, s_delete_take, &expected, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one ID");
    }
    Dossier__V1__DeleteRequest request = DOSSIER__V1__DELETE_REQUEST__INIT;
    request.id = args.argv[0];
    request.expected_version = expected;
    return cli_call(g, &s_delete_method, &request.base, s_delete_show, NULL);
}

const cli_verb_t cli_verb_delete = {
    .name = "delete",
    .summary = "delete a record",
    .usage = "usage: dossier delete [--expected-version V] ID\n"
             "\n"
             "Deletes the record with ID; with --expected-version, only if it "
             "still\n"
             "has version V (else ABORTED).\n",
    .options = s_delete_options,
    .run = s_delete,
};
