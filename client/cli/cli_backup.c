/*  cli_backup.c: `dossier backup [NAME]`: asks the server for a hot copy
    of its store (Backup, role admin) and with --fetch downloads it in
    BackupRead chunks to a local file, written under FILE.part and
    renamed once its size matches. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_BACKUP_TIMEOUT_MS (30 * 60 * 1000)
#define S_CHUNK ((uint32_t)1 << 20)

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

static const cli_method_t s_backup_method = {
    .name = "Backup",
    .response_type = &dossier__v1__backup_response__descriptor,
    .timeout_ms = S_BACKUP_TIMEOUT_MS,
};

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
    int rc = cli_parse(verb, verb->options, cli_take_text, &fetch, g, &args);
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
