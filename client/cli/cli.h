/*  cli.h: what the files of the `dossier` CLI share.

    main.c dispatches to a verb (cli_verb_t). Each verb lives in the file
    named for it (cli_get.c, cli_audit.c, ...; the JSON-lines form of
    import in cli_import_json.c): it declares its options in a table and
    parses its command line with cli_parse (cli_options.c), which also
    takes the options every verb accepts. A verb of one call hands its
    request to cli_call (cli_call.c), which connects (cli_auth.c finds
    the server and keys), calls, prints a failure and picks the exit
    code; a verb of several calls uses cli_connect and cli_fail itself.
    cli_query.c holds what list, search and export share, cli_file.c
    reads files, cli_output.c draws tables, records and JSON. Only the
    CLI prints. */
#ifndef DOSSIER_CLI_H
#define DOSSIER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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

/* What an option of a verb takes. */
typedef enum {
    CLI_FLAG,  /* nothing: --all */
    CLI_TEXT,  /* a value, handed over as written: --country C */
    CLI_COUNT, /* a whole decimal number in [min, max]: --limit N */
} cli_kind_t;

/*  One option in a verb's table (cli_verb_t.options), which ends with a
    row whose name is NULL. Rows are matched as getopt_long matches them
    (an unambiguous prefix will do) and in table order, which is also the
    order of their help in `dossier VERB --help`. */
typedef struct {
    const char *name; /* --NAME */
    char letter;      /* also -LETTER; 0: no short form */
    int key;          /* what the verb's take function is given */
    cli_kind_t kind;
    unsigned long long min, max; /* CLI_COUNT: the bounds */
    const char *wants;           /* CLI_COUNT: what a bad value is told:
                                    "--NAME wants WANTS, not 'VALUE'" */
    const char *help; /* its lines in --help, as printed; NULL: none */
} cli_option_t;

/* A value of an option, as cli_parse hands it to a verb. */
typedef struct {
    const char *text;         /* as written (borrowed from argv); NULL
                                 for a CLI_FLAG */
    unsigned long long count; /* CLI_COUNT: the number */
} cli_value_t;

/* Keys of the options every verb takes. cli_parse applies them to
   cli_global_t itself; a verb's table may hold a row with CLI_OPT_JSON
   only to say in its --help what --json does there. A verb's own keys
   are any other positive numbers. */
enum {
    CLI_OPT_JSON = 0x1001,
    CLI_OPT_TIMEOUT,
    CLI_OPT_SERVER,
    CLI_OPT_SERVER_KEY,
    CLI_OPT_KEY,
    CLI_OPT_HELP,
};

/* The words of a command line still to be read: argv[0] to
   argv[argc - 1]. */
typedef struct {
    int argc;
    char **argv;
} cli_args_t;

typedef struct cli_verb cli_verb_t;

/*  A verb of `dossier`, as main.c's table lists it. Its --help text is
    usage, then a blank line and the help of each option that has one,
    then a blank line and usage_end when there is one. */
struct cli_verb {
    const char *name;
    const char *summary;         /* one line for `dossier --help` */
    const char *usage;           /* "usage: dossier VERB ..." and prose */
    const cli_option_t *options; /* its own options, or NULL */
    const char *usage_end;       /* after the options' help, or NULL */
    /* Runs the verb on args: "dossier VERB" then the words after the
       verb. Returns the process exit code. */
    int (*run)(const cli_verb_t *verb, cli_global_t *g, cli_args_t args);
};

/* What a take function returns for an option it took. */
#define CLI_GO_ON (-1)

/* The command's name in its messages ("dossier: no report x (NOT_FOUND)"). */
#define CLI_PROG "dossier"

/*  Takes one of a verb's options into state: key is the option's row
    key, value what was given. Returns CLI_GO_ON, or the exit code to
    stop with after printing why (cli_usage_error). */
typedef int (*cli_take_fn)(const cli_verb_t *verb, void *state, int key,
                           const cli_value_t *value);

/*  A take function for a verb whose one option is a CLI_TEXT: stores
    its value in state, a const char *. */
int cli_take_text(const cli_verb_t *verb, void *state, int key,
                  const cli_value_t *value);

