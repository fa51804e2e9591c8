/*  cli_reports.c: the record verbs of `dossier`: get, put, delete, list
    and search. Each parses its options, makes its calls through
    libdossier, prints a table or record (or JSON lines) and returns the
    exit code. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

#define S_MAX_PAGE 1000
/* Bounds the pages one command follows, whatever a server answers. */
#define S_MAX_PAGES 1000000

/* A server may be configured with a max_page_size below what we ask for
   and then refuses the page as INVALID_ARGUMENT: ask again for half as
   many, a few times (1000 -> 7 in 7 steps). Returns true when the caller
   should retry with *page_cap lowered. */
static bool
s_shrink_page(dossier_status_t status, uint32_t asked, uint32_t *page_cap,
              int *shrinks) {
    if (status != DOSSIER_INVALID_ARGUMENT || asked <= 1 || *shrinks >= 10) {
        return false;
    }
    (*shrinks)++;
    *page_cap = asked / 2;
    return true;
}

int
cli_filter_option(const cli_verb_t *verb, Dossier__V1__ReportFilter *f, int opt,
                  const char *arg) {
    unsigned long long a, b;
    switch (opt) {
    case CLI_OPT_COUNTRY:
        f->country = (char *)arg;
        return 0;
    case CLI_OPT_PUBLISHER:
        f->publisher = (char *)arg;
        return 0;
    case CLI_OPT_TIER:
        if (cli_tier_parse(arg, &f->tier) != 0) {
            return cli_usage_error(verb,
                                   "--tier wants 1, 2, 2wl, 3 or special, "
                                   "not '%s'",
                                   arg);
        }
        return 0;
    case CLI_OPT_YEAR: {
        char buf[32];
        snprintf(buf, sizeof buf, "%s", arg);
        char *dash = strchr(buf, '-');
        if (dash != NULL) {
            *dash = '\0';
        }
        if (cli_parse_uint(buf, 1, 9999, &a) != 0 ||
            (dash && cli_parse_uint(dash + 1, 1, 9999, &b) != 0) ||
            (dash && b < a)) {
            return cli_usage_error(verb,
                                   "--year wants a year or a range "
                                   "Y1-Y2, not '%s'",
                                   arg);
        }
        f->year_min = (uint32_t)a;
        f->year_max = dash ? (uint32_t)b : (uint32_t)a;
        return 0;
    }
    default:
        return -1;
    }
}

static bool
s_filter_set(const Dossier__V1__ReportFilter *f) {
    return f->country || f->publisher || f->tier || f->year_min || f->year_max;
}

/* Parses the options every verb takes plus a verb's own; own_option
   handles the verb's (returns -1 when taken, else an exit code, or -2
   when opt is not its own). Returns -1 to go on, or an exit code. */
typedef int (*s_own_option_fn)(const cli_verb_t *verb, void *state, int opt,
                               const char *arg);

static int
s_parse(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv,
        const char *shortopts, const struct option *longopts,
        s_own_option_fn own, void *state) {
    int opt;
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        int rc = own ? own(verb, state, opt, optarg) : -2;
        if (rc == -2) {
            rc = cli_common_option(verb, g, opt, optarg);
        }
        if (rc >= 0) {
            return rc;
        }
    }
    return -1;
}

static const struct option s_common_only[] = {
    CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0},
};

/* ---- get ---------------------------------------------------------- */

int
cli_get(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv) {
    int rc = s_parse(verb, g, argc, argv, CLI_COMMON_SHORTOPTS, s_common_only,
                     NULL, NULL);
    if (rc >= 0) {
        return rc;
    }
    if (argc - optind != 1) {
        return cli_usage_error(verb, "give exactly one ID");
    }
    dossier_client_t *client = NULL;
    if ((rc = cli_connect(g, 0, &client)) != CLI_EXIT_OK) {
        return rc;
    }
    Dossier__V1__Report *report = NULL;
    dossier_error_t err = {0};
    if (dossier_get(client, argv[optind], &report, &err) != DOSSIER_OK) {
        rc = cli_fail(&err);
    } else if (g->json) {
        rc =
            cli_print_json(&report->base) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
    } else {
        cli_print_record(stdout, report);
    }
    dossier_report_free(report);
    dossier_client_destroy(&client);
    return rc;
}

/* ---- put ---------------------------------------------------------- */

typedef struct {
    bool create_only;
    bool force;
} s_put_state_t;

static int
s_put_option(const cli_verb_t *verb, void *state, int opt, const char *arg) {
    (void)verb;
    (void)arg;
    s_put_state_t *s = state;
    if (opt == 'c') {
        s->create_only = true;
        return -1;
    }
    if (opt == 'f') {
        s->force = true;
        return -1;
    }
    return -2;
}

