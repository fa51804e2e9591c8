/*  cli_token.c: `dossier token create|list|revoke`: the API tokens that
    HTTP callers of dossier-gateway send (role admin). Each subcommand is
    a verb of its own ("token create" in messages and --help); the token
    verb only picks one. `token create` prints the token alone on stdout,
    so that `T=$(dossier token create NAME)` keeps it and nothing else;
    the note that it is shown once goes to stderr. */
#include "cli.h"

#include <string.h>
#include <time.h>

#define S_SECONDS_PER_DAY 86400ULL

/* ---- token create ---- */

typedef struct {
    Dossier__V1__CreateTokenRequest request;
} s_create_state_t;

enum { S_CREATE_ROLE = 1, S_CREATE_EXPIRES, S_CREATE_EXPIRES_SECONDS };

static const cli_option_t s_create_options[] = {
    {.name = "role",
     .key = S_CREATE_ROLE,
     .kind = CLI_TEXT,
     .help = "  --role ROLE     reader (the default), writer or admin\n"},
    {.name = "expires",
     .key = S_CREATE_EXPIRES,
     .kind = CLI_COUNT,
     .min = 1,
     .max = 36500,
     .wants = "a number of days from 1 to 36500",
     .help = "  --expires DAYS  the token stops working after DAYS days "
             "(default:\n"
             "                  never)\n"},
    /* For tests and scripts that need a short life; not in --help. */
    {.name = "expires-seconds",
     .key = S_CREATE_EXPIRES_SECONDS,
     .kind = CLI_COUNT,
     .min = 1,
     .max = 36500 * S_SECONDS_PER_DAY,
     .wants = "a number of seconds >= 1"},
    {.name = NULL},
};

static int
s_create_take(const cli_verb_t *verb, void *state, int key,
              const cli_value_t *value) {
    (void)verb;
    s_create_state_t *s = state;
    switch (key) {
    case S_CREATE_ROLE:
        s->request.role = (char *)value->text;
        break;
    case S_CREATE_EXPIRES:
        s->request.expires_in_seconds = value->count * S_SECONDS_PER_DAY;
        break;
    default:
        s->request.expires_in_seconds = value->count;
        break;
    }
    return CLI_GO_ON;
}

static const cli_method_t s_create_method = {
    .name = "CreateToken",
    .response_type = &dossier__v1__create_token_response__descriptor,
};

static int
s_create_show(const cli_global_t *g, dossier_client_t *client,
              const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    const Dossier__V1__CreateTokenResponse *resp =
        (const Dossier__V1__CreateTokenResponse *)response;
    int rc = g->json ? cli_show_json(response) : CLI_EXIT_OK;
    if (!g->json) {
        printf("%s\n", resp->secret);
    }
    const Dossier__V1__Token *t = resp->token;
    if (t) {
        fprintf(stderr, CLI_PROG ": made token %s for ", t->id);
        cli_print_escaped(stderr, t->name);
        fprintf(stderr,
                " (role %s, %s%s); it is shown this once: the server "
                "keeps only a hash\n",
                t->role, t->expires_at[0] ? "expires " : "never expires",
                t->expires_at);
    }
    return rc;
}

static int
s_create(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_create_state_t s = {.request = DOSSIER__V1__CREATE_TOKEN_REQUEST__INIT};
    int rc = cli_parse(verb, verb->options, s_create_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one NAME");
    }
    s.request.name = args.argv[0];
    return cli_call(g, &s_create_method, &s.request.base, s_create_show, NULL);
}

static const cli_verb_t s_verb_create = {
    .name = "token create",
    .summary = "make an API token",
    .usage = "usage: dossier token create NAME [--role ROLE] [--expires "
             "DAYS] [--json]\n"
             "\n"
             "Makes an API token for NAME (role admin): the key an HTTP "
             "caller of\n"
             "dossier-gateway sends as \"Authorization: Bearer TOKEN\", "
             "acting as NAME\n"
             "with ROLE. Prints the token alone on stdout; it is shown this "
             "once (the\n"
             "server keeps only a hash), so keep it now. With --json, the "
             "whole\n"
             "CreateTokenResponse (the token in its secret field).\n",
    .options = s_create_options,
    .run = s_create,
};

/* ---- token list ---- */

static const cli_method_t s_list_method = {
    .name = "ListTokens",
    .response_type = &dossier__v1__list_tokens_response__descriptor,
};

/*  "active", "revoked" or "expired", now being an ISO time as the
    server stamps them (they order as strings). */
static const char *
s_status(const Dossier__V1__Token *t, const char *now) {
    if (t->revoked_at[0]) {
        return "revoked";
    }
    if (t->expires_at[0] && strcmp(t->expires_at, now) <= 0) {
        return "expired";
    }
    return "active";
}

/*  The minute of an ISO time ("2026-12-07T05:31"), or "never". */
static void
s_print_time(const char *iso, int width) {
    printf("%-*.*s ", width, 16, iso[0] ? iso : "never");
}

