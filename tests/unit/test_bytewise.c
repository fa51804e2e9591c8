/*  test_bytewise.c: the 8-bytes-at-a-time fast paths read text exactly as
    one byte at a time would.

    The tokenizer (server/store/fts/tokenize.c), text_utf8_sanitize
   (common/text.c) and the Refworld parser's line cleaning (common/refworld.c)
   take runs of ASCII a word of 8 bytes at a time and fall back to single bytes
   for the rest. Their own tests check meanings on short strings; these put
    every kind of byte at every offset of a word: random strings of
    pieces (ASCII words of 1 to 70 letters, separators, accented letters,
    combining marks, invalid bytes, NULs) compared with a byte-at-a-time
    reference written here from the documented rules, and body lines with
    blanks at each offset 0..40 compared with their collapsed form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "refworld.h"
#include "text.h"
#include "store/fts/tokenize.h"

#define S_STRINGS 20000
#define S_TEXT_MAX 600

/* ---- Random strings of pieces. ---- */

static uint64_t s_rng = 0x9E3779B97F4A7C15ull;

static uint64_t
s_next(void) {
    /* splitmix64: a fixed sequence, so a failure repeats */
    uint64_t z = (s_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static const struct {
    const char *bytes;
    size_t len;
} s_pieces[] = {
    {"a", 1},
    {"Z", 1},
    {"7", 1},
    {"word", 4},
    {"Trafficking", 11},
    {" ", 1},
    {"  ", 2},
    {", ", 2},
    {".", 1},
    {"'", 1},
    {"-", 1},
    {"\t", 1},
    {"\n", 1},
    {"@[`{", 4},             /* just outside the letter ranges */
    {"/:", 2},               /* just outside the digits */
    {"\0", 1},               /* NUL */
    {"\x7f", 1},             /* DEL */
    {"\xc3\xa9", 2},         /* é */
    {"\xc3\x89", 2},         /* É */
    {"\xc3\x9f", 2},         /* ß: folds to two bytes */
    {"\xcc\x81", 2},         /* a combining acute: folds to nothing */
    {"\xd0\x96", 2},         /* Ж */
    {"\xe2\x80\x99", 3},     /* ’ */
    {"\xef\xbc\xa1", 3},     /* full-width A */
    {"\xc2\xa0", 2},         /* no-break space */
    {"\xff", 1},             /* invalid */
    {"\xc3", 1},             /* a sequence cut short */
    {"\xf0\x9f\x98\x80", 4}, /* beyond the BMP */
};

/*  Fills buf with a random string of pieces and long ASCII runs; returns
    its length (at most S_TEXT_MAX). */
static size_t
s_random_text(unsigned char *buf) {
    size_t n = 0;
    size_t pieces = (size_t)(s_next() % 40);
    for (size_t k = 0; k < pieces; k++) {
        uint64_t r = s_next();
        if (r % 8 == 0) {
            /* an ASCII word of 1 to 70 letters and digits, mixed case:
               across words of 8 and past TOKENIZE_MAX_TERM */
            size_t len = 1 + (size_t)((r >> 8) % 70);
            for (size_t i = 0; i < len && n < S_TEXT_MAX; i++) {
                static const char alnum[] = "abcXYZ0189";
                buf[n++] = (unsigned char)alnum[(r >> (16 + i % 40)) % 10];
            }
            continue;
        }
        size_t p = (size_t)((r >> 8) % (sizeof s_pieces / sizeof s_pieces[0]));
        if (n + s_pieces[p].len > S_TEXT_MAX) {
            break;
        }
        memcpy(buf + n, s_pieces[p].bytes, s_pieces[p].len);
        n += s_pieces[p].len;
    }
    return n;
}

/* ---- The tokenizer. ---- */

/*  The next term of text by the rules of tokenize.h, one code point at a
    time; false at the end. *offset and *position advance. */
static bool
s_ref_next(const unsigned char *text, size_t size, size_t *offset,
           uint32_t *position, token_t *token) {
    while (*offset < size) {
        uint32_t cp;
        size_t start = *offset;
        size_t n = text_utf8_decode(text + start, size - start, &cp);
        if (!text_is_word_codepoint(cp)) {
            *offset += n;
            continue;
        }
        size_t len = 0, end = start;
        bool full = false;
        while (end < size) {
            n = text_utf8_decode(text + end, size - end, &cp);
            if (!text_is_word_codepoint(cp)) {
                break;
            }
            end += n;
            char folded[4];
            size_t f = text_fold_codepoint(cp, folded);
            if (full || len + f > TOKENIZE_MAX_TERM) {
                full = true; /* the rest of the word is dropped */
                continue;
            }
            memcpy(token->term + len, folded, f);
            len += f;
        }
        *offset = end;
        if (len == 0) {
            continue;
        }
        token->term[len] = '\0';
        token->len = len;
        token->start = start;
        token->end = end;
        token->position = (*position)++;
        return true;
    }
    return false;
}

static void
test_tokenize_matches_bytewise(void **state) {
    (void)state;
    unsigned char buf[S_TEXT_MAX];
    for (int s = 0; s < S_STRINGS; s++) {
        size_t size = s_random_text(buf);
        tokenize_t tok;
        tokenize_init(&tok, (const char *)buf, size, 5);
        size_t offset = 0;
        uint32_t position = 5;
        for (int k = 0; k <= S_TEXT_MAX; k++) {
            token_t got, want;
            bool more = tokenize_next(&tok, &got);
            bool want_more = s_ref_next(buf, size, &offset, &position, &want);
            if (more != want_more ||
                (more && (got.len != want.len ||
                          memcmp(got.term, want.term, want.len + 1) != 0 ||
                          got.start != want.start || got.end != want.end ||
                          got.position != want.position))) {
                print_error(
                    "string %d, term %d: got %s \"%s\" [%zu, %zu), "
                    "wanted %s \"%s\" [%zu, %zu)\n",
                    s, k, more ? "" : "(none)", more ? got.term : "",
                    more ? got.start : 0, more ? got.end : 0,
                    want_more ? "" : "(none)", want_more ? want.term : "",
                    want_more ? want.start : 0, want_more ? want.end : 0);
                fail();
            }
            if (!more) {
                break;
            }
        }
    }
}

/* ---- text_utf8_sanitize. ---- */

static void
test_sanitize_matches_bytewise(void **state) {
    (void)state;
    unsigned char buf[S_TEXT_MAX];
    char want[S_TEXT_MAX * 3 + 1];
    for (int s = 0; s < S_STRINGS; s++) {
        size_t size = s_random_text(buf);
        /* NULs dropped, invalid bytes made U+FFFD, the rest copied */
        size_t o = 0;
        for (size_t i = 0; i < size;) {
            uint32_t cp;
            size_t n = text_utf8_decode(buf + i, size - i, &cp);
            if (buf[i] == 0) {
                i++;
                continue;
            }
            if (cp == TEXT_REPLACEMENT && n == 1) {
                o += text_utf8_encode(cp, want + o);
            } else {
                memcpy(want + o, buf + i, n);
                o += n;
            }
            i += n;
        }
        want[o] = '\0';
        char *got = text_utf8_sanitize((const char *)buf, size);
        assert_non_null(got);
        bool same = strcmp(got, want) == 0;
        if (!same) {
            print_error("string %d: sanitized to %zu bytes, wanted %zu\n", s,
                        strlen(got), o);
        }
        free(got);
        assert_true(same);
    }
}

/* ---- The parser's lines. ---- */

/*  line with every run of blanks (space, tab, no-break space) made one
    space and none at either end, into out. */
static void
s_collapse(const char *line, char *out) {
    size_t o = 0;
    bool blank = false;
    for (const char *p = line; *p; p++) {
        bool nbsp = (unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0;
        if (*p == ' ' || *p == '\t' || nbsp) {
            blank = true;
            p += nbsp;
            continue;
        }
        if (blank && o > 0) {
            out[o++] = ' ';
        }
        blank = false;
        out[o++] = *p;
    }
    out[o] = '\0';
}

/*  Parses a TIP page whose one body paragraph is line (with line_end
    between the lines of the page) and checks the paragraph. */
static void
s_check_body_line(const char *line, const char *line_end) {
    char text[1024];
    snprintf(text, sizeof text,
             "Trafficking in Persons Report 2010 - Sweden%s%s"
             "Sweden (Tier 1)%s%s%s%s%sSearch Refworld%s",
             line_end, line_end, line_end, line_end, line, line_end, line_end,
             line_end);
    char want[512];
    s_collapse(line, want);
    refworld_result_t r = {0};
    dossier_error_t err = {0};
    dossier_status_t rc =
        refworld_parse(text, strlen(text), "lines.txt", &r, &err);
    if (rc != DOSSIER_OK) {
        print_error("\"%s\": %s\n", line, err.message);
        fail();
    }
    if (r.report->n_body != 1 || strcmp(r.report->body[0], want) != 0) {
        print_error("\"%s\" gave the paragraph \"%s\", wanted \"%s\"\n", line,
                    r.report->n_body ? r.report->body[0] : "(none)", want);
        refworld_result_free(&r);
        fail();
    }
    refworld_result_free(&r);
}

static void
test_body_lines_at_every_offset(void **state) {
    (void)state;
    static const char *const blanks[] = {
        " ", "  ", "\t", " \t ", "   ", "\xc2\xa0", " \xc2\xa0 ", "\t\t",
    };
    static const char *const ends[] = {"\n", "\r\n", "\r"};
    /* Long enough to be prose, not a label, heading or page furniture. */
    const char *words = "Victims of forced labor were identified in several "
                        "regions of the country during the reporting period";
    char line[256];
    for (size_t e = 0; e < sizeof ends / sizeof ends[0]; e++) {
        for (size_t b = 0; b < sizeof blanks / sizeof blanks[0]; b++) {
            for (size_t k = 0; k <= 40; k++) {
                /* blanks inside the line after k bytes of it */
                snprintf(line, sizeof line, "%.*s%s%s", (int)k, words,
                         blanks[b], words + k);
                s_check_body_line(line, ends[e]);
                /* blanks before and after the line */
                snprintf(line, sizeof line, "%s%s%.*s%s", blanks[b], words,
                         (int)k, "                                         ",
                         blanks[b]);
                s_check_body_line(line, ends[e]);
            }
        }
    }
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenize_matches_bytewise),
        cmocka_unit_test(test_sanitize_matches_bytewise),
        cmocka_unit_test(test_body_lines_at_every_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
