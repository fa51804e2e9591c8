/*  test_tokenize.c: the search tokenizer (server/store/fts/tokenize.c):
   folding, apostrophes, positions and offsets, invalid UTF-8, long terms, term
    prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/fts/tokenize.h"

/*  token_t.prefix worked out from the term's bytes. */
static uint64_t
s_want_prefix(const token_t *token) {
    uint64_t prefix = 0;
    for (size_t k = 0; k < 8; k++) {
        prefix = prefix << 8 | (k < token->len ? (uint8_t)token->term[k] : 0);
    }
    return prefix;
}

/*  Tokenizes size bytes of text into "term term ..." in out; checks each
    token's invariants on the way. */
static size_t
s_terms(const char *text, size_t size, char *out, size_t out_size) {
    tokenize_t tok;
    token_t token;
    size_t n = 0;
    out[0] = '\0';
    tokenize_init(&tok, text, size, 0);
    while (tokenize_next(&tok, &token)) {
        assert_true(token.len >= 1 && token.len <= TOKENIZE_MAX_TERM);
        assert_int_equal(strlen(token.term), token.len);
        assert_int_equal(token.prefix, s_want_prefix(&token));
        assert_int_equal(token.position, n);
        assert_true(token.start < token.end && token.end <= size);
        if (n++) {
            strncat(out, " ", out_size - strlen(out) - 1);
        }
        strncat(out, token.term, out_size - strlen(out) - 1);
    }
    return n;
}

#define assert_terms(text, want)                                               \
    do {                                                                       \
        char got_[1024];                                                       \
        s_terms((text), sizeof(text) - 1, got_, sizeof got_);                  \
        if (strcmp(got_, (want)) != 0) {                                       \
            print_error("%s:%d: terms of \"%s\" are \"%s\", wanted \"%s\"\n",  \
                        __FILE__, __LINE__, (text), got_, (want));             \
            fail();                                                            \
        }                                                                      \
    } while (0)

static void
test_folding(void **state) {
    (void)state;
    assert_terms("Côte d'Ivoire", "cote d ivoire");
    assert_terms("cote d'ivoire", "cote d ivoire");
    assert_terms("COTE D\xe2\x80\x99IVOIRE", "cote d ivoire"); /* ’ */
    assert_terms("Straße STRASSE", "strasse strasse");
    assert_terms("Forced-labor, 2004: Tier 2 Watch List.",
                 "forced labor 2004 tier 2 watch list");
    assert_terms("Ελλάδα Россия", "ελλάδα россия"); /* lower-cased only */
    assert_terms("", "");
    assert_terms("  ... --- !!! ", "");
}

static void
test_offsets_and_positions(void **state) {
    (void)state;
    const char *text = "Côte d'Ivoire";
    tokenize_t tok;
    token_t t;
    tokenize_init(&tok, text, strlen(text), 7);
    assert_true(tokenize_next(&tok, &t));
    assert_string_equal(t.term, "cote");
    assert_int_equal(t.start, 0);
    assert_int_equal(t.end, 5); /* ô is two bytes */
    assert_int_equal(t.position, 7);
    assert_true(tokenize_next(&tok, &t));
    assert_string_equal(t.term, "d");
    assert_int_equal(t.start, 6);
    assert_int_equal(t.end, 7);
    assert_true(tokenize_next(&tok, &t));
    assert_string_equal(t.term, "ivoire");
    assert_int_equal(t.start, 8);
    assert_int_equal(t.end, 14);
    assert_int_equal(t.position, 9);
    assert_false(tokenize_next(&tok, &t));
    assert_false(tokenize_next(&tok, &t)); /* stays at the end */
    assert_int_equal(tokenize_position(&tok), 10);
}

static void
test_invalid_utf8(void **state) {
    (void)state;
    /* Bad bytes separate terms and never reach one. */
    assert_terms("ab\xff"
                 "cd",
                 "ab cd");
    assert_terms("\xff\xfe\xfd", "");
    assert_terms("abc\xc3", "abc"); /* truncated sequence */
    assert_terms("\xc0\xaf"
                 "x",
                 "x"); /* overlong slash */
    assert_terms("\xed\xa0\x80"
                 "y",
                 "y");               /* surrogate */
    assert_terms("ab\0cd", "ab cd"); /* NUL separates */
    tokenize_t tok;
    token_t t;
    tokenize_init(&tok, NULL, 0, 0);
    assert_false(tokenize_next(&tok, &t));
    /* Every byte value in every position: no crash, only word bytes. */
    unsigned char buf[3];
    for (int a = 0; a < 256; a++) {
        for (int b = 0; b < 256; b += 3) {
            buf[0] = (unsigned char)a;
            buf[1] = (unsigned char)b;
            buf[2] = (unsigned char)(a ^ b);
            tokenize_init(&tok, (const char *)buf, sizeof buf, 0);
            int n = 0;
            while (tokenize_next(&tok, &t) && n < 4) {
                assert_true(t.len > 0 && t.len <= TOKENIZE_MAX_TERM);
                n++;
            }
            assert_true(n <= 3);
        }
    }
}

