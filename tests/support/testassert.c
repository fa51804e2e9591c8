/*  testassert.c: the one function behind the shared test checks of
    testassert.h (the rest are macros, so that a failure names the
    test's own file and line). */
#include "testassert.h"

void
testassert_format(const char *file, int line, char *buf, size_t size,
                  const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size) {
        print_error("%s:%d: formatting \"%s\" needed %d bytes, had %zu\n", file,
                    line, fmt, n < 0 ? n : n + 1, size);
        _fail(file, line);
    }
}
