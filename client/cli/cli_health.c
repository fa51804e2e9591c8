/*  cli_health.c: `dossier health`: whether the server serves; the exit
    code says it too. */
#include "cli.h"

#include <string.h>

static const cli_method_t s_health_method = {
    .name = "Health",
    .response_type = &dossier__v1__health_response__descriptor,
};

/* Exits 1 unless the server serves, whatever the output. */
static int
s_health_show(const cli_global_t *g, dossier_client_t *client,
              const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    const Dossier__V1__HealthResponse *h =
        (const Dossier__V1__HealthResponse *)response;
    int rc = CLI_EXIT_OK;
    if (g->json) {
        rc = cli_show_json(response);
    } else {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &dossier__v1__serving_status__descriptor, h->status);
        /* "SERVING_STATUS_SERVING" reads better as "SERVING". */
        const char *name = v ? v->name : "UNKNOWN";
        const char *prefix = "SERVING_STATUS_";
        if (strncmp(name, prefix, strlen(prefix)) == 0) {
            name += strlen(prefix);
        }
        if (h->node_id) {
            /* A node of a cluster: its part and the leader it knows. */
            printf("%s %s (node %llu, leader %llu)\n", name, h->role,
                   (unsigned long long)h->node_id,
                   (unsigned long long)h->leader_id);
        } else {
            printf("%s\n", name);
        }
    }
    if (h->status != DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_SERVING) {
        rc = CLI_EXIT_REFUSED;
    }
    return rc;
}

static int
s_health(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[0]);
    }
    Dossier__V1__HealthRequest request = DOSSIER__V1__HEALTH_REQUEST__INIT;
    return cli_call(g, &s_health_method, &request.base, s_health_show, NULL);
}

const cli_verb_t cli_verb_health = {
    .name = "health",
    .summary = "is the server serving",
    .usage = "usage: dossier health [--json]\n"
             "\n"
             "Prints whether the server serves; exits 0 when it does, 1 when "
             "not.\n",
    .run = s_health,
};
