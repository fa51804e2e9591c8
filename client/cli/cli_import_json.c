/*  cli_import_json.c: `dossier import --json DUMP.jsonl`, the JSON-lines
    form of import (cli_import.c picks it): each line of a dump, as
    `dossier export` writes it, is a Report stored as create-or-replace;
    the server assigns versions and timestamps.

    The records go in PutBatch calls of up to S_BATCH_RECORDS (and
    S_BATCH_BYTES, or less when the server accepts less), two in flight
    on one connection (dossier_call_start / dossier_call_finish): the
    server checks and tokenizes one while its writer commits the other,
    and this process parses the next lines meanwhile. A record equal to
    the stored one is left as it is (skip_unchanged), so restoring the
    same dump twice says "unchanged".
    A server without PutBatch (UNIMPLEMENTED) gets one Put per record. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"

#define S_LINE_MAX ((size_t)32 << 20)
/* Records per PutBatch: as for text imports, larger batches make fewer
   durable commits and larger index segments (docs/PERFORMANCE.md). */
#define S_BATCH_RECORDS 2500
/* Packed bytes per PutBatch, as for text imports: well under the
   server's default message limit (16 MiB), and cut to what a server with
   a lower limit says it accepts (cli_batch_bytes). With 5 KB records,
   8 MiB cut batches at about 1,600 records. */
#define S_BATCH_BYTES (12u * 1024 * 1024)
#define S_IN_FLIGHT 2
#define S_TIMEOUT_MS 30000

typedef struct {
    unsigned long long created, updated, unchanged, failed;
    bool progress;
    off_t total_bytes; /* 0: unknown (stdin) */
    off_t done_bytes;
    unsigned long long records;
    bool use_put;     /* the server has no PutBatch */
    size_t max_bytes; /* packed bytes per PutBatch */
} s_tally_t;

/* The records of one PutBatch and the call carrying it. */
typedef struct {
    Dossier__V1__Report **reports;
    unsigned long long *lines; /* the line of each record */
    size_t n, cap;
    size_t bytes;
    off_t done_bytes; /* of the file, once its last line was read */
    dossier_pending_t *pending;
    dossier_status_t start_rc;
    dossier_error_t start_err;
} s_batch_t;

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

static void
s_clear_progress(const s_tally_t *t) {
    if (t->progress) {
        fputs("\r\033[K", stderr);
    }
}

static void
s_draw_progress(const s_tally_t *t) {
    if (!t->progress) {
        return;
    }
    enum { BAR = 30 };
    size_t filled =
        t->total_bytes > 0 ? (size_t)(t->done_bytes * BAR / t->total_bytes) : 0;
    char bar[BAR + 1];
    for (size_t i = 0; i < BAR; i++) {
        bar[i] = i < filled ? '#' : '.';
    }
    bar[BAR] = '\0';
    fprintf(stderr, "\rimporting [%s] %llu records", bar, t->records);
    fflush(stderr);
}

static void
s_batch_free(s_batch_t *b) {
    for (size_t i = 0; i < b->n; i++) {
        dossier_message_free(b->reports[i]);
    }
    free(b->reports);
    free(b->lines);
    memset(b, 0, sizeof *b);
}

static int
s_batch_add(s_batch_t *b, Dossier__V1__Report *report,
            unsigned long long line) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        Dossier__V1__Report **reports =
            realloc(b->reports, cap * sizeof *reports);
        if (!reports) {
            return -1;
        }
        b->reports = reports;
        unsigned long long *lines = realloc(b->lines, cap * sizeof *lines);
        if (!lines) {
            return -1;
        }
        b->lines = lines;
        b->cap = cap;
    }
    b->reports[b->n] = report;
    b->lines[b->n] = line;
    b->n++;
    b->bytes += dossier__v1__report__get_packed_size(report) + 8;
    return 0;
}

static void
s_count(s_tally_t *t, Dossier__V1__ImportOutcome outcome, bool created) {
    switch (outcome) {
    case DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED:
        t->created++;
        break;
    case DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UNCHANGED:
        t->unchanged++;
        break;
    case DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UPDATED:
        t->updated++;
        break;
    default:
        if (created) {
            t->created++;
        } else {
            t->updated++;
        }
    }
}

/*  One Put per record: for a server without PutBatch. Returns 0, or the
    exit code that ends the import (no server). */
