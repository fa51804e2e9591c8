/*  cli_info.c: the read-only overview verbs of `dossier`: history,
    changes, stats, health and describe. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "google/protobuf/descriptor.pb-c.h"

/* --doc-type of history and changes: in their synopsis only. */
enum { S_DOC_TYPE = 1 };

static const cli_option_t s_doc_type_options[] = {
    {.name = "doc-type", .key = S_DOC_TYPE, .kind = CLI_TEXT},
    {.name = NULL},
};

static int
s_doc_type_take(const cli_verb_t *verb, void *state, int key,
                const cli_value_t *value) {
    (void)verb;
    (void)key;
    *(const char **)state = value->text;
    return CLI_GO_ON;
}

/* ---- history ------------------------------------------------------ */

/* Chart rows, top to bottom, best tier first. */
static const Dossier__V1__Tier s_chart_tiers[] = {
    DOSSIER__V1__TIER__TIER_1, DOSSIER__V1__TIER__TIER_2,
    DOSSIER__V1__TIER__TIER_2_WATCH_LIST, DOSSIER__V1__TIER__TIER_3,
    DOSSIER__V1__TIER__SPECIAL_CASE};

/* A dot per year in the row of its tier; years without a report stay
   empty. Only the most recent years that fit the terminal are drawn. */
static void
s_history_chart(const Dossier__V1__HistoryResponse *h) {
    if (h->n_entries == 0) {
        return;
    }
    uint32_t first = h->entries[0]->year;
    uint32_t last = h->entries[h->n_entries - 1]->year;
    for (size_t i = 0; i < h->n_entries; i++) {
        uint32_t y = h->entries[i]->year;
        first = y < first ? y : first;
        last = y > last ? y : last;
    }
    int width = cli_term_width();
    uint32_t fit = (uint32_t)((width > 20 ? width : 80) - 11) / 3;
    if (last - first + 1 > fit) {
        first = last - fit + 1;
    }
    printf("\n%-10s", "");
    for (uint32_t y = first; y <= last; y++) {
        printf(" %02u", y % 100);
    }
    putchar('\n');
    for (size_t t = 0; t < sizeof s_chart_tiers / sizeof s_chart_tiers[0];
         t++) {
        printf("%-10s", cli_tier_short(s_chart_tiers[t]));
        for (uint32_t y = first; y <= last; y++) {
            bool here = false;
            for (size_t i = 0; i < h->n_entries; i++) {
                here |= h->entries[i]->year == y &&
                        h->entries[i]->tier == s_chart_tiers[t];
            }
            fputs(here ? "  ●" : "  ·", stdout);
        }
        putchar('\n');
    }
}

static const cli_method_t s_history_method = {
    "History", &dossier__v1__history_response__descriptor, 0};

/* state: the country as given. */
static int
s_history_show(const cli_global_t *g, dossier_client_t *client,
               const ProtobufCMessage *response, void *state) {
    (void)client;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__HistoryResponse *h =
        (const Dossier__V1__HistoryResponse *)response;
    if (h->country_code && *h->country_code) {
        printf("%s (%s)\n", h->country, h->country_code);
    } else {
        printf("%s\n", h->country ? h->country : (const char *)state);
    }
    printf("%-4s  %-10s  %s\n", "YEAR", "TIER", "REPORT");
    for (size_t i = 0; i < h->n_entries; i++) {
        const Dossier__V1__HistoryEntry *e = h->entries[i];
        printf("%-4u  %-10s  %s", e->year, cli_tier_short(e->tier),
               e->report_id ? e->report_id : "");
        if (e->tier_note && *e->tier_note) {
            printf("  (%s)", e->tier_note);
        }
        putchar('\n');
    }
    if (isatty(STDOUT_FILENO)) {
        s_history_chart(h);
    }
    return CLI_EXIT_OK;
}

static int
s_history(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    const char *doc_type = NULL;
    int rc =
        cli_parse(verb, verb->options, s_doc_type_take, &doc_type, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one COUNTRY (quote a "
                                     "name with blanks)");
    }
    Dossier__V1__HistoryRequest request = DOSSIER__V1__HISTORY_REQUEST__INIT;
    request.country = args.argv[0];
    if (doc_type != NULL) {
        request.doc_type = (char *)doc_type;
    }
    return cli_call(g, &s_history_method, &request.base, s_history_show,
                    args.argv[0]);
}

const cli_verb_t cli_verb_history = {
    .name = "history",
    .summary = "a country's tier by year",
    .usage = "usage: dossier history [--doc-type T] [--json] COUNTRY\n"
             "\n"
             "Prints a country's tier by year; on a terminal, also a chart.\n",
    .options = s_doc_type_options,
    .run = s_history,
};

/* ---- changes ------------------------------------------------------ */

static const char *
s_move_name(Dossier__V1__TierMove move) {
    switch (move) {
    case DOSSIER__V1__TIER_MOVE__TIER_MOVE_UPGRADE:
        return "up";
    case DOSSIER__V1__TIER_MOVE__TIER_MOVE_DOWNGRADE:
        return "down";
    case DOSSIER__V1__TIER_MOVE__TIER_MOVE_OTHER:
        return "other";
    default:
        return "";
    }
}

static const cli_method_t s_changes_method = {
    "Changes", &dossier__v1__changes_response__descriptor, 0};

