/*  cli_options.c: the one option parser of `dossier`, for every verb and
    for the options before the verb.

    A verb declares its options in a table (cli_option_t: name, short
    letter, what it takes, its --help lines) and is handed each one, in
    command-line order, through its take function; a CLI_COUNT arrives
    checked. The options every verb takes (--json, --timeout,
    -s/--server, --server-key, --key, -h/--help) are handled here, once.
    The tables become getopt_long's, so prefixes and permutation are
    libc's; the messages for an unknown option or a missing value are
    ours, so that a mistyped option is told the nearest one (suggest.h).
    A verb's --help text is printed from its usage text and its table,
    so an option and its help sit side by side. */
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"

/* Rows of one parse: a verb's own and the common ones. */
#define S_MAX_ROWS 32
/* getopt_long's val for row i is S_ROW_VAL + i: above any letter. */
#define S_ROW_VAL 0x10000
/* --version, an option of `dossier` alone. */
#define S_KEY_VERSION 0x1fff

/* The options of `dossier` itself: --version, then those every verb
   takes, in the order getopt_long has always seen them (it names the
   candidates for an ambiguous prefix in table order; --version shares
   a prefix with none). */
static const cli_option_t s_global[] = {
    {.name = "version", .key = S_KEY_VERSION, .kind = CLI_FLAG},
    {.name = "json", .key = CLI_OPT_JSON, .kind = CLI_FLAG},
    {.name = "timeout",
     .key = CLI_OPT_TIMEOUT,
     .kind = CLI_COUNT,
     .min = 1,
     .max = 24ULL * 3600 * 1000,
     .wants = "milliseconds (1 to 86400000)"},
    {.name = "server", .letter = 's', .key = CLI_OPT_SERVER, .kind = CLI_TEXT},
    {.name = "server-key", .key = CLI_OPT_SERVER_KEY, .kind = CLI_TEXT},
    {.name = "key", .key = CLI_OPT_KEY, .kind = CLI_TEXT},
    {.name = "help", .letter = 'h', .key = CLI_OPT_HELP, .kind = CLI_FLAG},
    {.name = NULL},
};

/* The options every verb takes. */
static const cli_option_t *const s_common = &s_global[1];

/* Who is parsing: a verb, or `dossier` itself (verb NULL), whose usage
   print_usage prints. */
typedef struct {
    const cli_verb_t *verb;
    void (*print_usage)(FILE *out);
} s_who_t;

/* One parse's rows and getopt_long's tables made from them. */
typedef struct {
    const cli_option_t *rows[S_MAX_ROWS];
    int n;
    struct option longopts[S_MAX_ROWS + 1];
    char shortopts[2 * S_MAX_ROWS + 2];
} s_table_t;

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

static bool
s_is_common(int key) {
    return key >= CLI_OPT_JSON && key <= CLI_OPT_HELP;
}

/* own's rows (but those of common options: they only document), then
   common's; shortopts starts with prefix. */
static void
s_table_build(s_table_t *t, const cli_option_t *own, const cli_option_t *common,
              const char *prefix) {
    size_t ns = strlen(prefix);
    memcpy(t->shortopts, prefix, ns);
    t->n = 0;
    const cli_option_t *lists[] = {own, common};
    for (size_t k = 0; k < 2; k++) {
        for (const cli_option_t *r = lists[k]; r && r->name; r++) {
            if (k == 0 && s_is_common(r->key)) {
                continue;
            }
            assert(t->n < S_MAX_ROWS);
            t->rows[t->n] = r;
            t->longopts[t->n] = (struct option){
                r->name, r->kind == CLI_FLAG ? no_argument : required_argument,
                NULL, S_ROW_VAL + t->n};
            if (r->letter) {
                t->shortopts[ns++] = r->letter;
                if (r->kind != CLI_FLAG) {
                    t->shortopts[ns++] = ':';
                }
            }
            t->n++;
        }
    }
    t->longopts[t->n] = (struct option){NULL, 0, NULL, 0};
    t->shortopts[ns] = '\0';
}

