/*  restore.c: dossierd --restore. See restore.h. */
#define _GNU_SOURCE /* mkdtemp */
#include "store/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsops.h"
#include "pidfile.h"

#define S_COPY_CHUNK ((size_t)1 << 20)

/* ---- Restore ---- */

/*  Copies file to path (created, must not exist) and fsyncs it. */
static dossier_status_t
s_copy_file(const char *file, const char *path, dossier_error_t *err) {
    int in = open(file, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        return fsops_error(err, errno, "cannot read", file);
    }
    int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0) {
        dossier_status_t rc = fsops_error(err, errno, "cannot create", path);
        close(in);
        return rc;
    }
    dossier_status_t rc = DOSSIER_OK;
    char *buf = malloc(S_COPY_CHUNK);
    if (!buf) {
        rc =
            dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
    }
    while (rc == DOSSIER_OK) {
        ssize_t n = read(in, buf, S_COPY_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = fsops_error(err, errno, "cannot read", file);
            break;
        }
        if (n == 0) {
            break;
        }
        for (ssize_t done = 0; done < n && rc == DOSSIER_OK;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w < 0) {
                rc = fsops_error(err, errno, "cannot write", path);
                break;
            }
            done += w;
        }
    }
    free(buf);
    if (rc == DOSSIER_OK && fsync(out) != 0) {
        rc = fsops_error(err, errno, "cannot flush", path);
    }
    if (close(out) != 0 && rc == DOSSIER_OK) {
        rc = fsops_error(err, errno, "cannot write", path);
    }
    close(in);
    return rc;
}

/*  Removes what store_open and s_copy_file leave in the scratch dir. */
static void
s_remove_scratch(const char *scratch) {
    static const char *const files[] = {"data.mdb", "lock.mdb",
                                        "dossierd.lock"};
    char path[FSOPS_PATH_MAX + 32];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", scratch, files[i]);
        unlink(path);
    }
    rmdir(scratch);
}

/*  Opens the store in scratch and checks it. */
static dossier_status_t
s_check_scratch(const char *scratch, dossier_error_t *err) {
    store_t *store = NULL;
    dossier_error_t open_err = {0};
    dossier_status_t rc = store_open(scratch, NULL, &store, &open_err);
    if (rc != DOSSIER_OK) {
        return dossier_error_set(err, rc,
                                 "the backup does not open as a "
                                 "store: %s",
                                 open_err.message);
    }
    uint64_t problems = 0;
    dossier_error_t check_err = {0};
    rc = store_check(store, &problems, &check_err);
    store_destroy(&store);
    if (rc != DOSSIER_OK) {
        return dossier_error_set(err, rc,
                                 "store_check found %llu problem(s) in the "
                                 "backup, first: %s",
                                 (unsigned long long)problems,
                                 check_err.message);
    }
    return DOSSIER_OK;
}

/*  s_check_scratch in a child process. LMDB trusts its pages (they carry
    no checksum), so a backup damaged in the middle can make the check
    read wild pointers and fault: in a child, that is a refusal with a
    message, and the restore cleans up as for any other. */
static dossier_status_t
s_check_scratch_isolated(const char *scratch, dossier_error_t *err) {
    int pipes[2];
    if (pipe(pipes) != 0) {
        return fsops_error(err, errno, "cannot check the backup in", scratch);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pipes[0]);
        close(pipes[1]);
        return fsops_error(err, errno, "cannot check the backup in", scratch);
    }
    if (pid == 0) {
        close(pipes[0]);
        dossier_error_t child_err = {0};
        int32_t code = s_check_scratch(scratch, &child_err);
        bool sent =
            write(pipes[1], &code, sizeof code) == (ssize_t)sizeof code &&
            write(pipes[1], child_err.message, sizeof child_err.message) ==
                (ssize_t)sizeof child_err.message;
        _exit(sent ? 0 : 1);
    }
    close(pipes[1]);
    int32_t code = DOSSIER_INTERNAL;
    char message[sizeof err->message] = "";
    bool got =
        read(pipes[0], &code, sizeof code) == (ssize_t)sizeof code &&
        read(pipes[0], message, sizeof message) == (ssize_t)sizeof message;
    close(pipes[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        return dossier_error_set(err, DOSSIER_DATA_LOSS,
                                 "the backup is damaged: checking it "
                                 "crashed (%s)",
                                 strsignal(WTERMSIG(status)));
    }
    if (!got) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "the check of the backup said nothing");
    }
    message[sizeof message - 1] = '\0';
    if (code != DOSSIER_OK) {
        return dossier_error_set(err, (dossier_status_t)code, "%s", message);
    }
    return DOSSIER_OK;
}

dossier_status_t
backup_restore(const char *file, const char *data_dir, bool force,
               store_file_info_t *info, dossier_error_t *err) {
    store_file_info_t source;
    dossier_status_t rc = store_file_info(file, &source, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    if (strlen(data_dir) > FSOPS_PATH_MAX - 64) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "data directory path is too long");
    }
    rc = fsops_make_dirs(data_dir, 0750, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    /* The pid file lock: no dossierd serves data_dir while we replace its
       store, and none can start until we are done. */
    pidfile_t *pidfile = NULL;
    rc = pidfile_acquire(data_dir, &pidfile, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    char target[FSOPS_PATH_MAX];
    snprintf(target, sizeof target, "%s/data.mdb", data_dir);
    struct stat st;
    if (!force && lstat(target, &st) == 0) {
        rc = dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                               "%s already holds a store (%s): restore into "
                               "an empty directory, or give --force to "
                               "replace it",
                               data_dir, target);
        goto release;
    }
    char scratch[FSOPS_PATH_MAX];
    snprintf(scratch, sizeof scratch, "%s/.restore-XXXXXX", data_dir);
    if (!mkdtemp(scratch)) {
        rc = fsops_error(err, errno, "cannot create a directory in", data_dir);
        goto release;
    }
    char copy[FSOPS_PATH_MAX + 32];
    snprintf(copy, sizeof copy, "%s/data.mdb", scratch);
    rc = s_copy_file(file, copy, err);
    if (rc == DOSSIER_OK) {
        rc = s_check_scratch_isolated(scratch, err);
    }
    if (rc == DOSSIER_OK && rename(copy, target) != 0) {
        rc = fsops_error(err, errno, "cannot move the restored store to",
                         target);
    }
    if (rc == DOSSIER_OK) {
        /* The old store's reader table describes nothing now. */
        char lock[FSOPS_PATH_MAX];
        snprintf(lock, sizeof lock, "%s/lock.mdb", data_dir);
        unlink(lock);
        fsops_sync_dir(data_dir);
    }
    s_remove_scratch(scratch);
    if (rc == DOSSIER_OK && info) {
        *info = source;
    }
release:
    pidfile_remove(&pidfile);
    return rc;
}
