/*  cli_describe.c: `dossier describe`: the services and methods the
    server offers, read from the descriptor set it sends. */
#include "cli.h"

#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"

/* ".dossier.v1.GetRequest" -> "GetRequest" when in package. */
static const char *
s_type_name(const char *type, const char *package) {
    if (type == NULL) {
        return "?";
    }
    if (*type == '.') {
        type++;
    }
    size_t n = package ? strlen(package) : 0;
    if (n > 0 && strncmp(type, package, n) == 0 && type[n] == '.') {
        return type + n + 1;
    }
    return type;
}

static const cli_method_t s_describe_method = {
    .name = "Describe",
    .response_type = &dossier__v1__describe_response__descriptor,
};

/* Prints the services of the descriptor set in a DescribeResponse. */
static void
s_describe_print(const Google__Protobuf__FileDescriptorSet *set) {
    size_t services = 0;
    for (size_t f = 0; f < set->n_file; f++) {
        const Google__Protobuf__FileDescriptorProto *file = set->file[f];
        for (size_t s = 0; s < file->n_service; s++) {
            const Google__Protobuf__ServiceDescriptorProto *svc =
                file->service[s];
            const char *pkg = file->package ? file->package : "";
            printf("%s%s%s%s  (%s)\n", services ? "\n" : "", pkg,
                   *pkg ? "." : "", svc->name ? svc->name : "?",
                   file->name ? file->name : "?");
            services++;
            size_t w = 0;
            for (size_t m = 0; m < svc->n_method; m++) {
                size_t n =
                    svc->method[m]->name ? strlen(svc->method[m]->name) : 0;
                w = n > w ? n : w;
            }
            for (size_t m = 0; m < svc->n_method; m++) {
                const Google__Protobuf__MethodDescriptorProto *md =
                    svc->method[m];
                printf("  %-*s  %s -> %s\n", (int)w, md->name ? md->name : "?",
                       s_type_name(md->input_type, pkg),
                       s_type_name(md->output_type, pkg));
            }
        }
    }
    if (services == 0) {
        printf("(the server describes no service)\n");
    }
}

static int
s_describe_show(const cli_global_t *g, dossier_client_t *client,
                const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    const Dossier__V1__DescribeResponse *d =
        (const Dossier__V1__DescribeResponse *)response;
    Google__Protobuf__FileDescriptorSet *set =
        google__protobuf__file_descriptor_set__unpack(
            NULL, d->file_descriptor_set.len, d->file_descriptor_set.data);
    if (set == NULL) {
        fprintf(stderr, "dossier: the server's descriptor set cannot be "
                        "decoded\n");
        return CLI_EXIT_REFUSED;
    }
    int rc = CLI_EXIT_OK;
    if (g->json) {
        rc = cli_show_json(&set->base);
    } else {
        s_describe_print(set);
    }
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    return rc;
}

static int
s_describe(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[0]);
    }
    Dossier__V1__DescribeRequest request = DOSSIER__V1__DESCRIBE_REQUEST__INIT;
    return cli_call(g, &s_describe_method, &request.base, s_describe_show,
                    NULL);
}

const cli_verb_t cli_verb_describe = {
    .name = "describe",
    .summary = "the methods of the API",
    .usage = "usage: dossier describe [--json]\n"
             "\n"
             "Lists the methods the server offers with their request and "
             "response\n"
             "types, read from its descriptors (--json: the "
             "FileDescriptorSet).\n",
    .run = s_describe,
};
