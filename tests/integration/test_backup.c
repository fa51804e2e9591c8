/*  test_backup.c: Backup, BackupRead, dossierd --restore, export/import
    of JSON lines, and a full store (map or disk) at the server level.

    - A backup taken while 4 threads write holds between the writes
      acknowledged before it started and the writes sent before it ended;
      fetched in small BackupRead chunks it equals the server's file; it
      restores with dossierd --restore into a new directory, a dossierd
      serves it with the same count, and store_check finds it clean.
    - Backup and BackupRead refuse names with a path ("../x",
      "/etc/passwd", "a/b", ".hidden") with INVALID_ARGUMENT, a second
      backup under a taken name with ALREADY_EXISTS, a read past the end
      with OUT_OF_RANGE, a chunk above the maximum with INVALID_ARGUMENT.
    - dossierd --restore refuses a directory holding a store without
      --force, and files that are not stores, with a clear message.
    - `dossier export` of the fixtures imported into one server, then
      `dossier import --json` into another, gives the same records
      (versions, timestamps and users aside: the server assigns them).
    - With a small max_map_size, writes fail with RESOURCE_EXHAUSTED,
      reads go on, and after deletes writes work again; the same on a
      full 8 MiB tmpfs (skipped, saying why, where mount is not allowed).

    Bounded: writer threads stop after S_MAX_PER_THREAD puts or 20 s;
    filling loops stop after S_FILL_MAX puts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "dossier.h"
#include "dossier/v1/reports.pb-c.h"
#include "store/store.h"
#include "testassert.h"
#include "testserver.h"

#define S_WRITERS 4
#define S_MAX_PER_THREAD 3000
#define S_WRITE_SECONDS 20
#define S_FILL_MAX 20000
#define S_PATH 1024

/* ---- Helpers ---- */

static dossier_client_t *
s_client(const char *endpoint, int timeout_ms) {
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = timeout_ms;
    options.retries = 0;
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    if (dossier_client_new(endpoint, &options, &client, &err) != DOSSIER_OK) {
        fail_msg("dossier_client_new %s: %s", endpoint, err.message);
    }
    return client;
}

/*  Runs a shell command, its stdout and stderr into *output (malloc'd,
    the caller frees). Returns the exit status, or -1. */
static int
s_run(const char *command, char **output) {
    char full[S_PATH * 9];
    assert_format(full, sizeof full, "(%s) 2>&1", command);
    FILE *pipe = popen(full, "r");
    assert_non_null(pipe);
    size_t cap = 4096, size = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n;
    while ((n = fread(buf + size, 1, cap - size - 1, pipe)) > 0) {
        size += n;
        if (cap - size < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[size] = '\0';
    int status = pclose(pipe);
    *output = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
s_make_report(Dossier__V1__Report *r, char *id, const char *prefix, int t,
              int i, char *body_text, char **body) {
    static char title[] = "Backup test report";
    static char country[] = "Nepal";
    assert_format(id, 64, "%s-t%d-%06d", prefix, t, i);
    r->id = id;
    r->title = title;
    r->country = country;
    r->year = 2001 + (uint32_t)(i % 20);
    r->tier = DOSSIER__V1__TIER__TIER_2;
    body[0] = body_text;
    r->n_body = 1;
    r->body = body;
}

static dossier_status_t
s_put(dossier_client_t *client, const char *prefix, int t, int i,
      char *body_text, dossier_error_t *err) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    char id[64];
    char *body[1];
    s_make_report(&r, id, prefix, t, i, body_text, body);
    Dossier__V1__PutResponse *resp = NULL;
    dossier_status_t rc = dossier_put(client, &r, 0, false, &resp, err);
    dossier_message_free(resp);
    return rc;
}

static uint64_t
s_stats_records(dossier_client_t *client) {
    Dossier__V1__StatsResponse *stats = NULL;
    dossier_error_t err = {0};
    if (dossier_stats(client, &stats, &err) != DOSSIER_OK) {
        fail_msg("Stats: %s", err.message);
    }
    uint64_t n = stats->records;
    dossier_message_free(stats);
    return n;
}

static Dossier__V1__BackupResponse *
s_backup(dossier_client_t *client, const char *name, dossier_status_t expect) {
    Dossier__V1__BackupRequest request = DOSSIER__V1__BACKUP_REQUEST__INIT;
    request.name = (char *)(name ? name : "");
    Dossier__V1__BackupResponse *resp = NULL;
    dossier_error_t err = {0};
    dossier_status_t rc =
        dossier_call(client, "Backup", &request.base,
                     &dossier__v1__backup_response__descriptor,
                     (ProtobufCMessage **)&resp, &err);
    if (rc != expect) {
        fail_msg("Backup '%s': got %s (%s), expected %s", name ? name : "",
                 dossier_strerror(rc), err.message, dossier_strerror(expect));
    }
    return resp;
}

static Dossier__V1__BackupReadResponse *
s_backup_read(dossier_client_t *client, const char *name, uint64_t offset,
              uint32_t length, dossier_status_t expect) {
    Dossier__V1__BackupReadRequest request =
        DOSSIER__V1__BACKUP_READ_REQUEST__INIT;
    request.name = (char *)name;
    request.offset = offset;
    request.length = length;
    Dossier__V1__BackupReadResponse *resp = NULL;
    dossier_error_t err = {0};
    dossier_status_t rc =
        dossier_call(client, "BackupRead", &request.base,
                     &dossier__v1__backup_read_response__descriptor,
                     (ProtobufCMessage **)&resp, &err);
    if (rc != expect) {
        fail_msg("BackupRead '%s' at %llu: got %s (%s), expected %s", name,
                 (unsigned long long)offset, dossier_strerror(rc), err.message,
                 dossier_strerror(expect));
    }
    return resp;
}

/*  Downloads backup name in chunks of chunk bytes into path; returns the
    bytes written. */
static uint64_t
s_fetch(dossier_client_t *client, const char *name, uint32_t chunk,
        const char *path) {
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    uint64_t offset = 0;
    bool eof = false;
    for (int calls = 0; !eof && calls < 100000; calls++) {
        Dossier__V1__BackupReadResponse *resp =
            s_backup_read(client, name, offset, chunk, DOSSIER_OK);
        assert_true(resp->data.len <= chunk);
        assert_int_equal(fwrite(resp->data.data, 1, resp->data.len, out),
                         resp->data.len);
        offset += resp->data.len;
        eof = resp->eof;
        if (!eof) {
            assert_int_equal(resp->data.len, chunk);
        } else {
            assert_int_equal(offset, resp->total_size);
        }
        dossier_message_free(resp);
    }
    assert_true(eof);
    assert_int_equal(fclose(out), 0);
    return offset;
}

static bool
s_files_equal(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF) {
            break;
        }
    }
    if (fa) {
        fclose(fa);
    }
    if (fb) {
        fclose(fb);
    }
    return same;
}

