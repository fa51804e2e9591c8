/*  cli_import_json.c: `dossier import --json DUMP.jsonl`, the JSON-lines
    form of import (cli_import.c picks it): each line of a dump, as
    `dossier export` writes it, is a Report stored with Put as
    create-or-replace; the server assigns versions and timestamps. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define S_LINE_MAX ((size_t)32 << 20)

/*  Prints "dossier: PATH:LINE: message". The JSON parser saw one line
    of the file as a whole text, so its "at line 1 column C" would
    contradict LINE: it becomes "at column C". */
static void
s_print_line_error(const char *path, unsigned long long lineno,
                   const char *message) {
    static const char at_line_1[] = " at line 1 column ";
    const char *at = strstr(message, at_line_1);
    if (at == NULL) {
        fprintf(stderr, "dossier: %s:%llu: %s\n", path, lineno, message);
        return;
    }
    fprintf(stderr, "dossier: %s:%llu: %.*s at column %s\n", path, lineno,
            (int)(at - message), message, at + strlen(at_line_1));
}

/*  Puts every line of in (named path in messages). */
static int
s_import_lines(dossier_client_t *client, FILE *in, const char *path) {
    unsigned long long created = 0, updated = 0, failed = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long long lineno = 0;
    while ((len = getline(&line, &cap, in)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        size_t start = strspn(line, " \t");
        if ((size_t)len == start) {
            continue;
        }
        if ((size_t)len > S_LINE_MAX) {
            fprintf(stderr, "dossier: %s:%llu: line longer than %zu bytes\n",
                    path, lineno, S_LINE_MAX);
            failed++;
            continue;
        }
        ProtobufCMessage *message = NULL;
        dossier_error_t err = {0};
        if (json_to_message(&dossier__v1__report__descriptor, line, (size_t)len,
                            &message, &err) != DOSSIER_OK) {
            s_print_line_error(path, lineno, err.message);
            failed++;
            continue;
        }
        Dossier__V1__Report *report = (Dossier__V1__Report *)message;
        /* The server assigns versions and timestamps; the dump's are
           history, not a condition on the write. */
        report->version = 0;
        Dossier__V1__PutResponse *resp = NULL;
        dossier_status_t status =
            dossier_put(client, report, 0, false, &resp, &err);
        if (status != DOSSIER_OK) {
            fprintf(stderr, "dossier: %s:%llu: %s: %s (%s)\n", path, lineno,
                    report->id, err.message, dossier_strerror(err.code));
            failed++;
            if (status == DOSSIER_UNAVAILABLE ||
                status == DOSSIER_DEADLINE_EXCEEDED) {
                dossier_message_free(message);
                break; /* the server is gone: the rest would fail too */
            }
        } else if (resp->created) {
            created++;
        } else {
            updated++;
        }
        dossier_message_free(resp);
        dossier_message_free(message);
    }
    free(line);
    if (ferror(in)) {
        fprintf(stderr, "dossier: cannot read %s: %s\n", path, strerror(errno));
        failed++;
    }
    printf("imported %llu (created %llu, updated %llu), failed %llu\n",
           created + updated, created, updated, failed);
    return failed ? CLI_EXIT_REFUSED : CLI_EXIT_OK;
}

int
cli_import_json(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    /* Only the common options: --batch and the like are the text
       import's. */
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc < 1) {
        return cli_usage_error(verb, "give a dump.jsonl (or - for stdin)");
    }
    dossier_client_t *client = NULL;
    rc = cli_connect(g, 0, &client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    for (int i = 0; i < args.argc; i++) {
        const char *path = args.argv[i];
        FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
        if (!in) {
            fprintf(stderr, "dossier: cannot read %s: %s\n", path,
                    strerror(errno));
            rc = CLI_EXIT_REFUSED;
            continue;
        }
        int file_rc = s_import_lines(client, in, path);
        if (in != stdin) {
            fclose(in);
        }
        if (file_rc != CLI_EXIT_OK) {
            rc = file_rc;
        }
    }
    dossier_client_destroy(&client);
    return rc;
}
