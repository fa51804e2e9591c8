/*  test_text.c: UTF-8 decoding, encoding, sanitizing and folding
    (common/text.c). Besides examples, two whole-range properties: every
    code point folds to at most 3 bytes of valid UTF-8, and folding twice
    gives what folding once gave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

/*  True when size bytes of s are valid UTF-8 (every U+FFFD in s is an
    encoded one, not the decoder's answer to a bad byte). */
static bool
s_valid_utf8(const char *s, size_t size) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < size) {
        uint32_t cp;
        size_t n = text_utf8_decode(p + i, size - i, &cp);
        if (cp == TEXT_REPLACEMENT && n == 1) {
            return false;
        }
        i += n;
    }
    return true;
}

static void
s_check_decode(const char *bytes, size_t size, uint32_t want_cp,
               size_t want_len) {
    uint32_t cp = 0;
    size_t n = text_utf8_decode((const unsigned char *)bytes, size, &cp);
    if (cp != want_cp || n != want_len) {
        print_error("decode of %zu bytes (first 0x%02x): got U+%04X/%zu, "
                    "wanted U+%04X/%zu\n",
                    size, (unsigned char)bytes[0], (unsigned)cp, n,
                    (unsigned)want_cp, want_len);
        fail();
    }
}

static void
test_decode_valid(void **state) {
    (void)state;
    s_check_decode("A", 1, 'A', 1);
    s_check_decode("\x7f", 1, 0x7F, 1);
    s_check_decode("\xc2\x80", 2, 0x80, 2);
    s_check_decode("\xc3\xb4", 2, 0xF4, 2); /* ô */
    s_check_decode("\xdf\xbf", 2, 0x7FF, 2);
    s_check_decode("\xe0\xa0\x80", 3, 0x800, 3);
    s_check_decode("\xe2\x80\x93", 3, 0x2013, 3); /* en dash */
    s_check_decode("\xed\x9f\xbf", 3, 0xD7FF, 3); /* below surrogates */
    s_check_decode("\xee\x80\x80", 3, 0xE000, 3); /* above surrogates */
    s_check_decode("\xef\xbf\xbd", 3, 0xFFFD, 3); /* a real U+FFFD */
    s_check_decode("\xf0\x90\x80\x80", 4, 0x10000, 4);
    s_check_decode("\xf4\x8f\xbf\xbf", 4, 0x10FFFF, 4);
    /* size larger than the sequence: only the sequence is consumed */
    s_check_decode("\xc3\xb4xyz", 5, 0xF4, 2);
}

/*  text_utf8_valid agrees with the decoder on every case, and a real
    U+FFFD is valid while a stray byte is not. */
