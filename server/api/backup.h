/*  backup.h: hot backups of the store, reading them back, and restore.

    Backup (an admin RPC, on a worker thread so it never stalls the socket
    loop or the writer) writes a consistent, compacted copy of the live
    store (store_copy_to_fd) into the backup directory: config backup_dir,
    else DATA/backups. The copy is written under a hidden temporary name
    (".NAME.tmp-XXXXXX"), fsynced, checked to open as a Dossier store and
    counted, then linked to its final name (never replacing an existing
    file) and the temporary name removed: a half-written backup never has
    a final name. Names are the server's (dossier-YYYYMMDDTHHMMSSZ.mdb, UTC)
    or a plain file name from the client: 1 to 128 bytes of
    [A-Za-z0-9._-], not starting with '.', so a client can never name a
    path outside the backup directory.

    BackupRead hands out a backup file in chunks (at most
    BACKUP_READ_MAX bytes each), so an admin elsewhere can download it.

    dossierd --restore (restore.h) puts a backup back in place. */
#ifndef DOSSIER_SERVER_BACKUP_H
#define DOSSIER_SERVER_BACKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "api/handlers.h"
#include "status.h"
#include "store/store.h"

/* BackupReadRequest.length: 0 means the default; above the maximum is
   INVALID_ARGUMENT. */
#define BACKUP_READ_DEFAULT ((size_t)1 << 20)
#define BACKUP_READ_MAX ((size_t)4 << 20)
#define BACKUP_NAME_MAX 128

/*  Checks a client-given backup name: DOSSIER_OK, or
    DOSSIER_INVALID_ARGUMENT with a sentence naming field and what is
    accepted. name may be NULL (refused). */
dossier_status_t backup_check_name(const char *field, const char *name,
                                   dossier_error_t *err);

/*  Writes into buf (size bytes) the backup directory of config:
    config->backup_dir, else config->data_dir + "/backups". Returns
    DOSSIER_OK or DOSSIER_INVALID_ARGUMENT when it does not fit. */
dossier_status_t backup_dir_path(const config_t *config, char *buf, size_t size,
                                 dossier_error_t *err);

/*  Removes the partial copies that Backups of a killed dossierd left
    in config's backup directory (".NAME.tmp-PID-XXXXXX" whose process
    is gone, or has this process's pid). Called at start, after the pid
    file is held, before any Backup can run. A backup directory belongs
    to one dossierd: a copy written by another one, alive, is kept.
    Returns the number of files removed (0 when the directory does not
    exist), or -1 with *err set when the directory cannot be read. */
int backup_remove_stale(const config_t *config, dossier_error_t *err);

/*  Backup and BackupRead: stage handlers for a worker thread (methods.c).
    The input is a dossier.v1.BackupRequest / BackupReadRequest; the
    payload a BackupResponse / BackupReadResponse. Errors:
    INVALID_ARGUMENT (a bad name or length), ALREADY_EXISTS (a backup of
    that name exists), NOT_FOUND (BackupRead of no such backup),
    OUT_OF_RANGE (offset past the end), RESOURCE_EXHAUSTED (disk full),
    UNAVAILABLE (the directory cannot be written). */
dossier_status_t handle_backup(const handler_env_t *env, job_t *job,
                               dossier_error_t *err);
dossier_status_t handle_backup_read(const handler_env_t *env, job_t *job,
                                    dossier_error_t *err);

#endif
