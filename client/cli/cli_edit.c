/*  cli_edit.c: `dossier edit ID`: the record as JSON in $EDITOR, written
    back only if nobody changed it meanwhile (compare-and-set on the
    version read); on a conflict or a refused write the edit is kept in
    its temporary file. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"

/* Runs $EDITOR (a shell word list, as git does) on path. Returns the
   editor's exit status, or -1 when it could not run. */
static int
s_run_editor(const char *path) {
    const char *editor = getenv("EDITOR");
    if (editor == NULL || *editor == '\0') {
        editor = "vi";
    }
    char command[4096];
    int n = snprintf(command, sizeof command, "%s \"$1\"", editor);
    if (n < 0 || (size_t)n >= sizeof command) {
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", command, "sh", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
s_write_file(int fd, const char *text) {
    size_t size = strlen(text), done = 0;
    while (done < size) {
        ssize_t n = write(fd, text + done, size - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        done += (size_t)n;
    }
    return write(fd, "\n", 1) == 1 ? 0 : -1;
}

static int
s_edit(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one ID");
    }
    const char *id = args.argv[0];
    dossier_client_t *client = NULL;
    if ((rc = cli_connect(g, 0, &client)) != CLI_EXIT_OK) {
        return rc;
    }
    dossier_error_t err = {0};
    Dossier__V1__Report *report = NULL;
    char *before = NULL, *after = NULL;
    ProtobufCMessage *edited = NULL;
    char path[4096] = "";
    if (dossier_get(client, id, &report, &err) != DOSSIER_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    uint64_t version = report->version;
    before = json_from_message(&report->base, JSON_PRETTY);
    if (before == NULL) {
        fprintf(stderr, "dossier: out of memory rendering JSON\n");
        rc = CLI_EXIT_REFUSED;
        goto done;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/dossier-edit-XXXXXX.json",
             tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        fprintf(stderr, "dossier: cannot make a temporary file %s: %s\n", path,
                strerror(errno));
        path[0] = '\0';
        rc = CLI_EXIT_REFUSED;
        goto done;
    }
    int written = s_write_file(fd, before);
    close(fd);
    if (written != 0) {
        fprintf(stderr, "dossier: cannot write %s: %s\n", path,
                strerror(errno));
        rc = CLI_EXIT_REFUSED;
        goto remove;
    }
    int status = s_run_editor(path);
    if (status != 0) {
        fprintf(stderr,
                "dossier: the editor exited with %d; %s is unchanged on the "
                "server\n",
                status, id);
        rc = CLI_EXIT_REFUSED;
        goto remove;
    }
    size_t size = 0;
    const char *why = NULL;
    if (cli_read_file(path, &after, &size, &why) != 0) {
        fprintf(stderr, "dossier: %s: %s\n", path, why);
        rc = CLI_EXIT_REFUSED;
        goto remove;
    }
    size_t before_size = strlen(before);
    if (size == before_size + 1 && memcmp(after, before, before_size) == 0) {
        printf("%s unchanged (version %llu)\n", id,
               (unsigned long long)version);
        rc = CLI_EXIT_OK;
        goto remove;
    }
    if (json_to_message(&dossier__v1__report__descriptor, after, size, &edited,
                        &err) != DOSSIER_OK) {
        fprintf(stderr,
                "dossier: %s: %s; nothing was written, your edit is kept "
                "in %s\n",
                id, err.message, path);
        rc = CLI_EXIT_REFUSED;
        goto done;
    }
    Dossier__V1__Report *next = (Dossier__V1__Report *)edited;
    if (strcmp(next->id, id) != 0) {
        fprintf(stderr,
                "dossier: the edit changes the id to \"%s\"; nothing was "
                "written, your edit is kept in %s (store a copy under a new "
                "id with `dossier put`)\n",
                next->id, path);
        rc = CLI_EXIT_REFUSED;
        goto done;
    }
    /* The version read, not whatever the file now says: the edit started
       from it. */
    Dossier__V1__PutResponse *put = NULL;
    dossier_status_t st = dossier_put(client, next, version, false, &put, &err);
    if (st == DOSSIER_ABORTED) {
        fprintf(stderr,
                "dossier: conflict: %s was changed by someone else while you "
                "edited it: it is now at version %llu, your edit started "
                "from version %llu. Nothing was written; your edit is kept "
                "in %s\n",
                id, (unsigned long long)dossier_client_current_version(client),
                (unsigned long long)version, path);
        rc = CLI_EXIT_REFUSED;
        goto done;
    }
    if (st != DOSSIER_OK) {
        rc = cli_fail(&err);
        fprintf(stderr, "dossier: your edit is kept in %s\n", path);
        goto done;
    }
    if (g->json) {
        cli_print_json(&put->base);
    } else {
        printf("%s updated, version %llu\n", put->id,
               (unsigned long long)put->version);
    }
    dossier_message_free(put);
    rc = CLI_EXIT_OK;
remove:
    if (path[0]) {
        unlink(path);
    }
done:
    dossier_message_free(edited);
    free(after);
    free(before);
    dossier_report_free(report);
    dossier_client_destroy(&client);
    return rc;
}

const cli_verb_t cli_verb_edit = {
    .name = "edit",
    .summary = "edit a record in $EDITOR (compare-and-set)",
    .usage = "usage: dossier edit ID\n"
             "\n"
             "Opens the record ID as JSON in $EDITOR (default vi) and, when "
             "the\n"
             "editor exits 0 with a change, stores it, but only if the record "
             "still\n"
             "has the version that was read (compare-and-set). When someone "
             "else\n"
             "changed it meanwhile, nothing is written: the current version "
             "is\n"
             "printed and the edited JSON is kept in the temporary file named, "
             "for\n"
             "`dossier put --force FILE` or another edit. Exits 0 when stored "
             "or\n"
             "unchanged, 1 on a conflict or a refused write.\n",
    .run = s_edit,
};
