/*  cli_search.c: `dossier search QUERY...`: full-text search, filtered,
    its hits ranked with their snippets (and with --facets the counts per
    year, tier, country, publisher and document type), or each page as
    JSON. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    Dossier__V1__ReportFilter filter;
    unsigned long long limit;
    bool facets;
    Dossier__V1__SearchOrder order;
} s_search_state_t;

enum { S_SEARCH_FACETS = 1, S_SEARCH_SORT, S_SEARCH_LIMIT };

/* The filters are described in the prose. */
static const cli_option_t s_search_options[] = {
    CLI_FILTER_OPTIONS,
    {.name = "facets",
     .key = S_SEARCH_FACETS,
     .kind = CLI_FLAG,
     .help = "  --facets       also count the matches per year, tier, "
             "country,\n"
             "                 publisher and document type\n"},
    {.name = "sort",
     .key = S_SEARCH_SORT,
     .kind = CLI_TEXT,
     .help = "  --sort S       relevance (default), year (newest first), "
             "date\n"},
    {.name = "limit",
     .key = S_SEARCH_LIMIT,
     .kind = CLI_COUNT,
     .min = 1,
     .max = UINT32_MAX,
     .wants = "a count >= 1",
     .help = "  --limit N      at most N hits (default 10)\n"},
    {.name = "json",
     .key = CLI_OPT_JSON,
     .kind = CLI_FLAG,
     .help = "  --json         each SearchResponse page as one JSON object\n"},
    {.name = NULL},
};

static int
s_search_take(const cli_verb_t *verb, void *state, int key,
              const cli_value_t *value) {
    s_search_state_t *s = state;
    const char *arg = value->text;
    switch (key) {
    case S_SEARCH_LIMIT:
        s->limit = value->count;
        return CLI_GO_ON;
    case S_SEARCH_FACETS:
        s->facets = true;
        return CLI_GO_ON;
    case S_SEARCH_SORT:
        if (strcmp(arg, "relevance") == 0) {
            s->order = DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_RELEVANCE;
        } else if (strcmp(arg, "year") == 0) {
            s->order = DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_YEAR;
        } else if (strcmp(arg, "date") == 0) {
            s->order = DOSSIER__V1__SEARCH_ORDER__SEARCH_ORDER_PUBLICATION_DATE;
        } else {
            return cli_usage_error(verb,
                                   "--sort wants relevance, year or date, "
                                   "not '%s'",
                                   arg);
        }
        return CLI_GO_ON;
    default:
        return cli_filter_take(verb, &s->filter, key, value);
    }
}

static void
s_print_hit(const Dossier__V1__SearchHit *hit, size_t rank) {
    const Dossier__V1__Report *r = hit->report;
    if (r == NULL) {
        return;
    }
    printf("%zu. %s  %u  %s  %s  (score %.3f)\n", rank, r->id, r->year,
           r->country ? r->country : "", cli_tier_short(r->tier), hit->score);
    if (r->title && *r->title) {
        printf("   %s\n", r->title);
    }
    if (hit->snippet && *hit->snippet) {
        cli_print_wrapped(stdout, hit->snippet, 3, 78);
    }
    fputc('\n', stdout);
}

/* Facets as "by year:" then "2004 (6), 2006 (2), ..." wrapped at 78
   columns between entries, never inside one. */
static void
s_print_facets(const Dossier__V1__SearchResponse *resp) {
    for (size_t i = 0; i < resp->n_facets; i++) {
        const Dossier__V1__Facet *f = resp->facets[i];
        if (f->n_counts == 0) {
            continue;
        }
        const char *field = f->field ? f->field : "?";
        printf("by %s:\n  ",
               strcmp(field, "doc_type") == 0 ? "document type" : field);
        size_t col = 2;
        for (size_t k = 0; k < f->n_counts; k++) {
            char entry[256];
            const char *value = f->counts[k]->value ? f->counts[k]->value : "";
            /* A tier as list shows it ("Tier 2 WL"), not its enum name. */
            Dossier__V1__Tier tier;
            if (f->field && strcmp(f->field, "tier") == 0 &&
                cli_tier_parse(value, &tier) == 0 && *cli_tier_short(tier)) {
                value = cli_tier_short(tier);
            }
            snprintf(entry, sizeof entry, "%s (%llu)%s", value,
                     (unsigned long long)f->counts[k]->count,
                     k + 1 < f->n_counts ? "," : "");
            size_t w = cli_text_width(entry);
            if (col > 2 && col + 1 + w > 78) {
                fputs("\n  ", stdout);
                col = 2;
            } else if (col > 2) {
                putchar(' ');
                col++;
            }
            fputs(entry, stdout);
            col += w;
        }
        putchar('\n');
    }
}

