/*  testassert.h: the checks the C tests share, beside cmocka's asserts.

    Every C test used to carry its own copy of these; they live here so
    that a failure reads the same in every test. Named like cmocka's own
    (assert_*), since a test calls them beside assert_int_equal; the one
    function behind them is testassert_*.

    assert_status(expr, want, errp)
        Evaluates expr once: a call that returns a dossier_status_t.
        When it is not want, prints one line through cmocka's print_error
            FILE:LINE: EXPR gave GOT (MESSAGE), wanted WANT
        (GOT and WANT named by dossier_strerror, MESSAGE the sentence
        the call left in the dossier_error_t errp points to; errp is read
        only then) and fails the test (cmocka's fail()).
    assert_ok(expr, errp)
        assert_status(expr, DOSSIER_OK, errp).
    assert_format(buf, size, fmt, ...)
        snprintf(buf, size, fmt, ...), failing the test (with FILE:LINE
        and the length the text needed) when the text does not fit in
        size bytes, instead of cutting it.

    These end the test with cmocka's longjmp, so they belong on the test's
    own thread. A worker thread uses worker_check instead:

    worker_check(w, cond, ...)
        When cond is false, writes the printf-style message into
        (w)->failure (a char array) and jumps to the label `done:` of the
        enclosing function, which ends the worker's work; the test's
        thread then asserts that every worker's failure is empty. */
#ifndef DOSSIER_TESTASSERT_H
#define DOSSIER_TESTASSERT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "status.h"

#define assert_status(expr, want, errp)                                        \
    do {                                                                       \
        dossier_status_t got_ = (expr);                                        \
        if (got_ != (want)) {                                                  \
            print_error("%s:%d: %s gave %s (%s), wanted %s\n", __FILE__,       \
                        __LINE__, #expr, dossier_strerror(got_),               \
                        (errp)->message, dossier_strerror(want));              \
            fail();                                                            \
        }                                                                      \
    } while (0)

#define assert_ok(expr, errp) assert_status(expr, DOSSIER_OK, errp)

#define assert_format(buf, size, ...)                                          \
    testassert_format(__FILE__, __LINE__, (buf), (size), __VA_ARGS__)

#define worker_check(w, cond, ...)                                             \
    do {                                                                       \
        if (!(cond)) {                                                         \
            snprintf((w)->failure, sizeof(w)->failure, __VA_ARGS__);           \
            goto done;                                                         \
        }                                                                      \
    } while (0)

/*  What assert_format expands to: formats into buf (size bytes) and, when
    the text (or the formatting) fails, prints file:line and fails the
    test there. Call it through assert_format. */
void testassert_format(const char *file, int line, char *buf, size_t size,
                       const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