static void
test_utf8_valid(void **state) {
    (void)state;
    static const struct {
        const char *text;
        bool valid;
    } cases[] = {
        {"", true},
        {"plain ASCII, longer than eight bytes", true},
        {"C\xc3\xb4te d'Ivoire", true},
        {"\xef\xbf\xbd replacement char itself", true},
        {"\xf0\x9f\x98\x80 emoji", true},
        {"abcdefgh\x80", false},     /* stray continuation after 8 */
        {"\xc3", false},             /* truncated */
        {"\xc0\xaf", false},         /* overlong '/' */
        {"\xe0\x80\xaf", false},     /* overlong, 3 bytes */
        {"\xed\xa0\x80", false},     /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", false}, /* past U+10FFFF */
        {"\xff", false},
        {"ok then \xfe bad", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = cases[i].text;
        if (text_utf8_valid(t, strlen(t)) != cases[i].valid) {
            fail_msg("case %zu (%s): want %s", i, t,
                     cases[i].valid ? "valid" : "invalid");
        }
    }
    /* An embedded NUL is U+0000: valid, and size is what counts. */
    assert_true(text_utf8_valid("a\0b", 3));
    assert_false(text_utf8_valid("a\0\xff", 3));
}

static void
test_decode_invalid(void **state) {
    (void)state;
    s_check_decode("\x80", 1, TEXT_REPLACEMENT, 1); /* lone cont. */
    s_check_decode("\xbf", 1, TEXT_REPLACEMENT, 1);
    s_check_decode("\xc0\x80", 2, TEXT_REPLACEMENT, 1); /* overlong NUL */
    s_check_decode("\xc1\xbf", 2, TEXT_REPLACEMENT, 1); /* overlong */
    s_check_decode("\xe0\x80\x80", 3, TEXT_REPLACEMENT, 1);
    s_check_decode("\xe0\x9f\xbf", 3, TEXT_REPLACEMENT, 1);
    s_check_decode("\xf0\x80\x80\x80", 4, TEXT_REPLACEMENT, 1);
    s_check_decode("\xf0\x8f\xbf\xbf", 4, TEXT_REPLACEMENT, 1);
    s_check_decode("\xed\xa0\x80", 3, TEXT_REPLACEMENT, 1); /* surrogate */
    s_check_decode("\xed\xbf\xbf", 3, TEXT_REPLACEMENT, 1);
    s_check_decode("\xf4\x90\x80\x80", 4, TEXT_REPLACEMENT, 1); /* >10FFFF */
    s_check_decode("\xf5\x80\x80\x80", 4, TEXT_REPLACEMENT, 1);
    s_check_decode("\xff", 1, TEXT_REPLACEMENT, 1);
    s_check_decode("\xfe", 1, TEXT_REPLACEMENT, 1);
    /* truncated by size: nothing past size is read */
    s_check_decode("\xc3\xb4", 1, TEXT_REPLACEMENT, 1);
    s_check_decode("\xe2\x80\x93", 2, TEXT_REPLACEMENT, 1);
    s_check_decode("\xf0\x90\x80\x80", 3, TEXT_REPLACEMENT, 1);
    /* a bad continuation byte */
    s_check_decode("\xc3\x28", 2, TEXT_REPLACEMENT, 1);
    s_check_decode("\xe2\x28\xa1", 3, TEXT_REPLACEMENT, 1);
    s_check_decode("\xe2\x82\x28", 3, TEXT_REPLACEMENT, 1);
    s_check_decode("\xf0\x90\x28\xbc", 4, TEXT_REPLACEMENT, 1);
}

static void
test_utf8_copy(void **state) {
    (void)state;
    char out[16];
    /* Valid text is copied as it is. */
    assert_string_equal(
        text_utf8_copy(out, sizeof out, "Baku \xc3\xa9t\xc3\xa9"),
        "Baku \xc3\xa9t\xc3\xa9");
    /* A stray byte, an overlong form, a surrogate: '?' each. */
    assert_string_equal(text_utf8_copy(out, sizeof out,
                                       "a\xff"
                                       "b"),
                        "a?b");
    assert_string_equal(text_utf8_copy(out, sizeof out, "\xc0\xafx"), "??x");
    assert_string_equal(text_utf8_copy(out, sizeof out, "\xed\xa0\x80"), "???");
    /* A sequence cut off by the end of the source: '?' a byte. */
    assert_string_equal(text_utf8_copy(out, sizeof out, "ab\xe2\x82"), "ab??");
    /* A character that does not fit whole is left out. */
    char small[4];
    assert_string_equal(text_utf8_copy(small, sizeof small, "a\xe2\x82\xac"),
                        "a");
    assert_string_equal(text_utf8_copy(small, sizeof small, "abcdef"), "abc");
    /* In place. */
    char same[16] = "x\xfey\xc3\xa9";
    assert_string_equal(text_utf8_copy(same, sizeof same, same), "x?y\xc3\xa9");
    assert_true(text_utf8_valid(same, strlen(same)));
}

static void
test_encode_roundtrip(void **state) {
    (void)state;
    /* every scalar value, through the encoder and back */
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            continue;
        }
        char buf[4];
        size_t n = text_utf8_encode(cp, buf);
        size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        assert_int_equal(n, want);
        uint32_t back;
        assert_int_equal(text_utf8_decode((unsigned char *)buf, n, &back), n);
        assert_int_equal(back, cp);
    }
    char buf[4];
    /* not scalar values: encoded as U+FFFD */
    assert_int_equal(text_utf8_encode(0xD800, buf), 3);
    assert_memory_equal(buf, "\xef\xbf\xbd", 3);
    assert_int_equal(text_utf8_encode(0x110000, buf), 3);
    assert_memory_equal(buf, "\xef\xbf\xbd", 3);
    assert_int_equal(text_utf8_encode(0xFFFFFFFFu, buf), 3);
}

