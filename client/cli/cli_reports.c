/*  cli_reports.c: the record verbs of `dossier`: get, put, delete, list
    and search. Each parses its options, makes its calls through
    libdossier, prints a table or record (or JSON lines) and returns the
    exit code. */
#include "cli.h"

#include <assert.h>
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
cli_filter_take(const cli_verb_t *verb, void *filter, int key,
                const cli_value_t *value) {
    Dossier__V1__ReportFilter *f = filter;
    const char *arg = value->text;
    unsigned long long a, b;
    switch (key) {
    case CLI_OPT_COUNTRY:
        f->country = (char *)arg;
        return CLI_GO_ON;
    case CLI_OPT_PUBLISHER:
        f->publisher = (char *)arg;
        return CLI_GO_ON;
    case CLI_OPT_TIER:
        if (cli_tier_parse(arg, &f->tier) != 0) {
            return cli_usage_error(verb,
                                   "--tier wants 1, 2, 2wl, 3 or special, "
                                   "not '%s'",
                                   arg);
        }
        return CLI_GO_ON;
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
        return CLI_GO_ON;
    }
    default:
        assert(!"not a filter option");
        return CLI_EXIT_USAGE;
    }
}

bool
cli_filter_set(const Dossier__V1__ReportFilter *f) {
    return f->country || f->publisher || f->tier || f->year_min || f->year_max;
}

/* ---- get ---------------------------------------------------------- */

static const cli_method_t s_get_method = {"Get",
                                          &dossier__v1__report__descriptor, 0};

static int
s_get_show(const cli_global_t *g, dossier_client_t *client,
           const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    cli_print_record(stdout, (const Dossier__V1__Report *)response);
    return CLI_EXIT_OK;
}

static int
s_get(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one ID");
    }
    Dossier__V1__GetRequest request = DOSSIER__V1__GET_REQUEST__INIT;
    request.id = args.argv[0];
    return cli_call(g, &s_get_method, &request.base, s_get_show, NULL);
}

const cli_verb_t cli_verb_get = {
    .name = "get",
    .summary = "print one record",
    .usage = "usage: dossier get [--json] ID\n"
             "\n"
             "Prints the record with ID: its header fields, then its "
             "paragraphs.\n",
    .run = s_get,
};

/* ---- put ---------------------------------------------------------- */

typedef struct {
    bool create_only;
    bool force;
} s_put_state_t;

enum { S_PUT_CREATE_ONLY = 1, S_PUT_FORCE };

static const cli_option_t s_put_options[] = {
    {.name = "create-only",
     .key = S_PUT_CREATE_ONLY,
     .kind = CLI_FLAG,
     .help = "  --create-only  fail with ALREADY_EXISTS if the id exists\n"},
    {.name = "force",
     .key = S_PUT_FORCE,
     .kind = CLI_FLAG,
     .help = "  --force        ignore the JSON's version: overwrite whatever "
             "is stored\n"},
    {.name = NULL},
};

static int
s_put_take(const cli_verb_t *verb, void *state, int key,
           const cli_value_t *value) {
    (void)verb;
    (void)value;
    s_put_state_t *s = state;
    if (key == S_PUT_CREATE_ONLY) {
        s->create_only = true;
    } else {
        s->force = true;
    }
    return CLI_GO_ON;
}

static const cli_method_t s_put_method = {
    "Put", &dossier__v1__put_response__descriptor, 0};

static int
s_put_show(const cli_global_t *g, dossier_client_t *client,
           const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__PutResponse *resp =
        (const Dossier__V1__PutResponse *)response;
    printf("%s %s, version %llu\n", resp->id,
           resp->created ? "created" : "updated",
           (unsigned long long)resp->version);
    return CLI_EXIT_OK;
}

static int
s_put(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_put_state_t s = {0};
    int rc = cli_parse(verb, verb->options, s_put_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one FILE.json");
    }
    const char *path = args.argv[0];
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
    Dossier__V1__PutRequest request = DOSSIER__V1__PUT_REQUEST__INIT;
    request.report = (Dossier__V1__Report *)message;
    /* The version the edit started from guards against lost updates. */
    request.expected_version = s.force ? 0 : request.report->version;
    request.create_only = s.create_only;
    rc = cli_call(g, &s_put_method, &request.base, s_put_show, NULL);
    dossier_message_free(message);
    return rc;
}

const cli_verb_t cli_verb_put = {
    .name = "put",
    .summary = "store a record from JSON",
    .usage = "usage: dossier put [--create-only] [--force] FILE.json\n"
             "\n"
             "Stores the Report in FILE.json (proto3 JSON, as `dossier get "
             "--json`\n"
             "prints; \"-\" reads stdin). When the JSON has a \"version\", the "
             "write\n"
             "succeeds only if the stored record still has that version, so "
             "an edit\n"
             "of a stale copy is refused (ABORTED).\n",
    .options = s_put_options,
    .run = s_put,
};

/* ---- delete ------------------------------------------------------- */

enum { S_DELETE_EXPECTED_VERSION = 1 };

/* --expected-version is described in the prose. */
static const cli_option_t s_delete_options[] = {
    {.name = "expected-version",
     .key = S_DELETE_EXPECTED_VERSION,
     .kind = CLI_COUNT,
     .min = 1,
     .max = UINT64_MAX,
     .wants = "a version >= 1"},
    {.name = NULL},
};

static int
s_delete_take(const cli_verb_t *verb, void *state, int key,
              const cli_value_t *value) {
    (void)verb;
    (void)key;
    *(uint64_t *)state = value->count;
    return CLI_GO_ON;
}

static const cli_method_t s_delete_method = {
    "Delete", &dossier__v1__delete_response__descriptor, 0};

static int
s_delete_show(const cli_global_t *g, dossier_client_t *client,
              const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__DeleteResponse *resp =
        (const Dossier__V1__DeleteResponse *)response;
    printf("deleted %s (it was version %llu)\n", resp->id,
           (unsigned long long)resp->version);
    return CLI_EXIT_OK;
}

static int
s_delete(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    uint64_t expected = 0;
    int rc = cli_parse(verb, verb->options, s_delete_take, &expected, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one ID");
    }
    Dossier__V1__DeleteRequest request = DOSSIER__V1__DELETE_REQUEST__INIT;
    request.id = args.argv[0];
    request.expected_version = expected;
    return cli_call(g, &s_delete_method, &request.base, s_delete_show, NULL);
}

const cli_verb_t cli_verb_delete = {
    .name = "delete",
    .summary = "delete a record",
    .usage = "usage: dossier delete [--expected-version V] ID\n"
             "\n"
             "Deletes the record with ID; with --expected-version, only if it "
             "still\n"
             "has version V (else ABORTED).\n",
    .options = s_delete_options,
    .run = s_delete,
};

/* ---- list --------------------------------------------------------- */

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

const cli_verb_t cli_verb_list = {
    .name = "list",
    .summary = "list records, filtered",
    .usage = "usage: dossier list [--country C] [--year Y|Y1-Y2] [--tier T]\n"
             "                    [--publisher P] [--limit N | --all] [--full] "
             "[--json]\n"
             "\n"
             "Lists records ordered by id as a table (ID, YEAR, COUNTRY, "
             "TIER,\n"
             "TITLE), or with --json one Report object per line.\n",
    .options = s_list_options,
    .run = s_list,
};

/* ---- search ------------------------------------------------------- */

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
     .help = "  --facets       also count the matches per year, tier, country "
             "and\n"
             "                 publisher\n"},
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
