/*  cli_call_json.c: `dossier call METHOD [JSON]`: any method of the
    server, its request written as proto3 JSON and its reply printed as
    JSON, as grpcurl does for gRPC.

    The CLI's own compiled descriptors are not used: the request and
    reply types come from the descriptor set the server answers Describe
    with, built into descriptors at run time (dynpb.h, cli_api_load in
    cli_describe.c). So a method added to the .proto is callable from
    the shell as soon as the server has it, by a CLI built before it
    existed. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "dynpb.h"
#include "json.h"

/* Runs the call: request JSON (text, size bytes) in, reply JSON out. */
static int
s_call(const cli_verb_t *verb, const cli_global_t *g, const char *name,
       const char *text, size_t size) {
    dossier_client_t *client = NULL;
    dynpb_pool_t *pool = NULL;
    const dynpb_method_t *method = NULL;
    ProtobufCMessage *request = NULL, *reply = NULL;
    dossier_error_t err = {0};
    int rc = cli_api_load(g, &client, &pool);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    rc = cli_api_method(verb, pool, name, &method);
    if (rc != CLI_EXIT_OK) {
        goto destroy_pool;
    }
    if (method->client_streaming || method->server_streaming) {
        fprintf(stderr,
                CLI_PROG " %s: %s streams, and Dossier calls are "
                         "unary\n",
                verb->name, method->full_name);
        rc = CLI_EXIT_USAGE;
        goto destroy_pool;
    }
    dossier_status_t st =
        json_to_message(method->input, text, size, &request, &err);
    if (st != DOSSIER_OK) {
        fprintf(stderr, CLI_PROG " %s: the request is not a %s: ", verb->name,
                method->input->name);
        cli_print_escaped(stderr, err.message);
        fputc('\n', stderr);
        rc = st == DOSSIER_INVALID_ARGUMENT ? CLI_EXIT_USAGE : CLI_EXIT_REFUSED;
        goto destroy_pool;
    }
    if (dossier_call(client, method->full_name, request, method->output, &reply,
                     &err) != DOSSIER_OK) {
        rc = cli_fail(&err);
        goto free_request;
    }
    if (g->json) {
        rc = cli_show_json(reply);
    } else {
        char *json = json_from_message(reply, JSON_PRETTY);
        if (json == NULL) {
            fprintf(stderr, CLI_PROG ": out of memory\n");
            rc = CLI_EXIT_REFUSED;
        } else {
            printf("%s\n", json);
            free(json);
        }
    }
    protobuf_c_message_free_unpacked(reply, NULL);
free_request:
    protobuf_c_message_free_unpacked(request, NULL);
destroy_pool:
    dynpb_pool_destroy(&pool);
    dossier_client_destroy(&client);
    return rc;
}

static int
s_call_run(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc < 1) {
        return cli_usage_error(verb, "which method? (dossier describe "
                                     "lists them)");
    }
    if (args.argc > 2) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[2]);
    }
    const char *json = args.argc == 2 ? args.argv[1] : "-";
    if (strcmp(json, "-") != 0) {
        return s_call(verb, g, args.argv[0], json, strlen(json));
    }
    char *data = NULL;
    size_t size = 0;
    const char *why = NULL;
    if (cli_read_file("-", &data, &size, &why) != 0) {
        fprintf(stderr,
                CLI_PROG " %s: cannot read the request from stdin: "
                         "%s\n",
                verb->name, why);
        return CLI_EXIT_USAGE;
    }
    rc = s_call(verb, g, args.argv[0], data, size);
    free(data);
    return rc;
}

const cli_verb_t cli_verb_call = {
    .name = "call",
    .summary = "any method, with its request and reply as JSON",
    .usage =
        "usage: dossier call [--json] METHOD [JSON | -]\n"
        "\n"
        "Calls METHOD (Get, Reports/Get or dossier.v1.Reports/Get) with "
        "the\n"
        "request written as proto3 JSON (read from stdin when JSON is "
        "absent\n"
        "or -), and prints the reply as indented JSON (--json: one line).\n"
        "The request and reply types are those the server describes, so "
        "any\n"
        "method it offers works, also one newer than this CLI; `dossier\n"
        "describe METHOD` shows their fields. Field names may be "
        "lowerCamelCase\n"
        "or as in the .proto; 64-bit numbers may be strings; enums take "
        "names.\n"
        "\n"
        "  dossier call Get '{\"id\": \"tip-2004-aze\"}'\n"
        "  echo '{\"filter\": {\"country\": \"AZE\"}}' | dossier call List\n"
        "\n"
        "Exit status as for the other verbs: 1 when the server refuses the "
        "call\n"
        "(NOT_FOUND, ...), 2 for an unknown method or a request that is "
        "not\n"
        "valid JSON for it, 3 when the server cannot be reached.\n",
    .run = s_call_run,
};