static char *
s_join(int argc, char **argv) {
    size_t len = 1;
    for (int i = 0; i < argc; i++) {
        len += strlen(argv[i]) + 1;
    }
    char *out = malloc(len);
    if (out == NULL) {
        return NULL;
    }
    out[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i > 0) {
            strcat(out, " ");
        }
        strcat(out, argv[i]);
    }
    return out;
}

static int
s_search(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_search_state_t s = {.filter = DOSSIER__V1__REPORT_FILTER__INIT,
                          .limit = 10};
    int rc = cli_parse(verb, verb->options, s_search_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc == 0) {
        return cli_usage_error(verb, "no query given");
    }
    char *query = s_join(args.argc, args.argv);
    if (query == NULL) {
        fprintf(stderr, "dossier: out of memory\n");
        return CLI_EXIT_REFUSED;
    }
    dossier_client_t *client = NULL;
    if ((rc = cli_connect(g, 0, &client)) != CLI_EXIT_OK) {
        free(query);
        return rc;
    }
    Dossier__V1__SearchRequest req = DOSSIER__V1__SEARCH_REQUEST__INIT;
    req.query = query;
    if (cli_filter_set(&s.filter)) {
        req.filter = &s.filter;
    }
    req.order = s.order;
    req.facets = s.facets;
    /* A phrase query's count may be estimated (printed "about N"): the
       hits are the same, the server spares a position check per match. */
    req.estimate_total_hits = true;
    char *token = NULL;
    unsigned long long shown = 0;
    uint32_t page_cap = CLI_MAX_PAGE;
    int shrinks = 0;
    bool printed = false;
    for (int page = 0; page < CLI_MAX_PAGES && shown < s.limit; page++) {
        unsigned long long want = s.limit - shown;
        req.page_size = (uint32_t)(want < page_cap ? want : page_cap);
        req.page_token = token ? token : (char *)"";
        Dossier__V1__SearchResponse *resp = NULL;
        dossier_error_t err = {0};
        dossier_status_t st = dossier_search(client, &req, &resp, &err);
        if (cli_page_shrink(st, req.page_size, &page_cap, &shrinks)) {
            continue;
        }
        if (st != DOSSIER_OK) {
            rc = cli_fail(&err);
            break;
        }
        if (g->json) {
            cli_print_json(&resp->base);
        } else {
            if (!printed) {
                printf("%s%llu match%s\n\n",
                       resp->total_hits_estimated ? "about " : "",
                       (unsigned long long)resp->total_hits,
                       resp->total_hits == 1 ? "" : "es");
                if (resp->total_hits == 0) {
                    cli_filter_hint(&s.filter);
                }
            }
            for (size_t i = 0; i < resp->n_hits && shown < s.limit; i++) {
                s_print_hit(resp->hits[i], (size_t)++shown);
            }
            if (!printed && s.facets) {
                s_print_facets(resp);
            }
        }
        printed = true;
        if (g->json) {
            shown += resp->n_hits;
        }
        const char *next = resp->next_page_token;
        bool go_on = next && *next && resp->n_hits > 0 &&
                     !(token && strcmp(token, next) == 0);
        free(token);
        token = go_on ? strdup(next) : NULL;
        /* Facets count every match; one page of them is enough. */
        req.facets = false;
        dossier_message_free(resp);
        if (token == NULL) {
            break;
        }
    }
    free(token);
    free(query);
    dossier_client_destroy(&client);
    return rc;
}

const cli_verb_t cli_verb_search = {
    .name = "search",
    .summary = "full-text search",
    .usage = "usage: dossier search [filters] [--facets] [--sort "
             "relevance|year|date]\n"
             "                      [--limit N] [--json] QUERY...\n"
             "\n"
             "Full-text search: every term must match; \"quoted phrases\" "
             "and\n"
             "-excluded terms work (write -- before a query with -excluded "
             "terms:\n"
             "`dossier search -- trafficking -labor`).\n"
             "Filters are those of `dossier list`. A phrase query's count of\n"
             "matches may be an estimate, printed \"about N\" (--facets makes "
             "it\n"
             "exact); the hits are the same.\n",
    .options = s_search_options,
    .run = s_search,
};
