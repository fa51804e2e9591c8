/*  main.c: `dossier`, the command-line client.

    dossier [-s|--server ENDPOINT] [--timeout MS] [--json] VERB [options]

    Global options come before the verb (and are accepted after it too;
    cli_options.c parses both). The verb table below drives dispatch,
    `--help` and the "did you mean" suggestion for a mistyped verb. The
    server is --server, else $DOSSIER_SERVER, else the config file
    (cli_auth.c), else tcp://127.0.0.1:7531; CURVE keys come the same
    way. */
#include "cli.h"

#include <string.h>

#include "suggest.h"

/* In the order `dossier --help` lists them. */
static const cli_verb_t *const s_verbs[] = {
    &cli_verb_import, &cli_verb_get,    &cli_verb_put,      &cli_verb_delete,
    &cli_verb_list,   &cli_verb_search, &cli_verb_history,  &cli_verb_changes,
    &cli_verb_stats,  &cli_verb_health, &cli_verb_describe, &cli_verb_backup,
    &cli_verb_export, &cli_verb_keygen, &cli_verb_whoami,   &cli_verb_edit,
    &cli_verb_audit,  &cli_verb_watch,  &cli_verb_call,     &cli_verb_token,
    &cli_verb_users,  &cli_verb_log,    &cli_verb_diff,     &cli_verb_cluster,
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
        fprintf(out, "  %-10s %s\n", s_verbs[i]->name, s_verbs[i]->summary);
    }
    fprintf(out, "\n"
                 "Exit status: 0 ok, 1 refused by the server, 2 usage error, 3 "
                 "server\n"
                 "unreachable or no reply in time.\n");
}

static const cli_verb_t *
s_find_verb(const char *name) {
    for (size_t i = 0; i < S_NVERBS; i++) {
        if (strcmp(name, s_verbs[i]->name) == 0) {
            return s_verbs[i];
        }
    }
    return NULL;
}

static int
s_unknown_verb(const char *name) {
    suggest_t s;
    suggest_init(&s, name);
    for (size_t i = 0; i < S_NVERBS; i++) {
        suggest_consider(&s, s_verbs[i]->name);
    }
    const char *best = suggest_best(&s);
    if (best != NULL) {
        fprintf(stderr,
                CLI_PROG ": '%s' is not a command. Did you mean '%s'?\n", name,
                best);
    } else {
        fprintf(stderr,
                CLI_PROG ": '%s' is not a command. See 'dossier --help'.\n",
                name);
    }
    return CLI_EXIT_USAGE;
}

int
main(int argc, char **argv) {
    cli_global_t g = {0};
    cli_args_t args = {argc, argv};
    int rc = cli_parse_global(&g, s_print_usage, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc == 0) {
        fprintf(stderr, CLI_PROG ": no command given\n\n");
        s_print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = args.argv[0];
    if (strcmp(name, "help") == 0) {
        if (args.argc < 2) {
            s_print_usage(stdout);
            return CLI_EXIT_OK;
        }
        const cli_verb_t *verb = s_find_verb(args.argv[1]);
        if (verb == NULL) {
            return s_unknown_verb(args.argv[1]);
        }
        cli_print_usage(verb, stdout);
        return CLI_EXIT_OK;
    }
    const cli_verb_t *verb = s_find_verb(name);
    if (verb == NULL) {
        return s_unknown_verb(name);
    }
    /* The verb reads the words after it, with "dossier VERB" as the
       program name in getopt's messages. */
    char prog[64];
    snprintf(prog, sizeof prog, CLI_PROG " %s", verb->name);
    args.argv[0] = prog;
    return verb->run(verb, &g, args);
}
