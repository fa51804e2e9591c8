/*  main.c: `dossier`, the command-line client.

    dossier [-s|--server ENDPOINT] [--timeout MS] [--json] VERB [options]

    Global options come before the verb (and are accepted after it too);
    the verb table below drives dispatch, `--help` and the "did you mean"
    suggestion for a mistyped verb. The server is --server, else
    $DOSSIER_SERVER, else the config file (cli_auth.c), else
    tcp://127.0.0.1:7531; CURVE keys come the same way. */
#include "cli.h"
#include "cli_edit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define S_PROG "dossier"

static const char s_usage_import[] =
    "usage: dossier import [--batch N] [--verbose] FILE|DIR...\n"
    "       dossier import --dry-run [--json] FILE...\n"
    "       dossier import --json DUMP.jsonl\n"
    "\n"
    "Imports Refworld text documents. A directory is searched, recursively,\n"
    "for *.txt files. Documents are sent in ImportBatch calls of N (default\n"
    "64). Prints \"imported N (created A, updated B, unchanged C), failed F\"\n"
    "and names each failed file on stderr; exits 1 if any failed.\n"
    "\n"
    "  --dry-run     parse locally, without a server, and print each record\n"
    "                (--json: one JSON object per document)\n"
    "  --batch N     documents per call (1..5000, default 2500; at most\n"
    "                12 MiB of text a call)\n"
    "  -v, --verbose also print the parser's warnings\n"
    "  --json        one JSON ImportResult per document on stdout\n"
    "\n"
    "With --json and a file of JSON objects (as `dossier export` writes;\n"
    "\"-\" reads stdin), each line is a Report stored with Put as\n"
    "create-or-replace; the server assigns versions and timestamps. Prints\n"
    "\"imported N (created A, updated B), failed F\"; exits 1 if any "
    "failed.\n";

static const char s_usage_backup[] =
    "usage: dossier backup [--fetch FILE] [--json] [NAME]\n"
    "\n"
    "Asks the server (role admin) for a consistent, compacted copy of its\n"
    "store, written into its backup directory as NAME (a plain file name)\n"
    "or dossier-YYYYMMDDTHHMMSSZ.mdb, while it goes on serving. Prints the\n"
    "name, records, bytes, time taken and the path on the server.\n"
    "\n"
    "  --fetch FILE  also download it to FILE here (in 1 MiB chunks,\n"
    "                checked against the size the server reported)\n"
    "\n"
    "Restore with `dossierd --restore FILE --data DIR` (docs/OPERATIONS.md).\n";

static const char s_usage_export[] =
    "usage: dossier export [--country C] [--year Y|Y1-Y2] [--tier T]\n"
    "                      [--publisher P] [--json] > dump.jsonl\n"
    "\n"
    "Prints every record (filters as for `dossier list`) with all its\n"
    "fields as proto3 JSON, one Report per line, for `dossier import\n"
    "--json`. The JSON names are the contract: a dump outlives changes of\n"
    "the stored layout.\n";

static const char s_usage_get[] =
    "usage: dossier get [--json] ID\n"
    "\n"
    "Prints the record with ID: its header fields, then its paragraphs.\n";

static const char s_usage_put[] =
    "usage: dossier put [--create-only] [--force] FILE.json\n"
    "\n"
    "Stores the Report in FILE.json (proto3 JSON, as `dossier get --json`\n"
    "prints; \"-\" reads stdin). When the JSON has a \"version\", the write\n"
    "succeeds only if the stored record still has that version, so an edit\n"
    "of a stale copy is refused (ABORTED).\n"
    "\n"
    "  --create-only  fail with ALREADY_EXISTS if the id exists\n"
    "  --force        ignore the JSON's version: overwrite whatever is "
    "stored\n";

static const char s_usage_delete[] =
    "usage: dossier delete [--expected-version V] ID\n"
    "\n"
    "Deletes the record with ID; with --expected-version, only if it still\n"
    "has version V (else ABORTED).\n";

static const char s_usage_list[] =
    "usage: dossier list [--country C] [--year Y|Y1-Y2] [--tier T]\n"
    "                    [--publisher P] [--limit N | --all] [--full] "
    "[--json]\n"
    "\n"
    "Lists records ordered by id as a table (ID, YEAR, COUNTRY, TIER,\n"
    "TITLE), or with --json one Report object per line.\n"
    "\n"
    "  --country C    a name, a variant (\"Ivory Coast\") or an alpha-3 code\n"
    "  --year Y       one year, or an inclusive range Y1-Y2\n"
    "  --tier T       1, 2, 2wl, 3 or special\n"
    "  --publisher P  exact publisher name, any case\n"
    "  --limit N      at most N records (default 50)\n"
    "  --all          every matching record, following page tokens\n"
    "  --full         with --json, every field (default: a summary)\n";