static void
s_rm_rf(const char *path) {
    char command[S_PATH];
    assert_format(command, sizeof command, "rm -rf '%s'", path);
    assert_int_equal(system(command), 0);
}

static void
s_check_store(const char *dir, uint64_t *records) {
    store_t *store = NULL;
    dossier_error_t err = {0};
    if (store_open(dir, NULL, &store, &err) != DOSSIER_OK) {
        fail_msg("store_open %s: %s", dir, err.message);
    }
    uint64_t problems = 0;
    if (store_check(store, &problems, &err) != DOSSIER_OK) {
        fail_msg("store_check %s: %llu problems: %s", dir,
                 (unsigned long long)problems, err.message);
    }
    Dossier__V1__StatsResponse *stats = NULL;
    assert_int_equal(store_stats(store, &stats, &err), DOSSIER_OK);
    *records = stats->records;
    dossier__v1__stats_response__free_unpacked(stats, NULL);
    store_destroy(&store);
}

/* ---- A dossierd on a directory of our choosing ---- */

/* testserver.h serves a directory of its own; a restored store or a
   tmpfs needs ours. Servers still running at exit are killed. */
static pid_t s_spawned[8];

static void
s_kill_spawned(void) {
    for (size_t i = 0; i < sizeof s_spawned / sizeof s_spawned[0]; i++) {
        if (s_spawned[i] > 0) {
            kill(s_spawned[i], SIGKILL);
            waitpid(s_spawned[i], NULL, 0);
            s_spawned[i] = 0;
        }
    }
}

/*  Starts dossierd --data dir (its log in log) on a free port, waits at
    most 10 s for its pid file and copies its endpoint into endpoint
    (size bytes). Returns its pid. */
