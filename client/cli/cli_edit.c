/*  cli_edit.c: the shared-deployment verbs of `dossier`: edit (a record
    in $EDITOR, written back only if nobody changed it meanwhile), audit
    (the server's audit log) and watch (the change feed). */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "json.h"

#define S_FEED_TOPIC "dossier.v1.change"
#define S_AUDIT_MAX_PAGES 100000

/* ---- edit ---------------------------------------------------------- */

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

/* ---- audit --------------------------------------------------------- */

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
    printf("%-6llu %-24s %-16s %-12s %-18s ", (unsigned long long)e->seq,
           e->time, e->user, method, dossier_strerror(e->code));
    for (size_t i = 0; i < e->n_ids; i++) {
        printf("%s%s", i ? "," : "", e->ids[i]);
    }
    if (e->n_ids == 0) {
        printf("-");
    }
    if (e->message && *e->message) {
        printf("  %s", e->message);
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
    if (!g->json) {
        printf("%-6s %-24s %-16s %-12s %-18s %s\n", "SEQ", "TIME", "USER",
               "METHOD", "CODE", "IDS  MESSAGE");
    }
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
    return rc < 0 ? CLI_EXIT_OK : rc;
}

const cli_verb_t cli_verb_audit = {
    .name = "audit",
    .summary = "the server's audit log (admin)",
    .usage = "usage: dossier audit [--user U] [--since T] [--method M] "
             "[--limit N]\n"
             "                     [--json]\n"
             "\n"
             "Prints the server's audit log (role admin): every write and "
             "every\n"
             "refused call, oldest first, as a table (SEQ, TIME, USER, METHOD, "
             "CODE,\n"
             "IDS, MESSAGE), or with --json one AuditEntry object per line.\n",
    .options = s_audit_options,
    .run = s_audit,
};

/* ---- watch --------------------------------------------------------- */

static volatile sig_atomic_t s_interrupted;

static void
s_on_signal(int signal) {
    (void)signal;
    s_interrupted = 1;
}

typedef struct {
    const char *feed;
    unsigned long long count;
} s_watch_state_t;

enum { S_WATCH_FEED = 1, S_WATCH_COUNT };

static const cli_option_t s_watch_options[] = {
    {.name = "feed",
     .key = S_WATCH_FEED,
     .kind = CLI_TEXT,
     .help = "  --feed ENDPOINT  e.g. tcp://10.0.0.5:7532\n"},
    {.name = "count",
     .key = S_WATCH_COUNT,
     .kind = CLI_COUNT,
     .min = 1,
     .max = UINT64_MAX,
     .wants = "a number >= 1",
     .help = "  --count N        exit 0 after N changes\n"},
    {.name = NULL},
};

static int
s_watch_take(const cli_verb_t *verb, void *state, int key,
             const cli_value_t *value) {
    (void)verb;
    s_watch_state_t *s = state;
    if (key == S_WATCH_FEED) {
        s->feed = value->text;
    } else {
        s->count = value->count;
    }
    return CLI_GO_ON;
}

static const char *
s_operation(Dossier__V1__ChangeOperation op) {
    switch (op) {
    case DOSSIER__V1__CHANGE_OPERATION__CHANGE_OPERATION_PUT:
        return "PUT";
    case DOSSIER__V1__CHANGE_OPERATION__CHANGE_OPERATION_DELETE:
        return "DELETE";
    default:
        return "?";
    }
}

/* Makes the SUB socket a CURVE client with the keys cli_auth_options
   found (if any). Returns 0 or -1. */
static int
s_watch_curve(void *socket, const dossier_options_t *options) {
    if (options->curve_server_key == NULL) {
        return 0;
    }
    return zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY,
                          options->curve_server_key, 41) == 0 &&
                   zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY,
                                  options->curve_public_key, 41) == 0 &&
                   zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY,
                                  options->curve_secret_key, 41) == 0
               ? 0
               : -1;
}