/* The row getopt_long's opt stands for, or NULL for its '?' (an
   unknown option) or ':' (a missing value). */
static const cli_option_t *
s_table_row(const s_table_t *t, int opt) {
    if (opt >= S_ROW_VAL && opt < S_ROW_VAL + t->n) {
        return t->rows[opt - S_ROW_VAL];
    }
    for (int i = 0; i < t->n; i++) {
        if (t->rows[i]->letter == opt) {
            return t->rows[i];
        }
    }
    return NULL;
}

void
cli_print_usage(const cli_verb_t *verb, FILE *out) {
    fputs(verb->usage, out);
    bool listed = false;
    for (const cli_option_t *r = verb->options; r && r->name; r++) {
        if (r->help == NULL) {
            continue;
        }
        if (!listed) {
            fputc('\n', out);
            listed = true;
        }
        fputs(r->help, out);
    }
    if (verb->usage_end != NULL) {
        fputc('\n', out);
        fputs(verb->usage_end, out);
    }
}

static void
s_usage(const s_who_t *who, FILE *out) {
    if (who->verb != NULL) {
        cli_print_usage(who->verb, out);
    } else {
        who->print_usage(out);
    }
}

static int
s_verror(const s_who_t *who, const char *fmt, va_list ap) {
    if (who->verb != NULL) {
        fprintf(stderr, CLI_PROG " %s: ", who->verb->name);
    } else {
        fputs(CLI_PROG ": ", stderr);
    }
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    s_usage(who, stderr);
    return CLI_EXIT_USAGE;
}