static void
test_sanitize(void **state) {
    (void)state;
    static const char in[] =
        "ok \xc3\xb4 \xff bad\0nul \xe2\x80 cut \xed\xa0\x80"
        " surrogate \xf0\x9f\x98\x80";
    char *out = text_utf8_sanitize(in, sizeof(in) - 1);
    assert_non_null(out);
    assert_string_equal(out, "ok \xc3\xb4 \xef\xbf\xbd badnul \xef\xbf\xbd"
                             "\xef\xbf\xbd cut \xef\xbf\xbd\xef\xbf\xbd"
                             "\xef\xbf\xbd surrogate \xf0\x9f\x98\x80");
    assert_true(s_valid_utf8(out, strlen(out)));
    free(out);

    out = text_utf8_sanitize("", 0);
    assert_non_null(out);
    assert_string_equal(out, "");
    free(out);

    /* worst case: every byte invalid triples */
    char bad[64];
    memset(bad, 0xff, sizeof(bad));
    out = text_utf8_sanitize(bad, sizeof(bad));
    assert_non_null(out);
    assert_int_equal(strlen(out), sizeof(bad) * 3);
    free(out);
}

static void
s_check_fold(const char *in, const char *want) {
    char *out = text_fold(in, strlen(in));
    assert_non_null(out);
    if (strcmp(out, want) != 0) {
        print_error("fold(\"%s\") = \"%s\", wanted \"%s\"\n", in, out, want);
        free(out);
        fail();
    }
    free(out);
}

static void
test_fold_examples(void **state) {
    (void)state;
    s_check_fold("Côte d'Ivoire", "cote d'ivoire");
    s_check_fold("COTE D'IVOIRE", "cote d'ivoire");
    s_check_fold("Straße", "strasse");
    s_check_fold("ẞ", "ss");
    s_check_fold("Æsir Œuvre Øresund Łódź Đakovo Þingvellir",
                 "aesir oeuvre oresund lodz dakovo thingvellir");
    s_check_fold("æ œ ø ł đ þ ð ı", "ae oe o l d th d i");
    s_check_fold("İstanbul Şişli", "istanbul sisli");
    s_check_fold("São Tomé and Príncipe", "sao tome and principe");
    s_check_fold("Türkiye Ålesund Ñuñoa Ÿ", "turkiye alesund nunoa y");
    s_check_fold("Bucureşti Constanța", "bucuresti constanta"); /* ş, ț */
    s_check_fold("Việt Nam Hồ Chí Minh", "viet nam ho chi minh");
    s_check_fold("Azərbaycan", "azerbaycan");
    s_check_fold("e\xcc\x81t\xc3\xa9", "ete"); /* combining acute dropped */
    s_check_fold("ΑΘΗΝΑ Ελλάδα ΟΔΟΣ", "αθηνα ελλάδα οδοσ");
    s_check_fold("МОСКВА Ёлка ЎЗБЕКИСТОН", "москва ёлка ўзбекистон");
    s_check_fold("ＡＢＣ１２３", "abc123");
    s_check_fold("a\xc2\xa0"
                 "b",
                 "a b");             /* no-break space */
    s_check_fold("x\xc2\xb9", "x1"); /* superscript one */
    s_check_fold("ab\xffzz", "ab\xef\xbf\xbdzz");
    s_check_fold("smile \xf0\x9f\x98\x80", "smile \xef\xbf\xbd");
    s_check_fold("中文 한국어 العربية", "中文 한국어 العربية");

    /* NULs are dropped, sizes are honored */
    char *out = text_fold("A\0B", 3);
    assert_non_null(out);
    assert_string_equal(out, "ab");
    free(out);
    out = text_fold("\xc3\xb4", 1);
    assert_non_null(out);
    assert_string_equal(out, "\xef\xbf\xbd");
    free(out);
}

