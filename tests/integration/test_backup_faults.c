/*  test_backup_faults.c: Backup and restore when things go wrong, and
    kill -9 in the middle of a write or a backup, against a live dossierd.

    - Backup into a directory that cannot be written, as root too: a path
      under a regular file, and (when the test may mount) a read-only
      tmpfs. The call fails naming the place, leaves no file, and the
      server keeps serving.
    - Backup onto a full disk (a 4 MiB tmpfs, root only: otherwise the
      program exits 77, which ctest reports as Skipped): it fails, leaves
      no file, and the server keeps serving.
    - Two Backups at once, on two workers: both succeed, under two names,
      and both restore.
    - Restoring a truncated or a damaged backup fails with a message and
      leaves no store behind.
    - kill -9 while a Backup is being flushed, and while an ImportBatch's
      commit is being flushed (tests/support/testsync.h holds the flush,
      so the kill lands there by the test's hand, not by timing): no file
      under a backup's name, none of the batch, a server that starts
      clean, and a store whose check passes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "dossier.h"
#include "dossier/v1/reports.pb-c.h"
#include "dossier/v1/rpc.pb-c.h"
#include "store/store.h"
#include "testassert.h"
#include "testserver.h"
#include "testsync.h"

#define S_PATH 512
#define M(name) "dossier.v1.Reports/" name

/* Whether a case was skipped: main then exits 77 (ctest: Skipped). */
static bool s_skipped;

static dossier_client_t *
s_client(const char *endpoint) {
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = 60000;
    options.retries = 0;
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    assert_ok(dossier_client_new(endpoint, &options, &client, &err), &err);
    return client;
}

/*  n records of about body_bytes each, ids PREFIX-000000... */
static void
s_fill(dossier_client_t *client, const char *prefix, int n, size_t body_bytes) {
    char *paragraph = malloc(body_bytes + 1);
    assert_non_null(paragraph);
    for (size_t i = 0; i < body_bytes; i++) {
        paragraph[i] = (char)('a' + (i * 7 + i / 13) % 26);
        if (i % 9 == 8) {
            paragraph[i] = ' ';
        }
    }
    paragraph[body_bytes] = '\0';
    char *body[1] = {paragraph};
    for (int i = 0; i < n; i++) {
        char id[64];
        assert_format(id, sizeof id, "%s-%06d", prefix, i);
        Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
        r.id = id;
        r.title = "Backup fault test";
        r.country = "Atlantis";
        r.year = 2000 + i % 20;
        r.body = body;
        r.n_body = 1;
        dossier_error_t err = {0};
        assert_ok(dossier_put(client, &r, 0, false, NULL, &err), &err);
    }
    free(paragraph);
}

/*  Backup (name "" lets the server pick); returns the status, and the
    response (the caller's) in *response_p when OK. */
static dossier_status_t
s_backup(dossier_client_t *client, const char *name,
         Dossier__V1__BackupResponse **response_p, dossier_error_t *err) {
    Dossier__V1__BackupRequest request = DOSSIER__V1__BACKUP_REQUEST__INIT;
    request.name = (char *)name;
    return dossier_call(client, "Backup", &request.base,
                        &dossier__v1__backup_response__descriptor,
                        (ProtobufCMessage **)response_p, err);
}

/*  The server still reads and writes. */
static void
s_still_serving(dossier_client_t *client, const char *id) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = "after the fault";
    r.country = "Atlantis";
    r.year = 2020;
    dossier_error_t err = {0};
    assert_ok(dossier_put(client, &r, 0, false, NULL, &err), &err);
    Dossier__V1__Report *got = NULL;
    assert_ok(dossier_get(client, id, &got, &err), &err);
    assert_string_equal(got->title, "after the fault");
    dossier_report_free(got);
}

/*  Files in dir (hidden ones too), 0 when it does not exist. */
static int
s_count_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        return 0;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/*  Runs argv (a program of the build and its arguments), its stdout and
    stderr into out (cut to size). Returns its exit status, or 128 + the
    signal that ended it. */