int
cli_put(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        {"create-only", no_argument, NULL, 'c'},
        {"force", no_argument, NULL, 'f'},
        CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    s_put_state_t s = {0};
    int rc = s_parse(verb, g, argc, argv, CLI_COMMON_SHORTOPTS, longopts,
                     s_put_option, &s);
    if (rc >= 0) {
        return rc;
    }
    if (argc - optind != 1) {
        return cli_usage_error(verb, "give exactly one FILE.json");
    }
    const char *path = argv[optind];
    char *text = NULL;
    size_t size = 0;
    const char *why = NULL;
    if (cli_read_file(path, &text, &size, &why) != 0) {
        fprintf(stderr, "dossier: %s: %s\n", path, why);
        return CLI_EXIT_REFUSED;
    }
    ProtobufCMessage *message = NULL;
    dossier_error_t err = {0};
    if (json_to_message(&dossier__v1__report__descriptor, text, size, &message,
                        &err) != DOSSIER_OK) {
        fprintf(stderr, "dossier: %s: %s\n", path, err.message);
        free(text);
        return CLI_EXIT_REFUSED;
    }
    free(text);
    Dossier__V1__Report *report = (Dossier__V1__Report *)message;
    /* The version the edit started from guards against lost updates. */
    uint64_t expected = s.force ? 0 : report->version;

    dossier_client_t *client = NULL;
    if ((rc = cli_connect(g, 0, &client)) != CLI_EXIT_OK) {
        dossier_message_free(message);
        return rc;
    }
    Dossier__V1__PutResponse *resp = NULL;
    if (dossier_put(client, report, expected, s.create_only, &resp, &err) !=
        DOSSIER_OK) {
        rc = cli_fail(&err);
    } else if (g->json) {
        cli_print_json(&resp->base);
    } else {
        printf("%s %s, version %llu\n", resp->id,
               resp->created ? "created" : "updated",
               (unsigned long long)resp->version);
    }
    dossier_message_free(resp);
    dossier_message_free(message);
    dossier_client_destroy(&client);
    return rc;
}

/* ---- delete ------------------------------------------------------- */

static int
s_delete_option(const cli_verb_t *verb, void *state, int opt, const char *arg) {
    if (opt != 'e') {
        return -2;
    }
    unsigned long long v;
    if (cli_parse_uint(arg, 1, UINT64_MAX, &v) != 0) {
        return cli_usage_error(verb,
                               "--expected-version wants a version >= 1, "
                               "not '%s'",
                               arg);
    }
    *(uint64_t *)state = v;
    return -1;
}

int
cli_delete(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        {"expected-version", required_argument, NULL, 'e'},
        CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    uint64_t expected = 0;
    int rc = s_parse(verb, g, argc, argv, CLI_COMMON_SHORTOPTS, longopts,
                     s_delete_option, &expected);
    if (rc >= 0) {
        return rc;
    }
    if (argc - optind != 1) {
        return cli_usage_error(verb, "give exactly one ID");
    }
    dossier_client_t *client = NULL;
    if ((rc = cli_connect(g, 0, &client)) != CLI_EXIT_OK) {
        return rc;
    }
    Dossier__V1__DeleteResponse *resp = NULL;
    dossier_error_t err = {0};
    if (dossier_delete(client, argv[optind], expected, &resp, &err) !=
        DOSSIER_OK) {
        rc = cli_fail(&err);
    } else if (g->json) {
        cli_print_json(&resp->base);
    } else {
        printf("deleted %s (it was version %llu)\n", resp->id,
               (unsigned long long)resp->version);
    }
    dossier_message_free(resp);
    dossier_client_destroy(&client);
    return rc;
}

/* ---- list --------------------------------------------------------- */

typedef struct {
    Dossier__V1__ReportFilter filter;
    unsigned long long limit;
    bool all;
    bool full;
} s_list_state_t;

