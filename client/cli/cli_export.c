/*  cli_export.c: `dossier export`: every record (filters as for list)
    with all its fields as proto3 JSON, one Report per line, following
    page tokens, for `dossier import --json`. The JSON field names are
    the contract, so a dump survives changes of the stored layout. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_EXPORT_PAGE 500
#define S_MAX_PAGES 10000000

/* The filters are those of list. */
static const cli_option_t s_export_options[] = {
    CLI_FILTER_OPTIONS,
    {.name = NULL},
};

static int
s_export(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
    int rc = cli_parse(verb, verb->options, cli_filter_take, &filter, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[0]);
    }
    dossier_client_t *client = NULL;
    rc = cli_connect(g, 0, &client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    Dossier__V1__ListRequest request = DOSSIER__V1__LIST_REQUEST__INIT;
    request.filter = &filter;
    request.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    request.page_size = S_EXPORT_PAGE;
    char *token = NULL;
    unsigned long long records = 0;
    for (long pages = 0; pages < S_MAX_PAGES; pages++) {
        request.page_token = token ? token : (char *)"";
        Dossier__V1__ListResponse *page = NULL;
        dossier_error_t err = {0};
        dossier_status_t status = dossier_list(client, &request, &page, &err);
        if (status == DOSSIER_INVALID_ARGUMENT && request.page_size > 1 &&
            records == 0 && token == NULL) {
            /* A server with a smaller max_page_size: ask for fewer. */
            request.page_size /= 2;
            pages--;
            continue;
        }
        if (status != DOSSIER_OK) {
            rc = cli_fail(&err);
            break;
        }
        for (size_t i = 0; i < page->n_reports && rc == CLI_EXIT_OK; i++) {
            if (cli_print_json(&page->reports[i]->base) != 0) {
                rc = CLI_EXIT_REFUSED;
            }
            records++;
        }
        free(token);
        token = NULL;
        if (page->next_page_token && page->next_page_token[0]) {
            token = strdup(page->next_page_token);
        }
        dossier_message_free(page);
        if (!token || rc != CLI_EXIT_OK) {
            break;
        }
    }
    free(token);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "dossier: cannot write the export: %s\n",
                strerror(errno));
        rc = CLI_EXIT_REFUSED;
    }
    if (rc == CLI_EXIT_OK) {
        fprintf(stderr, "exported %llu records\n", records);
    }
    dossier_client_destroy(&client);
    return rc;
}

const cli_verb_t cli_verb_export = {
    .name = "export",
    .summary = "every record as JSON lines",
    .usage = "usage: dossier export [--country C] [--year Y|Y1-Y2] [--tier T]\n"
             "                      [--publisher P] [--json] > dump.jsonl\n"
             "\n"
             "Prints every record (filters as for `dossier list`) with all "
             "its\n"
             "fields as proto3 JSON, one Report per line, for `dossier "
             "import\n"
             "--json`. The JSON names are the contract: a dump outlives "
             "changes of\n"
             "the stored layout.\n",
    .options = s_export_options,
    .run = s_export,
};
