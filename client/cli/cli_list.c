/*  cli_list.c: `dossier list`: records ordered by id, filtered, as one
    aligned table of every page (or JSON lines), following page tokens
    up to --limit or, with --all, to the end. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    Dossier__V1__ReportFilter filter;
    unsigned long long limit;
    bool all;
    bool full;
} s_list_state_t;

enum { S_LIST_LIMIT = 1, S_LIST_ALL, S_LIST_FULL };

static const cli_option_t s_list_options[] = {
    {.name = "country",
     .key = CLI_OPT_COUNTRY,
     .kind = CLI_TEXT,
     .help = "  --country C    a name, a variant (\"Ivory Coast\") or an "
             "alpha-3 code\n"},
    {.name = "year",
     .key = CLI_OPT_YEAR,
     .kind = CLI_TEXT,
     .help = "  --year Y       one year, or an inclusive range Y1-Y2\n"},
    {.name = "tier",
     .key = CLI_OPT_TIER,
     .kind = CLI_TEXT,
     .help = "  --tier T       1, 2, 2wl, 3 or special\n"},
    {.name = "publisher",
     .key = CLI_OPT_PUBLISHER,
     .kind = CLI_TEXT,
     .help = "  --publisher P  exact publisher name, any case\n"},
    {.name = "doc-type",
     .key = CLI_OPT_DOC_TYPE,
     .kind = CLI_TEXT,
     .help = "  --doc-type D   exact document type (\"Freedom in the World\"), "
             "any case\n"},
    {.name = "limit",
     .key = S_LIST_LIMIT,
     .kind = CLI_COUNT,
     .min = 1,
     .max = UINT32_MAX,
     .wants = "a count >= 1",
     .help = "  --limit N      at most N records (default 50)\n"},
    {.name = "all",
     .key = S_LIST_ALL,
     .kind = CLI_FLAG,
     .help = "  --all          every matching record, following page "
             "tokens\n"},
    {.name = "full",
     .key = S_LIST_FULL,
     .kind = CLI_FLAG,
     .help = "  --full         with --json, every field (default: a "
             "summary)\n"},
    {.name = NULL},
};

static int
s_list_take(const cli_verb_t *verb, void *state, int key,
            const cli_value_t *value) {
    s_list_state_t *s = state;
    switch (key) {
    case S_LIST_LIMIT:
        s->limit = value->count;
        return CLI_GO_ON;
    case S_LIST_ALL:
        s->all = true;
        return CLI_GO_ON;
    case S_LIST_FULL:
        s->full = true;
        return CLI_GO_ON;
    default:
        return cli_filter_take(verb, &s->filter, key, value);
    }
}

/* Remembers every page of a listing, for one aligned table. */
typedef struct {
    Dossier__V1__ListResponse **pages;
    size_t n_pages;
    Dossier__V1__Report **rows;
    size_t n_rows;
} s_listing_t;

/* Takes page on success only. */
static int
s_listing_add(s_listing_t *l, Dossier__V1__ListResponse *page) {
    Dossier__V1__Report **rows =
        realloc(l->rows, (l->n_rows + page->n_reports + 1) * sizeof *rows);
    if (rows == NULL) {
        return -1;
    }
    l->rows = rows;
    Dossier__V1__ListResponse **pages =
        realloc(l->pages, (l->n_pages + 1) * sizeof *pages);
    if (pages == NULL) {
        return -1;
    }
    l->pages = pages;
    l->pages[l->n_pages++] = page;
    for (size_t i = 0; i < page->n_reports; i++) {
        l->rows[l->n_rows++] = page->reports[i];
    }
    return 0;
}

static void
s_listing_free(s_listing_t *l) {
    for (size_t i = 0; i < l->n_pages; i++) {
        dossier_message_free(l->pages[i]);
    }
    free(l->pages);
    free(l->rows);
}

static int
s_list(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_list_state_t s = {.filter = DOSSIER__V1__REPORT_FILTER__INIT,
                        .limit = 50};
    int rc = cli_parse(verb, verb->options, s_list_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[0]);
    }
    dossier_client_t *client = NULL;
    if ((rc = cli_connect(g, 0, &client)) != CLI_EXIT_OK) {
        return rc;
    }
    Dossier__V1__ListRequest req = DOSSIER__V1__LIST_REQUEST__INIT;
    if (cli_filter_set(&s.filter)) {
        req.filter = &s.filter;
    }
    req.view = s.full ? DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL
                      : DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_SUMMARY;
    s_listing_t listing = {0};
    char *token = NULL;
    unsigned long long shown = 0;
    bool more = false;
    uint32_t page_cap = CLI_MAX_PAGE;
    int shrinks = 0;
    for (int page = 0; page < CLI_MAX_PAGES; page++) {
        unsigned long long want = s.all ? page_cap : s.limit - shown;
        req.page_size = (uint32_t)(want < page_cap ? want : page_cap);
        req.page_token = token ? token : (char *)"";
        Dossier__V1__ListResponse *resp = NULL;
        dossier_error_t err = {0};
        dossier_status_t st = dossier_list(client, &req, &resp, &err);
        if (cli_page_shrink(st, req.page_size, &page_cap, &shrinks)) {
            continue;
        }
        if (st != DOSSIER_OK) {
            rc = cli_fail(&err);
            break;
        }
        size_t take = resp->n_reports;
        if (!s.all && shown + take > s.limit) {
            take = (size_t)(s.limit - shown);
        }
        if (g->json) {
            for (size_t i = 0; i < take; i++) {
                cli_print_json(&resp->reports[i]->base);
            }
        }
        shown += take;
        const char *next = resp->next_page_token;
        bool has_next = next && *next;
        bool same = has_next && token && strcmp(next, token) == 0;
        free(token);
        token = has_next && !same ? strdup(next) : NULL;
        if (!g->json) {
            size_t n_before = listing.n_rows;
            if (s_listing_add(&listing, resp) != 0) {
                dossier_message_free(resp);
                fprintf(stderr, "dossier: out of memory\n");
                rc = CLI_EXIT_REFUSED;
                break;
            }
            listing.n_rows = n_before + take;
        } else {
            dossier_message_free(resp);
        }
        if (same) {
            fprintf(stderr, "dossier: the server repeated a page token; "
                            "stopping\n");
            rc = CLI_EXIT_REFUSED;
            break;
        }
        if (token == NULL || (!s.all && shown >= s.limit)) {
            more = token != NULL;
            break;
        }
    }
    free(token);
    if (rc == CLI_EXIT_OK && !g->json && listing.n_rows == 0) {
        fprintf(stderr, "no reports match\n");
        cli_filter_hint(&s.filter);
    } else if (rc == CLI_EXIT_OK && !g->json) {
        cli_print_report_table(stdout, listing.rows, listing.n_rows);
        if (more && isatty(fileno(stderr))) {
            fprintf(stderr, "(more records match: use --all or --limit)\n");
        }
    }
    s_listing_free(&listing);
    dossier_client_destroy(&client);
    return rc;
}

const cli_verb_t cli_verb_list = {
    .name = "list",
    .summary = "list records, filtered",
    .usage = "usage: dossier list [--country C] [--year Y|Y1-Y2] [--tier T]\n"
             "                    [--publisher P] [--doc-type D] [--limit N | "
             "--all]\n"
             "                    [--full] [--json]\n"
             "\n"
             "Lists records ordered by id as a table (ID, YEAR, COUNTRY, "
             "TIER,\n"
             "TITLE), or with --json one Report object per line.\n",
    .options = s_list_options,
    .run = s_list,
};
