/*  test_backup_files.c: the backup pieces without a server.

    backup_check_name against names with paths; store_copy_to_fd and
    store_file_info on a copy (records, schema) and on files that are not
    stores; handle_backup / handle_backup_read driven with jobs as the loop
    makes them; backup_restore into an empty directory, refused over a
    store without force, allowed with it, refused for a non-store, and the
    restored store clean under store_check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/backup.h"
#include "dossier/v1/reports.pb-c.h"
#include "store/restore.h"
#include "store/store.h"
#include "testassert.h"

#define S_RECORDS 40

typedef struct {
    char root[64];
    char data[128];
    store_t *store;
} s_fixture_t;

static void
s_put_records(store_t *store, int n) {
    store_batch_t *batch = NULL;
    dossier_error_t err = {0};
    assert_int_equal(store_batch_begin(store, &batch, &err), DOSSIER_OK);
    for (int i = 0; i < n; i++) {
        char id[32], title[32];
        assert_format(id, sizeof id, "unit-%04d", i);
        assert_format(title, sizeof title, "Report number %d", i);
        char *body[] = {(char *)"The government made efforts."};
        Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
        r.id = id;
        r.title = title;
        r.country = (char *)"Nepal";
        r.year = 2000 + (uint32_t)(i % 20);
        r.n_body = 1;
        r.body = body;
        store_put_args_t args = {.user = "test"};
        store_put_result_t result;
        if (store_put(batch, &r, &args, &result, &err) != DOSSIER_OK) {
            fail_msg("store_put: %s", err.message);
        }
    }
    assert_int_equal(store_batch_commit(&batch, &err), DOSSIER_OK);
}

static int
s_setup(void **state) {
    s_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_format(f->root, sizeof f->root, "/tmp/dossier-unit-backup-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    assert_format(f->data, sizeof f->data, "%s/data", f->root);
    assert_int_equal(mkdir(f->data, 0755), 0);
    dossier_error_t err = {0};
    assert_int_equal(store_open(f->data, NULL, &f->store, &err), DOSSIER_OK);
    s_put_records(f->store, S_RECORDS);
    *state = f;
    return 0;
}

static int
s_teardown(void **state) {
    s_fixture_t *f = *state;
    store_destroy(&f->store);
    char command[256];
    assert_format(command, sizeof command, "rm -rf '%s'", f->root);
    int rc = system(command);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* ---- Names ---- */

static void
test_names(void **state) {
    (void)state;
    dossier_error_t err = {0};
    static const char *const good[] = {"a", "dossier-20261127T210000Z.mdb",
                                       "before_upgrade.mdb", "x..y", "A-1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (backup_check_name("name", good[i], &err) != DOSSIER_OK) {
            fail_msg("'%s' refused: %s", good[i], err.message);
        }
    }
    static const char *const bad[] = {"",
                                      "../x",
                                      "/etc/passwd",
                                      "a/b",
                                      "..",
                                      ".",
                                      ".tmp",
                                      "a\\b",
                                      "a b",
                                      "a\nb",
                                      "\xc3\xa9t\xc3\xa9",
                                      "a:b",
                                      "~",
                                      "$HOME",
                                      "a*b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(backup_check_name("name", bad[i], &err),
                         DOSSIER_INVALID_ARGUMENT);
        assert_non_null(strstr(err.message, "name"));
    }
    assert_int_equal(backup_check_name("name", NULL, &err),
                     DOSSIER_INVALID_ARGUMENT);
    char longest[BACKUP_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[BACKUP_NAME_MAX] = '\0';
    assert_int_equal(backup_check_name("name", longest, &err), DOSSIER_OK);
    longest[BACKUP_NAME_MAX] = 'a';
    longest[BACKUP_NAME_MAX + 1] = '\0';
    assert_int_equal(backup_check_name("name", longest, &err),
                     DOSSIER_INVALID_ARGUMENT);
}

/* ---- Copy and look ---- */

