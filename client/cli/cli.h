/*  cli.h: what the files of the `dossier` CLI share.

    main.c parses the global options and dispatches to a verb; each verb
    parses its own options (the global ones are accepted there too), talks
    to the server through libdossier, and returns the process exit code.
    cli_output.c draws tables, records and JSON. Only the CLI prints. */
#ifndef DOSSIER_CLI_H
#define DOSSIER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <getopt.h>

#include "dossier.h"

/* Exit codes (STYLE.md 15). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_REFUSED = 1,     /* the server (or a local parse) said no */
    CLI_EXIT_USAGE = 2,       /* bad command line */
    CLI_EXIT_UNREACHABLE = 3, /* no server, or no reply in time */
};

/* Options that apply to every verb. */
typedef struct {
    const char *server;     /* endpoints, comma-separated */
    int timeout_ms;         /* 0: the verb's default */
    bool json;              /* proto3 JSON output, one object per line */
    const char *server_key; /* --server-key: certificate file or Z85 */
    const char *key;        /* --key: the user's secret certificate */
} cli_global_t;

typedef struct cli_verb cli_verb_t;
struct cli_verb {
    const char *name;
    const char *summary; /* one line for `dossier --help` */
    const char *usage;   /* the whole `dossier VERB --help` text */
    int (*run)(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
};

/* Long options every verb accepts, to append to a verb's own table. */
#define CLI_OPT_JSON 0x1001
#define CLI_OPT_TIMEOUT 0x1002
#define CLI_OPT_HELP 'h'
#define CLI_OPT_SERVER 's'
#define CLI_OPT_SERVER_KEY 0x1003
#define CLI_OPT_KEY 0x1004
#define CLI_COMMON_LONGOPTS                                                    \
    {"json", no_argument, NULL, CLI_OPT_JSON},                                 \
        {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},                 \
        {"server", required_argument, NULL, CLI_OPT_SERVER},                   \
        {"server-key", required_argument, NULL, CLI_OPT_SERVER_KEY},           \
        {"key", required_argument, NULL, CLI_OPT_KEY}, {                       \
        "help", no_argument, NULL, CLI_OPT_HELP                                \
    }
#define CLI_COMMON_SHORTOPTS "hs:"

/*  Handles an option of CLI_COMMON_LONGOPTS, or a getopt error ('?', ':').
    Returns -1 when opt was handled and parsing goes on, or the exit code
    the verb must return now (0 after printing --help, 2 on an error). */
int cli_common_option(const cli_verb_t *verb, cli_global_t *g, int opt,
                      const char *arg);

/*  Prints "dossier VERB: <message>" and the verb's usage on stderr;
    returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_verb_t *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*  Parses a whole decimal number in [min, max]; returns 0 or -1. */
int cli_parse_uint(const char *text, unsigned long long min,
                   unsigned long long max, unsigned long long *value);

/*  Connects per g, with default_timeout_ms (0: the library's default)
    when g gives no timeout. Returns 0
    and sets *client_p, or prints why and returns the exit code. */
int cli_connect(const cli_global_t *g, int default_timeout_ms,
                dossier_client_t **client_p);

/*  Prints "dossier: CODE: message" on stderr and returns the exit code
    for err (3 for UNAVAILABLE and DEADLINE_EXCEEDED, else 1). */
int cli_fail(const dossier_error_t *err);

/*  Reads a whole file ("-": stdin), at most 32 MiB. Returns 0 and a
    malloc'd, NUL-terminated *data_p (the caller frees) of *size_p bytes,
    or -1 with *why a sentence saying why (static storage). A directory
    is refused ("Is a directory"). Stdin is read from descriptor 0, not
    through stdio: bytes a caller has read from stdin by stdio are not
    seen. A regular file costs open, fstat, one read, close. */
int cli_read_file(const char *path, char **data_p, size_t *size_p,
                  const char **why);

/*  Exit code for a status without printing. */
int cli_exit_code(dossier_status_t status);

/*  Keys and server of a connection (cli_auth.c): storage for what
    cli_auth_options resolves. */
typedef struct {
    char server[1024];
    char server_key[41];
    char public_key[41];
    char secret_key[41];
} cli_keys_t;

/*  Resolves the server endpoint and the CURVE keys from the flags in g,
    then DOSSIER_SERVER / DOSSIER_SERVER_KEY / DOSSIER_KEY, then the
    client section of ~/.config/dossier/config; loads certificate files.
    On CLI_EXIT_OK sets *server (NULL: none given; else borrowed from
    keys) and, when keys were found, the three curve_* fields of options
    (borrowed from keys). Otherwise prints why and returns the exit code. */
int cli_auth_options(const cli_global_t *g, cli_keys_t *keys,
                     dossier_options_t *options, const char **server);

/* Verbs (cli_import.c, cli_reports.c, cli_info.c, cli_auth.c). */
int cli_keygen(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_whoami(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_import(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_get(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_put(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_delete(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_list(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_search(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_history(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_changes(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_stats(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_health(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_describe(const cli_verb_t *verb, cli_global_t *g, int argc,
                 char **argv);

/* Verbs of cli_backup.c: backup, export, and import of a JSON-lines dump
   (cli_import_any sends `import --json` of a file of JSON objects to
   cli_import_json, any other import to cli_import). */
int cli_backup(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_export(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);
int cli_import_json(const cli_verb_t *verb, cli_global_t *g, int argc,
                    char **argv);
int cli_import_any(const cli_verb_t *verb, cli_global_t *g, int argc,
                   char **argv);

/* Filter options shared by list and search (cli_reports.c). */
#define CLI_OPT_COUNTRY 0x1101
#define CLI_OPT_YEAR 0x1102
#define CLI_OPT_TIER 0x1103
#define CLI_OPT_PUBLISHER 0x1104
#define CLI_FILTER_LONGOPTS                                                    \
    {"country", required_argument, NULL, CLI_OPT_COUNTRY},                     \
        {"year", required_argument, NULL, CLI_OPT_YEAR},                       \
        {"tier", required_argument, NULL, CLI_OPT_TIER}, {                     \
        "publisher", required_argument, NULL, CLI_OPT_PUBLISHER                \
    }

/*  Output (cli_output.c). */

/*  Columns to fit tables into: the terminal's width when stdout is a
    terminal, else $COLUMNS, else 0 (no limit). */
int cli_term_width(void);

/*  Columns s takes on screen (code points; every one counted as one). */
size_t cli_text_width(const char *s);

/*  Prints s in exactly width columns: cut (with "…") or padded with
    blanks when pad is true. */
void cli_print_cell(FILE *out, const char *s, size_t width, bool pad);

/*  Prints text wrapped at width columns, each line after indent blanks. */
void cli_print_wrapped(FILE *out, const char *text, size_t indent,
                       size_t width);

/*  Prints message as one line of proto3 JSON. Returns 0 or -1 (out of
    memory, reported on stderr). */
int cli_print_json(const ProtobufCMessage *message);

/*  Prints a report as a readable record: header fields, then the body
    paragraphs wrapped at 78 columns. */
void cli_print_record(FILE *out, const Dossier__V1__Report *report);

/*  Prints an aligned table ID, YEAR, COUNTRY, TIER, TITLE of n reports,
    the title cut to the terminal width. */
void cli_print_report_table(FILE *out, Dossier__V1__Report *const *reports,
                            size_t n);

/*  "Tier 2 WL" and the like for tables; "" for unspecified. */
const char *cli_tier_short(Dossier__V1__Tier tier);

/*  Parses a tier as a user writes it: "1", "2", "2wl", "3", "special",
    "Tier 2 Watch List", TIER_2_WATCH_LIST. Returns 0 or -1. */
int cli_tier_parse(const char *text, Dossier__V1__Tier *tier);

/*  Parses one of the filter options shared by list, search and export
    (--country, --publisher, --tier, --year Y or Y1-Y2) into f, which
    borrows arg. Returns -1 when opt is not a filter option, 0 when it was
    taken, or CLI_EXIT_USAGE after printing why. */
int cli_filter_option(const cli_verb_t *verb, Dossier__V1__ReportFilter *f,
                      int opt, const char *arg);

#endif
