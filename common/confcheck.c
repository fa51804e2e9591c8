/*  confcheck.c: see confcheck.h. The rules are czmq's zconfig reader's
    (s_collect_level in zconfig.c): a level is 4 spaces, a line may open
    at most one level below the one before it. */
#include "confcheck.h"

#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t
confcheck_indent(const char *text, size_t size, char *why, size_t why_size) {
    size_t line = 0;
    size_t level = 0; /* of the last line that holds something */
    size_t i = 0;
    while (i < size) {
        line++;
        size_t spaces = 0;
        while (i < size && text[i] == ' ') {
            spaces++;
            i++;
        }
        char first = i < size ? text[i] : '\n';
        /* Skip to the next line before judging this one. */
        size_t end = i;
        while (end < size && text[end] != '\n') {
            end++;
        }
        bool blank = true;
        for (size_t k = i; k < end; k++) {
            if (text[k] != ' ' && text[k] != '\t' && text[k] != '\r') {
                blank = false;
                break;
            }
        }
        i = end + 1;
        if (blank || first == '#') {
            continue;
        }
        if (first == '\t') {
            snprintf(why, why_size,
                     "a tab in its indentation; indent with spaces, 4 per "
                     "level");
            return line;
        }
        if (spaces % 4 != 0) {
            snprintf(why, why_size,
                     "it is indented by %zu space%s; indent by 4 per level "
                     "(a section at 0, its keys at 4)",
                     spaces, spaces == 1 ? "" : "s");
            return line;
        }
        if (spaces / 4 > level + 1) {
            snprintf(why, why_size,
                     "it is indented by %zu spaces, more than one level (4 "
                     "spaces) below the line before it",
                     spaces);
            return line;
        }
        level = spaces / 4;
    }
    return 0;
}

char *
confcheck_read(const char *path, const char **why) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *why = strerror(errno);
        return NULL;
    }
    char *text = malloc(CONFCHECK_MAX_FILE + 1);
    size_t n = text ? fread(text, 1, CONFCHECK_MAX_FILE + 1, f) : 0;
    bool failed = text == NULL || ferror(f);
    fclose(f);
    if (failed) {
        *why = text ? "cannot be read" : "out of memory";
        free(text);
        return NULL;
    }
    if (n > CONFCHECK_MAX_FILE) {
        *why = "larger than 1 MiB";
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

static int
s_mute_fd(int fd) {
    int saved = dup(fd);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved < 0 || null < 0 || dup2(null, fd) < 0) {
        if (saved >= 0) {
            close(saved);
        }
        saved = -1;
    }
    if (null >= 0) {
        close(null);
    }
    return saved;
}

static void
s_unmute_fd(int fd, int saved) {
    if (saved >= 0) {
        dup2(saved, fd);
        close(saved);
    }
}

void
confcheck_mute(confcheck_mute_t *saved) {
    fflush(stdout);
    fflush(stderr);
    saved->out = s_mute_fd(STDOUT_FILENO);
    saved->err = s_mute_fd(STDERR_FILENO);
}

void
confcheck_unmute(confcheck_mute_t *saved) {
    fflush(stdout);
    fflush(stderr);
    s_unmute_fd(STDOUT_FILENO, saved->out);
    s_unmute_fd(STDERR_FILENO, saved->err);
    saved->out = saved->err = -1;
}
