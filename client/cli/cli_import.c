/*  cli_import.c: `dossier import`, bulk import of Refworld text files.

    Files (and *.txt found under directories) are read and sent in
    ImportBatch calls, so that a thousand documents cost a few dozen round
    trips and the server can commit each batch in one transaction. Each
    document succeeds or fails on its own; a failed one is named on stderr
    and the import goes on. With --dry-run nothing is sent: each file is
    parsed here with the same parser the server uses. `import --json` of
    a file of JSON objects is a dump, stored by cli_import_json.c. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "refworld.h"

/* Larger batches are cheaper for the server: each is one durable commit
   and one full-text index flush, whose segment later merges cost less
   the larger it is (20,000 reports: 3,000/s at 64, 4,700/s at 256,
   6,200/s at 1000; 100,000 reports of 4.5 KB: 14,500-15,400/s at 1000,
   16,300 at 2000, 17,000 at 2500; docs/PERFORMANCE.md). */
#define S_DEFAULT_BATCH 2500
#define S_MAX_BATCH 5000
/* A batch also stops growing at this many bytes of text, to keep each
   request under the server's default message limit (16 MiB); less when
   the server says its limit is lower (cli_batch_bytes). */
#define S_BATCH_BYTES (12u * 1024 * 1024)
/* ImportBatch calls in flight at once (see s_import): 2 keeps the server
   parsing one while it writes the other; 3 measured no faster (100,000
   files: 14,000-14,100/s against 14,600/s). */
#define S_IN_FLIGHT 2
/* What a request holds besides a document's text, at most: its file
   name, the request's envelope and framing. */
#define S_DOC_ENVELOPE 1024
#define S_MAX_DEPTH 32
#define S_IMPORT_TIMEOUT_MS 30000
#define S_STRING_(x) #x
#define S_STRING(x) S_STRING_(x)

typedef struct {
    char **paths;
    size_t n;
    size_t cap;
} s_files_t;

typedef struct {
    size_t created, updated, unchanged, other, failed;
    bool progress;
    size_t done, total;
} s_tally_t;

static int
s_files_add(s_files_t *f, const char *path) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        char **paths = realloc(f->paths, cap * sizeof *paths);
        if (paths == NULL) {
            return -1;
        }
        f->paths = paths;
        f->cap = cap;
    }
    f->paths[f->n] = strdup(path);
    if (f->paths[f->n] == NULL) {
        return -1;
    }
    f->n++;
    return 0;
}

static void
s_files_free(s_files_t *f) {
    for (size_t i = 0; i < f->n; i++) {
        free(f->paths[i]);
    }
    free(f->paths);
}

static int
s_compare_paths(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
s_is_txt(const char *name) {
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".txt") == 0;
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
    size_t filled = t->total ? t->done * BAR / t->total : BAR;
    char bar[BAR + 1];
    for (size_t i = 0; i < BAR; i++) {
        bar[i] = i < filled ? '#' : '.';
    }
    bar[BAR] = '\0';
    fprintf(stderr, "\rimporting [%s] %zu/%zu", bar, t->done, t->total);
    fflush(stderr);
}

static void
s_failed(s_tally_t *t, const char *path, const char *msg) {
    s_clear_progress(t);
    fprintf(stderr, "%s: %s\n", path, msg);
    t->failed++;
}

/* Like s_failed (t may be NULL) for the parser's message, which usually
   names the file already. */
static void
s_parse_failed(s_tally_t *t, const char *path, const char *msg) {
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':') {
        msg += n + 1;
        msg += *msg == ' ';
    }
    if (t != NULL) {
        s_failed(t, path, msg);
    } else {
        fprintf(stderr, "%s: %s\n", path, msg);
    }
}

/* Collects *.txt under dir, depth-first; symbolic links to directories
   are not followed, so a loop cannot trap the walk. */
