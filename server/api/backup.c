/*  backup.c: Backup, BackupRead and dossierd --restore. See backup.h. */
#define _GNU_SOURCE /* mkostemp */
#include "api/backup.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsops.h"
#include "text.h"
#include "dossier/v1/reports.pb-c.h"

#define S_NAME_TRIES 100

/* ---- Names and directories ---- */

dossier_status_t
backup_check_name(const char *field, const char *name, dossier_error_t *err) {
    size_t size = name ? strlen(name) : 0;
    if (size == 0 || size > BACKUP_NAME_MAX) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s must be a file name of 1 to %d bytes",
                                 field, BACKUP_NAME_MAX);
    }
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            /* The plain part before it echoed, the character named: the
               reply stays valid UTF-8 whatever the request held. */
            char what[16];
            text_describe_char(name + i, size - i, what);
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "%s \"%.*s\" has %s at position %zu: a "
                                     "backup name is a plain file name of "
                                     "the letters A-Z a-z, the digits 0-9 "
                                     "and . _ -, without '/' or a path",
                                     field, (int)i, name, what, i + 1);
        }
    }
    /* Only now is the name known to be plain ASCII, fit to echo. */
    if (name[0] == '.') {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s '%.*s' starts with '.': a backup name is "
                                 "a plain file name in the backup directory",
                                 field, (int)size, name);
    }
    return DOSSIER_OK;
}

dossier_status_t
backup_dir_path(const config_t *config, char *buf, size_t size,
                dossier_error_t *err) {
    int n = config->backup_dir
                ? snprintf(buf, size, "%s", config->backup_dir)
                : snprintf(buf, size, "%s/backups", config->data_dir);
    if (n < 0 || (size_t)n >= size) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "the backup directory path is too long");
    }
    return DOSSIER_OK;
}

/* ---- Backup ---- */

/* A copy being written is ".NAME.tmp-PID-XXXXXX" in the backup directory. */
#define S_TMP_MARK ".tmp-"

/*  The pid in a copy's file name, or 0 if the name is not one of ours. */
static long
s_tmp_owner(const char *file) {
    if (file[0] != '.') {
        return 0;
    }
    const char *mark = strstr(file, S_TMP_MARK);
    if (mark == NULL) {
        return 0;
    }
    const char *digits = mark + strlen(S_TMP_MARK);
    char *end = NULL;
    errno = 0;
    long pid = strtol(digits, &end, 10);
    if (errno != 0 || end == digits || pid <= 0 || *end != '-' ||
        strlen(end + 1) != 6) {
        return 0;
    }
    return pid;
}

int
backup_remove_stale(const config_t *config, dossier_error_t *err) {
    char dir[FSOPS_PATH_MAX];
    if (backup_dir_path(config, dir, sizeof dir, err) != DOSSIER_OK) {
        return -1;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT) {
            return 0; /* no backup made yet */
        }
        fsops_error(err, errno, "cannot read the backup directory", dir);
        return -1;
    }
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = s_tmp_owner(e->d_name);
        /* Its writer is gone, or is this process's pid reused (pid 1 in a
           container, every start): this server has begun no backup yet. */
        bool orphan = pid > 0 && (pid == (long)getpid() ||
                                  (kill((pid_t)pid, 0) != 0 && errno == ESRCH));
        if (orphan && unlinkat(dirfd(d), e->d_name, 0) == 0) {
            removed++;
        }
    }
    closedir(d);
    return removed;
}

/*  Links tmp to dir/name without replacing anything. With pick set, the
    name is the server's and "-2", "-3"... are tried before ".mdb" when it
    is taken (two backups in one second). Fills final (FSOPS_PATH_MAX). */
static dossier_status_t
s_publish(const char *tmp, const char *dir, char *name, size_t name_size,
          bool pick, char *final, dossier_error_t *err) {
    char base[BACKUP_NAME_MAX + 1];
    snprintf(base, sizeof base, "%s", name);
    for (int attempt = 1; attempt <= S_NAME_TRIES; attempt++) {
        if (attempt > 1) {
            size_t n = strlen(base);
            /* base ends in ".mdb" when the server picked it. */
            snprintf(name, name_size, "%.*s-%d.mdb", (int)(n - 4), base,
                     attempt);
        }
        snprintf(final, FSOPS_PATH_MAX, "%s/%s", dir, name);
        if (link(tmp, final) == 0) {
            return DOSSIER_OK;
        }
        if (errno != EEXIST) {
            return fsops_error(err, errno, "cannot name the backup", final);
        }
        if (!pick) {
            return dossier_error_set(err, DOSSIER_ALREADY_EXISTS,
                                     "a backup named %s exists already in "
                                     "%s: give another name or remove it",
                                     name, dir);
        }
    }
    return dossier_error_set(err, DOSSIER_ALREADY_EXISTS,
                             "too many backups named %s in %s", base, dir);
}

