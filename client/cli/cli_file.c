/*  cli_file.c: a whole file (or stdin) read into memory, for import,
    put and edit, in as few system calls as a regular file allows. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Refworld pages are tens of KiB; anything this big is not one. */
#define S_MAX_FILE_BYTES (32u * 1024 * 1024)
/* The first read of a file whose size is not known (a pipe, stdin). */
#define S_READ_CHUNK (64u * 1024)

static void
s_close(int fd, bool is_stdin) {
    if (!is_stdin) {
        close(fd); /* read only: nothing is lost if it fails */
    }
}

/* Four system calls for a regular file: open, fstat, one read of
   st_size + 1 bytes whose short count proves the end, close. A file that
   grew since fstat, a pipe, stdin or a /proc-like file that says 0 bytes
   is read on, into a buffer that doubles, until read says the end. */
int
cli_read_file(const char *path, char **data_p, size_t *size_p,
              const char **why) {
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = STDIN_FILENO;
    if (!is_stdin) {
        do {
            fd = open(path, O_RDONLY | O_CLOEXEC);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            *why = strerror(errno);
            return -1;
        }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *why = strerror(errno);
        s_close(fd, is_stdin);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        *why = strerror(EISDIR);
        s_close(fd, is_stdin);
        return -1;
    }
    /* Only a regular file's size is worth believing; a short read of one
       is its end, not of a pipe or of a file that says it is empty. */
    bool sized = S_ISREG(st.st_mode) && st.st_size > 0;
    if (sized && (uintmax_t)st.st_size >= S_MAX_FILE_BYTES) {
        *why = "larger than 32 MiB: not a Refworld document";
        s_close(fd, is_stdin);
        return -1;
    }
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : S_READ_CHUNK;
    size_t size = 0;
    char *data = malloc(cap);
    if (data == NULL) {
        s_close(fd, is_stdin);
        *why = "out of memory";
        return -1;
    }
    /* size < cap on every read, so the NUL always has its byte. */
    for (;;) {
        if (size == cap) {
            if (size >= S_MAX_FILE_BYTES) {
                free(data);
                s_close(fd, is_stdin);
                *why = "larger than 32 MiB: not a Refworld document";
                return -1;
            }
            size_t more = cap * 2 < S_READ_CHUNK ? S_READ_CHUNK : cap * 2;
            if (more > S_MAX_FILE_BYTES) {
                more = S_MAX_FILE_BYTES;
            }
            char *bigger = realloc(data, more);
            if (bigger == NULL) {
                free(data);
                s_close(fd, is_stdin);
                *why = "out of memory";
                return -1;
            }
            data = bigger;
            cap = more;
        }
        ssize_t got = read(fd, data + size, cap - size);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            *why = strerror(errno);
            free(data);
            s_close(fd, is_stdin);
            return -1;
        }
        if (got == 0) {
            break;
        }
        size += (size_t)got;
        if (sized && size < cap) {
            break;
        }
    }
    s_close(fd, is_stdin);
    data[size] = '\0';
    *data_p = data;
    *size_p = size;
    return 0;
}
