/*  fsops.h: filesystem steps done so that they survive a crash: create a
    directory path, make a rename or link in a directory durable, and
    turn an errno into the status a client can act on. The server uses
    them on its data, backup and restore directories; the CLI on the
    directory it writes keys into. */
#ifndef DOSSIER_FSOPS_H
#define DOSSIER_FSOPS_H

#include "status.h"

/*  Longest path the server builds. */
#define FSOPS_PATH_MAX 4096

/*  Creates path and its missing parents (mkdir -p) with mode. Returns
    DOSSIER_OK when path is, at the end, a directory;
    DOSSIER_INVALID_ARGUMENT when it is too long; DOSSIER_UNAVAILABLE
    (err names the part) when a part cannot be created or path is not a
    directory. */
dossier_status_t fsops_make_dirs(const char *path, unsigned mode,
                                 dossier_error_t *err);

/*  fsyncs directory dir, so that a file created, renamed or linked in it
    survives a crash. Best effort: a directory that cannot be opened is
    left as is. */
void fsops_sync_dir(const char *dir);

/*  Records in err "WHAT PATH: strerror(e)" with the status a full disk
    deserves (ENOSPC, EDQUOT, EFBIG: DOSSIER_RESOURCE_EXHAUSTED) or else
    DOSSIER_UNAVAILABLE, and returns that status. */
dossier_status_t fsops_error(dossier_error_t *err, int e, const char *what,
                             const char *path);

#endif