static int
s_walk(s_files_t *files, const char *dir, int depth, s_tally_t *t) {
    if (depth > S_MAX_DEPTH) {
        s_failed(t, dir, "directories nested too deep; skipped");
        return 0;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        s_failed(t, dir, strerror(errno));
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue; /* ".", "..", and hidden files */
        }
        /* The directory says what each entry is, which saves an lstat per
           file; only a file system that does not (DT_UNKNOWN) costs one.
           A symbolic link named *.txt is taken, its target read later, as
           lstat's S_ISLNK said before: so DT_LNK needs no lstat either. */
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                continue;
            }
            type = S_ISDIR(st.st_mode)   ? DT_DIR
                   : S_ISREG(st.st_mode) ? DT_REG
                   : S_ISLNK(st.st_mode) ? DT_LNK
                                         : DT_UNKNOWN;
        }
        bool is_dir = type == DT_DIR;
        if (!is_dir &&
            !((type == DT_REG || type == DT_LNK) && s_is_txt(e->d_name))) {
            continue;
        }
        size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
        char *path = malloc(len);
        if (path == NULL) {
            closedir(d);
            return -1;
        }
        snprintf(path, len, "%s/%s", dir, e->d_name);
        int rc = is_dir ? s_walk(files, path, depth + 1, t)
                        : s_files_add(files, path);
        free(path);
        if (rc != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

static const char *
s_basename(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int
s_dry_run(const cli_global_t *g, const s_files_t *files, bool verbose,
          const Dossier__V1__ImportFields *given) {
    size_t failed = 0;
    for (size_t i = 0; i < files->n; i++) {
        const char *path = files->paths[i];
        char *data = NULL;
        size_t size = 0;
        const char *why = NULL;
        if (cli_read_file(path, &data, &size, &why) != 0) {
            fprintf(stderr, "%s: %s\n", path, why);
            failed++;
            continue;
        }
        refworld_result_t result = {0};
        dossier_error_t err = {0};
        refworld_options_t options = {
            .title = given->title,
            .country = given->country,
            .year = given->year,
            .doc_type = given->doc_type,
            .publisher = given->publisher,
            .source_url = given->source_url,
            .file_name = path,
        };
        if (refworld_parse_with(data, size, path, &options, &result, &err) !=
            DOSSIER_OK) {
            s_parse_failed(NULL, path, err.message);
            failed++;
            free(data);
            continue;
        }
        free(data);
        if (verbose || !g->json) {
            for (size_t w = 0; w < result.n_warnings; w++) {
                fprintf(stderr, "%s: warning: %s\n", path, result.warnings[w]);
            }
        }
        if (g->json) {
            cli_print_json(&result.report->base);
        } else {
            if (i > 0) {
                fputs("\n", stdout);
            }
            printf("== %s\n", path);
            cli_print_record(stdout, result.report);
        }
        refworld_result_free(&result);
    }
    return failed ? CLI_EXIT_REFUSED : CLI_EXIT_OK;
}

/* Prints which key fields the text of path did not give and the flags
   that give them: "a.txt: warning: no country, year in the text (give
   --country, --year)". */
static void
s_warn_missing(const char *path, const Dossier__V1__ImportTextResponse *r) {
    static const struct {
        const char *field, *flag;
    } flags[] = {{"title", "--title"},         {"country", "--country"},
                 {"year", "--year"},           {"doc_type", "--doc-type"},
                 {"publisher", "--publisher"}, {"publication_date", NULL}};
    char names[160] = "", give[160] = "";
    for (size_t i = 0; i < r->n_missing_fields; i++) {
        const char *field = r->missing_fields[i];
        size_t n = strlen(names);
        snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "", field);
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
            if (flags[f].flag && strcmp(flags[f].field, field) == 0) {
                size_t g = strlen(give);
                snprintf(give + g, sizeof give - g, "%s%s", g ? ", " : "",
                         flags[f].flag);
            }
        }
    }
    if (give[0]) {
        fprintf(stderr, "%s: warning: no %s in the text (give %s)\n", path,
                names, give);
    } else {
        fprintf(stderr, "%s: warning: no %s in the text\n", path, names);
    }
}

