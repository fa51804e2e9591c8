/*  confcheck.h: the layout checks of a zconfig file (the config files of
    dossierd and of the `dossier` CLI), made before czmq parses it, so a
    person is told the line and what is wrong with its indentation in our
    words, rather than czmq's log line ("E (zconfig): (2) indent 4 spaces
    at once") followed by a vague refusal. */
#ifndef DOSSIER_CONFCHECK_H
#define DOSSIER_CONFCHECK_H

#include <stddef.h>

/*  Checks the indentation of size bytes of text, a zconfig file: every
    line that is neither blank nor a comment is indented by spaces only,
    4 per level, and at most one level deeper than the line before.
    Returns 0 when it is, else the number (from 1) of the first line that
    is not, with why (why_size bytes, NUL-terminated) saying what is
    wrong and what is wanted. */
size_t confcheck_indent(const char *text, size_t size, char *why,
                        size_t why_size);

/* The largest config file confcheck_read reads. */
#define CONFCHECK_MAX_FILE (1u << 20)

/*  Reads the file at path whole, for confcheck_indent and czmq's
    zconfig_str_load (zconfig_load itself leaks on a file it cannot
    parse). Returns a malloc'd NUL-terminated copy (the caller frees),
    or NULL with *why a sentence saying why (static storage: strerror's,
    or a file larger than CONFCHECK_MAX_FILE). */
char *confcheck_read(const char *path, const char **why);

/* What confcheck_mute saved: descriptors 1 and 2 (-1: left alone). */
typedef struct {
    int out;
    int err;
} confcheck_mute_t;

/*  Points descriptors 1 and 2 at /dev/null until confcheck_unmute, for a
    call that prints what our own message will say better: czmq's zconfig
    reader writes its parse errors straight to stdout (zclock_log, not
    zsys's log stream, which zsys_set_logstream would silence). Only for
    a single-threaded moment (loading a config file): another thread's
    output would be lost too. */
void confcheck_mute(confcheck_mute_t *saved);

/*  Undoes confcheck_mute. */
void confcheck_unmute(confcheck_mute_t *saved);

#endif