/*  The option parser of every verb (cli_options.c).

    Parses args (argv[0] is "dossier VERB", as getopt's messages name
    the program) against options (the verb's own: verb->options, or
    another table of the verb; NULL: none) and the options every verb
    takes, which it applies to g. Each of the verb's own, in the order
    given, goes to take(verb, state, key, value) (NULL when options is);
    a CLI_COUNT is checked first. --help prints the verb's --help text on
    stdout and stops with CLI_EXIT_OK; a bad option or value prints why
    and the usage on stderr and stops with CLI_EXIT_USAGE. Returns
    CLI_GO_ON with *args now the operands (options and operands may
    mix, as getopt_long permutes them; "--" ends the options), or the
    exit code the verb must return now. Uses getopt_long's global state:
    one parse at a time. */
int cli_parse(const cli_verb_t *verb, const cli_option_t *options,
              cli_take_fn take, void *state, cli_global_t *g, cli_args_t *args);

/*  Reads args as cli_parse would, without a word printed and without
    changing args or g: sets *json when --json is among the options and
    returns the first operand (borrowed from args), or NULL. For a verb
    whose way of parsing depends on its command line (import). Returns
    NULL also when out of memory. */
const char *cli_peek(const cli_option_t *options, const cli_args_t *args,
                     bool *json);

/*  Parses the options of `dossier` itself, before the verb (-s, --json,
    --timeout, --server-key, --key, --help, --version), into g.
    print_usage prints dossier's own usage, for --help (stdout) and on a
    usage error (stderr). Returns CLI_GO_ON with *args starting at the
    verb, or the exit code to return now. */
int cli_parse_global(cli_global_t *g, void (*print_usage)(FILE *out),
                     cli_args_t *args);

/*  Prints verb's --help text on out. */
void cli_print_usage(const cli_verb_t *verb, FILE *out);

/*  Prints "dossier VERB: <message>", a blank line and the verb's usage
    on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_verb_t *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*  Parses a whole decimal number in [min, max]; returns 0 or -1. */
int cli_parse_uint(const char *text, unsigned long long min,
                   unsigned long long max, unsigned long long *value);

/* The verbs, each in the file named for it; main.c lists them. */
extern const cli_verb_t cli_verb_import;
extern const cli_verb_t cli_verb_get;
extern const cli_verb_t cli_verb_put;
extern const cli_verb_t cli_verb_delete;
extern const cli_verb_t cli_verb_list;
extern const cli_verb_t cli_verb_search;
extern const cli_verb_t cli_verb_history;
extern const cli_verb_t cli_verb_changes;
extern const cli_verb_t cli_verb_stats;
extern const cli_verb_t cli_verb_health;
extern const cli_verb_t cli_verb_describe;
extern const cli_verb_t cli_verb_backup;
extern const cli_verb_t cli_verb_export;
extern const cli_verb_t cli_verb_log;
extern const cli_verb_t cli_verb_diff;
extern const cli_verb_t cli_verb_keygen;
extern const cli_verb_t cli_verb_whoami;
extern const cli_verb_t cli_verb_cluster;
extern const cli_verb_t cli_verb_edit;
extern const cli_verb_t cli_verb_audit;
extern const cli_verb_t cli_verb_watch;
extern const cli_verb_t cli_verb_call; /* in cli_call_json.c */
extern const cli_verb_t cli_verb_token;
extern const cli_verb_t cli_verb_users;

/*  `import --json DUMP`: Puts each JSON line of the files in args (after
    its options: the common ones only) as create-or-replace. import runs
    it when --json is given and the first file holds JSON objects. */
int cli_import_json(const cli_verb_t *verb, cli_global_t *g, cli_args_t args);

/*  The bytes one batch of an import may carry: bytes, or less when the
    server says (Health: HealthResponse.max_message_bytes) that it accepts
    less, leaving room for the request's envelope and framing. *limit_p
    gets the server's limit (0: not said). With verbose, says the limit on
    stderr. client is borrowed. */
size_t cli_batch_bytes(dossier_client_t *client, size_t bytes, bool verbose,
                       uint64_t *limit_p);

/*  Reaching the server (cli_call.c). */

/*  Connects per g: server and keys as cli_auth_options finds them, the
    timeout from g, else default_timeout_ms (0: the library's default).
    Returns CLI_EXIT_OK and sets *client_p (the caller destroys it with
    dossier_client_destroy), or prints why and returns the exit code
    (CLI_EXIT_USAGE for a bad endpoint or key, else
    CLI_EXIT_UNREACHABLE). */