static int s_error(const s_who_t *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
s_error(const s_who_t *who, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = s_verror(who, fmt, ap);
    va_end(ap);
    return rc;
}

int
cli_usage_error(const cli_verb_t *verb, const char *fmt, ...) {
    s_who_t who = {verb, NULL};
    va_list ap;
    va_start(ap, fmt);
    int rc = s_verror(&who, fmt, ap);
    va_end(ap);
    return rc;
}

/* Applies a common option (or --version) to g. */
static int
s_take_common(const s_who_t *who, cli_global_t *g, int key,
              const cli_value_t *value) {
    switch (key) {
    case CLI_OPT_JSON:
        g->json = true;
        return CLI_GO_ON;
    case CLI_OPT_TIMEOUT:
        g->timeout_ms = (int)value->count;
        return CLI_GO_ON;
    case CLI_OPT_SERVER:
        g->server = value->text;
        return CLI_GO_ON;
    case CLI_OPT_SERVER_KEY:
        g->server_key = value->text;
        return CLI_GO_ON;
    case CLI_OPT_KEY:
        g->key = value->text;
        return CLI_GO_ON;
    case CLI_OPT_HELP:
        s_usage(who, stdout);
        return CLI_EXIT_OK;
    case S_KEY_VERSION:
        printf(CLI_PROG " %s\n", DOSSIER_VERSION);
        return CLI_EXIT_OK;
    default:
        assert(!"not a common option");
        return CLI_EXIT_USAGE;
    }
}

int
cli_take_text(const cli_verb_t *verb, void *state, int key,
              const cli_value_t *value) {
    (void)verb;
    (void)key;
    *(const char **)state = value->text;
    return CLI_GO_ON;
}

/*  Says what was wrong with word, the option getopt_long stopped at (opt
    its '?' or ':'), and prints the usage. An unknown long option is told
    the nearest known one, or the candidates when it is an ambiguous
    prefix. */
static int
s_bad_option(const s_who_t *who, const s_table_t *t, int opt,
             const char *word) {
    if (opt == ':') {
        if (optopt != 0 && strncmp(word, "--", 2) != 0) {
            return s_error(who, "option '-%c' needs a value", optopt);
        }
        return s_error(who, "option '%s' needs a value", word);
    }
    if (optopt != 0 || strncmp(word, "--", 2) != 0) {
        return s_error(who, "unknown option '-%c'", optopt ? optopt : '?');
    }
    char name[SUGGEST_MAX_LEN + 1];
    size_t len = strcspn(word + 2, "=");
    if (len > SUGGEST_MAX_LEN) {
        len = SUGGEST_MAX_LEN;
    }
    memcpy(name, word + 2, len);
    name[len] = '\0';
    char candidates[256] = "";
    int prefixed = 0;
    suggest_t s;
    suggest_init(&s, name);
    for (int i = 0; i < t->n; i++) {
        const char *known = t->longopts[i].name;
        suggest_consider(&s, known);
        if (len > 0 && strncmp(known, name, len) == 0) {
            size_t used = strlen(candidates);
            snprintf(candidates + used, sizeof candidates - used, "%s--%s",
                     prefixed ? ", " : "", known);
            prefixed++;
        }
    }
    if (prefixed > 1) {
        return s_error(who, "option '--%s' is ambiguous: %s", name, candidates);
    }
    const char *near = suggest_best(&s);
    if (near != NULL) {
        return s_error(who, "unknown option '--%s'. Did you mean '--%s'?", name,
                       near);
    }
    return s_error(who, "unknown option '--%s'", name);
}

/* The parse itself, from a fresh getopt state. */
static int
s_parse(const s_who_t *who, const s_table_t *t, cli_take_fn take, void *state,
        cli_global_t *g, cli_args_t *args) {
    optind = 0;
    opterr = 0; /* s_bad_option says what was wrong */
    int opt;
    while ((opt = getopt_long(args->argc, args->argv, t->shortopts, t->longopts,
                              NULL)) != -1) {
        const cli_option_t *row = s_table_row(t, opt);
        if (row == NULL) {
            return s_bad_option(who, t, opt, args->argv[optind - 1]);
        }
        cli_value_t value = {.text = row->kind == CLI_FLAG ? NULL : optarg};
        if (row->kind == CLI_COUNT &&
            cli_parse_uint(optarg, row->min, row->max, &value.count) != 0) {
            return s_error(who, "--%s wants %s, not '%s'", row->name,
                           row->wants, optarg);
        }
        bool common = s_is_common(row->key) || row->key == S_KEY_VERSION;
        assert(common || take != NULL);
        int rc = common ? s_take_common(who, g, row->key, &value)
                        : take(who->verb, state, row->key, &value);
        if (rc != CLI_GO_ON) {
            return rc;
        }
    }
    args->argc -= optind;
    args->argv += optind;
    return CLI_GO_ON;
}

int
cli_parse(const cli_verb_t *verb, const cli_option_t *options, cli_take_fn take,
          void *state, cli_global_t *g, cli_args_t *args) {
    s_who_t who = {verb, NULL};
    s_table_t table;
    s_table_build(&table, options, s_common, ":");
    return s_parse(&who, &table, take, state, g, args);
}

int
cli_parse_global(cli_global_t *g, void (*print_usage)(FILE *out),
                 cli_args_t *args) {
    s_who_t who = {NULL, print_usage};
    s_table_t table;
    /* "+": the options end at the verb, whose own follow it. */
    s_table_build(&table, NULL, s_global, "+:");
    return s_parse(&who, &table, NULL, NULL, g, args);
}

const char *
cli_peek(const cli_option_t *options, const cli_args_t *args, bool *json) {
    /* On a copy: getopt_long reorders the words it reads. */
    char **argv = malloc(((size_t)args->argc + 1) * sizeof *argv);
    if (argv == NULL) {
        return NULL;
    }
    memcpy(argv, args->argv, (size_t)args->argc * sizeof *argv);
    argv[args->argc] = NULL;
    s_table_t table;
    s_table_build(&table, options, s_common, "");
    int saved_opterr = opterr;
    opterr = 0;
    optind = 0;
    int opt;
    while ((opt = getopt_long(args->argc, argv, table.shortopts, table.longopts,
                              NULL)) != -1) {
        const cli_option_t *row = s_table_row(&table, opt);
        if (row != NULL && row->key == CLI_OPT_JSON) {
            *json = true;
        }
    }
    const char *first = optind < args->argc ? argv[optind] : NULL;
    opterr = saved_opterr;
    optind = 0;
    free(argv);
    return first;
}