static pid_t
s_spawn(const char *dir, const char *log, const char *extra, char *endpoint,
        size_t size) {
    static bool registered;
    if (!registered) {
        atexit(s_kill_spawned);
        registered = true;
    }
    char pidfile[S_PATH];
    assert_format(pidfile, sizeof pidfile, "%s/dossierd.pid", dir);
    unlink(pidfile);
    char program[S_PATH];
    assert_format(program, sizeof program, "%s/dossierd", testserver_bin_dir());
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
        }
        char extra_copy[S_PATH];
        snprintf(extra_copy, sizeof extra_copy, "%s", extra ? extra : "");
        char *argv[32] = {program, (char *)"--data", (char *)dir,
                          (char *)"--bind", (char *)"tcp://127.0.0.1:*"};
        int argc = 5;
        for (char *tok = strtok(extra_copy, " "); tok && argc < 31;
             tok = strtok(NULL, " ")) {
            argv[argc++] = tok;
        }
        argv[argc] = NULL;
        execv(program, argv);
        _exit(127);
    }
    for (size_t i = 0; i < sizeof s_spawned / sizeof s_spawned[0]; i++) {
        if (s_spawned[i] == 0) {
            s_spawned[i] = pid;
            break;
        }
    }
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(pidfile, "r");
        if (f) {
            long got = 0;
            char line[256] = "";
            int n = fscanf(f, "%ld\n%255s", &got, line);
            fclose(f);
            if (n == 2 && got == (long)pid) {
                assert_format(endpoint, size, "%s", line);
                return pid;
            }
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fail_msg("dossierd --data %s exited at start; see %s", dir, log);
        }
        usleep(10000);
    }
    fail_msg("dossierd --data %s wrote no pid file in 10 s; see %s", dir, log);
    return -1;
}

/*  SIGTERM, then waits at most 10 s; asserts a clean exit. */
static void
s_stop(pid_t pid) {
    kill(pid, SIGTERM);
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 1000 && !gone; i++) {
        gone = waitpid(pid, &status, WNOHANG) == pid;
        if (!gone) {
            usleep(10000);
        }
    }
    if (!gone) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    for (size_t i = 0; i < sizeof s_spawned / sizeof s_spawned[0]; i++) {
        if (s_spawned[i] == pid) {
            s_spawned[i] = 0;
        }
    }
    assert_true(gone);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- Backup while 4 threads write ---- */

typedef struct {
    int index;
    const char *endpoint;
    atomic_bool *stop;
    atomic_ulong *sent;
    atomic_ulong *acked;
    char failure[256];
} s_writer_t;

static void *
s_writer_main(void *arg) {
    s_writer_t *w = arg;
    dossier_client_t *client = s_client(w->endpoint, 10000);
    char body[] = "A paragraph of a report written while a backup runs.";
    time_t end = time(NULL) + S_WRITE_SECONDS;
    for (int i = 0;
         i < S_MAX_PER_THREAD && !atomic_load(w->stop) && time(NULL) < end;
         i++) {
        atomic_fetch_add(w->sent, 1);
        dossier_error_t err = {0};
        if (s_put(client, "bk", w->index, i, body, &err) != DOSSIER_OK) {
            assert_format(w->failure, sizeof w->failure, "put %d: %s", i,
                          err.message);
            break;
        }
        atomic_fetch_add(w->acked, 1);
    }
    dossier_client_destroy(&client);
    return NULL;
}

