/*  cli_backup.c: `dossier backup`, `dossier export` and the JSON-lines
    form of `dossier import`.

    backup asks the server for a hot copy of its store (Backup, role
    admin) and with --fetch downloads it in BackupRead chunks to a local
    file, written under FILE.part and renamed once its size matches.
    export prints every record (filters as for list) as proto3 JSON, one
    Report per line, following page tokens; import of such a dump Puts
    each line as create-or-replace. JSON field names are the contract, so
    a dump survives changes of the stored layout. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dossier/v1/reports.pb-c.h"
#include "json.h"

#define S_BACKUP_TIMEOUT_MS (30 * 60 * 1000)
#define S_CHUNK ((uint32_t)1 << 20)
#define S_EXPORT_PAGE 500
#define S_MAX_PAGES 10000000
#define S_LINE_MAX ((size_t)32 << 20)

/* ---- backup ---- */

/*  Downloads backup name (total bytes, as Backup reported) to path via
    path.part. Returns an exit code. */
static int
s_fetch(dossier_client_t *client, const char *name, uint64_t expected,
        const char *path) {
    size_t part_size = strlen(path) + sizeof ".part";
    char *part = malloc(part_size);
    if (!part) {
        fprintf(stderr, "dossier: out of memory\n");
        return CLI_EXIT_REFUSED;
    }
    snprintf(part, part_size, "%s.part", path);
    FILE *out = fopen(part, "wb");
    if (!out) {
        fprintf(stderr, "dossier: cannot create %s: %s\n", part,
                strerror(errno));
        free(part);
        return CLI_EXIT_REFUSED;
    }
    int rc = CLI_EXIT_OK;
    uint64_t offset = 0, total = expected;
    /* One chunk per call; the bound covers a file that keeps growing. */
    uint64_t max_calls = expected / S_CHUNK + 2;
    bool eof = false;
    for (uint64_t call = 0; !eof && call < max_calls; call++) {
        Dossier__V1__BackupReadRequest request =
            DOSSIER__V1__BACKUP_READ_REQUEST__INIT;
        request.name = (char *)name;
        request.offset = offset;
        request.length = S_CHUNK;
        Dossier__V1__BackupReadResponse *resp = NULL;
        dossier_error_t err = {0};
        if (dossier_call(client, "BackupRead", &request.base,
                         &dossier__v1__backup_read_response__descriptor,
                         (ProtobufCMessage **)&resp, &err) != DOSSIER_OK) {
            rc = cli_fail(&err);
            break;
        }
        if (resp->data.len > 0 &&
            fwrite(resp->data.data, 1, resp->data.len, out) != resp->data.len) {
            fprintf(stderr, "dossier: cannot write %s: %s\n", part,
                    strerror(errno));
            rc = CLI_EXIT_REFUSED;
        }
        offset += resp->data.len;
        total = resp->total_size;
        eof = resp->eof;
        if (!eof && resp->data.len == 0) {
            fprintf(stderr,
                    "dossier: the server sent an empty chunk at "
                    "offset %llu before the end\n",
                    (unsigned long long)offset);
            rc = CLI_EXIT_REFUSED;
        }
        dossier_message_free(resp);
        if (rc != CLI_EXIT_OK) {
            break;
        }
    }
    if (fflush(out) != 0 || fsync(fileno(out)) != 0) {
        if (rc == CLI_EXIT_OK) {
            fprintf(stderr, "dossier: cannot write %s: %s\n", part,
                    strerror(errno));
            rc = CLI_EXIT_REFUSED;
        }
    }
    fclose(out);
    if (rc == CLI_EXIT_OK && (!eof || offset != total || total != expected)) {
        fprintf(stderr,
                "dossier: the download of %s is %llu bytes; the backup is "
                "%llu: not kept\n",
                name, (unsigned long long)offset, (unsigned long long)expected);
        rc = CLI_EXIT_REFUSED;
    }
    if (rc == CLI_EXIT_OK && rename(part, path) != 0) {
        fprintf(stderr, "dossier: cannot rename %s to %s: %s\n", part, path,
                strerror(errno));
        rc = CLI_EXIT_REFUSED;
    }
    if (rc != CLI_EXIT_OK) {
        unlink(part);
    }
    free(part);
    return rc;
}

enum { S_BACKUP_FETCH = 1 };

static const cli_option_t s_backup_options[] = {
    {.name = "fetch",
     .key = S_BACKUP_FETCH,
     .kind = CLI_TEXT,
     .help = "  --fetch FILE  also download it to FILE here (in 1 MiB chunks,\n"
             "                checked against the size the server "
             "reported)\n"},
    {.name = NULL},
};

static int
s_backup_take(const cli_verb_t *verb, void *state, int key,
              const cli_value_t *value) {
    (void)verb;
    (void)key;
    *(const char **)state = value->text;
    return CLI_GO_ON;
}

static const cli_method_t s_backup_method = {
    "Backup", &dossier__v1__backup_response__descriptor, S_BACKUP_TIMEOUT_MS};