static int
s_put_each(dossier_client_t *client, const char *path, s_batch_t *b,
           s_tally_t *t) {
    for (size_t i = 0; i < b->n; i++) {
        Dossier__V1__PutResponse *resp = NULL;
        dossier_error_t err = {0};
        dossier_status_t st =
            dossier_put(client, b->reports[i], 0, false, &resp, &err);
        if (st == DOSSIER_OK) {
            s_count(t, 0, resp->created);
            dossier_message_free(resp);
            continue;
        }
        if (cli_exit_code(st) == CLI_EXIT_UNREACHABLE) {
            s_clear_progress(t);
            return cli_fail(&err);
        }
        s_clear_progress(t);
        fprintf(stderr, "dossier: %s:%llu: %s: %s (%s)\n", path, b->lines[i],
                b->reports[i]->id, err.message, dossier_strerror(err.code));
        t->failed++;
    }
    return 0;
}

/*  Tallies a PutBatch reply (st, err, resp) for b; frees resp. Returns 0,
    or the exit code that ends the import. */
static int
s_tally(dossier_client_t *client, const char *path, s_batch_t *b,
        dossier_status_t st, const dossier_error_t *err,
        Dossier__V1__PutBatchResponse *resp, s_tally_t *t) {
    if (st == DOSSIER_UNIMPLEMENTED) {
        t->use_put = true;
        return s_put_each(client, path, b, t);
    }
    if (st != DOSSIER_OK) {
        s_clear_progress(t);
        if (cli_exit_code(st) == CLI_EXIT_UNREACHABLE ||
            st == DOSSIER_PERMISSION_DENIED || st == DOSSIER_UNAUTHENTICATED) {
            return cli_fail(err);
        }
        fprintf(stderr, "dossier: %s:%llu-%llu: %s (%s)\n", path, b->lines[0],
                b->lines[b->n - 1], err->message, dossier_strerror(err->code));
        t->failed += b->n;
        return 0;
    }
    if (resp->n_results != b->n) {
        s_clear_progress(t);
        fprintf(stderr,
                "dossier: %s:%llu-%llu: the server's reply does not match "
                "the batch\n",
                path, b->lines[0], b->lines[b->n - 1]);
        t->failed += b->n;
        dossier_message_free(resp);
        return 0;
    }
    for (size_t i = 0; i < b->n; i++) {
        const Dossier__V1__PutResult *r = resp->results[i];
        if (r->code != DOSSIER_OK) {
            s_clear_progress(t);
            fprintf(stderr, "dossier: %s:%llu: %s: %s (%s)\n", path,
                    b->lines[i], r->id, r->message,
                    dossier_strerror((dossier_status_t)r->code));
            t->failed++;
            continue;
        }
        s_count(t, r->outcome, false);
    }
    dossier_message_free(resp);
    return 0;
}

static Dossier__V1__PutBatchRequest
s_request(const s_batch_t *b) {
    Dossier__V1__PutBatchRequest req = DOSSIER__V1__PUT_BATCH_REQUEST__INIT;
    req.reports = b->reports;
    req.n_reports = b->n;
    req.skip_unchanged = true;
    return req;
}

static void
s_batch_start(dossier_client_t *client, s_batch_t *b, const s_tally_t *t) {
    if (b->n == 0 || t->use_put) {
        return;
    }
    Dossier__V1__PutBatchRequest req = s_request(b);
    b->start_rc = dossier_call_start(client, "PutBatch", &req.base, &b->pending,
                                     &b->start_err);
}

/*  Waits for b's reply and tallies it. A batch that could not be
    started, lost its connection or got no reply in time is sent again
    the waiting way (dossier_call retries and fails over); that is safe,
    since a record stored already is then "unchanged". */
static int
s_batch_finish(dossier_client_t *client, const char *path, s_batch_t *b,
               s_tally_t *t) {
    if (b->n == 0) {
        return 0;
    }
    if (t->use_put) {
        return s_put_each(client, path, b, t);
    }
    dossier_status_t st = b->start_rc;
    dossier_error_t err = b->start_err;
    Dossier__V1__PutBatchResponse *resp = NULL;
    if (b->pending) {
        st = dossier_call_finish(client, &b->pending,
                                 &dossier__v1__put_batch_response__descriptor,
                                 (ProtobufCMessage **)&resp, &err);
    }
    if (st == DOSSIER_UNAVAILABLE || st == DOSSIER_DEADLINE_EXCEEDED) {
        Dossier__V1__PutBatchRequest req = s_request(b);
        resp = NULL;
        memset(&err, 0, sizeof err);
        st = dossier_call(client, "PutBatch", &req.base,
                          &dossier__v1__put_batch_response__descriptor,
                          (ProtobufCMessage **)&resp, &err);
    }
    return s_tally(client, path, b, st, &err, resp, t);
}

/*  Reads lines of in into b until it is full or the input ends. Lines
    that are not a Report are named on stderr and counted as failed.
    Returns 0, or -1 when out of memory. */