static int
s_watch(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_watch_state_t s = {0};
    int rc = cli_parse(verb, verb->options, s_watch_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "takes no arguments besides options");
    }
    if (s.feed == NULL || *s.feed == '\0') {
        s.feed = getenv("DOSSIER_FEED");
    }
    if (s.feed == NULL || *s.feed == '\0') {
        return cli_usage_error(verb, "give the server's feed endpoint with "
                                     "--feed or $DOSSIER_FEED");
    }
    static cli_keys_t keys;
    dossier_options_t options;
    dossier_options_init(&options);
    const char *server = NULL;
    rc = cli_auth_options(g, &keys, &options, &server);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    void *context = zmq_ctx_new();
    void *socket = context ? zmq_socket(context, ZMQ_SUB) : NULL;
    int linger = 0;
    if (socket == NULL ||
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        s_watch_curve(socket, &options) != 0 ||
        zmq_setsockopt(socket, ZMQ_SUBSCRIBE, S_FEED_TOPIC,
                       strlen(S_FEED_TOPIC)) != 0 ||
        zmq_connect(socket, s.feed) != 0) {
        fprintf(stderr, "dossier: cannot subscribe to %s: %s\n", s.feed,
                zmq_strerror(errno));
        explicit_bzero(keys.secret_key, sizeof keys.secret_key);
        if (socket) {
            zmq_close(socket);
        }
        if (context) {
            zmq_ctx_term(context);
        }
        return CLI_EXIT_USAGE;
    }
    explicit_bzero(keys.secret_key, sizeof keys.secret_key);
    struct sigaction action = {0};
    action.sa_handler = s_on_signal;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    unsigned long long seen = 0;
    rc = CLI_EXIT_OK;
    while (!s_interrupted && (s.count == 0 || seen < s.count)) {
        zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, 200);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "dossier: watch: %s\n", zmq_strerror(errno));
            rc = CLI_EXIT_UNREACHABLE;
            break;
        }
        if (n == 0) {
            continue;
        }
        zmq_msg_t frames[2];
        zmq_msg_init(&frames[0]);
        zmq_msg_init(&frames[1]);
        int more = 0;
        bool ok = zmq_msg_recv(&frames[0], socket, 0) >= 0 &&
                  zmq_msg_more(&frames[0]) &&
                  zmq_msg_recv(&frames[1], socket, 0) >= 0;
        more = ok && zmq_msg_more(&frames[1]);
        while (more) { /* a newer server's extra frames: skip them */
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            more = zmq_msg_recv(&extra, socket, 0) >= 0 && zmq_msg_more(&extra);
            zmq_msg_close(&extra);
        }
        Dossier__V1__ChangeEvent *event =
            ok ? dossier__v1__change_event__unpack(
                     NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]))
               : NULL;
        zmq_msg_close(&frames[0]);
        zmq_msg_close(&frames[1]);
        if (event == NULL) {
            fprintf(stderr, "dossier: watch: skipped a message that is not a "
                            "ChangeEvent\n");
            continue;
        }
        if (g->json) {
            cli_print_json(&event->base);
        } else {
            printf("%llu %s %s %s %s v%llu %s %u\n",
                   (unsigned long long)event->seq, event->time, event->user,
                   s_operation(event->operation), event->id,
                   (unsigned long long)event->version,
                   *event->country_code ? event->country_code : "-",
                   event->year);
        }
        fflush(stdout);
        dossier__v1__change_event__free_unpacked(event, NULL);
        seen++;
    }
    zmq_close(socket);
    zmq_ctx_term(context);
    return rc;
}

const cli_verb_t cli_verb_watch = {
    .name = "watch",
    .summary = "print committed changes from the feed",
    .usage = "usage: dossier watch [--feed ENDPOINT] [--count N] [--json]\n"
             "\n"
             "Prints each committed change (SEQ, TIME, USER, OPERATION, ID, "
             "VERSION,\n"
             "COUNTRY, YEAR) as the server publishes it on its change feed, "
             "until\n"
             "interrupted (or after N changes). The feed is the server's "
             "--feed\n"
             "endpoint: --feed, else $DOSSIER_FEED. With CURVE keys "
             "(--server-key,\n"
             "--key) the subscription is encrypted and the server admits only "
             "its\n"
             "users. A subscriber too slow for the server misses changes (the "
             "SEQ\n"
             "numbers show the gap).\n",
    .options = s_watch_options,
    .run = s_watch,
};
