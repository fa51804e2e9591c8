/*  copy.c: backups. store_copy_to_fd writes a consistent, compacted copy
    of the store from a forked child with its own read-only environment,
    so that the copy's long read transaction never holds this process's
    resize_lock; store_file_info looks into one store file (such a copy,
    or a data.mdb) without writing anything next to it. */
#define _GNU_SOURCE /* pipe2 */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/*  The child of store_copy_to_fd: its own environment on dir, read-only,
    one compacting copy to fd. Returns an LMDB or errno code. */
static int
s_copy_child(const char *dir, int fd) {
    MDB_env *env = NULL;
    int rc = mdb_env_create(&env);
    if (rc != 0) {
        return rc;
    }
    mdb_env_set_maxdbs(env, STORE_MAX_DBS);
    rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0);
    /* The parent may grow the map between our open and the copy's
       transaction: adopt the new size and begin again. */
    for (int attempt = 0; rc == 0 && attempt < 8; attempt++) {
        rc = mdb_env_copyfd2(env, fd, MDB_CP_COMPACT);
        if (rc != MDB_MAP_RESIZED) {
            break;
        }
        rc = mdb_env_set_mapsize(env, 0);
        if (rc == 0 && (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)) {
            rc = errno;
        }
    }
    mdb_env_close(env);
    return rc;
}

dossier_status_t
store_copy_to_fd(store_t *self, int fd, dossier_error_t *err) {
    /* The copy's read transaction lives in a child process. In this
       process it would have to hold resize_lock for the whole copy, and a
       write that must grow the map meanwhile would wait for the copy, and
       every reader (the socket loop's Gets too) behind that write. A
       transaction of another process does not keep this one from growing
       its map. The child touches only its own, new environment. */
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot copy the store: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0) {
        int rc = s_copy_child(self->dir, fd);
        ssize_t n = write(status_pipe[1], &rc, sizeof rc);
        _exit(n == (ssize_t)sizeof rc ? 0 : 1);
    }
    close(status_pipe[1]);
    if (pid < 0) {
        int e = errno;
        close(status_pipe[0]);
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot copy the store: fork: %s",
                                 strerror(e));
    }
    int rc = 0;
    ssize_t n;
    do {
        n = read(status_pipe[0], &rc, sizeof rc);
    } while (n < 0 && errno == EINTR);
    close(status_pipe[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    /* A child that died mid-copy leaves its reader slot behind. */
    int dead = 0;
    mdb_reader_check(self->env, &dead);
    /* The result is what the child wrote; its exit status matters only
       when it wrote nothing (a checker such as valgrind may change it). */
    if (n != (ssize_t)sizeof rc) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "the process copying the store ended "
                                 "without a result (status %d)",
                                 wstatus);
    }
    if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "cannot write the copy of the store: %s: "
                                 "free space where backups go",
                                 strerror(rc));
    }
    if (rc != 0) {
        return store_lmdb_error(self, err, rc, "cannot copy the store");
    }
    return DOSSIER_OK;
}

dossier_status_t
store_file_info(const char *path, store_file_info_t *info,
                dossier_error_t *err) {
    memset(info, 0, sizeof *info);
    struct stat st;
    if (stat(path, &st) != 0) {
        return dossier_error_set(
            err, errno == ENOENT ? DOSSIER_NOT_FOUND : DOSSIER_UNAVAILABLE,
            "cannot read %s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                                 "%s is not a regular file", path);
    }
    info->file_bytes = (uint64_t)st.st_size;
    if (st.st_size == 0) {
        return dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                                 "%s is empty, not an LMDB store file", path);
    }
    MDB_env *env = NULL;
    int rc = mdb_env_create(&env);
    if (rc != 0) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "cannot read %s: %s", path, mdb_strerror(rc));
    }
    mdb_env_set_maxdbs(env, STORE_MAX_DBS);
    /* One file, no lock file, read-only: nothing is written next to it. */
    rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0);
    dossier_status_t status = DOSSIER_OK;
    MDB_txn *txn = NULL;
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == EINVAL) {
        status = dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                                   "%s is not an LMDB store file (%s)", path,
                                   mdb_strerror(rc));
        goto close_env;
    }
    if (rc != 0) {
        status =
            dossier_error_set(err, DOSSIER_UNAVAILABLE, "cannot open %s: %s",
                              path, mdb_strerror(rc));
        goto close_env;
    }
    /* LMDB maps the file and trusts its meta page: a file cut short
       (a partial copy) would fault (SIGBUS) on its first page past the
       end. Its meta page says where the last page ends. */
    MDB_envinfo env_info;
    MDB_stat env_stat;
    if (mdb_env_info(env, &env_info) == 0 &&
        mdb_env_stat(env, &env_stat) == 0) {
        uint64_t needed =
            ((uint64_t)env_info.me_last_pgno + 1) * env_stat.ms_psize;
        if (needed > info->file_bytes) {
            status = dossier_error_set(
                err, DOSSIER_DATA_LOSS,
                "%s is cut short: %llu bytes, where its last page ends at "
                "%llu",
                path, (unsigned long long)info->file_bytes,
                (unsigned long long)needed);
            goto close_env;
        }
    }
    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    MDB_dbi meta, records;
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "meta", 0, &meta);
    }
    MDB_val k = {strlen(STORE_SCHEMA_KEY), STORE_SCHEMA_KEY}, v = {0, NULL};
    if (rc == 0) {
        rc = mdb_get(txn, meta, &k, &v);
    }
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        status = dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                                   "%s is an LMDB file but not a Dossier "
                                   "store (no schema version)",
                                   path);
        goto abort_txn;
    }
    if (rc != 0) {
        status = dossier_error_set(err, DOSSIER_DATA_LOSS, "cannot read %s: %s",
                                   path, mdb_strerror(rc));
        goto abort_txn;
    }
    unsigned version = 0;
    const char *p = v.mv_data;
    bool ok = v.mv_size > 0 && v.mv_size <= 9;
    for (size_t i = 0; ok && i < v.mv_size; i++) {
        ok = p[i] >= '0' && p[i] <= '9';
        version = version * 10 + (unsigned)(p[i] - '0');
    }
    if (!ok || version == 0) {
        status = dossier_error_set(err, DOSSIER_DATA_LOSS,
                                   "%s has an unreadable schema version", path);
        goto abort_txn;
    }
    info->schema_version = version;
    if (version > STORE_SCHEMA_VERSION) {
        status = dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                                   "%s has schema version %u; this dossierd "
                                   "supports up to %d: use a newer dossierd",
                                   path, version, STORE_SCHEMA_VERSION);
        goto abort_txn;
    }
    MDB_stat ms;
    rc = mdb_dbi_open(txn, "records", 0, &records);
    if (rc == 0) {
        rc = mdb_stat(txn, records, &ms);
    }
    if (rc == MDB_NOTFOUND) {
        ms.ms_entries = 0; /* a store that never held a record */
    } else if (rc != 0) {
        status = dossier_error_set(err, DOSSIER_DATA_LOSS,
                                   "cannot count the records of %s: %s", path,
                                   mdb_strerror(rc));
        goto abort_txn;
    }
    info->records = ms.ms_entries;
abort_txn:
    if (txn) {
        mdb_txn_abort(txn);
    }
close_env:
    mdb_env_close(env);
    return status;
}