static void
test_backup_while_writing_then_restore(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    atomic_bool stop = false;
    atomic_ulong sent = 0, acked = 0;
    s_writer_t writers[S_WRITERS];
    pthread_t threads[S_WRITERS];
    for (int t = 0; t < S_WRITERS; t++) {
        writers[t] = (s_writer_t){t, endpoint, &stop, &sent, &acked, ""};
        assert_int_equal(
            pthread_create(&threads[t], NULL, s_writer_main, &writers[t]), 0);
    }
    /* Let the load build up: at least 400 acknowledged (at most 10 s). */
    for (int i = 0; i < 1000 && atomic_load(&acked) < 400; i++) {
        usleep(10000);
    }
    dossier_client_t *admin = s_client(endpoint, 60000);
    unsigned long acked_before = atomic_load(&acked);
    Dossier__V1__BackupRequest request = DOSSIER__V1__BACKUP_REQUEST__INIT;
    Dossier__V1__BackupResponse *backup = NULL;
    dossier_error_t backup_err = {0};
    dossier_status_t backup_rc =
        dossier_call(admin, "Backup", &request.base,
                     &dossier__v1__backup_response__descriptor,
                     (ProtobufCMessage **)&backup, &backup_err);
    unsigned long sent_after = atomic_load(&sent);
    unsigned long acked_after = atomic_load(&acked);
    /* The writers stop before anything is asserted: a failing Backup
       must fail the test, not leave them writing. */
    atomic_store(&stop, true);
    for (int t = 0; t < S_WRITERS; t++) {
        pthread_join(threads[t], NULL);
    }
    assert_ok(backup_rc, &backup_err);
    for (int t = 0; t < S_WRITERS; t++) {
        if (writers[t].failure[0]) {
            fail_msg("writer %d: %s", t, writers[t].failure);
        }
    }
    print_message("backup %s: %llu records (acked before %lu, after %lu, "
                  "sent by the end %lu), %llu bytes, %llu ms\n",
                  backup->name, (unsigned long long)backup->records,
                  acked_before, acked_after, sent_after,
                  (unsigned long long)backup->size_bytes,
                  (unsigned long long)backup->duration_ms);
    /* Every write acknowledged before the backup began is in it; nothing
       sent after it ended can be. */
    assert_true(backup->records >= acked_before);
    assert_true(backup->records <= sent_after);
    assert_true(strncmp(backup->name, "dossier-", 8) == 0);
    assert_non_null(strstr(backup->path, "/backups/"));
    struct stat st;
    assert_int_equal(stat(backup->path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, backup->size_bytes);

    /* Fetched in 64 KiB chunks, it is the server's file byte for byte. */
    char root[] = "/tmp/dossier-backup-XXXXXX";
    assert_non_null(mkdtemp(root));
    char fetched[S_PATH];
    assert_format(fetched, sizeof fetched, "%s/fetched.mdb", root);
    assert_int_equal(s_fetch(admin, backup->name, 65536, fetched),
                     backup->size_bytes);
    assert_true(s_files_equal(fetched, backup->path));

    /* The CLI does the same with --fetch, and checks the size. */
    char command[S_PATH * 8], *output = NULL;
    char cli_copy[S_PATH];
    assert_format(cli_copy, sizeof cli_copy, "%s/cli.mdb", root);
    assert_format(command, sizeof command,
                  "%s/dossier -s %s backup cli-copy.mdb --fetch %s",
                  testserver_bin_dir(), endpoint, cli_copy);
    int rc = s_run(command, &output);
    if (rc != 0) {
        fail_msg("%s: exit %d: %s", command, rc, output);
    }
    free(output);
    assert_int_equal(stat(cli_copy, &st), 0);

    /* Restore into a new directory, serve it, check it. */
    char restored[S_PATH];
    assert_format(restored, sizeof restored, "%s/restored", root);
    assert_format(command, sizeof command, "%s/dossierd --restore %s --data %s",
                  testserver_bin_dir(), fetched, restored);
    rc = s_run(command, &output);
    if (rc != 0) {
        fail_msg("%s: exit %d: %s", command, rc, output);
    }
    char expect[64];
    assert_format(expect, sizeof expect, "%llu records",
                  (unsigned long long)backup->records);
    if (!strstr(output, expect)) {
        fail_msg("%s said '%s', not '%s'", command, output, expect);
    }
    free(output);
    char log[S_PATH], second[256];
    assert_format(log, sizeof log, "%s/restored.log", root);
    pid_t pid = s_spawn(restored, log, NULL, second, sizeof second);
    dossier_client_t *reader = s_client(second, 10000);
    assert_int_equal(s_stats_records(reader), backup->records);
    dossier_client_destroy(&reader);
    s_stop(pid);
    uint64_t records = 0;
    s_check_store(restored, &records);
    assert_int_equal(records, backup->records);

    dossier_message_free(backup);
    dossier_client_destroy(&admin);
    testserver_stop(&server);
    s_rm_rf(root);
}

/* ---- Names and chunks ---- */

static void
test_backup_names_and_chunks(void **state) {
    (void)state;
    char root[] = "/tmp/dossier-backup-XXXXXX";
    assert_non_null(mkdtemp(root));
    char args[S_PATH];
    assert_format(args, sizeof args, "--backup-dir %s/elsewhere", root);
    testserver_t *server = testserver_start(args);
    assert_non_null(server);
    dossier_client_t *client = s_client(testserver_endpoint(server), 10000);
    static const char *const bad[] = {"../x",    "/etc/passwd", "a/b", "..",
                                      ".hidden", "a b",         "x\\y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Dossier__V1__BackupResponse *none =
            s_backup(client, bad[i], DOSSIER_INVALID_ARGUMENT);
        assert_null(none);
        Dossier__V1__BackupReadResponse *nothing =
            s_backup_read(client, bad[i], 0, 0, DOSSIER_INVALID_ARGUMENT);
        assert_null(nothing);
    }
    char body[] = "Some text.";
    for (int i = 0; i < 50; i++) {
        dossier_error_t err = {0};
        assert_int_equal(s_put(client, "nm", 0, i, body, &err), DOSSIER_OK);
    }
    Dossier__V1__BackupResponse *b = s_backup(client, "mine.mdb", DOSSIER_OK);
    assert_string_equal(b->name, "mine.mdb");
    char expect_path[S_PATH];
    assert_format(expect_path, sizeof expect_path, "%s/elsewhere/mine.mdb",
                  root);
    assert_string_equal(b->path, expect_path);
    assert_int_equal(b->records, 50);
    /* A taken name is never overwritten. */
    assert_null(s_backup(client, "mine.mdb", DOSSIER_ALREADY_EXISTS));

    /* Chunks of 1000 bytes: all full but the last, eof only there. */
    char fetched[S_PATH];
    assert_format(fetched, sizeof fetched, "%s/fetched.mdb", root);
    assert_int_equal(s_fetch(client, "mine.mdb", 1000, fetched), b->size_bytes);
    assert_true(s_files_equal(fetched, expect_path));
    /* length 0 is the default chunk (1 MiB): a small backup in one go. */
    Dossier__V1__BackupReadResponse *whole =
        s_backup_read(client, "mine.mdb", 0, 0, DOSSIER_OK);
    assert_true(whole->eof);
    assert_int_equal(whole->data.len, b->size_bytes < (1u << 20)
                                          ? b->size_bytes
                                          : (uint64_t)1 << 20);
    dossier_message_free(whole);
    /* At the very end: no data, eof. */
    Dossier__V1__BackupReadResponse *end =
        s_backup_read(client, "mine.mdb", b->size_bytes, 10, DOSSIER_OK);
    assert_int_equal(end->data.len, 0);
    assert_true(end->eof);
    dossier_message_free(end);
    assert_null(s_backup_read(client, "mine.mdb", b->size_bytes + 1, 10,
                              DOSSIER_OUT_OF_RANGE));
    assert_null(s_backup_read(client, "mine.mdb", 0, 64u << 20,
                              DOSSIER_INVALID_ARGUMENT));
    assert_null(s_backup_read(client, "no-such.mdb", 0, 10, DOSSIER_NOT_FOUND));
    dossier_message_free(b);
    dossier_client_destroy(&client);
    testserver_stop(&server);
    s_rm_rf(root);
}

/* ---- Restore refusals ---- */

static void
test_restore_refusals(void **state) {
    (void)state;
    char root[] = "/tmp/dossier-backup-XXXXXX";
    assert_non_null(mkdtemp(root));
    char text[S_PATH], empty[S_PATH], dir[S_PATH], command[S_PATH * 2];
    assert_format(text, sizeof text, "%s/notes.txt", root);
    assert_format(empty, sizeof empty, "%s/empty.mdb", root);
    assert_format(dir, sizeof dir, "%s/data", root);
    FILE *f = fopen(text, "w");
    assert_non_null(f);
    for (int i = 0; i < 2000; i++) {
        fputs("This is not an LMDB file at all.\n", f);
    }
    fclose(f);
    f = fopen(empty, "w");
    assert_non_null(f);
    fclose(f);
    char *output = NULL;

    assert_format(command, sizeof command, "%s/dossierd --restore %s --data %s",
                  testserver_bin_dir(), text, dir);
    int rc = s_run(command, &output);
    assert_int_not_equal(rc, 0);
    if (!strstr(output, "not an LMDB store file")) {
        fail_msg("restore of a text file said: %s", output);
    }
    free(output);
    assert_format(command, sizeof command, "%s/dossierd --restore %s --data %s",
                  testserver_bin_dir(), empty, dir);
    rc = s_run(command, &output);
    assert_int_not_equal(rc, 0);
    if (!strstr(output, "empty")) {
        fail_msg("restore of an empty file said: %s", output);
    }
    free(output);

    /* A real store, made by a server, then backed up. */
    char log[S_PATH], endpoint[256];
    assert_format(log, sizeof log, "%s/dossierd.log", root);
    pid_t pid = s_spawn(dir, log, NULL, endpoint, sizeof endpoint);
    dossier_client_t *client = s_client(endpoint, 10000);
    char body[] = "Text.";
    for (int i = 0; i < 10; i++) {
        dossier_error_t err = {0};
        assert_int_equal(s_put(client, "rf", 0, i, body, &err), DOSSIER_OK);
    }
    Dossier__V1__BackupResponse *b = s_backup(client, "ten.mdb", DOSSIER_OK);
    char backup[S_PATH];
    assert_format(backup, sizeof backup, "%s", b->path);
    dossier_message_free(b);
    /* While the server runs, even --force is refused. */
    assert_format(command, sizeof command,
                  "%s/dossierd --restore %s --data %s --force",
                  testserver_bin_dir(), backup, dir);
    rc = s_run(command, &output);
    assert_int_not_equal(rc, 0);
    free(output);
    for (int i = 10; i < 15; i++) {
        dossier_error_t err = {0};
        assert_int_equal(s_put(client, "rf", 0, i, body, &err), DOSSIER_OK);
    }
    dossier_client_destroy(&client);
    s_stop(pid);

    /* dir holds a store now: refused without --force, left alone. */
    assert_format(command, sizeof command, "%s/dossierd --restore %s --data %s",
                  testserver_bin_dir(), backup, dir);
    rc = s_run(command, &output);
    assert_int_not_equal(rc, 0);
    if (!strstr(output, "already holds a store")) {
        fail_msg("restore over a store said: %s", output);
    }
    free(output);
    uint64_t records = 0;
    s_check_store(dir, &records);
    assert_int_equal(records, 15);
    /* With --force the backup's 10 records are back. */
    assert_format(command, sizeof command,
                  "%s/dossierd --restore %s --data %s --force",
                  testserver_bin_dir(), backup, dir);
    rc = s_run(command, &output);
    if (rc != 0 || !strstr(output, "10 records")) {
        fail_msg("%s: exit %d: %s", command, rc, output);
    }
    free(output);
    s_check_store(dir, &records);
    assert_int_equal(records, 10);
    s_rm_rf(root);
}

/* ---- Export and import of JSON lines ---- */

/*  Every record of the server, full view, with the server-assigned
    fields cleared, packed, in id order. */
static size_t
s_snapshot(const char *endpoint, uint8_t ***packed_p, size_t **sizes_p) {
    dossier_client_t *client = s_client(endpoint, 10000);
    Dossier__V1__ListRequest request = DOSSIER__V1__LIST_REQUEST__INIT;
    request.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    request.page_size = 7; /* several pages */
    char *token = NULL;
    size_t n = 0;
    uint8_t **packed = NULL;
    size_t *sizes = NULL;
    for (int pages = 0; pages < 10000; pages++) {
        request.page_token = token ? token : (char *)"";
        Dossier__V1__ListResponse *page = NULL;
        dossier_error_t err = {0};
        if (dossier_list(client, &request, &page, &err) != DOSSIER_OK) {
            fail_msg("List: %s", err.message);
        }
        for (size_t i = 0; i < page->n_reports; i++) {
            Dossier__V1__Report *r = page->reports[i];
            /* Packed with the server-assigned fields blanked, then put
               back so the page frees what it allocated. */
            char *saved[4] = {r->created_at, r->updated_at, r->created_by,
                              r->updated_by};
            r->version = 0;
            r->created_at = r->updated_at = (char *)"";
            r->created_by = r->updated_by = (char *)"";
            packed = realloc(packed, (n + 1) * sizeof *packed);
            sizes = realloc(sizes, (n + 1) * sizeof *sizes);
            assert_non_null(packed);
            assert_non_null(sizes);
            sizes[n] = dossier__v1__report__get_packed_size(r);
            packed[n] = malloc(sizes[n] + 1);
            assert_non_null(packed[n]);
            dossier__v1__report__pack(r, packed[n]);
            n++;
            r->created_at = saved[0];
            r->updated_at = saved[1];
            r->created_by = saved[2];
            r->updated_by = saved[3];
        }
        free(token);
        token = page->next_page_token[0] ? strdup(page->next_page_token) : NULL;
        dossier_message_free(page);
        if (!token) {
            break;
        }
    }
    dossier_client_destroy(&client);
    *packed_p = packed;
    *sizes_p = sizes;
    return n;
}

static void
test_export_import_roundtrip(void **state) {
    (void)state;
    char root[] = "/tmp/dossier-backup-XXXXXX";
    assert_non_null(mkdtemp(root));
    testserver_t *a = testserver_start(NULL);
    testserver_t *b = testserver_start(NULL);
    assert_non_null(a);
    assert_non_null(b);
    char command[S_PATH * 8], *output = NULL;
    /* Some fixtures are meant to fail to parse: the exit code is 1. */
    assert_format(command, sizeof command,
                  "%s/dossier -s %s import " DOSSIER_FIXTURE_DIR "/refworld",
                  testserver_bin_dir(), testserver_endpoint(a));
    int rc = s_run(command, &output);
    assert_true(rc == 0 || rc == 1);
    free(output);
    char dump[S_PATH];
    assert_format(dump, sizeof dump, "%s/dump.jsonl", root);
    assert_format(command, sizeof command,
                  "%s/dossier -s %s export --json > %s", testserver_bin_dir(),
                  testserver_endpoint(a), dump);
    rc = s_run(command, &output);
    if (rc != 0) {
        fail_msg("%s: exit %d: %s", command, rc, output);
    }
    free(output);
    assert_format(command, sizeof command, "%s/dossier -s %s import --json %s",
                  testserver_bin_dir(), testserver_endpoint(b), dump);
    rc = s_run(command, &output);
    if (rc != 0) {
        fail_msg("%s: exit %d: %s", command, rc, output);
    }
    print_message("import: %s", output);
    assert_non_null(strstr(output, "failed 0"));
    free(output);
    /* Again: every record is now updated, none created. */
    rc = s_run(command, &output);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(output, "(created 0,"));
    free(output);

    uint8_t **pa = NULL, **pb = NULL;
    size_t *sa = NULL, *sb = NULL;
    size_t na = s_snapshot(testserver_endpoint(a), &pa, &sa);
    size_t nb = s_snapshot(testserver_endpoint(b), &pb, &sb);
    print_message("records: %zu exported, %zu imported\n", na, nb);
    assert_true(na >= 20);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(sa[i], sb[i]);
        assert_memory_equal(pa[i], pb[i], sa[i]);
        free(pa[i]);
        free(pb[i]);
    }
    free(pa);
    free(pb);
    free(sa);
    free(sb);
    testserver_stop(&a);
    testserver_stop(&b);
    s_rm_rf(root);
}