static int s_send_docs(dossier_client_t *client, const cli_global_t *g,
                       const s_files_t *files,
                       Dossier__V1__ImportTextRequest **docs,
                       const size_t *index, size_t lo, size_t hi, bool verbose,
                       s_tally_t *t);

/* Tallies the outcome (st, err, resp) of documents [lo, hi) of docs sent
   as one ImportBatch; index maps a document to its file. When the server
   dropped the connection after the request went out, the batch was most
   likely larger than the server's --max-message-bytes (ZeroMQ disconnects
   such a peer before the server sees a byte): the halves are sent again,
   which is safe for imports, since text imported twice is "unchanged". A
   single document that still loses the connection fails on its own.
   Frees resp. Returns 0, or the exit code that ends the import (no
   server). */
static int
s_tally_batch(dossier_client_t *client, const cli_global_t *g,
              const s_files_t *files, Dossier__V1__ImportTextRequest **docs,
              const size_t *index, size_t lo, size_t hi, bool verbose,
              dossier_status_t st, const dossier_error_t *err,
              Dossier__V1__ImportBatchResponse *resp, s_tally_t *t) {
    size_t m = hi - lo;
    if (st == DOSSIER_UNAVAILABLE && dossier_client_request_sent(client)) {
        if (m > 1) {
            int rc = s_send_docs(client, g, files, docs, index, lo, lo + m / 2,
                                 verbose, t);
            if (rc == 0) {
                rc = s_send_docs(client, g, files, docs, index, lo + m / 2, hi,
                                 verbose, t);
            }
            return rc;
        }
        s_failed(t, files->paths[index[lo]],
                 "the server dropped the connection on this document "
                 "(larger than its --max-message-bytes?)");
        return 0;
    }
    /* No server, or a refusal of who we are: every batch would meet the
       same, so say it once and end the import. */
    if (st != DOSSIER_OK &&
        (cli_exit_code(st) == CLI_EXIT_UNREACHABLE ||
         st == DOSSIER_PERMISSION_DENIED || st == DOSSIER_UNAUTHENTICATED)) {
        s_clear_progress(t);
        return cli_fail(err);
    }
    if (st != DOSSIER_OK) {
        for (size_t k = lo; k < hi; k++) {
            s_clear_progress(t);
            fprintf(stderr, "%s: %s: %s\n", files->paths[index[k]],
                    dossier_strerror(st), err->message);
            t->failed++;
        }
        return 0;
    }
    if (resp->n_results != m) {
        for (size_t k = lo; k < hi; k++) {
            s_failed(t, files->paths[index[k]],
                     "the server's reply does not match the batch");
        }
        dossier_message_free(resp);
        return 0;
    }
    for (size_t k = 0; k < m; k++) {
        const Dossier__V1__ImportResult *res = resp->results[k];
        const char *path = files->paths[index[lo + k]];
        if (g->json) {
            cli_print_json(&res->base);
        }
        if (res->code != DOSSIER_OK) {
            /* The parser's message names the file already. */
            const char *msg = res->message ? res->message : "";
            const char *base = s_basename(path);
            size_t n = strlen(base);
            if (strncmp(msg, base, n) == 0 && msg[n] == ':') {
                msg += n + 1 + (msg[n + 1] == ' ');
            }
            s_clear_progress(t);
            fprintf(stderr, "%s: %s: %s\n", path, dossier_strerror(res->code),
                    msg);
            t->failed++;
            continue;
        }
        const Dossier__V1__ImportTextResponse *r = res->response;
        switch (r ? r->outcome : 0) {
        case DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED:
            t->created++;
            break;
        case DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UPDATED:
            t->updated++;
            break;
        case DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UNCHANGED:
            t->unchanged++;
            break;
        default:
            t->other++;
            break;
        }
        if (r && r->n_missing_fields > 0 &&
            r->outcome !=
                DOSSIER__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UNCHANGED) {
            s_clear_progress(t);
            s_warn_missing(path, r);
        }
        for (size_t w = 0; verbose && r && w < r->n_warnings; w++) {
            s_clear_progress(t);
            fprintf(stderr, "%s: warning: %s\n", path, r->warnings[w]);
        }
    }
    dossier_message_free(resp);
    return 0;
}

