/*  restore.h: dossierd --restore FILE --data DIR [--force].

    Puts a backup (a store file written by Backup, see backup.h) in place
    as DIR/data.mdb, checked before it replaces anything; then the
    operator starts dossierd on DIR as usual. */
#ifndef DOSSIER_SERVER_RESTORE_H
#define DOSSIER_SERVER_RESTORE_H

#include <stdbool.h>

#include "status.h"
#include "store/store.h"

/*  Restores file (a backup) as the store of data_dir (created if
    missing), for `dossierd --restore FILE --data DIR`. Refuses, leaving
    data_dir as it was: when file is not a Dossier store, or of a newer
    schema (FAILED_PRECONDITION); when data_dir already holds a store
    (DIR/data.mdb) and force is false (FAILED_PRECONDITION); when a
    dossierd serves data_dir (FAILED_PRECONDITION, from its pid file).
    Otherwise copies file into a temporary directory inside data_dir,
    opens it there and runs store_check (DATA_LOSS if it finds problems),
    then renames it to DIR/data.mdb. On success *info (may be NULL)
    describes the restored store (records, schema version, bytes). No
    dossierd may be started on data_dir while this runs. */
dossier_status_t backup_restore(const char *file, const char *data_dir,
                                bool force, store_file_info_t *info,
                                dossier_error_t *err);

#endif