/* ---- A full store ---- */

/*  Puts big records until RESOURCE_EXHAUSTED; then checks reads, makes
    room (ballast NULL: deletes half the records; else removes that file
    from the full disk) and checks puts work again. */
static void
s_fill_and_recover(const char *endpoint, const char *ballast,
                   const char *hidden) {
    dossier_client_t *client = s_client(endpoint, 20000);
    /* Prose-like: a small vocabulary, as reports have (every distinct
       term of a deleted record costs the full-text index a page). */
    static const char *const words[] = {
        "the",     "government", "trafficking", "victims", "report",
        "labor",   "forced",     "law",         "police",  "shelter",
        "year",    "efforts",    "officials",   "women",   "children",
        "country", "protection", "prosecution", "border",  "court"};
    size_t body_size = 32 * 1024;
    char *body = malloc(body_size + 32);
    assert_non_null(body);
    size_t used = 0;
    for (unsigned k = 0; used < body_size; k++) {
        const char *w = words[(k * 7 + k / 5) % 20];
        size_t n = strlen(w);
        memcpy(body + used, w, n);
        body[used + n] = ' ';
        used += n + 1;
    }
    body_size = used;
    body[body_size] = '\0';
    int written = 0;
    dossier_error_t err = {0};
    dossier_status_t rc = DOSSIER_OK;
    for (; written < S_FILL_MAX; written++) {
        rc = s_put(client, "full", 0, written, body, &err);
        if (rc != DOSSIER_OK) {
            break;
        }
    }
    print_message("full after %d records of %zu bytes: %s: %s\n", written,
                  body_size, dossier_strerror(rc), err.message);
    assert_int_equal(rc, DOSSIER_RESOURCE_EXHAUSTED);
    assert_true(written > 0);
    assert_non_null(strstr(err.message, "full"));
    if (hidden) {
        /* The caller is no admin: the server's paths stay in its log. */
        assert_null(strstr(err.message, hidden));
    }

    /* Reads go on. */
    Dossier__V1__Report *got = NULL;
    char id[64];
    assert_format(id, sizeof id, "full-t0-%06d", 0);
    assert_int_equal(dossier_get(client, id, &got, &err), DOSSIER_OK);
    assert_string_equal(got->id, id);
    dossier_report_free(got);
    Dossier__V1__ListRequest list = DOSSIER__V1__LIST_REQUEST__INIT;
    list.page_size = 10;
    Dossier__V1__ListResponse *page = NULL;
    assert_int_equal(dossier_list(client, &list, &page, &err), DOSSIER_OK);
    assert_int_equal(page->n_reports, written < 10 ? written : 10);
    dossier_message_free(page);
    assert_int_equal(s_stats_records(client), (uint64_t)written);

    if (ballast) {
        /* LMDB files never shrink: on a full disk, room comes from
           elsewhere on it. */
        assert_int_equal(unlink(ballast), 0);
    }
    /* Deletes work on a full store, and free room for writes. */
    for (int i = 0; !ballast && i < written; i += 2) {
        assert_format(id, sizeof id, "full-t0-%06d", i);
        if (dossier_delete(client, id, 0, NULL, &err) != DOSSIER_OK) {
            fail_msg("delete %s on a full store: %s", id, err.message);
        }
    }
    int again = 0;
    for (; again < 3; again++) {
        if (s_put(client, "again", 0, again, body, &err) != DOSSIER_OK) {
            fail_msg("put %d after deletes: %s: %s", again,
                     dossier_strerror(err.code), err.message);
        }
    }
    free(body);
    dossier_client_destroy(&client);
}

