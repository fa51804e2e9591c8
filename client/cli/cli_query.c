/*  cli_query.c: what the verbs over many records share: the record
    filter options of list, search and export (--country, --year,
    --tier, --publisher, --doc-type), and the step down in page size that list
   and search take when a server caps its pages below what they ask for. */
#include "cli.h"

#include <assert.h>
#include <string.h>

#include "country.h"

/* A server may be configured with a max_page_size below what we ask for
   and then refuses the page as INVALID_ARGUMENT: ask again for half as
   many, a few times (1000 -> 7 in 7 steps). */
bool
cli_page_shrink(dossier_status_t status, uint32_t asked, uint32_t *page_cap,
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
    case CLI_OPT_DOC_TYPE:
        f->doc_type = (char *)arg;
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

void
cli_filter_hint(const Dossier__V1__ReportFilter *f) {
    if (f->country == NULL || country_lookup(f->country) != NULL) {
        return;
    }
    const country_t *near = country_suggest(f->country);
    if (near != NULL) {
        fprintf(stderr,
                "\"%s\" is not a country name. Did you mean \"%s\"? "
                "(--country %s)\n",
                f->country, near->name, near->alpha3);
    }
}

bool
cli_filter_set(const Dossier__V1__ReportFilter *f) {
    /* The strings start as protobuf-c's "" (REPORT_FILTER__INIT). */
    return (f->country && f->country[0]) || (f->publisher && f->publisher[0]) ||
           (f->doc_type && f->doc_type[0]) || f->tier || f->year_min ||
           f->year_max;
}