static const char s_usage_search[] =
    "usage: dossier search [filters] [--facets] [--sort "
    "relevance|year|date]\n"
    "                      [--limit N] [--json] QUERY...\n"
    "\n"
    "Full-text search: every term must match; \"quoted phrases\" and\n"
    "-excluded terms work (write -- before a query with -excluded terms:\n"
    "`dossier search -- trafficking -labor`).\n"
    "Filters are those of `dossier list`. A phrase query's count of\n"
    "matches may be an estimate, printed \"about N\" (--facets makes it\n"
    "exact); the hits are the same.\n"
    "\n"
    "  --facets       also count the matches per year, tier, country and\n"
    "                 publisher\n"
    "  --sort S       relevance (default), year (newest first), date\n"
    "  --limit N      at most N hits (default 10)\n"
    "  --json         each SearchResponse page as one JSON object\n";

static const char s_usage_history[] =
    "usage: dossier history [--doc-type T] [--json] COUNTRY\n"
    "\n"
    "Prints a country's tier by year; on a terminal, also a chart.\n";

static const char s_usage_changes[] =
    "usage: dossier changes [--doc-type T] [--json] YEAR\n"
    "\n"
    "Lists the countries whose tier moved in YEAR from the year before.\n";

static const char s_usage_stats[] = "usage: dossier stats [--json]\n"
                                    "\n"
                                    "Prints record counts and server "
                                    "figures.\n";

static const char s_usage_health[] =
    "usage: dossier health [--json]\n"
    "\n"
    "Prints whether the server serves; exits 0 when it does, 1 when not.\n";

static const char s_usage_describe[] =
    "usage: dossier describe [--json]\n"
    "\n"
    "Lists the methods the server offers with their request and response\n"
    "types, read from its descriptors (--json: the FileDescriptorSet).\n";

static const char s_usage_keygen[] =
    "usage: dossier keygen [--role reader|writer|admin] [--dir DIR] "
    "[--force] NAME\n"
    "\n"
    "Makes a CURVE key pair for user NAME in czmq's certificate format:\n"
    "DIR/NAME.key, the public certificate with metadata name and role, to\n"
    "copy into the server's users directory, and DIR/NAME.key_secret (mode\n"
    "0600), which the user keeps and gives with --key. The server's own\n"
    "key pair is made the same way (`dossier keygen server`).\n"
    "\n"
    "  --role ROLE  reader (default), writer or admin\n"
    "  --dir DIR    where to write (default .)\n"
    "  --force      replace existing files\n";

static const char s_usage_whoami[] =
    "usage: dossier whoami [--json]\n"
    "\n"
    "Prints who the server takes you for: name, role, public key and its\n"
    "security mode.\n";

static const cli_verb_t s_verbs[] = {
    {"import", "import Refworld text files or directories", s_usage_import,
     cli_import_any},
    {"get", "print one record", s_usage_get, cli_get},
    {"put", "store a record from JSON", s_usage_put, cli_put},
    {"delete", "delete a record", s_usage_delete, cli_delete},
    {"list", "list records, filtered", s_usage_list, cli_list},
    {"search", "full-text search", s_usage_search, cli_search},
    {"history", "a country's tier by year", s_usage_history, cli_history},
    {"changes", "tier changes in a year", s_usage_changes, cli_changes},
    {"stats", "record counts and server figures", s_usage_stats, cli_stats},
    {"health", "is the server serving", s_usage_health, cli_health},
    {"describe", "the methods of the API", s_usage_describe, cli_describe},
    {"backup", "back up the server's store", s_usage_backup, cli_backup},
    {"export", "every record as JSON lines", s_usage_export, cli_export},
    {"keygen", "make a CURVE key pair for a user", s_usage_keygen, cli_keygen},
    {"whoami", "your name and role on the server", s_usage_whoami, cli_whoami},
    {"edit", "edit a record in $EDITOR (compare-and-set)", cli_usage_edit,
     cli_edit},
    {"audit", "the server's audit log (admin)", cli_usage_audit, cli_audit},
    {"watch", "print committed changes from the feed", cli_usage_watch,
     cli_watch},
};
#define S_NVERBS (sizeof s_verbs / sizeof s_verbs[0])