static void
test_map_full(void **state) {
    (void)state;
    /* --history-keep 1: a delete keeps only its tombstone, so deletes
       free the room their records took (with the whole history kept, a
       delete frees nothing). */
    testserver_t *server =
        testserver_start("--map-size 1M --max-map-size 16M --history-keep 1");
    assert_non_null(server);
    s_fill_and_recover(testserver_endpoint(server), NULL, NULL);
    testserver_stop(&server);
}

/* Whether a case was skipped: main then exits 77, which ctest reports
   as Skipped (SKIP_RETURN_CODE), so that a skip never reads as a pass. */
static bool s_skipped;

static void
test_disk_full(void **state) {
    (void)state;
    char mnt[] = "/tmp/dossier-diskfull-XXXXXX";
    assert_non_null(mkdtemp(mnt));
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=8m") != 0) {
        int e = errno;
        rmdir(mnt);
        print_message("skipped: cannot mount an 8 MiB tmpfs to fill (%s); "
                      "run as root to test a full disk\n",
                      strerror(e));
        s_skipped = true;
        skip();
    }
    char data[S_PATH], log[S_PATH], endpoint[256];
    assert_format(data, sizeof data, "%s/data", mnt);
    assert_int_equal(mkdir(data, 0755), 0);
    /* The log stays off the full disk. */
    assert_format(log, sizeof log, "%s.log", mnt);
    /* 2 MiB of ballast to remove once the disk is full. */
    char ballast[S_PATH];
    assert_format(ballast, sizeof ballast, "%s/ballast", mnt);
    FILE *f = fopen(ballast, "wb");
    assert_non_null(f);
    static char block[65536];
    for (int i = 0; i < 32; i++) {
        assert_int_equal(fwrite(block, 1, sizeof block, f), sizeof block);
    }
    assert_int_equal(fclose(f), 0);
    /* A writer, not an admin: the reply must not name the data
       directory, which the log then holds. */
    pid_t pid = s_spawn(data, log, "--anonymous-role writer", endpoint,
                        sizeof endpoint);
    s_fill_and_recover(endpoint, ballast, data);
    s_stop(pid);
    FILE *logf = fopen(log, "r");
    assert_non_null(logf);
    static char text[1 << 16];
    size_t got = fread(text, 1, sizeof text - 1, logf);
    text[got] = '\0';
    fclose(logf);
    assert_non_null(strstr(text, data));
    umount2(mnt, MNT_DETACH);
    rmdir(mnt);
    unlink(log);
}