/* state: the year asked for (unsigned long long). */
static int
s_changes_show(const cli_global_t *g, dossier_client_t *client,
               const ProtobufCMessage *response, void *state) {
    (void)client;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__ChangesResponse *c =
        (const Dossier__V1__ChangesResponse *)response;
    unsigned long long year = *(const unsigned long long *)state;
    if (c->n_changes == 0) {
        /* A bare header reads as if something broke. */
        fprintf(stderr,
                "no country's tier moved in %llu: none of the records held "
                "for %llu has a tier different from the year before\n",
                year, year);
        return CLI_EXIT_OK;
    }
    size_t w = strlen("COUNTRY");
    for (size_t i = 0; i < c->n_changes; i++) {
        size_t n = cli_text_width(
            c->changes[i]->country ? c->changes[i]->country : "");
        w = n > w ? n : w;
    }
    printf("%-*s  %-10s  %-10s  %s\n", (int)w, "COUNTRY", "FROM", "TO", "MOVE");
    for (size_t i = 0; i < c->n_changes; i++) {
        const Dossier__V1__TierChange *ch = c->changes[i];
        cli_print_cell(stdout, ch->country ? ch->country : "", w, true);
        printf("  %-10s  %-10s  %s\n", cli_tier_short(ch->previous),
               cli_tier_short(ch->current), s_move_name(ch->move));
    }
    return CLI_EXIT_OK;
}

static int
s_changes(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    const char *doc_type = NULL;
    int rc =
        cli_parse(verb, verb->options, s_doc_type_take, &doc_type, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    unsigned long long year;
    if (args.argc != 1 || cli_parse_uint(args.argv[0], 1, 9999, &year) != 0) {
        return cli_usage_error(verb, "give exactly one YEAR");
    }
    Dossier__V1__ChangesRequest request = DOSSIER__V1__CHANGES_REQUEST__INIT;
    request.year = (uint32_t)year;
    if (doc_type != NULL) {
        request.doc_type = (char *)doc_type;
    }
    return cli_call(g, &s_changes_method, &request.base, s_changes_show, &year);
}

const cli_verb_t cli_verb_changes = {
    .name = "changes",
    .summary = "tier changes in a year",
    .usage = "usage: dossier changes [--doc-type T] [--json] YEAR\n"
             "\n"
             "Lists the countries whose tier moved in YEAR from the year "
             "before.\n",
    .options = s_doc_type_options,
    .run = s_changes,
};

/* ---- stats -------------------------------------------------------- */

static void
s_bytes(char *buf, size_t size, uint64_t bytes) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static const cli_method_t s_stats_method = {
    "Stats", &dossier__v1__stats_response__descriptor, 0};

static int
s_stats_show(const cli_global_t *g, dossier_client_t *client,
             const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__StatsResponse *s =
        (const Dossier__V1__StatsResponse *)response;
    char used[32], map[32];
    s_bytes(used, sizeof used, s->db_bytes);
    s_bytes(map, sizeof map, s->map_bytes);
    uint64_t up = s->uptime_seconds;
    printf("%-10s %llu\n", "records:", (unsigned long long)s->records);
    printf("%-10s %s used of a %s map\n", "database:", used, map);
    printf("%-10s %u segment%s%s\n", "index:", s->index_segments,
           s->index_segments == 1 ? "" : "s",
           s->index_merge_due ? ", merging when idle" : "");
    printf("%-10s %llud %02lluh %02llum %02llus\n",
           "uptime:", (unsigned long long)(up / 86400),
           (unsigned long long)(up / 3600 % 24),
           (unsigned long long)(up / 60 % 60), (unsigned long long)(up % 60));
    if (s->server_version && *s->server_version) {
        printf("%-10s %s\n", "server:", s->server_version);
    }
    if (s->n_by_year > 0) {
        printf("\n%-6s %s\n", "YEAR", "RECORDS");
        for (size_t i = 0; i < s->n_by_year; i++) {
            if (s->by_year[i]->year == 0) {
                printf("%-6s %llu\n", "(none)",
                       (unsigned long long)s->by_year[i]->count);
                continue;
            }
            printf("%-6u %llu\n", s->by_year[i]->year,
                   (unsigned long long)s->by_year[i]->count);
        }
    }
    if (s->n_by_tier > 0) {
        printf("\n%-12s %s\n", "TIER", "RECORDS");
        for (size_t i = 0; i < s->n_by_tier; i++) {
            const char *t = cli_tier_short(s->by_tier[i]->tier);
            printf("%-12s %llu\n", *t ? t : "(none)",
                   (unsigned long long)s->by_tier[i]->count);
        }
    }
    if (s->n_requests > 0) {
        size_t w = strlen("METHOD");
        for (size_t i = 0; i < s->n_requests; i++) {
            const char *m = s->requests[i]->method;
            size_t n = m ? strlen(m) : 0;
            w = n > w ? n : w;
        }
        printf("\n%-*s  %-19s  %s\n", (int)w, "METHOD", "CODE", "COUNT");
        for (size_t i = 0; i < s->n_requests; i++) {
            const Dossier__V1__MethodCount *m = s->requests[i];
            printf("%-*s  %-19s  %llu\n", (int)w, m->method ? m->method : "",
                   dossier_strerror(m->code), (unsigned long long)m->count);
        }
    }
    return CLI_EXIT_OK;
}

static int
s_stats(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[0]);
    }
    Dossier__V1__StatsRequest request = DOSSIER__V1__STATS_REQUEST__INIT;
    return cli_call(g, &s_stats_method, &request.base, s_stats_show, NULL);
}

const cli_verb_t cli_verb_stats = {
    .name = "stats",
    .summary = "record counts and server figures",
    .usage = "usage: dossier stats [--json]\n"
             "\n"
             "Prints record counts and server figures.\n",
    .run = s_stats,
};

/* ---- health ------------------------------------------------------- */

static const cli_method_t s_health_method = {
    "Health", &dossier__v1__health_response__descriptor, 0};

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
        printf("%s\n", name);
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

/* ---- describe ----------------------------------------------------- */

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
    "Describe", &dossier__v1__describe_response__descriptor, 0};

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
