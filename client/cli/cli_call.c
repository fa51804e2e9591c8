/*  cli_call.c: how a verb of `dossier` reaches the server.

    cli_connect makes the client from the global options (cli_auth.c
    finds the server and the CURVE keys). cli_call is the whole of a verb
    that makes one call: connect, call, print a failure the one way the
    CLI prints it ("dossier: message (CODE)", and a hint when the
    message alone leaves a person guessing) and pick the exit code (0
    ok, 1 refused by the server, 2 usage, 3 unreachable), or hand the
    response to the verb's show function. A verb that makes several calls
    uses cli_connect and cli_fail itself. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

int
cli_exit_code(dossier_status_t status) {
    if (status == DOSSIER_OK) {
        return CLI_EXIT_OK;
    }
    if (status == DOSSIER_UNAVAILABLE || status == DOSSIER_DEADLINE_EXCEEDED) {
        return CLI_EXIT_UNREACHABLE;
    }
    return CLI_EXIT_REFUSED;
}

/* Whether the last cli_connect used CURVE keys: what a silent server
   most likely means differs (cli_fail's hint). */
static bool s_curve_used;
/* Whether the last cli_connect was for --json output: cli_fail then
   prints the failure as JSON. */
static bool s_json;

/*  A next step for a failure whose message alone leaves the user
    guessing, or NULL. (The server's own messages carry theirs: role
    none says to reload the users.) */
static const char *
s_hint(const dossier_error_t *err) {
    bool silent = (err->code == DOSSIER_UNAVAILABLE ||
                   err->code == DOSSIER_DEADLINE_EXCEEDED) &&
                  strstr(err->message, "no reply in") != NULL;
    if (silent && !s_curve_used) {
        return "is dossierd running there (-s, $DOSSIER_SERVER)? If it is "
               "and uses CURVE\n(as it must on any endpoint but loopback), "
               "it answers no one without keys:\ngive --server-key (its "
               "public key) and --key (your secret certificate),\nor set "
               "them in ~/.config/dossier/config";
    }
    if (silent) {
        return "a CURVE server stays silent to a key it does not know: check "
               "--server-key,\nand if your certificate was just added to "
               "the users directory, an admin\nmust run `dossier users "
               "reload`";
    }
    if (err->code == DOSSIER_UNAUTHENTICATED) {
        return "the server does not admit this key: check --server-key, and "
               "that your\ncertificate (NAME.key) is in the server's users "
               "directory; if it was\njust added, an admin must run `dossier "
               "users reload`";
    }
    return NULL;
}

int
cli_fail(const dossier_error_t *err) {
    /* With --json, scripts read stderr too: the failure is one line of
       the wire's own Response, {"code":5,"message":"..."}. */
    if (s_json) {
        Dossier__V1__Response response = DOSSIER__V1__RESPONSE__INIT;
        response.code = (int32_t)err->code;
        response.message = (char *)err->message;
        char *json = json_from_message(&response.base, JSON_COMPACT);
        if (json != NULL) {
            fprintf(stderr, "%s\n", json);
            free(json);
            return cli_exit_code(err->code);
        }
    }
    /* The sentence first, for people; the code after it, for scripts
       (which also have the exit status). */
    fprintf(stderr, CLI_PROG ": %s (%s)\n", err->message,
            dossier_strerror(err->code));
    const char *hint = s_hint(err);
    if (hint != NULL) {
        fprintf(stderr, "hint: %s\n", hint);
    }
    return cli_exit_code(err->code);
}

int
cli_connect(const cli_global_t *g, int default_timeout_ms,
            dossier_client_t **client_p) {
    dossier_options_t options;
    dossier_options_init(&options);
    /* Static: the options borrow it until dossier_client_new copies. */
    static cli_keys_t keys;
    const char *server = NULL;
    int auth_rc = cli_auth_options(g, &keys, &options, &server);
    if (auth_rc != CLI_EXIT_OK) {
        return auth_rc;
    }
    if (server == NULL || *server == '\0') {
        server = DOSSIER_DEFAULT_ENDPOINT;
    }
    if (g->timeout_ms > 0) {
        options.timeout_ms = g->timeout_ms;
    } else if (default_timeout_ms > 0) {
        options.timeout_ms = default_timeout_ms;
    }
    options.client_name = "dossier-cli/" DOSSIER_VERSION;
    s_curve_used = options.curve_secret_key != NULL;
    s_json = g->json;
    dossier_error_t err = {0};
    dossier_status_t rc = dossier_client_new(server, &options, client_p, &err);
    explicit_bzero(keys.secret_key, sizeof keys.secret_key);
    if (rc != DOSSIER_OK) {
        fprintf(stderr, CLI_PROG ": %s\n", err.message);
        return rc == DOSSIER_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                              : CLI_EXIT_UNREACHABLE;
    }
    return CLI_EXIT_OK;
}

int
cli_call(const cli_global_t *g, const cli_method_t *method,
         const ProtobufCMessage *request, cli_show_fn show, void *state) {
    dossier_client_t *client = NULL;
    int rc = cli_connect(g, method->timeout_ms, &client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    ProtobufCMessage *response = NULL;
    dossier_error_t err = {0};
    if (dossier_call(client, method->name, request, method->response_type,
                     &response, &err) != DOSSIER_OK) {
        rc = cli_fail(&err);
    } else {
        rc = show(g, client, response, state);
    }
    dossier_message_free(response);
    dossier_client_destroy(&client);
    return rc;
}