/* Sends documents [lo, hi) of docs as one ImportBatch, waits for the
   reply and tallies it (s_tally_batch). */
static int
s_send_docs(dossier_client_t *client, const cli_global_t *g,
            const s_files_t *files, Dossier__V1__ImportTextRequest **docs,
            const size_t *index, size_t lo, size_t hi, bool verbose,
            s_tally_t *t) {
    Dossier__V1__ImportBatchRequest req =
        DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
    req.documents = docs + lo;
    req.n_documents = hi - lo;
    Dossier__V1__ImportBatchResponse *resp = NULL;
    dossier_error_t err = {0};
    dossier_status_t st = dossier_import_batch(client, &req, &resp, &err);
    return s_tally_batch(client, g, files, docs, index, lo, hi, verbose, st,
                         &err, resp, t);
}

/* Files [from, to) read into one ImportBatch, and the call carrying it
   while it is in flight. */
typedef struct {
    size_t from, to;
    Dossier__V1__ImportTextRequest *docs;
    Dossier__V1__ImportTextRequest **doc_ptrs;
    size_t *index; /* doc -> file */
    size_t m;      /* documents read */
    dossier_pending_t *pending;
    dossier_status_t start_rc; /* when it could not be started */
    dossier_error_t start_err;
} s_batch_t;

static void
s_batch_free(s_batch_t *b) {
    for (size_t k = 0; k < b->m; k++) {
        free(b->docs[k].content.data);
    }
    free(b->index);
    free(b->doc_ptrs);
    free(b->docs);
    memset(b, 0, sizeof *b);
}

/* A file read ahead of its batch: the first one that did not fit in the
   bytes of the batch before, held for the next batch (which starts with
   it) so that no file is read twice. */
typedef struct {
    bool held;
    char *data; /* NULL when the read failed, why says why */
    size_t size;
    const char *why;
} s_carry_t;

/* Reads the batch starting at file from into b: up to batch files and
   max_bytes bytes, at least one file; a file too large for the server
   (limit, its largest request; 0: unknown) fails here, unsent, rather
   than have the server drop the connection. The sizes are those read, so a
   file is read once: the one that would push the batch past the bytes
   is left in carry for the next batch. A file that cannot be read is
   named as failed and counts as a file of 0 bytes. Sets b->to. Returns
   0, or CLI_EXIT_REFUSED when out of memory. */
