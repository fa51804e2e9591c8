/*  log.h: the daemon's log: one line per event on stderr.

    Each line is "2026-11-27T20:13:20.123Z LEVEL dossierd: text", written
    with one fprintf so lines from different threads never interleave.
    Only the daemon logs; handlers return errors and the loop decides what
    to log. */
#ifndef DOSSIER_SERVER_LOG_H
#define DOSSIER_SERVER_LOG_H

#include <stdbool.h>

typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
} log_level_t;

/*  Sets the lowest level written (default LOG_LEVEL_INFO). Call before other
    threads start. */
void log_set_level(log_level_t level);

/*  True when a message at level would be written, so a caller can skip
    building an expensive one. */
bool log_enabled(log_level_t level);

/*  Parses "debug", "info", "warn" (or "warning"), "error", any case, into
 *level. Returns true, or false leaving *level as is. */
bool log_level_parse(const char *text, log_level_t *level);

/*  Writes one line at level, printf-style; a trailing newline is added. */
void log_write(log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
