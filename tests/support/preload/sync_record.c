/*  sync_record.c: an LD_PRELOAD shim for dossierd in tests: it records,
    in the order they happen, every flush to disk (fsync, fdatasync,
    msync, sync_file_range) and every send() of the process (ZeroMQ
    sends the replies with send()), and it can hold flushes while a test
    arranges work behind them.

    Environment:
      DOSSIER_SYNC_LOG   a file that gets one line per call: "sync NAME
                         RC" once a flush has returned, "send BYTES"
                         before a send starts (its peer may act on the
                         bytes at once), appended with O_APPEND so that
                         the lines of all threads keep the calls' order.
      DOSSIER_SYNC_HOLD  a path: while a file is there, every flush waits
                         (polling every millisecond, at most 60 s) before
                         it runs, and creates PATH.held meanwhile so that
                         the test knows a flush is waiting: a commit held
                         after its write began, by the test's own hand.

    Why a shim: kill -9 keeps the page cache, so a crash test passes
    without any flush at all; what proves durability is that the flush
    comes before the reply (tests/integration/test_durability.c). It is a
    MODULE of its own, outside dossier_testsupport, and never linked into
    a program. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static int s_log_fd = -1;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_open_log(void) {
    const char *path = getenv("DOSSIER_SYNC_LOG");
    if (path && *path) {
        s_log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }
}

/*  One line, in one write (O_APPEND keeps lines whole and in order). */
static void
s_note(const char *what, long value) {
    pthread_once(&s_once, s_open_log);
    if (s_log_fd < 0) {
        return;
    }
    char line[64];
    int n = snprintf(line, sizeof line, "%s %ld\n", what, value);
    if (n > 0 && write(s_log_fd, line, (size_t)n) < 0) {
        /* Nothing to do: the test then finds a line missing. */
    }
}

/*  Waits while DOSSIER_SYNC_HOLD names an existing file. */
static void
s_hold(void) {
    const char *path = getenv("DOSSIER_SYNC_HOLD");
    if (!path || !*path || access(path, F_OK) != 0) {
        return;
    }
    char held[4096];
    snprintf(held, sizeof held, "%s.held", path);
    int fd = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
    }
    struct timespec ms = {0, 1000000L};
    for (int i = 0; i < 60000 && access(path, F_OK) == 0; i++) {
        nanosleep(&ms, NULL);
    }
    unlink(held);
}

/* The next definition of name (libc's), looked up once (copied, since
   ISO C has no cast from dlsym's object pointer to a function pointer). */
#define S_NEXT(type, name, ...)                                                \
    static type (*next)(__VA_ARGS__);                                          \
    if (!next) {                                                               \
        void *symbol = dlsym(RTLD_NEXT, name);                                 \
        if (!symbol) {                                                         \
            errno = ENOSYS;                                                    \
            return -1;                                                         \
        }                                                                      \
        memcpy(&next, &symbol, sizeof next);                                   \
    }

int
fsync(int fd) {
    S_NEXT(int, "fsync", int);
    s_hold();
    int rc = next(fd);
    s_note("sync fsync", rc);
    return rc;
}

int
fdatasync(int fd) {
    S_NEXT(int, "fdatasync", int);
    s_hold();
    int rc = next(fd);
    s_note("sync fdatasync", rc);
    return rc;
}

int
msync(void *addr, size_t length, int flags) {
    S_NEXT(int, "msync", void *, size_t, int);
    s_hold();
    int rc = next(addr, length, flags);
    s_note("sync msync", rc);
    return rc;
}

int
sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags) {
    S_NEXT(int, "sync_file_range", int, off64_t, off64_t, unsigned int);
    s_hold();
    int rc = next(fd, offset, nbytes, flags);
    s_note("sync sync_file_range", rc);
    return rc;
}

ssize_t
send(int fd, const void *buf, size_t len, int flags) {
    S_NEXT(ssize_t, "send", int, const void *, size_t, int);
    /* Noted before the bytes leave: the peer may act on them at once. */
    s_note("send", (long)len);
    return next(fd, buf, len, flags);
}
