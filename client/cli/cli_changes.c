/*  cli_changes.c: `dossier changes YEAR`: the countries whose tier moved
    in YEAR from the year before, and which way. */
#include "cli.h"

#include <string.h>

enum { S_CHANGES_DOC_TYPE = 1 };

/* --doc-type is in the synopsis only. */
static const cli_option_t s_changes_options[] = {
    {.name = "doc-type", .key = S_CHANGES_DOC_TYPE, .kind = CLI_TEXT},
    {.name = NULL},
};

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
    .name = "Changes",
    .response_type = &dossier__v1__changes_response__descriptor,
};

/* True when the server holds a record of year (or when it cannot say:
   the message then stays the general one). */
static bool
s_any_report(dossier_client_t *client, unsigned long long year) {
    if (year == 0) {
        return false;
    }
    Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
    filter.year_min = filter.year_max = (uint32_t)year;
    Dossier__V1__ListRequest request = DOSSIER__V1__LIST_REQUEST__INIT;
    request.filter = &filter;
    request.page_size = 1;
    Dossier__V1__ListResponse *response = NULL;
    dossier_error_t err = {0};
    if (dossier_list(client, &request, &response, &err) != DOSSIER_OK) {
        return true;
    }
    bool any = response->n_reports > 0;
    dossier_message_free(response);
    return any;
}

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
        /* A bare header reads as if something broke; and "no change"
           would mislead when there is nothing to compare. */
        if (!s_any_report(client, year)) {
            fprintf(stderr, "no records for %llu: nothing to compare\n", year);
        } else if (!s_any_report(client, year - 1)) {
            fprintf(stderr,
                    "no records for %llu, the year before %llu: nothing to "
                    "compare %llu with\n",
                    year - 1, year, year);
        } else {
            fprintf(stderr,
                    "no country's tier moved in %llu: none of the records "
                    "held for %llu has a tier different from the year "
                    "before\n",
                    year, year);
        }
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
    int rc = cli_parse(verb, verb->options, cli_take_text, &doc_type, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    unsigned long long year;
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one YEAR");
    }
    if (cli_parse_uint(args.argv[0], 1, 9999, &year) != 0) {
        return cli_usage_error(verb, "'%s' is not a year: give one like 2008",
                               args.argv[0]);
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
    .options = s_changes_options,
    .run = s_changes,
};
