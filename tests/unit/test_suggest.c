/*  test_suggest.c: the edit distance behind every "did you mean"
    (common/suggest.c) and where it draws the line for a typo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "suggest.h"

static void
test_distance(void **state) {
    (void)state;
    assert_int_equal(suggest_distance("", ""), 0);
    assert_int_equal(suggest_distance("abc", ""), 3);
    assert_int_equal(suggest_distance("Put", "put"), 0);
    assert_int_equal(suggest_distance("contry", "country"), 1);
    assert_int_equal(suggest_distance("yaer", "year"), 1); /* a swap */
    assert_int_equal(suggest_distance("wokers", "workers"), 1);
    assert_int_equal(suggest_distance("kitten", "sitting"), 3);
    char long_name[SUGGEST_MAX_LEN + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(suggest_distance(long_name, "a"), SIZE_MAX);
    assert_int_equal(suggest_distance(NULL, "a"), SIZE_MAX);
}

static const char *
s_best(const char *typed, const char *const *names) {
    suggest_t s;
    suggest_init(&s, typed);
    for (; *names; names++) {
        suggest_consider(&s, *names);
    }
    return suggest_best(&s);
}

static void
test_best(void **state) {
    (void)state;
    const char *const methods[] = {"Get", "Put", "Delete", "List", NULL};
    assert_string_equal(s_best("Pt", methods), "Put");
    assert_string_equal(s_best("delete", methods), "Delete");
    assert_null(s_best("Frobnicate", methods));
    assert_null(s_best("Xy", methods)); /* two edits of a 3-letter name */
    const char *const keys[] = {"workers", "bind", "data", NULL};
    assert_string_equal(s_best("worker", keys), "workers");
    assert_null(s_best("", keys));
    const char *const none[] = {NULL};
    assert_null(s_best("x", none));
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_best),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
