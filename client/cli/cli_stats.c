/*  cli_stats.c: `dossier stats`: record counts (by year and tier) and
    the server's figures: store size, index segments, uptime, version
    and calls per method and code. */
#include "cli.h"

#include <string.h>

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
    .name = "Stats",
    .response_type = &dossier__v1__stats_response__descriptor,
};

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