static void
test_copy_and_file_info(void **state) {
    s_fixture_t *f = *state;
    char copy[256];
    assert_format(copy, sizeof copy, "%s/copy.mdb", f->root);
    int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL, 0640);
    assert_true(fd >= 0);
    dossier_error_t err = {0};
    assert_int_equal(store_copy_to_fd(f->store, fd, &err), DOSSIER_OK);
    close(fd);
    store_file_info_t info;
    assert_int_equal(store_file_info(copy, &info, &err), DOSSIER_OK);
    assert_int_equal(info.records, S_RECORDS);
    assert_int_equal(info.schema_version, STORE_SCHEMA_VERSION);
    struct stat st;
    assert_int_equal(stat(copy, &st), 0);
    assert_int_equal(info.file_bytes, (uint64_t)st.st_size);

    char text[256];
    assert_format(text, sizeof text, "%s/text.txt", f->root);
    FILE *out = fopen(text, "w");
    assert_non_null(out);
    for (int i = 0; i < 3000; i++) {
        fputs("not a store\n", out);
    }
    fclose(out);
    assert_int_equal(store_file_info(text, &info, &err),
                     DOSSIER_FAILED_PRECONDITION);
    assert_non_null(strstr(err.message, "not an LMDB store file"));
    char empty[256];
    assert_format(empty, sizeof empty, "%s/empty", f->root);
    out = fopen(empty, "w");
    assert_non_null(out);
    fclose(out);
    assert_int_equal(store_file_info(empty, &info, &err),
                     DOSSIER_FAILED_PRECONDITION);
    char missing[256];
    assert_format(missing, sizeof missing, "%s/missing", f->root);
    assert_int_equal(store_file_info(missing, &info, &err), DOSSIER_NOT_FOUND);
    assert_int_equal(store_file_info(f->root, &info, &err),
                     DOSSIER_FAILED_PRECONDITION);
}

/* ---- Handlers ---- */

/*  A job as the loop makes it: input unpacked from bytes. */
static job_t *
s_job(const ProtobufCMessage *input) {
    job_t *job = job_new();
    assert_non_null(job);
    size_t size = protobuf_c_message_get_packed_size(input);
    uint8_t *buf = malloc(size + 1);
    assert_non_null(buf);
    protobuf_c_message_pack(input, buf);
    job->input = protobuf_c_message_unpack(input->descriptor, NULL, size, buf);
    free(buf);
    assert_non_null(job->input);
    return job;
}