static int
s_batch_read(FILE *in, const char *path, char **line, size_t *cap,
             unsigned long long *lineno, s_batch_t *b, s_tally_t *t) {
    ssize_t len;
    while (b->n < S_BATCH_RECORDS && b->bytes < t->max_bytes &&
           (len = getline(line, cap, in)) != -1) {
        (*lineno)++;
        t->done_bytes += len;
        char *text = *line;
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) {
            text[--len] = '\0';
        }
        size_t start = strspn(text, " \t");
        if ((size_t)len == start) {
            continue;
        }
        if ((size_t)len > S_LINE_MAX) {
            s_clear_progress(t);
            fprintf(stderr, "dossier: %s:%llu: line longer than %zu bytes\n",
                    path, *lineno, S_LINE_MAX);
            t->failed++;
            continue;
        }
        ProtobufCMessage *message = NULL;
        dossier_error_t err = {0};
        if (json_to_message(&dossier__v1__report__descriptor, text, (size_t)len,
                            &message, &err) != DOSSIER_OK) {
            s_clear_progress(t);
            s_print_line_error(path, *lineno, err.message);
            t->failed++;
            continue;
        }
        Dossier__V1__Report *report = (Dossier__V1__Report *)message;
        /* The server assigns versions and timestamps; the dump's are
           history, not a condition on the write. */
        report->version = 0;
        if (s_batch_add(b, report, *lineno) != 0) {
            dossier_message_free(message);
            return -1;
        }
        t->records++;
    }
    b->done_bytes = t->done_bytes;
    return 0;
}

/*  Stores every line of in (named path in messages). */
static int
s_import_lines(dossier_client_t *client, FILE *in, const char *path,
               s_tally_t *t) {
    struct stat st;
    t->total_bytes =
        fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
    t->done_bytes = 0;
    t->progress = isatty(STDERR_FILENO) && t->total_bytes > 0;
    char *line = NULL;
    size_t cap = 0;
    unsigned long long lineno = 0;
    s_batch_t flight[S_IN_FLIGHT];
    memset(flight, 0, sizeof flight);
    size_t n_flight = 0; /* flight[0] is the older */
    int rc = 0;
    bool eof = false;
    while (rc == 0 && (!eof || n_flight > 0)) {
        if (!eof && n_flight < S_IN_FLIGHT) {
            s_batch_t *b = &flight[n_flight];
            if (s_batch_read(in, path, &line, &cap, &lineno, b, t) != 0) {
                fprintf(stderr, "dossier: out of memory\n");
                rc = CLI_EXIT_REFUSED;
                break;
            }
            eof = b->n < S_BATCH_RECORDS && b->bytes < t->max_bytes;
            if (b->n > 0) {
                s_batch_start(client, b, t);
                n_flight++;
            }
            if (!eof && n_flight < S_IN_FLIGHT) {
                continue;
            }
            if (n_flight == 0) {
                break;
            }
        }
        rc = s_batch_finish(client, path, &flight[0], t);
        off_t done = flight[0].done_bytes;
        s_batch_free(&flight[0]);
        memmove(&flight[0], &flight[1], (S_IN_FLIGHT - 1) * sizeof flight[0]);
        memset(&flight[S_IN_FLIGHT - 1], 0, sizeof flight[0]);
        n_flight--;
        off_t read_bytes = t->done_bytes;
        t->done_bytes = done;
        s_draw_progress(t);
        t->done_bytes = read_bytes;
    }
    /* After a failure that ends the import: the replies still owed. */
    for (size_t k = 0; k < n_flight; k++) {
        if (flight[k].pending) {
            dossier_call_finish(client, &flight[k].pending,
                                &dossier__v1__put_batch_response__descriptor,
                                NULL, NULL);
        }
        s_batch_free(&flight[k]);
    }
    free(line);
    s_clear_progress(t);
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "dossier: cannot read %s: %s\n", path, strerror(errno));
        t->failed++;
    }
    return rc;
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
    rc = cli_connect(g, S_TIMEOUT_MS, &client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    s_tally_t t = {0};
    uint64_t limit = 0;
    t.max_bytes = cli_batch_bytes(client, S_BATCH_BYTES, false, &limit);
    for (int i = 0; i < args.argc && rc != CLI_EXIT_UNREACHABLE; i++) {
        const char *path = args.argv[i];
        FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
        if (!in) {
            fprintf(stderr, "dossier: cannot read %s: %s\n", path,
                    strerror(errno));
            t.failed++;
            continue;
        }
        int file_rc = s_import_lines(client, in, path, &t);
        if (in != stdin) {
            fclose(in);
        }
        if (file_rc != 0) {
            rc = file_rc;
        }
    }
    dossier_client_destroy(&client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    printf("imported %llu (created %llu, updated %llu, unchanged %llu), "
           "failed %llu\n",
           t.created + t.updated + t.unchanged, t.created, t.updated,
           t.unchanged, t.failed);
    return t.failed ? CLI_EXIT_REFUSED : CLI_EXIT_OK;
}