static void
s_print_usage(FILE *out) {
    fprintf(out,
            "usage: dossier [-s|--server ENDPOINT] [--timeout MS] [--json] "
            "VERB [options]\n"
            "\n"
            "A client for a Dossier server.\n"
            "\n"
            "  -s, --server ENDPOINT  the server, e.g. tcp://10.0.0.5:7531; "
            "several,\n"
            "                         comma-separated, are tried in turn\n"
            "                         (default $DOSSIER_SERVER, else %s)\n"
            "  --timeout MS           give up on a call after MS "
            "milliseconds (default\n"
            "                         %d; 30000 for import)\n"
            "  --json                 print proto3 JSON, one object per "
            "line\n"
            "  --server-key FILE|Z85  the server's public key, for CURVE\n"
            "                         (default $DOSSIER_SERVER_KEY)\n"
            "  --key FILE             your secret certificate "
            "(NAME.key_secret,\n"
            "                         default $DOSSIER_KEY)\n"
            "  -h, --help             this text; `dossier VERB --help` for a "
            "verb\n"
            "  --version              print the version\n"
            "\n"
            "Defaults for -s, --server-key and --key may also come from the\n"
            "client section of ~/.config/dossier/config. Global options may\n"
            "also follow the verb.\n"
            "\n"
            "Verbs:\n",
            DOSSIER_DEFAULT_ENDPOINT, DOSSIER_DEFAULT_TIMEOUT_MS);
    for (size_t i = 0; i < S_NVERBS; i++) {
        fprintf(out, "  %-10s %s\n", s_verbs[i].name, s_verbs[i].summary);
    }
    fprintf(out, "\n"
                 "Exit status: 0 ok, 1 refused by the server, 2 usage error, 3 "
                 "server\n"
                 "unreachable or no reply in time.\n");
}

int
cli_usage_error(const cli_verb_t *verb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, S_PROG " %s: ", verb->name);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    va_end(ap);
    fputs(verb->usage, stderr);
    return CLI_EXIT_USAGE;
}