static int
s_list_show(const cli_global_t *g, dossier_client_t *client,
            const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    const Dossier__V1__ListTokensResponse *resp =
        (const Dossier__V1__ListTokensResponse *)response;
    if (g->json) {
        for (size_t i = 0; i < resp->n_tokens; i++) {
            if (cli_print_json(&resp->tokens[i]->base) != 0) {
                return CLI_EXIT_REFUSED;
            }
        }
        return CLI_EXIT_OK;
    }
    char now[32];
    time_t seconds = time(NULL);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S.999Z", &tm);
    printf("%-12s %-20s %-6s %-16s %-16s %s\n", "ID", "NAME", "ROLE", "CREATED",
           "EXPIRES", "STATUS");
    for (size_t i = 0; i < resp->n_tokens; i++) {
        const Dossier__V1__Token *t = resp->tokens[i];
        printf("%-12s ", t->id);
        /* A name is what an admin typed: escaped, cut to its column. */
        size_t width = cli_text_width(t->name);
        cli_print_escaped(stdout, t->name);
        printf("%*s %-6s ", (int)(width < 20 ? 20 - width : 0), "", t->role);
        s_print_time(t->created_at, 16);
        s_print_time(t->expires_at, 16);
        printf("%s\n", s_status(t, now));
    }
    return CLI_EXIT_OK;
}

static int
s_list(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[0]);
    }
    Dossier__V1__ListTokensRequest request =
        DOSSIER__V1__LIST_TOKENS_REQUEST__INIT;
    return cli_call(g, &s_list_method, &request.base, s_list_show, NULL);
}

static const cli_verb_t s_verb_list = {
    .name = "token list",
    .summary = "the API tokens",
    .usage = "usage: dossier token list [--json]\n"
             "\n"
             "Lists every API token, oldest first (role admin): ID, NAME, "
             "ROLE,\n"
             "CREATED, EXPIRES (UTC, to the minute) and STATUS (active, "
             "expired or\n"
             "revoked); never a secret. With --json, one Token object per "
             "line.\n",
    .run = s_list,
};

/* ---- token revoke ---- */

static const cli_method_t s_revoke_method = {
    .name = "RevokeToken",
    .response_type = &dossier__v1__revoke_token_response__descriptor,
};

static int
s_revoke_show(const cli_global_t *g, dossier_client_t *client,
              const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    const Dossier__V1__RevokeTokenResponse *resp =
        (const Dossier__V1__RevokeTokenResponse *)response;
    if (g->json) {
        return resp->token ? cli_show_json(&resp->token->base)
                           : cli_show_json(response);
    }
    const Dossier__V1__Token *t = resp->token;
    if (t) {
        printf("revoked token %s (", t->id);
        cli_print_escaped(stdout, t->name);
        printf(") at %s\n", t->revoked_at);
    }
    return CLI_EXIT_OK;
}

static int
s_revoke(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one ID");
    }
    Dossier__V1__RevokeTokenRequest request =
        DOSSIER__V1__REVOKE_TOKEN_REQUEST__INIT;
    request.id = args.argv[0];
    return cli_call(g, &s_revoke_method, &request.base, s_revoke_show, NULL);
}

static const cli_verb_t s_verb_revoke = {
    .name = "token revoke",
    .summary = "revoke an API token",
    .usage = "usage: dossier token revoke ID [--json]\n"
             "\n"
             "Revokes the API token ID (as `dossier token list` shows it; "
             "role\n"
             "admin): from the next request on, a call that carries it is "
             "refused.\n"
             "Revoking a revoked token changes nothing.\n",
    .run = s_revoke,
};

/* ---- token: picks the subcommand ---- */

static const cli_verb_t *const s_subverbs[] = {&s_verb_create, &s_verb_list,
                                               &s_verb_revoke};

static int
s_token(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    if (args.argc < 2) {
        return cli_usage_error(verb, "name a subcommand: create, list or "
                                     "revoke");
    }
    const char *word = args.argv[1];
    if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0) {
        cli_print_usage(verb, stdout);
        return CLI_EXIT_OK;
    }
    const cli_verb_t *sub = NULL;
    for (size_t i = 0; i < sizeof s_subverbs / sizeof s_subverbs[0]; i++) {
        if (strcmp(word, s_subverbs[i]->name + strlen("token ")) == 0) {
            sub = s_subverbs[i];
        }
    }
    if (!sub) {
        return cli_usage_error(verb,
                               "unknown subcommand '%s'; use create, list or "
                               "revoke",
                               word);
    }
    /* The subcommand reads the words after it, with "dossier token
       create" as the program name in getopt's messages. */
    char prog[64];
    snprintf(prog, sizeof prog, CLI_PROG " %s", sub->name);
    args.argv[1] = prog;
    args.argv++;
    args.argc--;
    return sub->run(sub, g, args);
}

const cli_verb_t cli_verb_token = {
    .name = "token",
    .summary = "make, list and revoke API tokens (admin)",
    .usage = "usage: dossier token create NAME [--role ROLE] [--expires "
             "DAYS]\n"
             "       dossier token list\n"
             "       dossier token revoke ID\n"
             "\n"
             "API tokens are how HTTP callers of dossier-gateway "
             "authenticate\n"
             "(\"Authorization: Bearer TOKEN\"); the server honours one only "
             "on a\n"
             "gateway's connection (docs/OPERATIONS.md, Tokens). All need "
             "role admin.\n"
             "  create   makes one and prints it alone on stdout, once\n"
             "  list     every token: id, name, role, created, expires, "
             "status\n"
             "  revoke   stops one from the next request on\n"
             "`dossier token SUBCOMMAND --help` says more.\n",
    .run = s_token,
};