static int
s_batch_read(s_batch_t *b, const s_files_t *files, size_t from, size_t batch,
             size_t max_bytes, uint64_t limit, Dossier__V1__ImportFields *given,
             s_carry_t *carry, s_tally_t *t) {
    size_t n = files->n - from < batch ? files->n - from : batch;
    memset(b, 0, sizeof *b);
    b->from = from;
    b->to = from;
    b->docs = calloc(n, sizeof *b->docs);
    b->doc_ptrs = calloc(n, sizeof *b->doc_ptrs);
    b->index = calloc(n, sizeof *b->index);
    if (b->docs == NULL || b->doc_ptrs == NULL || b->index == NULL) {
        fprintf(stderr, "dossier: out of memory\n");
        s_batch_free(b);
        return CLI_EXIT_REFUSED;
    }
    size_t bytes = 0;
    for (size_t i = from; i < from + n; i++) {
        char *data = NULL;
        size_t size = 0;
        const char *why = NULL;
        if (carry->held) {
            data = carry->data;
            size = carry->size;
            why = carry->why;
            *carry = (s_carry_t){0};
        } else if (cli_read_file(files->paths[i], &data, &size, &why) != 0) {
            data = NULL;
        } else if (limit && size + S_DOC_ENVELOPE > limit) {
            free(data);
            data = NULL;
            why = "larger than the server accepts in one request (its "
                  "--max-message-bytes)";
        }
        /* A document's request bytes: its text, name and field tags. */
        size_t counted =
            data != NULL ? size + strlen(s_basename(files->paths[i])) + 16 : 0;
        if (i > from && bytes + counted > max_bytes) {
            *carry = (s_carry_t){true, data, size, why};
            break;
        }
        bytes += counted;
        b->to = i + 1;
        if (data == NULL) {
            s_failed(t, files->paths[i], why);
            continue;
        }
        /* The file's bytes as they are, so the server's parser reads
           exactly what a dry run reads here, whatever the encoding. */
        Dossier__V1__ImportTextRequest init =
            DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
        size_t m = b->m++;
        b->docs[m] = init;
        b->docs[m].content.data = (uint8_t *)data;
        b->docs[m].content.len = size;
        b->docs[m].filename = (char *)s_basename(files->paths[i]);
        b->docs[m].fields = given;
        b->doc_ptrs[m] = &b->docs[m];
        b->index[m] = i;
    }
    return 0;
}

/* Starts b's ImportBatch without waiting for the reply. */
static void
s_batch_start(dossier_client_t *client, s_batch_t *b) {
    if (b->m == 0) {
        return;
    }
    Dossier__V1__ImportBatchRequest req =
        DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
    req.documents = b->doc_ptrs;
    req.n_documents = b->m;
    b->start_rc = dossier_call_start(client, "ImportBatch", &req.base,
                                     &b->pending, &b->start_err);
}

/* Waits for b's reply and tallies it. A batch whose call could not be
   started, or whose connection was lost or whose reply was late, is sent
   again the waiting way (dossier_call retries and fails over; imports
   are safe to repeat), in turn, so the batches still apply in order.
   Returns as s_send_docs. */
static int
s_batch_finish(dossier_client_t *client, const cli_global_t *g,
               const s_files_t *files, s_batch_t *b, bool verbose,
               s_tally_t *t) {
    if (b->m == 0) {
        return 0;
    }
    dossier_status_t st = b->start_rc;
    dossier_error_t err = b->start_err;
    Dossier__V1__ImportBatchResponse *resp = NULL;
    if (b->pending) {
        st =
            dossier_call_finish(client, &b->pending,
                                &dossier__v1__import_batch_response__descriptor,
                                (ProtobufCMessage **)&resp, &err);
    }
    if (st == DOSSIER_UNAVAILABLE || st == DOSSIER_DEADLINE_EXCEEDED) {
        return s_send_docs(client, g, files, b->doc_ptrs, b->index, 0, b->m,
                           verbose, t);
    }
    return s_tally_batch(client, g, files, b->doc_ptrs, b->index, 0, b->m,
                         verbose, st, &err, resp, t);
}

/* An older server, or one that does not answer Health, gets the default
   (S_BATCH_BYTES here): a batch it drops is sent again in halves
   (s_tally_batch). */
size_t
cli_batch_bytes(dossier_client_t *client, size_t bytes, bool verbose,
                uint64_t *limit_p) {
    Dossier__V1__HealthResponse *h = NULL;
    dossier_error_t err = {0};
    *limit_p = 0;
    if (dossier_health(client, NULL, &h, &err) == DOSSIER_OK &&
        h->max_message_bytes > 0) {
        uint64_t limit = h->max_message_bytes;
        *limit_p = limit;
        uint64_t room =
            limit - limit / 8 - (limit > 128 * 1024 ? 64 * 1024 : 0);
        if (room < bytes) {
            bytes = room > 0 ? (size_t)room : 1;
        }
        if (verbose) {
            char limit_text[32], bytes_text[32];
            fprintf(stderr,
                    "dossier: the server accepts requests of up to %s: "
                    "batches of at most %s\n",
                    cli_format_bytes(limit, limit_text),
                    cli_format_bytes(bytes, bytes_text));
        }
    }
    dossier_message_free(h);
    return bytes;
}

