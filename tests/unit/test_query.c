/*  test_query.c: the search query parser (server/store/fts/query.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/fts/query.h"

static query_t *
s_parse_ok(const char *text) {
    query_t *q = NULL;
    dossier_error_t err = {0};
    dossier_status_t st = query_parse(text, strlen(text), &q, &err);
    if (st != DOSSIER_OK) {
        print_error("query_parse(\"%s\") gave %s (%s)\n", text,
                    dossier_strerror(st), err.message);
        fail();
    }
    return q;
}

static void
s_parse_bad(const char *text, size_t size, const char *message_part) {
    query_t *q = NULL;
    dossier_error_t err = {0};
    dossier_status_t st = query_parse(text, size, &q, &err);
    if (st != DOSSIER_INVALID_ARGUMENT || q != NULL ||
        strstr(err.message, message_part) == NULL) {
        print_error("query_parse(\"%.40s\") gave %s (%s), wanted "
                    "INVALID_ARGUMENT mentioning \"%s\"\n",
                    text, dossier_strerror(st), err.message, message_part);
        fail();
    }
}

static void
s_assert_clause(const query_t *q, uint32_t i, bool excluded,
                const char *terms) {
    assert_true(i < q->n_clauses);
    const query_clause_t *c = &q->clauses[i];
    char joined[256] = "";
    for (uint32_t t = 0; t < c->n_terms; t++) {
        if (t) {
            strcat(joined, " ");
        }
        strcat(joined, c->terms[t]);
    }
    assert_string_equal(joined, terms);
    assert_int_equal(c->excluded, excluded);
}

static void
test_terms(void **state) {
    (void)state;
    query_t *q = s_parse_ok("Forced  LABOR\t2004");
    assert_int_equal(q->n_clauses, 3);
    assert_int_equal(q->n_positive, 3);
    s_assert_clause(q, 0, false, "forced");
    s_assert_clause(q, 1, false, "labor");
    s_assert_clause(q, 2, false, "2004");
    query_destroy(&q);
    assert_null(q);
    query_destroy(&q);
    query_destroy(NULL);
}

static void
test_phrases_and_exclusions(void **state) {
    (void)state;
    query_t *q =
        s_parse_ok("-cocoa \"Forced labor\" -\"debt bondage\" children");
    assert_int_equal(q->n_clauses, 4);
    assert_int_equal(q->n_positive, 2);
    /* Positive clauses first, in order; then the excluded ones. */
    s_assert_clause(q, 0, false, "forced labor");
    s_assert_clause(q, 1, false, "children");
    s_assert_clause(q, 2, true, "cocoa");
    s_assert_clause(q, 3, true, "debt bondage");
    query_destroy(&q);

    /* A word holding several terms is a phrase of them. */
    q = s_parse_ok("cote d'ivoire");
    assert_int_equal(q->n_clauses, 2);
    s_assert_clause(q, 0, false, "cote");
    s_assert_clause(q, 1, false, "d ivoire");
    query_destroy(&q);

    /* A quote inside a word starts a phrase there; lone '-' is nothing. */
    q = s_parse_ok("abc\"def ghi\" - -- ...");
    assert_int_equal(q->n_clauses, 2);
    s_assert_clause(q, 0, false, "abc");
    s_assert_clause(q, 1, false, "def ghi");
    query_destroy(&q);
}

static void
test_malformed(void **state) {
    (void)state;
    s_parse_bad("\"forced labor", 13, "unterminated quote");
    s_parse_bad("forced \"labor\" \"x", 17, "unterminated quote");
    s_parse_bad("", 0, "no terms");
    s_parse_bad(NULL, 0, "no terms");
    s_parse_bad("   \t ", 5, "no terms");
    s_parse_bad("!!! ... \"\"", 10, "no terms");
    s_parse_bad("-cocoa -\"debt bondage\"", 22, "only excluded");
    char many[512] = "";
    for (int i = 0; i <= QUERY_MAX_TERMS; i++) {
        char word[16];
        snprintf(word, sizeof word, "w%d ", i);
        strcat(many, word);
    }
    s_parse_bad(many, strlen(many), "more than");
    static char big[QUERY_MAX_BYTES + 2];
    memset(big, 'a', sizeof big - 1);
    s_parse_bad(big, sizeof big - 1, "bytes");
}

static void
test_invalid_utf8(void **state) {
    (void)state;
    query_t *q = s_parse_ok("\xff\xfe abc \xc3");
    assert_int_equal(q->n_clauses, 1);
    s_assert_clause(q, 0, false, "abc");
    query_destroy(&q);
    q = s_parse_ok("forc\xff"
                   "ed");
    assert_int_equal(q->n_clauses, 1);
    s_assert_clause(q, 0, false, "forc ed");
    query_destroy(&q);
    s_parse_bad("\xff\xfe\xfd", 3, "no terms");
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terms),
        cmocka_unit_test(test_phrases_and_exclusions),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