static void
test_long_terms(void **state) {
    (void)state;
    char text[512];
    char out[1024];
    memset(text, 'a', 100);
    strcpy(text + 100, " b");
    assert_int_equal(s_terms(text, strlen(text), out, sizeof out), 2);
    char want[TOKENIZE_MAX_TERM + 3];
    memset(want, 'a', TOKENIZE_MAX_TERM);
    strcpy(want + TOKENIZE_MAX_TERM, " b");
    assert_string_equal(out, want);

    /* A long Cyrillic word is cut at a code point boundary: 32 ж. */
    text[0] = '\0';
    for (int i = 0; i < 40; i++) {
        strcat(text, "Ж");
    }
    assert_int_equal(s_terms(text, strlen(text), out, sizeof out), 1);
    assert_int_equal(strlen(out), TOKENIZE_MAX_TERM);
    for (int i = 0; i < TOKENIZE_MAX_TERM; i += 2) {
        assert_memory_equal(out + i, "ж", 2);
    }
}

/*  The prefix comes from the fold: from a word-wise step's register when
    it holds the term's first 8 bytes, else from the bytes. s_terms checks
    every token's against its bytes; these texts reach each way. */
static void
test_prefixes(void **state) {
    (void)state;
    char out[1024];
    static const char *const texts[] = {
        "a ab abcdefg abcdefgh abcdefghi abcdefghijklmnopq ABCDEFGH end",
        "abcdefg\xc3\xa9 abcdefgh\xc3\xa9 \xc3\xa9"
        "abc abc\xc3\xa9"
        "defgh",
        "x Zz",        /* under 8 bytes left: byte by byte */
        "tail1234567", /* a word-wise step, then the last bytes one by one */
        "12345678 1234567 ab'cd",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        assert_true(s_terms(texts[i], strlen(texts[i]), out, sizeof out) > 0);
    }
    tokenize_t tok;
    token_t token;
    tokenize_init(&tok, "abcdefgh", 8, 0);
    assert_true(tokenize_next(&tok, &token));
    assert_int_equal(token.prefix, 0x6162636465666768ull);
    tokenize_init(&tok, "Ab c", 4, 0);
    assert_true(tokenize_next(&tok, &token));
    assert_int_equal(token.prefix, 0x6162000000000000ull);
}

/*  tokenize_fold_ascii: in all-ASCII text the tokens are the runs of
    non-zero folded bytes, cut to TOKENIZE_MAX_TERM (random texts and a
    long word); other text is refused. */
static void
s_assert_runs_are_tokens(const char *text) {
    size_t size = strlen(text);
    char folded[200];
    assert_true(size <= sizeof folded);
    assert_true(tokenize_fold_ascii(text, size, folded));
    tokenize_t tok;
    token_t token;
    tokenize_init(&tok, text, size, 0);
    size_t i = 0;
    for (;;) {
        while (i < size && folded[i] == 0) {
            i++;
        }
        bool more = tokenize_next(&tok, &token);
        assert_int_equal(more, i < size);
        if (!more) {
            break;
        }
        size_t start = i;
        while (i < size && folded[i] != 0) {
            i++;
        }
        size_t len = i - start;
        len = len > TOKENIZE_MAX_TERM ? TOKENIZE_MAX_TERM : len;
        assert_int_equal(token.start, start);
        assert_int_equal(token.end, i);
        assert_int_equal(token.len, len);
        assert_memory_equal(token.term, folded + start, len);
    }
}

static void
test_fold_ascii(void **state) {
    (void)state;
    char out[32];
    assert_false(tokenize_fold_ascii("Côte", strlen("Côte"), out));
    const char *late = "abcdefgh ijklmnop Côte";
    assert_false(tokenize_fold_ascii(late, strlen(late), out));
    assert_true(tokenize_fold_ascii("Ab-1", 4, out));
    assert_memory_equal(out,
                        "ab\0"
                        "1",
                        4);
    s_assert_runs_are_tokens("a very long word: "
                             "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvw"
                             "xyzABCDEFGHIJKLMNOP end");
    const char alphabet[] = "aAbBzZ09 -.'_\t\n";
    uint64_t rng = 7;
    for (int round = 0; round < 20000; round++) {
        char text[64];
        size_t len = 0;
        size_t want = (size_t)(1 + round % 60);
        while (len < want) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            text[len++] = alphabet[(rng >> 33) % (sizeof alphabet - 1)];
        }
        text[len] = '\0';
        s_assert_runs_are_tokens(text);
    }
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_offsets_and_positions),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_long_terms),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_fold_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