/* Two batches in flight: the server parses one while it writes the
   other, and this process reads the next files meanwhile. The server
   applies a connection's writes in the order sent, so a file later in
   the order still wins over an earlier one with the same id. */
static int
s_import(const cli_global_t *g, const s_files_t *files, size_t batch,
         bool verbose, Dossier__V1__ImportFields *given, s_tally_t *t) {
    dossier_client_t *client = NULL;
    int rc = cli_connect(g, S_IMPORT_TIMEOUT_MS, &client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    uint64_t limit = 0;
    size_t max_bytes = cli_batch_bytes(client, S_BATCH_BYTES, verbose, &limit);
    t->total = files->n;
    t->progress = isatty(STDERR_FILENO) && files->n > 20;
    s_batch_t flight[S_IN_FLIGHT] = {{0}};
    size_t n_flight = 0; /* flight[0] is the older */
    s_carry_t carry = {0};
    size_t i = 0;
    while ((i < files->n || n_flight > 0) && rc == 0) {
        if (i < files->n && n_flight < S_IN_FLIGHT) {
            rc = s_batch_read(&flight[n_flight], files, i, batch, max_bytes,
                              limit, given, &carry, t);
            if (rc != 0) {
                break;
            }
            s_batch_start(client, &flight[n_flight]);
            i = flight[n_flight].to;
            n_flight++;
            if (n_flight < S_IN_FLIGHT && i < files->n) {
                continue;
            }
        }
        rc = s_batch_finish(client, g, files, &flight[0], verbose, t);
        t->done = flight[0].to;
        s_draw_progress(t);
        s_batch_free(&flight[0]);
        memmove(&flight[0], &flight[1], (S_IN_FLIGHT - 1) * sizeof flight[0]);
        memset(&flight[S_IN_FLIGHT - 1], 0, sizeof flight[0]);
        n_flight--;
    }
    /* After a failure that ends the import: the replies still owed. */
    for (size_t k = 0; k < n_flight; k++) {
        if (flight[k].pending) {
            dossier_call_finish(client, &flight[k].pending,
                                &dossier__v1__import_batch_response__descriptor,
                                NULL, NULL);
        }
        s_batch_free(&flight[k]);
    }
    free(carry.data);
    s_clear_progress(t);
    dossier_client_destroy(&client);
    return rc;
}

/*  True when path (or stdin, "-") starts, after blanks, with '{': a dump,
    not Refworld text. Peeks at stdin without consuming it. */
static bool
s_looks_like_json(const char *path) {
    if (strcmp(path, "-") == 0) {
        int c;
        while ((c = getchar()) == ' ' || c == '\t' || c == '\n' || c == '\r') {
        }
        if (c != EOF) {
            ungetc(c, stdin);
        }
        return c == '{';
    }
    FILE *in = fopen(path, "rb");
    if (!in) {
        return false;
    }
    int c;
    int n = 0;
    while ((c = fgetc(in)) == ' ' || c == '\t' || c == '\n' || c == '\r') {
        if (++n > 4096) {
            break;
        }
    }
    fclose(in);
    return c == '{';
}

enum {
    S_IMPORT_DRY_RUN = 1,
    S_IMPORT_BATCH,
    S_IMPORT_VERBOSE,
    S_IMPORT_TITLE,
    S_IMPORT_COUNTRY,
    S_IMPORT_YEAR,
    S_IMPORT_DOC_TYPE,
    S_IMPORT_PUBLISHER,
    S_IMPORT_SOURCE_URL,
};

static const cli_option_t s_import_options[] = {
    {.name = "dry-run",
     .key = S_IMPORT_DRY_RUN,
     .kind = CLI_FLAG,
     .help = "  --dry-run     parse locally, without a server, and print each "
             "record\n"
             "                (--json: one JSON object per document)\n"},
    {.name = "batch",
     .key = S_IMPORT_BATCH,
     .kind = CLI_COUNT,
     .min = 1,
     .max = S_MAX_BATCH,
     .wants = "1 to " S_STRING(S_MAX_BATCH),
     .help = "  --batch N     documents per call (1..5000, default 2500; at "
             "most\n"
             "                12 MiB of text a call)\n"},
    {.name = "verbose",
     .letter = 'v',
     .key = S_IMPORT_VERBOSE,
     .kind = CLI_FLAG,
     .help = "  -v, --verbose also print the parser's warnings\n"},
    {.name = "json",
     .key = CLI_OPT_JSON,
     .kind = CLI_FLAG,
     .help = "  --json        one JSON ImportResult per document on stdout\n"},
    {.name = "title",
     .key = S_IMPORT_TITLE,
     .kind = CLI_TEXT,
     .help = "  --title T, --source-url U\n"
             "                the document's title, its address (one file "
             "only)\n"},
    {.name = "source-url", .key = S_IMPORT_SOURCE_URL, .kind = CLI_TEXT},
    {.name = "country",
     .key = S_IMPORT_COUNTRY,
     .kind = CLI_TEXT,
     .help = "  --country C, --year Y, --doc-type D, --publisher P\n"
             "                fields over what the text says (every file "
             "given)\n"},
    {.name = "year",
     .key = S_IMPORT_YEAR,
     .kind = CLI_COUNT,
     .min = 1900,
     .max = 2200,
     .wants = "a year, 1900 to 2200"},
    {.name = "doc-type", .key = S_IMPORT_DOC_TYPE, .kind = CLI_TEXT},
    {.name = "publisher", .key = S_IMPORT_PUBLISHER, .kind = CLI_TEXT},
    {.name = NULL},
};

typedef struct {
    bool dry_run;
    bool verbose;
    size_t batch;
    /* --title ... --source-url: borrowed from argv */
    Dossier__V1__ImportFields fields;
} s_import_options_t;

static bool
s_fields_given(const Dossier__V1__ImportFields *f) {
    return f->title[0] || f->country[0] || f->year || f->doc_type[0] ||
           f->publisher[0] || f->source_url[0];
}

static int
s_import_take(const cli_verb_t *verb, void *state, int key,
              const cli_value_t *value) {
    (void)verb;
    s_import_options_t *s = state;
    switch (key) {
    case S_IMPORT_DRY_RUN:
        s->dry_run = true;
        break;
    case S_IMPORT_VERBOSE:
        s->verbose = true;
        break;
    case S_IMPORT_TITLE:
        s->fields.title = (char *)value->text;
        break;
    case S_IMPORT_COUNTRY:
        s->fields.country = (char *)value->text;
        break;
    case S_IMPORT_YEAR:
        s->fields.year = (uint32_t)value->count;
        break;
    case S_IMPORT_DOC_TYPE:
        s->fields.doc_type = (char *)value->text;
        break;
    case S_IMPORT_PUBLISHER:
        s->fields.publisher = (char *)value->text;
        break;
    case S_IMPORT_SOURCE_URL:
        s->fields.source_url = (char *)value->text;
        break;
    default:
        s->batch = (size_t)value->count;
        break;
    }
    return CLI_GO_ON;
}

/* Refworld text files, and directories of them. */
static int
s_import_text(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_import_options_t s = {.batch = S_DEFAULT_BATCH,
                            .fields = DOSSIER__V1__IMPORT_FIELDS__INIT};
    int rc = cli_parse(verb, verb->options, s_import_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    bool dry_run = s.dry_run, verbose = s.verbose;
    size_t batch = s.batch;
    if (args.argc == 0) {
        return cli_usage_error(verb, "no file or directory given");
    }

    s_files_t files = {0};
    s_tally_t tally = {0};
    for (int i = 0; i < args.argc; i++) {
        struct stat st;
        int added = 0;
        if (stat(args.argv[i], &st) != 0) {
            s_failed(&tally, args.argv[i], strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            size_t first = files.n;
            added = s_walk(&files, args.argv[i], 0, &tally);
            /* Sorted, so an import is repeatable and its order readable. */
            qsort(files.paths + first, files.n - first, sizeof *files.paths,
                  s_compare_paths);
        } else {
            added = s_files_add(&files, args.argv[i]);
        }
        if (added != 0) {
            fprintf(stderr, "dossier: out of memory\n");
            s_files_free(&files);
            return CLI_EXIT_REFUSED;
        }
    }

    if ((s.fields.title[0] || s.fields.source_url[0]) && files.n > 1) {
        s_files_free(&files);
        return cli_usage_error(verb,
                               "--title and --source-url name one document; "
                               "give one file (%zu were found)",
                               files.n);
    }
    if (files.n == 0 && tally.failed == 0) {
        fprintf(stderr, "dossier: no *.txt file found in what was given\n");
    }
    if (dry_run) {
        rc = s_dry_run(g, &files, verbose, &s.fields);
        if (tally.failed > 0) {
            rc = CLI_EXIT_REFUSED;
        }
        s_files_free(&files);
        return rc;
    }
    rc = s_import(g, &files, batch, verbose,
                  s_fields_given(&s.fields) ? &s.fields : NULL, &tally);
    s_files_free(&files);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    size_t imported =
        tally.created + tally.updated + tally.unchanged + tally.other;
    fprintf(g->json ? stderr : stdout,
            "imported %zu (created %zu, updated %zu, unchanged %zu), failed "
            "%zu\n",
            imported, tally.created, tally.updated, tally.unchanged,
            tally.failed);
    return tally.failed > 0 ? CLI_EXIT_REFUSED : CLI_EXIT_OK;
}

/* `import --json FILE` with a FILE of JSON objects is a dump; any other
   import is Refworld text (where --json shapes the output). */
static int
s_import_run(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    bool json = false;
    const char *first = cli_peek(verb->options, &args, &json);
    if (json && first && s_looks_like_json(first)) {
        return cli_import_json(verb, g, args);
    }
    return s_import_text(verb, g, args);
}

const cli_verb_t cli_verb_import = {
    .name = "import",
    .summary = "import Refworld text files or directories",
    .usage = "usage: dossier import [--batch N] [--verbose] [--country C] "
             "[--year Y]\n"
             "                      [--doc-type D] [--publisher P] "
             "FILE|DIR...\n"
             "       dossier import [--title T] [--source-url U] [...] FILE\n"
             "       dossier import --dry-run [--json] FILE...\n"
             "       dossier import --json DUMP.jsonl\n"
             "\n"
             "Imports Refworld text documents. A directory is searched, "
             "recursively,\n"
             "for *.txt files. Documents are sent in ImportBatch calls of N "
             "(default\n"
             "2500). Prints \"imported N (created A, updated B, unchanged C), "
             "failed "
             "F\"\n"
             "and names each failed file on stderr; exits 1 if any failed.\n"
             "Any text imports: a field the text does not give is left empty "
             "(the\n"
             "title: the first line, or the file name) with a warning naming "
             "it;\n"
             "only empty, binary or oversized files are refused.\n",
    .options = s_import_options,
    .usage_end =
        "With --json and a file of JSON objects (as `dossier export` "
        "writes;\n"
        "\"-\" reads stdin), each line is a Report stored as create-or-"
        "replace,\n"
        "in PutBatch calls; the server assigns versions and timestamps, "
        "and\n"
        "leaves a record equal to the stored one as it is (unchanged).\n"
        "Prints \"imported N (created A, updated B, unchanged C), failed "
        "F\";\n"
        "exits 1 if any failed.\n",
    .run = s_import_run,
};
