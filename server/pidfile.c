/*  pidfile.c: see pidfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "pidfile.h"

struct pidfile_t {
    char path[4096];
    int fd;
};

/*  The pid named in the file, or 0. */
static long
s_read_pid(int fd) {
    char text[64] = {0};
    ssize_t size = pread(fd, text, sizeof text - 1, 0);
    if (size <= 0) {
        return 0;
    }
    char *end;
    long pid = strtol(text, &end, 10);
    return end != text && *end == '\n' && pid > 0 ? pid : 0;
}

/*  True when pid is a live process called dossierd: a stale file whose
    pid was reused by an unrelated process must not block a start. */
static bool
s_is_live_dossierd(long pid) {
    if (pid <= 0 || pid == (long)getpid() ||
        (kill((pid_t)pid, 0) != 0 && errno != EPERM)) {
        return false;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *file = fopen(path, "r");
    if (!file) {
        return true; /* alive, and we cannot tell what it is */
    }
    char name[64] = {0};
    bool same =
        fgets(name, sizeof name, file) && strncmp(name, "dossierd", 8) == 0;
    fclose(file);
    return same;
}

dossier_status_t
pidfile_acquire(const char *dir, pidfile_t **self_p, dossier_error_t *err) {
    pidfile_t *self = calloc(1, sizeof *self);
    if (!self) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    snprintf(self->path, sizeof self->path, "%s/%s", dir, PIDFILE_NAME);
    dossier_status_t rc;
    self->fd = open(self->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->fd < 0) {
        rc = dossier_error_set(err, DOSSIER_UNAVAILABLE, "cannot open %s: %s",
                               self->path, strerror(errno));
        goto cleanup_self;
    }
    if (flock(self->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            rc = dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                   "cannot lock %s: %s", self->path,
                                   strerror(errno));
            goto cleanup_fd;
        }
        long pid = s_read_pid(self->fd);
        rc = dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                               "data directory %s is in use by another "
                               "dossierd (pid %ld, see %s); stop it first",
                               dir, pid, self->path);
        goto cleanup_fd;
    }
    long pid = s_read_pid(self->fd);
    if (s_is_live_dossierd(pid)) {
        rc = dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                               "data directory %s is in use by dossierd pid "
                               "%ld (%s names it and it is running); stop it "
                               "first",
                               dir, pid, self->path);
        goto cleanup_fd;
    }
    if (ftruncate(self->fd, 0) != 0) {
        rc = dossier_error_set(err, DOSSIER_UNAVAILABLE,
                               "cannot truncate %s: %s", self->path,
                               strerror(errno));
        goto cleanup_fd;
    }
    *self_p = self;
    return DOSSIER_OK;
cleanup_fd:
    close(self->fd);
cleanup_self:
    free(self);
    return rc;
}

dossier_status_t
pidfile_write(pidfile_t *self, const char *endpoint, dossier_error_t *err) {
    char text[512];
    int size =
        snprintf(text, sizeof text, "%ld\n%s\n", (long)getpid(), endpoint);
    if (size < 0 || (size_t)size >= sizeof text) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "endpoint too long for the pid file");
    }
    if (ftruncate(self->fd, 0) != 0 ||
        pwrite(self->fd, text, (size_t)size, 0) != (ssize_t)size) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot write %s: %s", self->path,
                                 strerror(errno));
    }
    return DOSSIER_OK;
}

void
pidfile_remove(pidfile_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    pidfile_t *self = *self_p;
    unlink(self->path);
    close(self->fd);
    free(self);
    *self_p = NULL;
}
