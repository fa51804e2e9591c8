/*  cli_put.c: `dossier put FILE.json`: stores a Report read as proto3
    JSON, with the JSON's version as the condition on the write unless
    --force, or as a create only with --create-only. */
#include "cli.h"

#include <stdlib.h>

#include "json.h"

typedef struct {
    bool create_only;
    bool force;
} s_put_state_t;

enum { S_PUT_CREATE_ONLY = 1, S_PUT_FORCE };

static const cli_option_t s_put_options[] = {
    {.name = "create-only",
     .key = S_PUT_CREATE_ONLY,
     .kind = CLI_FLAG,
     .help = "  --create-only  fail with ALREADY_EXISTS if the id exists\n"},
    {.name = "force",
     .key = S_PUT_FORCE,
     .kind = CLI_FLAG,
     .help = "  --force        ignore the JSON's version: overwrite whatever "
             "is stored\n"},
    {.name = NULL},
};

static int
s_put_take(const cli_verb_t *verb, void *state, int key,
           const cli_value_t *value) {
    (void)verb;
    (void)value;
    s_put_state_t *s = state;
    if (key == S_PUT_CREATE_ONLY) {
        s->create_only = true;
    } else {
        s->force = true;
    }
    return CLI_GO_ON;
}

static const cli_method_t s_put_method = {
    .name = "Put",
    .response_type = &dossier__v1__put_response__descriptor,
};

static int
s_put_show(const cli_global_t *g, dossier_client_t *client,
           const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__PutResponse *resp =
        (const Dossier__V1__PutResponse *)response;
    printf("%s %s, version %llu\n", resp->id,
           resp->created ? "created" : "updated",
           (unsigned long long)resp->version);
    return CLI_EXIT_OK;
}

static int
s_put(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_put_state_t s = {0};
    int rc = cli_parse(verb, verb->options, s_put_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one FILE.json");
    }
    const char *path = args.argv[0];
    char *text = NULL;
    size_t size = 0;
    const char *why = NULL;
    if (cli_read_file(path, &text, &size, &why) != 0) {
        fprintf(stderr, "dossier: %s: %s\n", path, why);
        return CLI_EXIT_REFUSED;
    }
    ProtobufCMessage *message = NULL;
    dossier_error_t err = {0};
    if (json_to_message(&dossier__v1__report__descriptor, text, size, &message,
                        &err) != DOSSIER_OK) {
        fprintf(stderr, "dossier: %s: %s\n", path, err.message);
        free(text);
        return CLI_EXIT_REFUSED;
    }
    free(text);
    Dossier__V1__PutRequest request = DOSSIER__V1__PUT_REQUEST__INIT;
    request.report = (Dossier__V1__Report *)message;
    /* The version the edit started from guards against lost updates. */
    request.expected_version = s.force ? 0 : request.report->version;
    request.create_only = s.create_only;
    rc = cli_call(g, &s_put_method, &request.base, s_put_show, NULL);
    dossier_message_free(message);
    return rc;
}

const cli_verb_t cli_verb_put = {
    .name = "put",
    .summary = "store a record from JSON",
    .usage = "usage: dossier put [--create-only] [--force] FILE.json\n"
             "\n"
             "Stores the Report in FILE.json (proto3 JSON, as `dossier get "
             "--json`\n"
             "prints; \"-\" reads stdin). When the JSON has a \"version\", the "
             "write\n"
             "succeeds only if the stored record still has that version, so "
             "an edit\n"
             "of a stale copy is refused (ABORTED).\n",
    .options = s_put_options,
    .run = s_put,
};