static int
s_list_option(const cli_verb_t *verb, void *state, int opt, const char *arg) {
    s_list_state_t *s = state;
    int rc = cli_filter_option(verb, &s->filter, opt, arg);
    if (rc >= 0) {
        return rc == 0 ? -1 : rc;
    }
    switch (opt) {
    case 'l':
        if (cli_parse_uint(arg, 1, UINT32_MAX, &s->limit) != 0) {
            return cli_usage_error(verb,
                                   "--limit wants a count >= 1, not "
                                   "'%s'",
                                   arg);
        }
        return -1;
    case 'a':
        s->all = true;
        return -1;
    case 'F':
        s->full = true;
        return -1;
    default:
        return -2;
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

int
cli_list(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        CLI_FILTER_LONGOPTS,
        {"limit", required_argument, NULL, 'l'},
        {"all", no_argument, NULL, 'a'},
        {"full", no_argument, NULL, 'F'},
        CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    s_list_state_t s = {.filter = DOSSIER__V1__REPORT_FILTER__INIT,
                        .limit = 50};
    int rc = s_parse(verb, g, argc, argv, CLI_COMMON_SHORTOPTS, longopts,
                     s_list_option, &s);
    if (rc >= 0) {
        return rc;
    }
    if (optind != argc) {
        return cli_usage_error(verb, "unexpected argument '%s'", argv[optind]);
    }
    dossier_client_t *client = NULL;
    if ((rc = cli_connect(g, 0, &client)) != CLI_EXIT_OK) {
        return rc;
    }
    Dossier__V1__ListRequest req = DOSSIER__V1__LIST_REQUEST__INIT;
    if (s_filter_set(&s.filter)) {
        req.filter = &s.filter;
    }
    req.view = s.full ? DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL
                      : DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_SUMMARY;
    s_listing_t listing = {0};
    char *token = NULL;
    unsigned long long shown = 0;
    bool more = false;
    uint32_t page_cap = S_MAX_PAGE;
    int shrinks = 0;
    for (int page = 0; page < S_MAX_PAGES; page++) {
        unsigned long long want = s.all ? page_cap : s.limit - shown;
        req.page_size = (uint32_t)(want < page_cap ? want : page_cap);
        req.page_token = token ? token : (char *)"";
        Dossier__V1__ListResponse *resp = NULL;
        dossier_error_t err = {0};
        dossier_status_t st = dossier_list(client, &req, &resp, &err);
        if (s_shrink_page(st, req.page_size, &page_cap, &shrinks)) {
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

/* ---- search ------------------------------------------------------- */

typedef struct {
    Dossier__V1__ReportFilter filter;
    unsigned long long limit;
    bool facets;
    Dossier__V1__SearchOrder order;
} s_search_state_t;

static int
s_search_option(const cli_verb_t *verb, void *state, int opt, const char *arg) {
    s_search_state_t *s = state;
    int rc = cli_filter_option(verb, &s->filter, opt, arg);
    if (rc >= 0) {
        return rc == 0 ? -1 : rc;
    }
    switch (opt) {
    case 'l':
        if (cli_parse_uint(arg, 1, UINT32_MAX, &s->limit) != 0) {
            return cli_usage_error(verb,
                                   "--limit wants a count >= 1, not "
                                   "'%s'",
                                   arg);
        }
        return -1;
    case 'f':
        s->facets = true;
        return -1;
    case 'o':
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
        return -1;
    default:
        return -2;
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
        printf("by %s:\n  ", f->field ? f->field : "?");
        size_t col = 2;
        for (size_t k = 0; k < f->n_counts; k++) {
            char entry[256];
            snprintf(entry, sizeof entry, "%s (%llu)%s",
                     f->counts[k]->value ? f->counts[k]->value : "",
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

int
cli_search(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        CLI_FILTER_LONGOPTS,
        {"limit", required_argument, NULL, 'l'},
        {"facets", no_argument, NULL, 'f'},
        {"sort", required_argument, NULL, 'o'},
        CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    s_search_state_t s = {.filter = DOSSIER__V1__REPORT_FILTER__INIT,
                          .limit = 10};
    int rc = s_parse(verb, g, argc, argv, CLI_COMMON_SHORTOPTS, longopts,
                     s_search_option, &s);
    if (rc >= 0) {
        return rc;
    }
    if (optind >= argc) {
        return cli_usage_error(verb, "no query given");
    }
    char *query = s_join(argc - optind, argv + optind);
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
    if (s_filter_set(&s.filter)) {
        req.filter = &s.filter;
    }
    req.order = s.order;
    req.facets = s.facets;
    /* A phrase query's count may be estimated (printed "about N"): the
       hits are the same, the server spares a position check per match. */
    req.estimate_total_hits = true;
    char *token = NULL;
    unsigned long long shown = 0;
    uint32_t page_cap = S_MAX_PAGE;
    int shrinks = 0;
    bool printed = false;
    for (int page = 0; page < S_MAX_PAGES && shown < s.limit; page++) {
        unsigned long long want = s.limit - shown;
        req.page_size = (uint32_t)(want < page_cap ? want : page_cap);
        req.page_token = token ? token : (char *)"";
        Dossier__V1__SearchResponse *resp = NULL;
        dossier_error_t err = {0};
        dossier_status_t st = dossier_search(client, &req, &resp, &err);
        if (s_shrink_page(st, req.page_size, &page_cap, &shrinks)) {
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
