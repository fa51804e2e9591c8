/*  cli_describe.c: `dossier describe`: the services and methods the
    server offers, read from the descriptor set it sends; with a METHOD,
    the fields of its request and reply, read from descriptors built from
    that set (dynpb.h), which is also how `dossier call` (cli_call_json.c)
    calls methods this CLI was not built with. */
#include "cli.h"

#include <ctype.h>
#include <string.h>

#include "dynpb.h"
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

static const cli_method_t s_describe_method_call = {
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

int
cli_api_load(const cli_global_t *g, dossier_client_t **client_p,
             dynpb_pool_t **pool_p) {
    dossier_client_t *client = NULL;
    int rc = cli_connect(g, 0, &client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    Dossier__V1__DescribeResponse *d = NULL;
    dossier_error_t err = {0};
    if (dossier_describe(client, &d, &err) != DOSSIER_OK) {
        dossier_client_destroy(&client);
        return cli_fail(&err);
    }
    dossier_status_t st = dynpb_pool_new(
        d->file_descriptor_set.data, d->file_descriptor_set.len, pool_p, &err);
    dossier_message_free(d);
    if (st != DOSSIER_OK) {
        fprintf(stderr, CLI_PROG ": the server's %s\n", err.message);
        dossier_client_destroy(&client);
        return CLI_EXIT_REFUSED;
    }
    *client_p = client;
    return CLI_EXIT_OK;
}

/* Levenshtein distance ignoring case, for suggesting a method. */
static size_t
s_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) {
        return SIZE_MAX;
    }
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) !=
                          tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int
cli_api_method(const cli_verb_t *verb, const dynpb_pool_t *pool,
               const char *name, const dynpb_method_t **method_p) {
    const dynpb_method_t *m = dynpb_pool_find_method(pool, name);
    if (m != NULL) {
        *method_p = m;
        return CLI_EXIT_OK;
    }
    /* The closest method name, compared with what follows the last '/'. */
    const char *slash = strrchr(name, '/');
    const char *tail = slash ? slash + 1 : name;
    size_t n, best = SIZE_MAX;
    const dynpb_method_t *methods = dynpb_pool_methods(pool, &n);
    const char *suggestion = NULL;
    size_t same = 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = s_distance(tail, methods[i].name);
        same += slash == NULL && strcmp(name, methods[i].name) == 0;
        if (d < best) {
            best = d;
            suggestion = methods[i].name;
        }
    }
    if (same > 1) {
        fprintf(stderr,
                CLI_PROG " %s: %zu services have a method %s; name it as "
                         "SERVICE/%s\n",
                verb->name, same, name, name);
        return CLI_EXIT_USAGE;
    }
    fprintf(stderr, CLI_PROG " %s: the server has no method '", verb->name);
    cli_print_escaped(stderr, name);
    if (suggestion != NULL && best <= 2 && best < strlen(tail)) {
        fprintf(stderr, "'; did you mean '%s'?\n", suggestion);
    } else {
        fprintf(stderr, "' (dossier describe lists them)\n");
    }
    return CLI_EXIT_USAGE;
}

static const char *
s_type_word(const ProtobufCFieldDescriptor *f) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
        return "int32";
    case PROTOBUF_C_TYPE_SINT32:
        return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32:
        return "sfixed32";
    case PROTOBUF_C_TYPE_INT64:
        return "int64";
    case PROTOBUF_C_TYPE_SINT64:
        return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64:
        return "sfixed64";
    case PROTOBUF_C_TYPE_UINT32:
        return "uint32";
    case PROTOBUF_C_TYPE_FIXED32:
        return "fixed32";
    case PROTOBUF_C_TYPE_UINT64:
        return "uint64";
    case PROTOBUF_C_TYPE_FIXED64:
        return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT:
        return "float";
    case PROTOBUF_C_TYPE_DOUBLE:
        return "double";
    case PROTOBUF_C_TYPE_BOOL:
        return "bool";
    case PROTOBUF_C_TYPE_STRING:
        return "string";
    case PROTOBUF_C_TYPE_BYTES:
        return "bytes";
    case PROTOBUF_C_TYPE_ENUM:
        return ((const ProtobufCEnumDescriptor *)f->descriptor)->name;
    case PROTOBUF_C_TYPE_MESSAGE:
        return ((const ProtobufCMessageDescriptor *)f->descriptor)->name;
    }
    return "?";
}

/* The types a method's description shows, each once, in the order met. */
typedef struct {
    const void *types[256];
    bool is_enum[256];
    size_t n;
    bool full; /* some were left out: a server's API can be huge */
} s_seen_t;

static void
s_see(s_seen_t *seen, const void *type, bool is_enum) {
    for (size_t i = 0; i < seen->n; i++) {
        if (seen->types[i] == type) {
            return;
        }
    }
    if (seen->n < sizeof seen->types / sizeof seen->types[0]) {
        seen->is_enum[seen->n] = is_enum;
        seen->types[seen->n++] = type;
    } else {
        seen->full = true;
    }
}