static void
test_fold_latin1_pairs(void **state) {
    (void)state;
    /* each capital of Latin-1 folds like its small letter */
    for (uint32_t cp = 0xC0; cp <= 0xDE; cp++) {
        if (cp == 0xD7) {
            continue;
        }
        char a[4], b[4];
        size_t na = text_fold_codepoint(cp, a);
        size_t nb = text_fold_codepoint(cp + 0x20, b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        assert_true(na >= 1 && na <= 2);
        for (size_t i = 0; i < na; i++) {
            assert_true(a[i] >= 'a' && a[i] <= 'z');
        }
    }
    /* and Latin Extended-A is all ASCII letters */
    for (uint32_t cp = 0x100; cp <= 0x17F; cp++) {
        char a[4];
        size_t na = text_fold_codepoint(cp, a);
        assert_true(na >= 1 && na <= 2);
        for (size_t i = 0; i < na; i++) {
            if (!(a[i] >= 'a' && a[i] <= 'z')) {
                print_error("U+%04X folds to a non-letter\n", (unsigned)cp);
                fail();
            }
        }
    }
}

static void
test_fold_all_codepoints(void **state) {
    (void)state;
    for (uint32_t cp = 0; cp <= 0x110000; cp++) {
        char once[4] = {0}, twice[16] = {0};
        size_t n = text_fold_codepoint(cp, once);
        assert_true(n <= 3);
        assert_true(s_valid_utf8(once, n));
        /* folding is idempotent: fold(fold(x)) == fold(x) */
        size_t t = 0, i = 0;
        while (i < n) {
            uint32_t c;
            i += text_utf8_decode((unsigned char *)once + i, n - i, &c);
            t += text_fold_codepoint(c, twice + t);
        }
        if (t != n || memcmp(once, twice, n) != 0) {
            print_error("U+%04X: fold is not idempotent\n", (unsigned)cp);
            fail();
        }
        /* ASCII upper case folds to lower, the rest of ASCII to itself */
        if (cp < 0x80) {
            assert_int_equal(n, 1);
            int want = (cp >= 'A' && cp <= 'Z') ? (int)cp + 32 : (int)cp;
            assert_int_equal((unsigned char)once[0], want);
        }
    }
}

static void
test_fold_matches_codepoint(void **state) {
    (void)state;
    /* text_fold is text_fold_codepoint over each decoded code point */
    static const char *const samples[] = {
        "Côte d'Ivoire", "Straße",    "ΑΘΗΝΑ",        "\xff\xfe", "Ǆemal ǅ ǆ",
        "Ŋ ŉ ĸ ſ",       "ƒ Ə ǝ Ș ț", "\xe1\xba\x9e", "abc",
    };
    for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
        const char *s = samples[k];
        char want[128];
        size_t o = 0, i = 0, n = strlen(s);
        while (i < n) {
            uint32_t cp;
            i += text_utf8_decode((const unsigned char *)s + i, n - i, &cp);
            o += text_fold_codepoint(cp, want + o);
        }
        want[o] = '\0';
        char *got = text_fold(s, n);
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
    }
}

static void
test_is_word(void **state) {
    (void)state;
    static const uint32_t words[] = {
        'a',    'Z',    '0',    '9',    0xAA,   0xB5,  0xC0,  0xE9,
        0xDF,   0xFF,   0x142,  0x17E,  0x1C6,  0x259, 0x301, 0x3B1,
        0x3A9,  0x416,  0x451,  0x5D0,  0x627,  0x915, 0xE01, 0x10D0,
        0x1EA1, 0x4E2D, 0xAC00, 0x30A2, 0xFF21,
    };
    static const uint32_t others[] = {
        ' ',     '\t',   '\n',   '-',    '.',     ',',      '\'',   '(',
        '0' - 1, 0x7F,   0xA0,   0xA9,   0xAB,    0xBB,     0xD7,   0xF7,
        0x37E,   0x387,  0x2013, 0x2014, 0x2019,  0x201C,   0x20AC, 0x2122,
        0x3000,  0x3001, 0xFEFF, 0xFFFD, 0x1F600, 0x110000,
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (!text_is_word_codepoint(words[i])) {
            print_error("U+%04X should be a word code point\n",
                        (unsigned)words[i]);
            fail();
        }
    }
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        if (text_is_word_codepoint(others[i])) {
            print_error("U+%04X should not be a word code point\n",
                        (unsigned)others[i]);
            fail();
        }
    }
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_valid),
        cmocka_unit_test(test_decode_invalid),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_utf8_copy),
        cmocka_unit_test(test_fold_examples),
        cmocka_unit_test(test_fold_latin1_pairs),
        cmocka_unit_test(test_fold_all_codepoints),
        cmocka_unit_test(test_fold_matches_codepoint),
        cmocka_unit_test(test_is_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