static void
test_handlers(void **state) {
    s_fixture_t *f = *state;
    config_t config = {0};
    config.data_dir = f->data;
    handler_env_t env = {.store = f->store, .config = &config};
    dossier_error_t err = {0};

    Dossier__V1__BackupRequest request = DOSSIER__V1__BACKUP_REQUEST__INIT;
    request.name = (char *)"../escape.mdb";
    job_t *job = s_job(&request.base);
    assert_int_equal(handle_backup(&env, job, &err), DOSSIER_INVALID_ARGUMENT);
    job_destroy(&job);

    request.name = (char *)"";
    job = s_job(&request.base);
    assert_int_equal(handle_backup(&env, job, &err), DOSSIER_OK);
    Dossier__V1__BackupResponse *resp = dossier__v1__backup_response__unpack(
        NULL, job->payload_size, job->payload);
    assert_non_null(resp);
    job_destroy(&job);
    assert_int_equal(resp->records, S_RECORDS);
    assert_true(strncmp(resp->name, "dossier-", 8) == 0);
    assert_int_equal(strlen(resp->name),
                     strlen("dossier-YYYYMMDDTHHMMSSZ.mdb"));
    char expect[256];
    assert_format(expect, sizeof expect, "%s/backups/%s", f->data, resp->name);
    assert_string_equal(resp->path, expect);

    /* The same second again: the server's name gets a suffix. */
    job = s_job(&request.base);
    assert_int_equal(handle_backup(&env, job, &err), DOSSIER_OK);
    Dossier__V1__BackupResponse *again = dossier__v1__backup_response__unpack(
        NULL, job->payload_size, job->payload);
    assert_non_null(again);
    job_destroy(&job);
    assert_string_not_equal(again->name, resp->name);
    dossier__v1__backup_response__free_unpacked(again, NULL);

    /* Read it back in 4 KiB chunks. */
    uint64_t offset = 0;
    bool eof = false;
    for (int calls = 0; !eof && calls < 10000; calls++) {
        Dossier__V1__BackupReadRequest read_request =
            DOSSIER__V1__BACKUP_READ_REQUEST__INIT;
        read_request.name = resp->name;
        read_request.offset = offset;
        read_request.length = 4096;
        job = s_job(&read_request.base);
        assert_int_equal(handle_backup_read(&env, job, &err), DOSSIER_OK);
        Dossier__V1__BackupReadResponse *chunk =
            dossier__v1__backup_read_response__unpack(NULL, job->payload_size,
                                                      job->payload);
        assert_non_null(chunk);
        job_destroy(&job);
        assert_int_equal(chunk->total_size, resp->size_bytes);
        offset += chunk->data.len;
        eof = chunk->eof;
        assert_true(eof || chunk->data.len == 4096);
        dossier__v1__backup_read_response__free_unpacked(chunk, NULL);
    }
    assert_true(eof);
    assert_int_equal(offset, resp->size_bytes);

    /* No temporary file is left behind. */
    char listing[512];
    assert_format(listing, sizeof listing,
                  "ls -A '%s/backups' | grep -c '^\\.'", f->data);
    FILE *pipe = popen(listing, "r");
    assert_non_null(pipe);
    int hidden = -1;
    assert_int_equal(fscanf(pipe, "%d", &hidden), 1);
    pclose(pipe);
    assert_int_equal(hidden, 0);
    dossier__v1__backup_response__free_unpacked(resp, NULL);
}

/* ---- Restore ---- */

static void
test_restore(void **state) {
    s_fixture_t *f = *state;
    char copy[256], target[256];
    assert_format(copy, sizeof copy, "%s/copy.mdb", f->root);
    assert_format(target, sizeof target, "%s/restored", f->root);
    int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    dossier_error_t err = {0};
    assert_int_equal(store_copy_to_fd(f->store, fd, &err), DOSSIER_OK);
    close(fd);

    store_file_info_t info;
    if (backup_restore(copy, target, false, &info, &err) != DOSSIER_OK) {
        fail_msg("restore: %s", err.message);
    }
    assert_int_equal(info.records, S_RECORDS);
    /* Over a store: refused without force. */
    assert_int_equal(backup_restore(copy, target, false, &info, &err),
                     DOSSIER_FAILED_PRECONDITION);
    assert_non_null(strstr(err.message, "already holds a store"));
    /* Not a store: refused even with force, the target untouched. */
    assert_int_equal(backup_restore(f->root, target, true, &info, &err),
                     DOSSIER_FAILED_PRECONDITION);
    assert_int_equal(backup_restore(copy, target, true, &info, &err),
                     DOSSIER_OK);

    store_t *store = NULL;
    assert_int_equal(store_open(target, NULL, &store, &err), DOSSIER_OK);
    uint64_t problems = 1;
    assert_int_equal(store_check(store, &problems, &err), DOSSIER_OK);
    assert_int_equal(problems, 0);
    Dossier__V1__Report *r = NULL;
    assert_int_equal(store_get(store, "unit-0007", &r, &err), DOSSIER_OK);
    assert_string_equal(r->title, "Report number 7");
    dossier__v1__report__free_unpacked(r, NULL);
    store_destroy(&store);
    /* Nothing but the store and its lock files is left in the target. */
    char listing[512];
    assert_format(listing, sizeof listing, "ls -A '%s' | grep -c restore",
                  target);
    FILE *pipe = popen(listing, "r");
    assert_non_null(pipe);
    int scratch = -1;
    assert_int_equal(fscanf(pipe, "%d", &scratch), 1);
    pclose(pipe);
    assert_int_equal(scratch, 0);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_copy_and_file_info, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_handlers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_restore, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