int cli_connect(const cli_global_t *g, int default_timeout_ms,
                dossier_client_t **client_p);

/*  Prints "dossier: message (CODE)" on stderr, then a "hint:" line when
    the likely cause is not in the message (no reply from a CURVE server,
    a key the server does not admit), and returns the exit code for err
    (cli_exit_code). After a cli_connect with --json, prints instead one
    line of JSON, the wire's Response: {"code":5,"message":"..."}. */
int cli_fail(const dossier_error_t *err);

/*  Exit code for a status, without printing: CLI_EXIT_OK,
    CLI_EXIT_UNREACHABLE for UNAVAILABLE and DEADLINE_EXCEEDED, else
    CLI_EXIT_REFUSED. */
int cli_exit_code(dossier_status_t status);

/* A method as a verb calls it. */
typedef struct {
    const char *name; /* "Get": dossier_call's method */
    const ProtobufCMessageDescriptor *response_type;
    int timeout_ms; /* when g gives none; 0: the library's default */
} cli_method_t;

/*  Shows the response of a verb's call: prints it (as JSON when
    g->json) and returns the exit code. response and client are
    borrowed until it returns; client is there for a verb that goes on
    calling (backup --fetch). */
typedef int (*cli_show_fn)(const cli_global_t *g, dossier_client_t *client,
                           const ProtobufCMessage *response, void *state);

/*  The one call of a verb: connects per g (cli_connect, with the
    method's timeout_ms), calls method with request (borrowed), and
    hands the response to show(g, client, response, state). Returns
    show's exit code, or, having printed why, that of a failure to
    connect (cli_connect) or of the call (cli_fail). */
int cli_call(const cli_global_t *g, const cli_method_t *method,
             const ProtobufCMessage *request, cli_show_fn show, void *state);

/*  The API as the server describes it (cli_describe.c), for `call` and
    `describe METHOD`, which work with methods this CLI was not built
    with. */

typedef struct dynpb_pool dynpb_pool_t;
typedef struct dynpb_method dynpb_method_t;

/*  Connects per g and asks the server for its descriptors (Describe),
    built into *pool_p (dynpb.h). Returns CLI_EXIT_OK with *client_p and
    *pool_p set (the caller destroys both: dossier_client_destroy,
    dynpb_pool_destroy), or prints why and returns the exit code:
    cli_connect's, cli_fail's, or CLI_EXIT_REFUSED for descriptors that
    do not build. */
int cli_api_load(const cli_global_t *g, dossier_client_t **client_p,
                 dynpb_pool_t **pool_p);

/*  The method of pool that name names (dynpb_pool_find_method: "Get",
    "Reports/Get" or the full name) in *method_p (borrowed from pool).
    When there is none, prints "dossier VERB: no method 'NAME'" with the
    closest name as a suggestion and returns CLI_EXIT_USAGE. */
int cli_api_method(const cli_verb_t *verb, const dynpb_pool_t *pool,
                   const char *name, const dynpb_method_t **method_p);

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

/*  What the verbs over many records share (cli_query.c). */

/* The record filter options of list, search and export. */
enum {
    CLI_OPT_COUNTRY = 0x1101,
    CLI_OPT_YEAR,
    CLI_OPT_TIER,
    CLI_OPT_PUBLISHER,
    CLI_OPT_DOC_TYPE,
};

/* Their rows for a verb's table, without help: list's --help describes
   them, the others refer to it. */
#define CLI_FILTER_OPTIONS                                                     \
    {.name = "country", .key = CLI_OPT_COUNTRY, .kind = CLI_TEXT},             \
        {.name = "year", .key = CLI_OPT_YEAR, .kind = CLI_TEXT},               \
        {.name = "tier", .key = CLI_OPT_TIER, .kind = CLI_TEXT},               \
        {.name = "publisher", .key = CLI_OPT_PUBLISHER, .kind = CLI_TEXT}, {   \
        .name = "doc-type", .key = CLI_OPT_DOC_TYPE, .kind = CLI_TEXT          \
    }

/*  A take function (cli_parse) for the filter options: --country,
    --publisher, --doc-type, --tier, --year Y or Y1-Y2 into filter, a
    Dossier__V1__ReportFilter, which borrows the value. Returns CLI_GO_ON,
    or CLI_EXIT_USAGE after printing why. */