static int
s_run(char *const argv[], char *out, size_t size) {
    int pipes[2];
    assert_int_equal(pipe(pipes), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipes[1], 1);
        dup2(pipes[1], 2);
        close(pipes[0]);
        close(pipes[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pipes[1]);
    size_t got = 0;
    ssize_t n;
    while ((n = read(pipes[0], out + got, size - 1 - got)) > 0) {
        got += (size_t)n;
        if (got == size - 1) {
            char sink[256];
            while (read(pipes[0], sink, sizeof sink) > 0) {
            }
            break;
        }
    }
    out[got] = '\0';
    close(pipes[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*  dossierd --restore file --data dir: its exit status, output in out. */
static int
s_restore(const char *file, const char *dir, char *out, size_t size) {
    char binary[S_PATH];
    assert_format(binary, sizeof binary, "%s/dossierd", testserver_bin_dir());
    char *argv[] = {binary,   "--restore", (char *)file,
                    "--data", (char *)dir, NULL};
    return s_run(argv, out, size);
}

static void
s_check_store(const char *dir, uint64_t *records) {
    store_t *store = NULL;
    dossier_error_t err = {0};
    if (store_open(dir, NULL, &store, &err) != DOSSIER_OK) {
        fail_msg("store_open %s: %s", dir, err.message);
    }
    uint64_t problems = 0;
    if (store_check(store, &problems, &err) != DOSSIER_OK || problems) {
        fail_msg("store_check %s: %llu problems: %s", dir,
                 (unsigned long long)problems, err.message);
    }
    Dossier__V1__StatsResponse *stats = NULL;
    assert_int_equal(store_stats(store, &stats, &err), DOSSIER_OK);
    *records = stats->records;
    dossier__v1__stats_response__free_unpacked(stats, NULL);
    store_destroy(&store);
}

/* ---- Directories a backup cannot go to ---- */

static void
s_backup_refused(const char *backup_dir, const char *why) {
    char args[S_PATH];
    assert_format(args, sizeof args, "--backup-dir %s", backup_dir);
    testserver_t *server = testserver_start(args);
    assert_non_null(server);
    dossier_client_t *client = s_client(testserver_endpoint(server));
    s_fill(client, "unwritable", 20, 500);
    dossier_error_t err = {0};
    Dossier__V1__BackupResponse *response = NULL;
    dossier_status_t rc = s_backup(client, "", &response, &err);
    if (rc == DOSSIER_OK) {
        fail_msg("a backup into %s (%s) answered OK: %s", backup_dir, why,
                 response->path);
    }
    print_message("backup into %s: %s: %s\n", why, dossier_strerror(rc),
                  err.message);
    assert_int_not_equal(rc, DOSSIER_INTERNAL);
    assert_non_null(strstr(err.message, backup_dir));
    s_still_serving(client, "unwritable-after");
    dossier_client_destroy(&client);
    testserver_stop(&server);
}

static void
test_backup_into_unwritable_directory(void **state) {
    (void)state;
    char root[] = "/tmp/dossier-backup-faults-XXXXXX";
    assert_non_null(mkdtemp(root));
    /* Under a regular file: no mode lets even root make a directory
       there. */
    char file[S_PATH], under[S_PATH];
    assert_format(file, sizeof file, "%s/a-file", root);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_format(under, sizeof under, "%s/backups", file);
    s_backup_refused(under, "a path under a file");

    /* A read-only file system: EROFS, root or not. */
    char ro[S_PATH];
    assert_format(ro, sizeof ro, "%s/ro", root);
    assert_int_equal(mkdir(ro, 0755), 0);
    if (mount("tmpfs", ro, "tmpfs", MS_RDONLY, "size=1m") == 0) {
        s_backup_refused(ro, "a read-only tmpfs");
        assert_int_equal(s_count_files(ro), 0);
        umount2(ro, MNT_DETACH);
    } else {
        print_message("skipped: cannot mount a read-only tmpfs (%s)\n",
                      strerror(errno));
        s_skipped = true;
    }
    testserver_remove_tree(root);
}

static void
test_backup_onto_full_disk(void **state) {
    (void)state;
    char mnt[] = "/tmp/dossier-backup-full-XXXXXX";
    assert_non_null(mkdtemp(mnt));
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=4m") != 0) {
        print_message("skipped: cannot mount a 4 MiB tmpfs (%s); run as "
                      "root to test a backup onto a full disk\n",
                      strerror(errno));
        rmdir(mnt);
        s_skipped = true;
        skip();
    }
    char args[S_PATH];
    assert_format(args, sizeof args, "--backup-dir %s", mnt);
    testserver_t *server = testserver_start(args);
    assert_non_null(server);
    dossier_client_t *client = s_client(testserver_endpoint(server));
    /* About 8 MiB of records: twice what the disk holds. */
    s_fill(client, "full", 2000, 4000);
    dossier_error_t err = {0};
    Dossier__V1__BackupResponse *response = NULL;
    dossier_status_t rc = s_backup(client, "full.mdb", &response, &err);
    if (rc == DOSSIER_OK) {
        fail_msg("a backup of 8 MiB onto 4 MiB answered OK: %s",
                 response->path);
    }
    print_message("backup onto a full disk: %s: %s\n", dossier_strerror(rc),
                  err.message);
    assert_int_equal(rc, DOSSIER_RESOURCE_EXHAUSTED);
    /* Nothing left behind: no file under the name, no temporary one. */
    assert_int_equal(s_count_files(mnt), 0);
    s_still_serving(client, "full-after");
    dossier_client_destroy(&client);
    testserver_stop(&server);
    umount2(mnt, MNT_DETACH);
    rmdir(mnt);
}

/* ---- Two at once ---- */

typedef struct {
    const char *endpoint;
    dossier_status_t rc;
    dossier_error_t err;
    Dossier__V1__BackupResponse *response;
} s_backup_call_t;

static void *
s_backup_thread(void *arg) {
    s_backup_call_t *call = arg;
    dossier_client_t *client = s_client(call->endpoint);
    call->rc = s_backup(client, "", &call->response, &call->err);
    dossier_client_destroy(&client);
    return NULL;
}

static void
test_two_backups_at_once(void **state) {
    (void)state;
    testserver_t *server = testserver_start("--workers 2");
    assert_non_null(server);
    dossier_client_t *client = s_client(testserver_endpoint(server));
    s_fill(client, "twice", 300, 2000);
    s_backup_call_t calls[2] = {{.endpoint = testserver_endpoint(server)},
                                {.endpoint = testserver_endpoint(server)}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            pthread_create(&threads[i], NULL, s_backup_thread, &calls[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
    }
    for (int i = 0; i < 2; i++) {
        assert_ok(calls[i].rc, &calls[i].err);
        assert_int_equal(calls[i].response->records, 300);
    }
    /* Two files (names picked in the same second get a suffix). */
    assert_string_not_equal(calls[0].response->path, calls[1].response->path);
    char root[] = "/tmp/dossier-restore-XXXXXX";
    assert_non_null(mkdtemp(root));
    for (int i = 0; i < 2; i++) {
        char dir[S_PATH], out[4096];
        assert_format(dir, sizeof dir, "%s/restored-%d", root, i);
        int rc = s_restore(calls[i].response->path, dir, out, sizeof out);
        if (rc != 0 || !strstr(out, "300 records")) {
            fail_msg("restore of %s: exit %d: %s", calls[i].response->path, rc,
                     out);
        }
        uint64_t records = 0;
        s_check_store(dir, &records);
        assert_int_equal(records, 300);
        dossier_message_free(calls[i].response);
    }
    testserver_remove_tree(root);
    dossier_client_destroy(&client);
    testserver_stop(&server);
}

/* ---- Restoring a damaged backup ---- */

/*  Copies the first size bytes of from into to (all: SIZE_MAX), then
    overwrites damage_bytes bytes at damage_at with 0xA5 (none: 0). */
static void
s_copy_damaged(const char *from, const char *to, size_t size, size_t damage_at,
               size_t damage_bytes) {
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t done = 0, n;
    while (done < size && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (n > size - done) {
            n = size - done;
        }
        for (size_t i = 0; i < n; i++) {
            size_t at = done + i;
            if (at >= damage_at && at < damage_at + damage_bytes) {
                buf[i] = (char)0xA5;
            }
        }
        assert_int_equal(fwrite(buf, 1, n, out), n);
        done += n;
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void
test_restore_damaged_backup(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    dossier_client_t *client = s_client(testserver_endpoint(server));
    s_fill(client, "damaged", 400, 1500);
    dossier_error_t err = {0};
    Dossier__V1__BackupResponse *response = NULL;
    assert_ok(s_backup(client, "whole.mdb", &response, &err), &err);
    char whole[S_PATH];
    assert_format(whole, sizeof whole, "%s", response->path);
    size_t size = (size_t)response->size_bytes;
    dossier_message_free(response);
    dossier_client_destroy(&client);

    char root[] = "/tmp/dossier-restore-XXXXXX";
    assert_non_null(mkdtemp(root));
    const struct {
        const char *what;
        size_t keep, damage_at, damage_bytes;
    } cases[] = {
        {"cut in half", size / 2, 0, 0},
        {"cut inside the first pages", 6000, 0, 0},
        {"its meta pages overwritten", SIZE_MAX, 0, 8192},
        {"a stretch of its data overwritten", SIZE_MAX, size / 2, 16384},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char file[S_PATH], dir[S_PATH], out[8192];
        assert_format(file, sizeof file, "%s/case-%zu.mdb", root, i);
        assert_format(dir, sizeof dir, "%s/data-%zu", root, i);
        s_copy_damaged(whole, file, cases[i].keep, cases[i].damage_at,
                       cases[i].damage_bytes);
        int rc = s_restore(file, dir, out, sizeof out);
        print_message("restore of a backup %s: exit %d: %s", cases[i].what, rc,
                      out);
        if (rc == 0) {
            fail_msg("a backup %s was restored", cases[i].what);
        }
        /* Refused, not crashed, and said why. */
        assert_true(rc < 128);
        assert_true(strlen(out) > 0);
        /* No store left where the restore was going. */
        char data[S_PATH];
        assert_format(data, sizeof data, "%s/data.mdb", dir);
        assert_int_not_equal(access(data, F_OK), 0);
    }
    testserver_remove_tree(root);
    testserver_stop(&server);
}

/* ---- kill -9 inside a flush ---- */

static void
test_kill_during_backup(void **state) {
    (void)state;
    char root[] = "/tmp/dossier-backup-kill-XXXXXX";
    assert_non_null(mkdtemp(root));
    char args[S_PATH], backups[S_PATH];
    assert_format(backups, sizeof backups, "%s/backups", root);
    assert_format(args, sizeof args, "--backup-dir %s", backups);
    testsync_t sync;
    testsync_start(&sync, args);
    const char *endpoint = testserver_endpoint(sync.server);
    dossier_client_t *client = s_client(endpoint);
    s_fill(client, "kill-backup", 200, 2000);
    dossier_client_destroy(&client);

    /* The Backup is sent on a socket of its own; its copy is written,
       and its flush is held. */
    testsync_hold(&sync);
    void *context = zmq_ctx_new();
    void *dealer = testserver_dealer(context, endpoint, 1000);
    Dossier__V1__BackupRequest request = DOSSIER__V1__BACKUP_REQUEST__INIT;
    request.name = "killed.mdb";
    size_t size = 0;
    uint8_t *packed =
        testserver_pack_request(1, M("Backup"), &request.base, 0, &size);
    assert_int_equal(zmq_send(dealer, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(dealer, packed, size, 0), (int)size);
    free(packed);
    assert_true(testsync_wait_held(&sync, 20000));
    assert_int_equal(testserver_kill(sync.server, SIGKILL), 0);
    assert_int_equal(testserver_wait(sync.server, 10000), 128 + SIGKILL);
    zmq_close(dealer);
    zmq_ctx_term(context);

    /* No file under the backup's name. */
    char named[S_PATH];
    assert_format(named, sizeof named, "%s/killed.mdb", backups);
    assert_int_not_equal(access(named, F_OK), 0);
    /* The partial copy is there, hidden, until the next start. */
    assert_int_equal(s_count_files(backups), 1);
    uint64_t records = 0;
    s_check_store(testserver_datadir(sync.server), &records);
    assert_int_equal(records, 200);
    /* Starts clean (the partial copy removed), and a backup then works
       under that name. */
    testsync_release(&sync);
    assert_int_equal(testserver_restart(sync.server), 0);
    assert_int_equal(s_count_files(backups), 0);
    client = s_client(testserver_endpoint(sync.server));
    dossier_error_t err = {0};
    Dossier__V1__BackupResponse *response = NULL;
    assert_ok(s_backup(client, "killed.mdb", &response, &err), &err);
    assert_int_equal(response->records, 200);
    dossier_message_free(response);
    dossier_client_destroy(&client);
    testsync_stop(&sync);
    testserver_remove_tree(root);
}

static void
test_kill_during_import_batch(void **state) {
    (void)state;
    testsync_t sync;
    testsync_start(&sync, NULL);
    const char *endpoint = testserver_endpoint(sync.server);
    dossier_client_t *client = s_client(endpoint);
    s_fill(client, "before-batch", 50, 500);
    dossier_client_destroy(&client);

    /* An ImportBatch of 40 documents; its commit is held at its flush,
       after LMDB has written its pages and before its meta page. */
    char path[S_PATH];
    assert_format(path, sizeof path, "%s/refworld/tip-2004-azerbaijan.txt",
                  DOSSIER_FIXTURE_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    enum { S_DOCS = 40 };
    Dossier__V1__ImportTextRequest docs[S_DOCS];
    Dossier__V1__ImportTextRequest *pointers[S_DOCS];
    char ids[S_DOCS][32];
    for (int i = 0; i < S_DOCS; i++) {
        Dossier__V1__ImportTextRequest init =
            DOSSIER__V1__IMPORT_TEXT_REQUEST__INIT;
        docs[i] = init;
        assert_format(ids[i], sizeof ids[i], "batch-%03d", i);
        docs[i].text = text;
        docs[i].filename = "tip-2004-azerbaijan.txt";
        docs[i].id = ids[i];
        pointers[i] = &docs[i];
    }
    Dossier__V1__ImportBatchRequest batch =
        DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
    batch.documents = pointers;
    batch.n_documents = S_DOCS;
    testsync_hold(&sync);
    void *context = zmq_ctx_new();
    void *dealer = testserver_dealer(context, endpoint, 1000);
    size_t size = 0;
    uint8_t *packed =
        testserver_pack_request(1, M("ImportBatch"), &batch.base, 0, &size);
    assert_int_equal(zmq_send(dealer, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(dealer, packed, size, 0), (int)size);
    free(packed);
    assert_true(testsync_wait_held(&sync, 30000));
    assert_int_equal(testserver_kill(sync.server, SIGKILL), 0);
    assert_int_equal(testserver_wait(sync.server, 10000), 128 + SIGKILL);
    zmq_close(dealer);
    zmq_ctx_term(context);

    /* The batch never committed: none of it, all of what came before. */
    uint64_t records = 0;
    s_check_store(testserver_datadir(sync.server), &records);
    assert_int_equal(records, 50);
    testsync_release(&sync);
    assert_int_equal(testserver_restart(sync.server), 0);
    client = s_client(testserver_endpoint(sync.server));
    dossier_error_t err = {0};
    assert_status(dossier_get(client, "batch-000", NULL, &err),
                  DOSSIER_NOT_FOUND, &err);
    s_still_serving(client, "batch-after");
    dossier_client_destroy(&client);
    testsync_stop(&sync);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_into_unwritable_directory),
        cmocka_unit_test(test_backup_onto_full_disk),
        cmocka_unit_test(test_two_backups_at_once),
        cmocka_unit_test(test_restore_damaged_backup),
        cmocka_unit_test(test_kill_during_backup),
        cmocka_unit_test(test_kill_during_import_batch),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed == 0 && s_skipped ? 77 : failed;
}
