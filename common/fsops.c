/*  fsops.c: crash-safe filesystem steps. See fsops.h. */
#include "fsops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dossier_status_t
fsops_make_dirs(const char *path, unsigned mode, dossier_error_t *err) {
    char buffer[FSOPS_PATH_MAX];
    if (snprintf(buffer, sizeof buffer, "%s", path) >= (int)sizeof buffer) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "directory path %.64s... is too long", path);
    }
    for (char *slash = buffer + 1; *slash; slash++) {
        if (*slash == '/') {
            *slash = '\0';
            if (mkdir(buffer, (mode_t)mode) != 0 && errno != EEXIST) {
                return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                         "cannot create %s: %s", buffer,
                                         strerror(errno));
            }
            *slash = '/';
        }
    }
    if (mkdir(buffer, (mode_t)mode) != 0 && errno != EEXIST) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot create %s: %s", buffer,
                                 strerror(errno));
    }
    struct stat st;
    if (stat(buffer, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "%s is not a directory", buffer);
    }
    return DOSSIER_OK;
}

void
fsops_sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

dossier_status_t
fsops_error(dossier_error_t *err, int e, const char *what, const char *path) {
    dossier_status_t code = (e == ENOSPC || e == EDQUOT || e == EFBIG)
                                ? DOSSIER_RESOURCE_EXHAUSTED
                                : DOSSIER_UNAVAILABLE;
    return dossier_error_set(err, code, "%s %s: %s", what, path, strerror(e));
}