int cli_filter_take(const cli_verb_t *verb, void *filter, int key,
                    const cli_value_t *value);

/*  When nothing matched: if f's country names no known country but is a
    typo of one, says so on stderr with the name it likely meant. */
void cli_filter_hint(const Dossier__V1__ReportFilter *f);

/*  True when f filters anything. */
bool cli_filter_set(const Dossier__V1__ReportFilter *f);

/* Records list and search ask for in one page, at most. */
#define CLI_MAX_PAGE 1000
/* Bounds the pages one command follows, whatever a server answers. */
#define CLI_MAX_PAGES 1000000

/*  After a page of asked records came back as status: true when a
    server whose max_page_size is below asked refused it
    (INVALID_ARGUMENT) and the caller should ask again for *page_cap,
    now half as many; at most 10 times (*shrinks counts them from 0). */
bool cli_page_shrink(dossier_status_t status, uint32_t asked,
                     uint32_t *page_cap, int *shrinks);

/*  CSV (cli_csv.c): records as RFC 4180 rows. */

#define CLI_CSV_MAX_COLUMNS 32

/* The columns of a CSV export, Report fields in order. */
typedef struct {
    const ProtobufCFieldDescriptor *fields[CLI_CSV_MAX_COLUMNS];
    size_t n;
    char spec[512]; /* the names as given, cut up (fields borrow none) */
} cli_csv_columns_t;

/*  Fills *columns from spec, comma-separated Report field names ("id,
    title,body"); NULL or "": the default columns. Returns 0, or -1 with
    *bad the name not known (borrowed from columns or spec). */
int cli_csv_columns(const char *spec, cli_csv_columns_t *columns,
                    const char **bad);

/*  Writes the header row (the field names), then one row per call of
    cli_csv_row; each ends with CRLF. report is borrowed. */
void cli_csv_header(FILE *out, const cli_csv_columns_t *columns);
void cli_csv_row(FILE *out, const cli_csv_columns_t *columns,
                 const Dossier__V1__Report *report);

/*  Files (cli_file.c). */

/*  Reads a whole file ("-": stdin), at most 32 MiB. Returns 0 and a
    malloc'd, NUL-terminated *data_p (the caller frees) of *size_p bytes,
    or -1 with *why a sentence saying why (static storage). A directory
    is refused ("Is a directory"). Stdin is read from descriptor 0, not
    through stdio: bytes a caller has read from stdin by stdio are not
    seen. A regular file costs open, fstat, one read, close. */
int cli_read_file(const char *path, char **data_p, size_t *size_p,
                  const char **why);

/*  Output (cli_output.c). */

/*  Columns to fit tables into: the terminal's width when stdout is a
    terminal, else $COLUMNS, else 0 (no limit). */
int cli_term_width(void);

/*  Columns s takes on screen (code points; every one counted as one). */
size_t cli_text_width(const char *s);

/*  Writes s to out with every control character shown as an escape, so
    text someone else wrote (an audit entry's ids and message) can neither
    forge a line nor send escape sequences to the terminal: a C0 control
    or DEL becomes \xNN, a C1 control (U+0080..U+009F) \u00NN, and a
    backslash \\. Returns the columns printed (code points, as
    cli_text_width counts them). */
size_t cli_print_escaped(FILE *out, const char *s);

/*  Writes bytes into out as a person reads a size: "512 bytes",
    "16 MiB", "12.4 MiB" (binary units). Returns out. */
const char *cli_format_bytes(uint64_t bytes, char out[32]);

/*  Prints s in exactly width columns: cut (with "…") or padded with
    blanks when pad is true. */
void cli_print_cell(FILE *out, const char *s, size_t width, bool pad);

/*  Prints text wrapped at width columns, each line after indent blanks. */
void cli_print_wrapped(FILE *out, const char *text, size_t indent,
                       size_t width);

/*  Prints message as one line of proto3 JSON. Returns 0 or -1 (out of
    memory, reported on stderr). */
int cli_print_json(const ProtobufCMessage *message);

/*  cli_print_json for a show function: returns CLI_EXIT_OK, or
    CLI_EXIT_REFUSED when the JSON could not be made. */
int cli_show_json(const ProtobufCMessage *message);

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

#endif