/* ---- Start-up: no_sync warning, stale reader slots ---- */

static char *
s_read_log(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t
s_count(const char *text, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void
test_no_sync_warns_every_start(void **state) {
    (void)state;
    testserver_t *server = testserver_start("--no-sync");
    assert_non_null(server);
    assert_int_equal(testserver_restart(server), 0);
    const char *log = s_read_log(testserver_logpath(server));
    assert_int_equal(s_count(log, "WARN dossierd: no_sync is on"), 2);
    testserver_stop(&server);
    /* Without it: not a word. */
    server = testserver_start(NULL);
    assert_non_null(server);
    log = s_read_log(testserver_logpath(server));
    assert_int_equal(s_count(log, "no_sync is on"), 0);
    testserver_stop(&server);
}

static void
test_stale_reader_slot_cleared(void **state) {
    (void)state;
    char root[] = "/tmp/dossier-backup-XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[S_PATH], log[S_PATH], endpoint[256];
    assert_format(dir, sizeof dir, "%s/data", root);
    assert_format(log, sizeof log, "%s/dossierd.log", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    /* LMDB resets the reader table when the first process opens the
       environment, so a stale slot survives only while another process
       has it open: a foreign reader (like mdb_stat) holds it meanwhile.
       It is the one place a test opens LMDB itself. */
    int ready[2], hold[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(hold), 0);
    pid_t holder = fork();
    assert_true(holder >= 0);
    if (holder == 0) {
        MDB_env *env = NULL;
        char c = 'x';
        if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 16) != 0 ||
            mdb_env_open(env, dir, 0, 0640) != 0) {
            c = 'e';
        }
        if (write(ready[1], &c, 1) != 1 || read(hold[0], &c, 1) < 0) {
            _exit(1);
        }
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'x');
    /* A process that reads (and so holds a reader slot) and dies. */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        store_t *store = NULL;
        dossier_error_t err = {0};
        Dossier__V1__Report *r = NULL;
        if (store_open(dir, NULL, &store, &err) != DOSSIER_OK) {
            _exit(1);
        }
        store_get(store, "none", &r, &err);
        raise(SIGKILL);
        _exit(2);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    pid_t pid = s_spawn(dir, log, NULL, endpoint, sizeof endpoint);
    s_stop(pid);
    assert_int_equal(write(hold[1], "q", 1), 1);
    assert_int_equal(waitpid(holder, &status, 0), holder);
    for (int i = 0; i < 2; i++) {
        close(ready[i]);
        close(hold[i]);
    }
    const char *text = s_read_log(log);
    if (!strstr(text, "store: cleared 1 stale reader slot(s)")) {
        fail_msg("the log does not say a slot was cleared:\n%s", text);
    }
    s_rm_rf(root);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_names_and_chunks),
        cmocka_unit_test(test_restore_refusals),
        cmocka_unit_test(test_backup_while_writing_then_restore),
        cmocka_unit_test(test_export_import_roundtrip),
        cmocka_unit_test(test_map_full),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_no_sync_warns_every_start),
        cmocka_unit_test(test_stale_reader_slot_cleared),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed == 0 && s_skipped ? 77 : failed;
}