dossier_status_t
handle_backup(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    const Dossier__V1__BackupRequest *request = (void *)job->input;
    int64_t started = job_now_ms();
    char name[BACKUP_NAME_MAX + 1];
    bool pick = !request->name || !request->name[0];
    if (pick) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(name, sizeof name, "dossier-%Y%m%dT%H%M%SZ.mdb", &tm);
    } else {
        dossier_status_t rc =
            backup_check_name("the backup name", request->name, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
        snprintf(name, sizeof name, "%s", request->name);
    }
    char dir[FSOPS_PATH_MAX - BACKUP_NAME_MAX - 32];
    dossier_status_t rc = backup_dir_path(env->config, dir, sizeof dir, err);
    if (rc == DOSSIER_OK) {
        rc = fsops_make_dirs(dir, 0750, err);
    }
    if (rc != DOSSIER_OK) {
        return rc;
    }
    /* The pid in the name lets a later start tell a copy left by a killed
       server (backup_remove_stale) from one in progress. */
    char tmp[FSOPS_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.%s" S_TMP_MARK "%ld-XXXXXX", dir, name,
             (long)getpid());
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        return fsops_error(err, errno, "cannot create a backup file in", dir);
    }
    rc = store_copy_to_fd(env->store, fd, err);
    if (rc == DOSSIER_OK && fsync(fd) != 0) {
        rc = fsops_error(err, errno, "cannot flush the backup", tmp);
    }
    if (close(fd) != 0 && rc == DOSSIER_OK) {
        rc = fsops_error(err, errno, "cannot write the backup", tmp);
    }
    /* The copy must open as a Dossier store before it gets its name. */
    store_file_info_t info;
    if (rc == DOSSIER_OK) {
        dossier_error_t info_err = {0};
        if (store_file_info(tmp, &info, &info_err) != DOSSIER_OK) {
            rc = dossier_error_set(err, DOSSIER_INTERNAL,
                                   "the copy does not read back as a "
                                   "store: %s",
                                   info_err.message);
        }
    }
    char final[FSOPS_PATH_MAX];
    if (rc == DOSSIER_OK) {
        rc = s_publish(tmp, dir, name, sizeof name, pick, final, err);
    }
    unlink(tmp);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    fsops_sync_dir(dir);

    Dossier__V1__BackupResponse response = DOSSIER__V1__BACKUP_RESPONSE__INIT;
    response.path = final;
    response.name = name;
    response.size_bytes = info.file_bytes;
    response.records = info.records;
    int64_t took = job_now_ms() - started;
    response.duration_ms = took > 0 ? (uint64_t)took : 0;
    return job_set_payload(job, &response.base, err);
}

/* ---- BackupRead ---- */

dossier_status_t
handle_backup_read(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    const Dossier__V1__BackupReadRequest *request = (void *)job->input;
    dossier_status_t rc =
        backup_check_name("the backup name", request->name, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    size_t length = request->length ? request->length : BACKUP_READ_DEFAULT;
    if (length > BACKUP_READ_MAX) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "BackupReadRequest.length %u is more than "
                                 "%zu bytes",
                                 request->length, BACKUP_READ_MAX);
    }
    char dir[FSOPS_PATH_MAX - BACKUP_NAME_MAX - 32];
    rc = backup_dir_path(env->config, dir, sizeof dir, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    char path[FSOPS_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, request->name);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return dossier_error_set(err, DOSSIER_NOT_FOUND,
                                     "no backup named %s in %s", request->name,
                                     dir);
        }
        return fsops_error(err, errno, "cannot read the backup", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dossier_error_set(err, DOSSIER_NOT_FOUND,
                                 "%s in %s is not a backup file", request->name,
                                 dir);
    }
    uint64_t total = (uint64_t)st.st_size;
    if (request->offset > total) {
        close(fd);
        return dossier_error_set(err, DOSSIER_OUT_OF_RANGE,
                                 "BackupReadRequest.offset %llu is past the "
                                 "end of %s (%llu bytes)",
                                 (unsigned long long)request->offset,
                                 request->name, (unsigned long long)total);
    }
    if (length > total - request->offset) {
        length = (size_t)(total - request->offset);
    }
    uint8_t *data = malloc(length ? length : 1);
    if (!data) {
        close(fd);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    size_t got = 0;
    while (got < length) {
        ssize_t n =
            pread(fd, data + got, length - got, (off_t)(request->offset + got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break; /* shrank meanwhile: send what there is */
        }
        got += (size_t)n;
    }
    close(fd);
    Dossier__V1__BackupReadResponse response =
        DOSSIER__V1__BACKUP_READ_RESPONSE__INIT;
    response.data.data = data;
    response.data.len = got;
    response.total_size = total;
    response.eof = request->offset + got >= total;
    rc = job_set_payload(job, &response.base, err);
    free(data);
    return rc;
}
