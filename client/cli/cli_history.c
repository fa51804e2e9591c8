/*  cli_history.c: `dossier history COUNTRY`: a country's tier by year, as
    a table and, on a terminal, a chart of a dot per year in the row of
    its tier. */
#include "cli.h"

#include <unistd.h>

enum { S_HISTORY_DOC_TYPE = 1 };

/* --doc-type is in the synopsis only. */
static const cli_option_t s_history_options[] = {
    {.name = "doc-type", .key = S_HISTORY_DOC_TYPE, .kind = CLI_TEXT},
    {.name = NULL},
};

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
    .name = "History",
    .response_type = &dossier__v1__history_response__descriptor,
};

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
    int rc = cli_parse(verb, verb->options, cli_take_text, &doc_type, g, &args);
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
    .options = s_history_options,
    .run = s_history,
};
