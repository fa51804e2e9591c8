/*  cli_export.c: `dossier export`: every record (filters as for list,
    and --doc-type) with all its fields as proto3 JSON, one Report per
    line, following page tokens, for `dossier import --json`. The JSON
    field names are the contract, so a dump survives changes of the
    stored layout. --format csv writes a spreadsheet instead
    (cli_csv.c). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_EXPORT_PAGE 500
#define S_MAX_PAGES 10000000

enum {
    S_EXPORT_FORMAT = 0x2001,
    S_EXPORT_FIELDS,
    S_EXPORT_BOM,
};

/* The filters are those of list. */
static const cli_option_t s_export_options[] = {
    CLI_FILTER_OPTIONS,
    {.name = "format",
     .key = S_EXPORT_FORMAT,
     .kind = CLI_TEXT,
     .help = "  --format jsonl|csv JSON lines (default), or CSV (RFC "
             "4180, UTF-8)\n"},
    {.name = "fields",
     .key = S_EXPORT_FIELDS,
     .kind = CLI_TEXT,
     .help = "  --fields A,B,...   CSV columns, Report field names; "
             "\"body\" is the text\n"},
    {.name = "bom",
     .key = S_EXPORT_BOM,
     .kind = CLI_FLAG,
     .help = "  --bom              CSV starts with a UTF-8 byte-order mark "
             "(for Excel)\n"},
    {.name = NULL},
};

typedef struct {
    Dossier__V1__ReportFilter filter;
    const char *format;
    const char *fields;
    bool bom;
} s_export_options_t;

static int
s_export_take(const cli_verb_t *verb, void *state, int key,
              const cli_value_t *value) {
    s_export_options_t *s = state;
    switch (key) {
    case S_EXPORT_FORMAT:
        s->format = value->text;
        return CLI_GO_ON;
    case S_EXPORT_FIELDS:
        s->fields = value->text;
        return CLI_GO_ON;
    case S_EXPORT_BOM:
        s->bom = true;
        return CLI_GO_ON;
    default:
        return cli_filter_take(verb, &s->filter, key, value);
    }
}

static int
s_export(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_export_options_t s = {.filter = DOSSIER__V1__REPORT_FILTER__INIT};
    int rc = cli_parse(verb, verb->options, s_export_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[0]);
    }
    bool csv = false;
    if (s.format && strcmp(s.format, "csv") == 0) {
        csv = true;
    } else if (s.format && strcmp(s.format, "jsonl") != 0) {
        return cli_usage_error(verb, "--format is jsonl or csv, not '%s'",
                               s.format);
    }
    if ((s.fields || s.bom) && !csv) {
        return cli_usage_error(verb, "--fields and --bom go with --format csv");
    }
    cli_csv_columns_t columns;
    const char *bad = NULL;
    if (csv && cli_csv_columns(s.fields, &columns, &bad) != 0) {
        return cli_usage_error(
            verb,
            "--fields: '%s' is not a field of a report; give names such as "
            "id,title,country,country_code,year,tier,doc_type,publisher,"
            "author,publication_date,last_updated,source_url,version,"
            "updated_at,body",
            bad);
    }
    Dossier__V1__ReportFilter filter = s.filter;
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
    if (csv) {
        if (s.bom) {
            fputs("\xef\xbb\xbf", stdout);
        }
        cli_csv_header(stdout, &columns);
    }
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
            const Dossier__V1__Report *report = page->reports[i];
            /* The server filters; a server older than the filter's
               doc_type ignores it, so it is checked here too. */
            const char *doc_type = s.filter.doc_type;
            if (doc_type && doc_type[0] &&
                strcasecmp(report->doc_type, doc_type) != 0) {
                continue;
            }
            if (csv) {
                cli_csv_row(stdout, &columns, report);
            } else if (cli_print_json(&report->base) != 0) {
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
        fprintf(stderr, "exported %llu record%s\n", records,
                records == 1 ? "" : "s");
    }
    dossier_client_destroy(&client);
    return rc;
}

const cli_verb_t cli_verb_export = {
    .name = "export",
    .summary = "every record as JSON lines",
    .usage = "usage: dossier export [--country C] [--year Y|Y1-Y2] [--tier T]\n"
             "                      [--publisher P] [--doc-type D] > "
             "dump.jsonl\n"
             "       dossier export --format csv [--fields A,B,...] [--bom] "
             "[filters]\n"
             "                      > reports.csv\n"
             "\n"
             "Prints every record (filters as for `dossier list`) with all "
             "its\n"
             "fields as proto3 JSON, one Report per line, for `dossier "
             "import\n"
             "--json`. The JSON names are the contract: a dump outlives "
             "changes of\n"
             "the stored layout.\n"
             "\n"
             "--format csv writes one row per record under a header row "
             "(RFC 4180:\n"
             "CRLF, a cell with a comma, quote or line break quoted, quotes "
             "doubled;\n"
             "UTF-8). Default columns: id, title, country, country_code, "
             "year, tier,\n"
             "doc_type, publisher, author, publication_date, last_updated, "
             "source_url,\n"
             "version, updated_at. \"body\" is the text, paragraphs "
             "separated by a\n"
             "blank line; a tier is its name (\"Tier 2 Watch List\"); a "
             "year of 0 is\n"
             "empty.\n",
    .options = s_export_options,
    .run = s_export,
};