int
cli_parse_uint(const char *text, unsigned long long min, unsigned long long max,
               unsigned long long *value) {
    if (text == NULL || *text < '0' || *text > '9') {
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *value = v;
    return 0;
}

static int
s_parse_timeout(const char *arg, int *timeout_ms) {
    unsigned long long v;
    if (cli_parse_uint(arg, 1, 24ULL * 3600 * 1000, &v) != 0) {
        return -1;
    }
    *timeout_ms = (int)v;
    return 0;
}

int
cli_common_option(const cli_verb_t *verb, cli_global_t *g, int opt,
                  const char *arg) {
    switch (opt) {
    case CLI_OPT_JSON:
        g->json = true;
        return -1;
    case CLI_OPT_SERVER:
        g->server = arg;
        return -1;
    case CLI_OPT_SERVER_KEY:
        g->server_key = arg;
        return -1;
    case CLI_OPT_KEY:
        g->key = arg;
        return -1;
    case CLI_OPT_TIMEOUT:
        if (s_parse_timeout(arg, &g->timeout_ms) != 0) {
            return cli_usage_error(verb,
                                   "--timeout wants milliseconds (1 to "
                                   "86400000), not '%s'",
                                   arg);
        }
        return -1;
    case CLI_OPT_HELP:
        fputs(verb->usage, stdout);
        return CLI_EXIT_OK;
    default:
        /* getopt has said what was wrong. */
        fputc('\n', stderr);
        fputs(verb->usage, stderr);
        return CLI_EXIT_USAGE;
    }
}

int
cli_exit_code(dossier_status_t status) {
    if (status == DOSSIER_OK) {
        return CLI_EXIT_OK;
    }
    if (status == DOSSIER_UNAVAILABLE || status == DOSSIER_DEADLINE_EXCEEDED) {
        return CLI_EXIT_UNREACHABLE;
    }
    return CLI_EXIT_REFUSED;
}

int
cli_fail(const dossier_error_t *err) {
    fprintf(stderr, S_PROG ": %s: %s\n", dossier_strerror(err->code),
            err->message);
    return cli_exit_code(err->code);
}

int
cli_connect(const cli_global_t *g, int default_timeout_ms,
            dossier_client_t **client_p) {
    dossier_options_t options;
    dossier_options_init(&options);
    /* Static: the options borrow it until dossier_client_new copies. */
    static cli_keys_t keys;
    const char *server = NULL;
    int auth_rc = cli_auth_options(g, &keys, &options, &server);
    if (auth_rc != CLI_EXIT_OK) {
        return auth_rc;
    }
    if (server == NULL || *server == '\0') {
        server = DOSSIER_DEFAULT_ENDPOINT;
    }
    if (g->timeout_ms > 0) {
        options.timeout_ms = g->timeout_ms;
    } else if (default_timeout_ms > 0) {
        options.timeout_ms = default_timeout_ms;
    }
    options.client_name = "dossier-cli/" DOSSIER_VERSION;
    dossier_error_t err = {0};
    dossier_status_t rc = dossier_client_new(server, &options, client_p, &err);
    explicit_bzero(keys.secret_key, sizeof keys.secret_key);
    if (rc != DOSSIER_OK) {
        fprintf(stderr, S_PROG ": %s\n", err.message);
        return rc == DOSSIER_INVALID_ARGUMENT ? CLI_EXIT_USAGE
                                              : CLI_EXIT_UNREACHABLE;
    }
    return CLI_EXIT_OK;
}

/* Levenshtein distance, for suggesting a verb; names are short. */
static size_t
s_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 32 || lb > 32) {
        return 99;
    }
    size_t row[33];
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best) {
                best = row[j] + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const cli_verb_t *
s_find_verb(const char *name) {
    for (size_t i = 0; i < S_NVERBS; i++) {
        if (strcmp(name, s_verbs[i].name) == 0) {
            return &s_verbs[i];
        }
    }
    return NULL;
}

static int
s_unknown_verb(const char *name) {
    const cli_verb_t *best = NULL;
    size_t best_d = 99;
    for (size_t i = 0; i < S_NVERBS; i++) {
        size_t d = s_distance(name, s_verbs[i].name);
        if (d < best_d) {
            best_d = d;
            best = &s_verbs[i];
        }
    }
    /* Close enough to be a typo: at most 2 edits, and fewer than half the
       letters of the verb. */
    if (best != NULL && best_d <= 2 && best_d * 2 < strlen(best->name)) {
        fprintf(stderr, S_PROG ": '%s' is not a command. Did you mean '%s'?\n",
                name, best->name);
    } else {
        fprintf(stderr,
                S_PROG ": '%s' is not a command. See 'dossier --help'.\n",
                name);
    }
    return CLI_EXIT_USAGE;
}

int
main(int argc, char **argv) {
    cli_global_t g = {0};
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "+" CLI_COMMON_SHORTOPTS, longopts,
                              NULL)) != -1) {
        switch (opt) {
        case CLI_OPT_JSON:
            g.json = true;
            break;
        case CLI_OPT_SERVER:
            g.server = optarg;
            break;
        case CLI_OPT_SERVER_KEY:
            g.server_key = optarg;
            break;
        case CLI_OPT_KEY:
            g.key = optarg;
            break;
        case CLI_OPT_TIMEOUT:
            if (s_parse_timeout(optarg, &g.timeout_ms) != 0) {
                fprintf(stderr,
                        S_PROG ": --timeout wants milliseconds (1 to "
                               "86400000), not '%s'\n\n",
                        optarg);
                s_print_usage(stderr);
                return CLI_EXIT_USAGE;
            }
            break;
        case CLI_OPT_HELP:
            s_print_usage(stdout);
            return CLI_EXIT_OK;
        case 'V':
            printf("dossier %s\n", DOSSIER_VERSION);
            return CLI_EXIT_OK;
        default:
            fputc('\n', stderr);
            s_print_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, S_PROG ": no command given\n\n");
        s_print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        if (optind + 1 >= argc) {
            s_print_usage(stdout);
            return CLI_EXIT_OK;
        }
        const cli_verb_t *verb = s_find_verb(argv[optind + 1]);
        if (verb == NULL) {
            return s_unknown_verb(argv[optind + 1]);
        }
        fputs(verb->usage, stdout);
        return CLI_EXIT_OK;
    }
    const cli_verb_t *verb = s_find_verb(name);
    if (verb == NULL) {
        return s_unknown_verb(name);
    }
    /* The verb parses its own options from a fresh getopt state, with
       "dossier VERB" as its program name in getopt's messages. */
    char prog[64];
    snprintf(prog, sizeof prog, S_PROG " %s", verb->name);
    char **verb_argv = argv + optind;
    int verb_argc = argc - optind;
    verb_argv[0] = prog;
    optind = 0;
    return verb->run(verb, &g, verb_argc, verb_argv);
}