/* Prints the fields of d, in number order, and notes the types they use. */
static void
s_print_message(const ProtobufCMessageDescriptor *d, s_seen_t *seen) {
    printf("message %s {%s\n", d->name, d->n_fields ? "" : " }");
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char type[2 * 600];
        const ProtobufCMessageDescriptor *entry =
            f->type == PROTOBUF_C_TYPE_MESSAGE ? f->descriptor : NULL;
        size_t len = strlen(d->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED && entry &&
            entry->n_fields == 2 && entry->fields[0].id == 1 &&
            entry->fields[1].id == 2 &&
            strncmp(entry->name, d->name, len) == 0 &&
            entry->name[len] == '.' && strlen(entry->short_name) > 5 &&
            strcmp(entry->short_name + strlen(entry->short_name) - 5,
                   "Entry") == 0) {
            snprintf(type, sizeof type, "map<%s, %s>",
                     s_type_word(&entry->fields[0]),
                     s_type_word(&entry->fields[1]));
            f = &entry->fields[1]; /* the value's type is what to show */
        } else {
            snprintf(type, sizeof type, "%s%s",
                     f->label == PROTOBUF_C_LABEL_REPEATED ? "repeated "
                     : f->label == PROTOBUF_C_LABEL_OPTIONAL &&
                             !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                         ? "optional "
                     : f->label == PROTOBUF_C_LABEL_REQUIRED ? "required "
                                                             : "",
                     s_type_word(f));
        }
        printf("  %s %s = %u;%s%s\n", type, d->fields[i].name, d->fields[i].id,
               d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF ? "  // oneof"
                                                                : "",
               d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_DEPRECATED
                   ? "  // deprecated"
                   : "");
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            s_see(seen, f->descriptor, false);
        } else if (f->type == PROTOBUF_C_TYPE_ENUM) {
            s_see(seen, f->descriptor, true);
        }
    }
    if (d->n_fields) {
        printf("}\n");
    }
}

static void
s_print_enum(const ProtobufCEnumDescriptor *e) {
    printf("enum %s {\n", e->name);
    /* By number; an alias after the value it names. */
    for (unsigned i = 0; i < e->n_values; i++) {
        printf("  %s = %d;\n", e->values[i].name, e->values[i].value);
        for (unsigned k = 0; k < e->n_value_names; k++) {
            if (e->values_by_name[k].index == i &&
                strcmp(e->values_by_name[k].name, e->values[i].name) != 0) {
                printf("  %s = %d;\n", e->values_by_name[k].name,
                       e->values[i].value);
            }
        }
    }
    printf("}\n");
}

static const char *
s_idempotency_name(int level) {
    switch (level) {
    case 0:
        return "IDEMPOTENCY_UNKNOWN";
    case 1:
        return "NO_SIDE_EFFECTS";
    case 2:
        return "IDEMPOTENT";
    default:
        return "?";
    }
}

/* `describe METHOD`: the method, then every type its messages use. */
static void
s_print_method(const dynpb_method_t *m) {
    printf("rpc %s(%s%s) returns (%s%s)\n", m->full_name,
           m->client_streaming ? "stream " : "", m->input->name,
           m->server_streaming ? "stream " : "", m->output->name);
    if (m->idempotency >= 0) {
        printf("  option idempotency_level = %s;\n",
               s_idempotency_name(m->idempotency));
    }
    for (size_t i = 0; i < m->n_extension_options; i++) {
        printf("  option %s;\n", m->extension_options[i]);
    }
    s_seen_t seen = {.n = 0, .full = false};
    s_see(&seen, m->input, false);
    s_see(&seen, m->output, false);
    for (size_t i = 0; i < seen.n; i++) {
        printf("\n");
        if (seen.is_enum[i]) {
            s_print_enum(seen.types[i]);
        } else {
            s_print_message(seen.types[i], &seen);
        }
    }
    if (seen.full) {
        printf("\n(more types are used than the %zu shown)\n", seen.n);
    }
}

static int
s_describe_method(const cli_verb_t *verb, const cli_global_t *g,
                  const char *name) {
    dossier_client_t *client = NULL;
    dynpb_pool_t *pool = NULL;
    const dynpb_method_t *method = NULL;
    int rc = cli_api_load(g, &client, &pool);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    rc = cli_api_method(verb, pool, name, &method);
    if (rc == CLI_EXIT_OK) {
        s_print_method(method);
    }
    dynpb_pool_destroy(&pool);
    dossier_client_destroy(&client);
    return rc;
}

static int
s_describe(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc > 1) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[1]);
    }
    if (args.argc == 1) {
        if (g->json) {
            return cli_usage_error(verb, "--json lists the whole API; it "
                                         "takes no METHOD");
        }
        return s_describe_method(verb, g, args.argv[0]);
    }
    Dossier__V1__DescribeRequest request = DOSSIER__V1__DESCRIBE_REQUEST__INIT;
    return cli_call(g, &s_describe_method_call, &request.base, s_describe_show,
                    NULL);
}

const cli_verb_t cli_verb_describe = {
    .name = "describe",
    .summary = "the methods of the API, or the messages of one",
    .usage = "usage: dossier describe [--json] [METHOD]\n"
             "\n"
             "Lists the methods the server offers with their request and "
             "response\n"
             "types, read from its descriptors (--json: the "
             "FileDescriptorSet).\n"
             "With METHOD (Get, Reports/Get or dossier.v1.Reports/Get): its "
             "options,\n"
             "and the fields of its request and response and of every "
             "message and\n"
             "enum they use, as the server describes them; `dossier call` "
             "takes\n"
             "them as JSON.\n",
    .run = s_describe,
};