/* state: the --fetch FILE, or NULL. */
static int
s_backup_show(const cli_global_t *g, dossier_client_t *client,
              const ProtobufCMessage *response, void *state) {
    const Dossier__V1__BackupResponse *resp =
        (const Dossier__V1__BackupResponse *)response;
    const char *fetch = state;
    int rc = CLI_EXIT_OK;
    if (g->json) {
        cli_print_json(response);
    } else {
        printf("backup %s: %llu records, %llu bytes, in %llu ms\n"
               "  on the server: %s\n",
               resp->name, (unsigned long long)resp->records,
               (unsigned long long)resp->size_bytes,
               (unsigned long long)resp->duration_ms, resp->path);
    }
    if (fetch) {
        rc = s_fetch(client, resp->name, resp->size_bytes, fetch);
        if (rc == CLI_EXIT_OK && !g->json) {
            printf("  fetched to %s (%llu bytes)\n", fetch,
                   (unsigned long long)resp->size_bytes);
        }
    }
    return rc;
}

static int
s_backup(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    const char *fetch = NULL;
    int rc = cli_parse(verb, verb->options, s_backup_take, &fetch, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc > 1) {
        return cli_usage_error(verb, "give at most one NAME");
    }
    Dossier__V1__BackupRequest request = DOSSIER__V1__BACKUP_REQUEST__INIT;
    if (args.argc == 1) {
        request.name = args.argv[0];
    }
    return cli_call(g, &s_backup_method, &request.base, s_backup_show,
                    (void *)fetch);
}

const cli_verb_t cli_verb_backup = {
    .name = "backup",
    .summary = "back up the server's store",
    .usage = "usage: dossier backup [--fetch FILE] [--json] [NAME]\n"
             "\n"
             "Asks the server (role admin) for a consistent, compacted copy of "
             "its\n"
             "store, written into its backup directory as NAME (a plain file "
             "name)\n"
             "or dossier-YYYYMMDDTHHMMSSZ.mdb, while it goes on serving. "
             "Prints the\n"
             "name, records, bytes, time taken and the path on the server.\n",
    .options = s_backup_options,
    .usage_end = "Restore with `dossierd --restore FILE --data DIR` "
                 "(docs/OPERATIONS.md).\n",
    .run = s_backup,
};

/* ---- export ---- */

/* The filters are those of list. */
static const cli_option_t s_export_options[] = {
    CLI_FILTER_OPTIONS,
    {.name = NULL},
};

static int
s_export(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
    int rc = cli_parse(verb, verb->options, cli_filter_take, &filter, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[0]);
    }
    dossier_client_t *client = NULL;
    rc = cli_connect(g, 0, &client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    Dossier__V1__ListRequest request = DOSSIER__V1__LIST_REQUEST__INIT;
    request.filter = &filter;
    request.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    request.page_size = S_EXPORT_PAGE;
    char *token = NULL;
    unsigned long long records = 0;
    for (long pages = 0; pages < S_MAX_PAGES; pages++) {
        request.page_token = token ? token : (char *)"";
        Dossier__V1__ListResponse *page = NULL;
        dossier_error_t err = {0};
        dossier_status_t status = dossier_list(client, &request, &page, &err);
        if (status == DOSSIER_INVALID_ARGUMENT && request.page_size > 1 &&
            records == 0 && token == NULL) {
            /* A server with a smaller max_page_size: ask for fewer. */
            request.page_size /= 2;
            pages--;
            continue;
        }
        if (status != DOSSIER_OK) {
            rc = cli_fail(&err);
            break;
        }
        for (size_t i = 0; i < page->n_reports && rc == CLI_EXIT_OK; i++) {
            if (cli_print_json(&page->reports[i]->base) != 0) {
                rc = CLI_EXIT_REFUSED;
            }
            records++;
        }
        free(token);
        token = NULL;
        if (page->next_page_token && page->next_page_token[0]) {
            token = strdup(page->next_page_token);
        }
        dossier_message_free(page);
        if (!token || rc != CLI_EXIT_OK) {
            break;
        }
    }
    free(token);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "dossier: cannot write the export: %s\n",
                strerror(errno));
        rc = CLI_EXIT_REFUSED;
    }
    if (rc == CLI_EXIT_OK) {
        fprintf(stderr, "exported %llu records\n", records);
    }
    dossier_client_destroy(&client);
    return rc;
}

const cli_verb_t cli_verb_export = {
    .name = "export",
    .summary = "every record as JSON lines",
    .usage = "usage: dossier export [--country C] [--year Y|Y1-Y2] [--tier T]\n"
             "                      [--publisher P] [--json] > dump.jsonl\n"
             "\n"
             "Prints every record (filters as for `dossier list`) with all "
             "its\n"
             "fields as proto3 JSON, one Report per line, for `dossier "
             "import\n"
             "--json`. The JSON names are the contract: a dump outlives "
             "changes of\n"
             "the stored layout.\n",
    .options = s_export_options,
    .run = s_export,
};

/* ---- import of a JSON-lines dump ---- */

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
            fprintf(stderr, "dossier: %s:%llu: %s\n", path, lineno,
                    err.message);
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
            fprintf(stderr, "dossier: %s:%llu: %s: %s: %s\n", path, lineno,
                    report->id, dossier_strerror(err.code), err.message);
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
