/*  log.c: stderr lines with an ISO 8601 UTC timestamp and a level.

    The line is formatted into one buffer and written with one fputs, so
    concurrent threads produce whole lines. */
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "log.h"

static log_level_t s_level = LOG_LEVEL_INFO;

static const char *const s_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void
log_set_level(log_level_t level) {
    s_level = level;
}

bool
log_enabled(log_level_t level) {
    return level >= s_level;
}

bool
log_level_parse(const char *text, log_level_t *level) {
    static const struct {
        const char *name;
        log_level_t level;
    } names[] = {{"debug", LOG_LEVEL_DEBUG},
                 {"info", LOG_LEVEL_INFO},
                 {"warn", LOG_LEVEL_WARN},
                 {"warning", LOG_LEVEL_WARN},
                 {"error", LOG_LEVEL_ERROR}};
    for (size_t i = 0; text && i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(text, names[i].name) == 0) {
            *level = names[i].level;
            return true;
        }
    }
    return false;
}

void
log_write(log_level_t level, const char *fmt, ...) {
    if (level < s_level || level > LOG_LEVEL_ERROR) {
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);

    char line[2048];
    int used = snprintf(
        line, sizeof line,
        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s dossierd: ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        now.tv_nsec / 1000000L, s_names[level]);
    if (used < 0 || (size_t)used >= sizeof line) {
        used = 0;
    }
    va_list args;
    va_start(args, fmt);
    vsnprintf(line + used, sizeof line - (size_t)used - 1, fmt, args);
    va_end(args);
    size_t len = 0;
    while (line[len]) {
        len++;
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}
