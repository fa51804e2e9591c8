/*  cli_audit.c: `dossier audit`: the server's audit log (role admin),
    every write and the refused calls, oldest first, filtered by user,
    time and method, following page tokens up to --limit. */
#include "cli.h"

#include <string.h>

#define S_AUDIT_MAX_PAGES 100000
/* The IDS column, in screen columns. */
#define S_AUDIT_IDS_WIDTH 20

typedef struct {
    Dossier__V1__AuditRequest request;
    unsigned long long limit;
} s_audit_state_t;

enum { S_AUDIT_USER = 1, S_AUDIT_SINCE, S_AUDIT_METHOD, S_AUDIT_LIMIT };

static const cli_option_t s_audit_options[] = {
    {.name = "user",
     .key = S_AUDIT_USER,
     .kind = CLI_TEXT,
     .help = "  --user U     only calls by user U\n"},
    {.name = "since",
     .key = S_AUDIT_SINCE,
     .kind = CLI_TEXT,
     .help = "  --since T    only entries at or after T, ISO 8601 UTC: "
             "2026-11-27\n"
             "               or 2026-11-27T20:00:00Z\n"},
    {.name = "method",
     .key = S_AUDIT_METHOD,
     .kind = CLI_TEXT,
     .help = "  --method M   only this method: Put, Delete, ImportText, ...\n"},
    {.name = "limit",
     .key = S_AUDIT_LIMIT,
     .kind = CLI_COUNT,
     .min = 1,
     .max = 100000000,
     .wants = "a number >= 1",
     .help = "  --limit N    at most N entries (default 100)\n"},
    {.name = NULL},
};

static int
s_audit_take(const cli_verb_t *verb, void *state, int key,
             const cli_value_t *value) {
    (void)verb;
    s_audit_state_t *s = state;
    switch (key) {
    case S_AUDIT_USER:
        s->request.user = (char *)value->text;
        break;
    case S_AUDIT_SINCE:
        s->request.since = (char *)value->text;
        break;
    case S_AUDIT_METHOD:
        s->request.method = (char *)value->text;
        break;
    default:
        s->limit = value->count;
        break;
    }
    return CLI_GO_ON;
}

static void
s_print_audit(const Dossier__V1__AuditEntry *e) {
    const char *method = strrchr(e->method, '/');
    method = method ? method + 1 : e->method;
    /* Ids and messages quote what callers sent: escaped, so that no
       entry can forge a line or drive the terminal. */
    printf("%-6llu %-24s ", (unsigned long long)e->seq, e->time);
    size_t user_width = cli_print_escaped(stdout, e->user);
    if (e->via && *e->via) {
        /* A token's user, by way of a gateway's connection. */
        fputs(" via ", stdout);
        user_width += 5 + cli_print_escaped(stdout, e->via);
    }
    printf("%*s %-12s %-18s ", (int)(16 > user_width ? 16 - user_width : 0), "",
           method, dossier_strerror(e->code));
    /* The ids as one cell, padded to the column so that the messages
       line up (a longer list pushes only its own message right). */
    size_t width = 0;
    for (size_t i = 0; i < e->n_ids; i++) {
        fputs(i ? "," : "", stdout);
        width += (i ? 1 : 0);
        width += cli_print_escaped(stdout, e->ids[i]);
    }
    if (e->n_ids == 0) {
        fputs("-", stdout);
        width = 1;
    }
    if (e->message && *e->message) {
        printf("%*s ",
               (int)(width < S_AUDIT_IDS_WIDTH ? S_AUDIT_IDS_WIDTH - width : 0),
               "");
        cli_print_escaped(stdout, e->message);
    }
    printf("\n");
}

static int
s_audit(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_audit_state_t s = {.request = DOSSIER__V1__AUDIT_REQUEST__INIT,
                         .limit = 100};
    int rc = cli_parse(verb, verb->options, s_audit_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "takes no arguments besides options");
    }
    dossier_client_t *client = NULL;
    if ((rc = cli_connect(g, 0, &client)) != CLI_EXIT_OK) {
        return rc;
    }
    /* The header waits for the first answer: a refusal prints no table. */
    bool header = g->json;
    unsigned long long shown = 0;
    char token[64] = "";
    for (int page = 0; page < S_AUDIT_MAX_PAGES && shown < s.limit; page++) {
        unsigned long long want = s.limit - shown;
        s.request.page_size = want > 1000 ? 1000 : (uint32_t)want;
        s.request.page_token = token;
        Dossier__V1__AuditResponse *resp = NULL;
        dossier_error_t err = {0};
        if (dossier_call(client, "Audit", &s.request.base,
                         &dossier__v1__audit_response__descriptor,
                         (ProtobufCMessage **)&resp, &err) != DOSSIER_OK) {
            rc = cli_fail(&err);
            break;
        }
        if (!header) {
            printf("%-6s %-24s %-16s %-12s %-18s %-*s %s\n", "SEQ", "TIME",
                   "USER", "METHOD", "CODE", S_AUDIT_IDS_WIDTH, "IDS",
                   "MESSAGE");
            header = true;
        }
        for (size_t i = 0; i < resp->n_entries && shown < s.limit; i++) {
            if (g->json) {
                cli_print_json(&resp->entries[i]->base);
            } else {
                s_print_audit(resp->entries[i]);
            }
            shown++;
        }
        bool more = resp->next_page_token && *resp->next_page_token &&
                    strlen(resp->next_page_token) < sizeof token;
        if (more) {
            snprintf(token, sizeof token, "%s", resp->next_page_token);
        }
        dossier_message_free(resp);
        if (!more) {
            break;
        }
    }
    dossier_client_destroy(&client);
    return rc;
}

const cli_verb_t cli_verb_audit = {
    .name = "audit",
    .summary = "the server's audit log (admin)",
    .usage =
        "usage: dossier audit [--user U] [--since T] [--method M] "
        "[--limit N]\n"
        "                     [--json]\n"
        "\n"
        "Prints the server's audit log (role admin): every write and the "
        "refused\n"
        "calls (past audit_refused_per_second on one connection, a summary "
        "entry\n"
        "counts the rest), oldest first, within the server's retention, "
        "as a\n"
        "table (SEQ, TIME, USER, METHOD, CODE, IDS, MESSAGE; control "
        "characters\n"
        "escaped), or with --json one AuditEntry object per line.\n",
    .options = s_audit_options,
    .run = s_audit,
};
