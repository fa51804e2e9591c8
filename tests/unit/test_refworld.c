/*  test_refworld.c: the Refworld importer (common/refworld.c).

    The fixtures in tests/fixtures/refworld/ are the real sample pages with
    EXPECTED.tsv (what the corpus says a correct import reads), and
    documents written for these tests, one per format variation, with
    EXPECTED-extra.tsv (every field, the warnings, the rejection message
    and the SHA-256 computed by sha256sum). Then synthetic documents for
    dates and tiers, and hostile input: every truncation of every fixture
    and bounded random bytes, which must never crash and must always give
    either a clean rejection or a report whose strings are valid UTF-8 and
    whose id has the documented shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <time.h>

#include "refworld.h"
#include "text.h"

#define FIXTURES DOSSIER_FIXTURE_DIR "/refworld/"
/* Upper bounds on the hostile-input loops, in wall-clock seconds. */
#define FUZZ_SECONDS 120

/* ---- helpers ------------------------------------------------------- */

static char *
s_read_file(const char *name, size_t *size) {
    char path[512];
    snprintf(path, sizeof(path), "%s%s", FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_error("cannot open %s\n", path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            char *grown = realloc(buf, cap + 1);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0) {
            break;
        }
        len += n;
    }
    fclose(f);
    buf[len] = '\0';
    *size = len;
    return buf;
}

typedef struct {
    char *data;   /* the file, split in place */
    char **cells; /* rows * cols */
    size_t rows, cols;
    char **header; /* the first row */
} s_tsv_t;

static bool
s_tsv_load(const char *name, s_tsv_t *t) {
    size_t size;
    memset(t, 0, sizeof(*t));
    t->data = s_read_file(name, &size);
    if (!t->data) {
        return false;
    }
    size_t lines = 0;
    for (size_t i = 0; i < size; i++) {
        lines += t->data[i] == '\n';
    }
    char **cells = calloc((lines + 1) * 64, sizeof(char *));
    if (!cells) {
        return false;
    }
    size_t row = 0, cols = 0;
    char *line = t->data;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
        }
        size_t col = 0;
        char *cell = line;
        while (cell && col < 64) {
            char *tab = strchr(cell, '\t');
            if (tab) {
                *tab = '\0';
            }
            cells[row * 64 + col++] = cell;
            cell = tab ? tab + 1 : NULL;
        }
        if (row == 0) {
            cols = col;
        } else if (col != cols) {
            print_error("%s: row %zu has %zu cells, not %zu\n", name, row, col,
                        cols);
            free(cells);
            return false;
        }
        row++;
        line = nl ? nl + 1 : NULL;
    }
    t->cells = cells;
    t->rows = row;
    t->cols = cols;
    return row > 1;
}

static const char *
s_tsv_get(const s_tsv_t *t, size_t row, const char *col) {
    for (size_t c = 0; c < t->cols; c++) {
        if (strcmp(t->cells[c], col) == 0) {
            return t->cells[row * 64 + c];
        }
    }
    print_error("no column %s\n", col);
    fail();
    return "";
}

static void
s_tsv_free(s_tsv_t *t) {
    free(t->cells);
    free(t->data);
    memset(t, 0, sizeof(*t));
}

static bool
s_valid_utf8(const char *s) {
    size_t size = strlen(s);
    size_t i = 0;
    while (i < size) {
        uint32_t cp;
        size_t n =
            text_utf8_decode((const unsigned char *)s + i, size - i, &cp);
        if (cp == TEXT_REPLACEMENT && n == 1) {
            return false;
        }
        i += n;
    }
    return true;
}

static bool
s_valid_id(const char *id) {
    size_t n = strlen(id);
    if (n < 1 || n > 128) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
              c == '-')) {
            return false;
        }
    }
    return true;
}

/*  What every report must satisfy, whatever the input: strings present,
    valid UTF-8, no control characters but in none, the id's shape. */
static void
s_check_invariants(const refworld_result_t *r, const char *what) {
    const Dossier__V1__Report *p = r->report;
    if (!p) {
        print_error("%s: no report\n", what);
        fail();
    }
    const char *strings[] = {p->id,
                             p->title,
                             p->publisher,
                             p->author,
                             p->publication_date,
                             p->last_updated,
                             p->cite_as,
                             p->disclaimer,
                             p->country,
                             p->country_code,
                             p->doc_type,
                             p->source_url,
                             p->source_sha256,
                             p->tier_note};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        if (!strings[i] || !s_valid_utf8(strings[i])) {
            print_error("%s: string field %zu is not valid UTF-8\n", what, i);
            fail();
        }
        for (const char *c = strings[i]; *c; c++) {
            if ((unsigned char)*c < 0x20) {
                print_error("%s: control byte in field %zu\n", what, i);
                fail();
            }
        }
    }
    for (size_t i = 0; i < p->n_body; i++) {
        if (!p->body[i] || !s_valid_utf8(p->body[i]) || !p->body[i][0] ||
            strchr(p->body[i], '\n') || strchr(p->body[i], '\r')) {
            print_error("%s: body paragraph %zu is malformed\n", what, i);
            fail();
        }
    }
    if (!s_valid_id(p->id)) {
        print_error("%s: id \"%s\" is not [A-Za-z0-9._:-]{1,128}\n", what,
                    p->id);
        fail();
    }
    if (strlen(p->source_sha256) != 64) {
        print_error("%s: source_sha256 has %zu characters\n", what,
                    strlen(p->source_sha256));
        fail();
    }
    assert_true(p->tier <= DOSSIER__V1__TIER__SPECIAL_CASE);
    for (size_t i = 0; i < r->n_warnings; i++) {
        assert_non_null(r->warnings[i]);
        assert_true(s_valid_utf8(r->warnings[i]));
    }
    /* the report packs, and unpacks to the same id and body */
    size_t len = dossier__v1__report__get_packed_size(p);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    dossier__v1__report__pack(p, buf);
    Dossier__V1__Report *back = dossier__v1__report__unpack(NULL, len, buf);
    assert_non_null(back);
    assert_string_equal(back->id, p->id);
    assert_int_equal(back->n_body, p->n_body);
    dossier__v1__report__free_unpacked(back, NULL);
    free(buf);
}

static void
s_field(const char *file, const char *field, const char *got,
        const char *want) {
    if (strcmp(got, want) != 0) {
        print_error("%s: %s is \"%s\", wanted \"%s\"\n", file, field, got,
                    want);
        fail();
    }
}

static dossier_status_t
s_parse_text(const char *text, refworld_result_t *r, dossier_error_t *err) {
    return refworld_parse(text, strlen(text), "test.txt", r, err);
}

/*  True when a warning contains needle. */
static bool
s_has_warning(const refworld_result_t *r, const char *needle) {
    for (size_t i = 0; i < r->n_warnings; i++) {
        if (strstr(r->warnings[i], needle)) {
            return true;
        }
    }
    return false;
}

/* ---- the fixtures ------------------------------------------------- */

static void
test_corpus_expected(void **state) {
    (void)state;
    s_tsv_t t;
    assert_true(s_tsv_load("EXPECTED.tsv", &t));
    assert_int_equal(t.rows - 1, 7);
    for (size_t row = 1; row < t.rows; row++) {
        const char *file = s_tsv_get(&t, row, "file");
        size_t size;
        char *text = s_read_file(file, &size);
        assert_non_null(text);
        refworld_result_t r = {0};
        dossier_error_t err = {0};
        dossier_status_t rc = refworld_parse(text, size, file, &r, &err);
        if (rc != DOSSIER_OK) {
            print_error("%s: %s %s\n", file, dossier_strerror(rc), err.message);
            fail();
        }
        s_check_invariants(&r, file);
        const Dossier__V1__Report *p = r.report;
        s_field(file, "title", p->title, s_tsv_get(&t, row, "title"));
        s_field(file, "publisher", p->publisher,
                s_tsv_get(&t, row, "publisher"));
        s_field(file, "author", p->author, s_tsv_get(&t, row, "author"));
        s_field(file, "publication_date", p->publication_date,
                s_tsv_get(&t, row, "publication_date"));
        s_field(file, "last_updated", p->last_updated,
                s_tsv_get(&t, row, "last_updated"));
        s_field(file, "country", p->country, s_tsv_get(&t, row, "country"));
        char year[16] = "";
        if (p->year) {
            snprintf(year, sizeof(year), "%u", p->year);
        }
        s_field(file, "year", year, s_tsv_get(&t, row, "year"));
        s_field(file, "tier", refworld_tier_name(p->tier),
                s_tsv_get(&t, row, "tier"));
        s_field(file, "doc_type", p->doc_type, s_tsv_get(&t, row, "doc_type"));
        /* a complete page ends with "Search Refworld"; a cut one is said to
           be truncated */
        bool complete = strcmp(s_tsv_get(&t, row, "complete"), "yes") == 0;
        assert_int_equal(s_has_warning(&r, "truncated"), !complete);
        /* source_url: only what the text itself holds */
        const char *url = s_tsv_get(&t, row, "source_url");
        if (p->source_url[0]) {
            assert_true(strstr(text, p->source_url) != NULL);
            assert_true(strstr(url, "refworld.org") != NULL);
        }
        refworld_result_free(&r);
        free(text);
    }
    s_tsv_free(&t);
}

static void
test_fixtures_expected(void **state) {
    (void)state;
    s_tsv_t t;
    assert_true(s_tsv_load("EXPECTED-extra.tsv", &t));
    assert_true(t.rows - 1 >= 7 + 10 + 3);
    static const char *const fields[] = {
        "id",
        "title",
        "publisher",
        "author",
        "publication_date",
        "last_updated",
        "country",
        "country_code",
        "doc_type",
        "source_url",
        "source_sha256",
        "tier_note",
    };
    for (size_t row = 1; row < t.rows; row++) {
        const char *file = s_tsv_get(&t, row, "file");
        size_t size;
        char *text = s_read_file(file, &size);
        assert_non_null(text);
        refworld_result_t r = {0};
        dossier_error_t err = {0};
        dossier_status_t rc = refworld_parse(text, size, file, &r, &err);
        if (strcmp(s_tsv_get(&t, row, "status"), "reject") == 0) {
            if (rc != DOSSIER_INVALID_ARGUMENT) {
                print_error("%s: %s, wanted INVALID_ARGUMENT\n", file,
                            dossier_strerror(rc));
                fail();
            }
            assert_int_equal(err.code, DOSSIER_INVALID_ARGUMENT);
            s_field(file, "message", err.message,
                    s_tsv_get(&t, row, "message"));
            assert_null(r.report); /* *result untouched */
            free(text);
            continue;
        }
        if (rc != DOSSIER_OK) {
            print_error("%s: %s %s\n", file, dossier_strerror(rc), err.message);
            fail();
        }
        s_check_invariants(&r, file);
        const Dossier__V1__Report *p = r.report;
        const char *got[] = {
            p->id,
            p->title,
            p->publisher,
            p->author,
            p->publication_date,
            p->last_updated,
            p->country,
            p->country_code,
            p->doc_type,
            p->source_url,
            p->source_sha256,
            p->tier_note,
        };
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            s_field(file, fields[f], got[f], s_tsv_get(&t, row, fields[f]));
        }
        char num[32] = "";
        if (p->year) {
            snprintf(num, sizeof(num), "%u", p->year);
        }
        s_field(file, "year", num, s_tsv_get(&t, row, "year"));
        s_field(file, "tier", refworld_tier_name(p->tier),
                s_tsv_get(&t, row, "tier"));
        snprintf(num, sizeof(num), "%zu", p->n_body);
        s_field(file, "n_body", num, s_tsv_get(&t, row, "n_body"));
        const char *first = s_tsv_get(&t, row, "body_first");
        if (p->n_body == 0 || strncmp(p->body[0], first, strlen(first)) != 0) {
            print_error("%s: body[0] is \"%s\", wanted it to start \"%s\"\n",
                        file, p->n_body ? p->body[0] : "(none)", first);
            fail();
        }
        /* every expected warning, in order, and no other */
        char *warnings = strdup(s_tsv_get(&t, row, "warnings"));
        assert_non_null(warnings);
        size_t n = 0;
        char *save = NULL;
        for (char *w = strtok_r(warnings, "|", &save); w;
             w = strtok_r(NULL, "|", &save)) {
            while (*w == ' ') {
                w++;
            }
            size_t len = strlen(w);
            while (len > 0 && w[len - 1] == ' ') {
                w[--len] = '\0';
            }
            if (n >= r.n_warnings || !strstr(r.warnings[n], w)) {
                print_error("%s: warning %zu is \"%s\", wanted \"%s\"\n", file,
                            n, n < r.n_warnings ? r.warnings[n] : "(none)", w);
                fail();
            }
            n++;
        }
        if (n != r.n_warnings) {
            print_error("%s: %zu warnings, wanted %zu; first extra: %s\n", file,
                        r.n_warnings, n, r.warnings[n]);
            fail();
        }
        free(warnings);
        /* the body holds no page furniture */
        for (size_t i = 0; i < p->n_body; i++) {
            assert_null(strstr(p->body[i], "Search Refworld"));
            assert_null(strstr(p->body[i], "Advanced Search"));
            assert_null(strstr(p->body[i], "Email this document"));
        }
        refworld_result_free(&r);
        free(text);
    }
    s_tsv_free(&t);
}

static void
test_whole_document(void **state) {
    (void)state;
    size_t size;
    char *text = s_read_file("tip-2004-azerbaijan.txt", &size);
    assert_non_null(text);
    refworld_result_t r = {0};
    dossier_error_t err = {0};
    assert_int_equal(refworld_parse(text, size, "aze.txt", &r, &err),
                     DOSSIER_OK);
    const Dossier__V1__Report *p = r.report;
    /* no-break spaces in "Cite as" are plain spaces */
    assert_string_equal(p->cite_as,
                        "United States Department of State, U.S. Department "
                        "of State 2004 Trafficking in Persons Report - "
                        "Azerbaijan, 14 June 2004, available at: [accessed 5 "
                        "October 2015]");
    assert_true(
        strncmp(p->disclaimer, "This is not a UNHCR publication.", 32) == 0);
    assert_true(strstr(p->disclaimer, "Member States.") != NULL);
    /* paragraphs: five, blank-line separated, the page's end dropped */
    assert_int_equal(p->n_body, 5);
    assert_true(strncmp(p->body[1], "The Government of Azerbaijan does", 33) ==
                0);
    assert_true(strncmp(p->body[4], "While the Ministry of Interior", 30) == 0);
    size_t last = strlen(p->body[4]);
    assert_string_equal(p->body[4] + last - strlen("trafficking in persons."),
                        "trafficking in persons.");
    assert_int_equal(r.n_warnings, 0);
    refworld_result_free(&r);

    /* lines of a paragraph are joined with one space */
    assert_int_equal(
        s_parse_text("Report 2004 - Chad\n\nChad (Tier 2)\n\nfirst line\n"
                     "  second   line \nthird\n\nnext\n",
                     &r, &err),
        DOSSIER_OK);
    assert_int_equal(r.report->n_body, 2);
    assert_string_equal(r.report->body[0], "first line second line third");
    assert_string_equal(r.report->body[1], "next");
    refworld_result_free(&r);
    free(text);
}

/* ---- ids ------------------------------------------------------------ */

static char *
s_replace_all(const char *s, const char *from, const char *to) {
    size_t n = strlen(s), fl = strlen(from), tl = strlen(to);
    char *out = malloc(n * (tl > fl ? tl : 1) + 1);
    assert_non_null(out);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (strncmp(s + i, from, fl) == 0) {
            memcpy(out + o, to, tl);
            o += tl;
            i += fl;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return out;
}

static void
test_id_stable(void **state) {
    (void)state;
    size_t size;
    char *text = s_read_file("tip-2004-azerbaijan.txt", &size);
    assert_non_null(text);
    refworld_result_t a = {0}, b = {0}, c = {0};
    dossier_error_t err;
    assert_int_equal(refworld_parse(text, size, "a", &a, &err), DOSSIER_OK);
    assert_int_equal(refworld_parse(text, size, "b", &b, &err), DOSSIER_OK);
    assert_string_equal(a.report->id, b.report->id);
    assert_string_equal(a.report->source_sha256, b.report->source_sha256);
    /* the same document with Windows line ends: same id, other bytes */
    char *crlf = s_replace_all(text, "\n", "\r\n");
    assert_int_equal(refworld_parse(crlf, strlen(crlf), "c", &c, &err),
                     DOSSIER_OK);
    assert_string_equal(a.report->id, c.report->id);
    assert_string_not_equal(a.report->source_sha256, c.report->source_sha256);
    assert_string_equal(a.report->title, c.report->title);
    assert_int_equal(a.report->n_body, c.report->n_body);
    for (size_t i = 0; i < a.report->n_body; i++) {
        assert_string_equal(a.report->body[i], c.report->body[i]);
    }
    refworld_result_free(&a);
    refworld_result_free(&b);
    refworld_result_free(&c);
    free(crlf);
    free(text);

    /* without a year the id falls back on the bytes' hash */
    assert_int_equal(s_parse_text("Chad (Tier 1)\n\nText.\n", &a, &err),
                     DOSSIER_OK);
    assert_int_equal(strncmp(a.report->id, "tip-tcd-", 8), 0);
    assert_int_equal(strlen(a.report->id), 8 + 12);
    assert_memory_equal(a.report->id + 8, a.report->source_sha256, 12);
    refworld_result_free(&a);

    /* a long unknown series and country stay within 128 bytes */
    char title[600];
    snprintf(title, sizeof(title), "%s 2011 - %s\n\nSome text.\n",
             "A Very Long Series Name That Goes On And On Beyond Forty Bytes "
             "Of Slug For Sure",
             "The Remarkably Long Unknown Country Name Of Far Away Islands "
             "And Other Places Nobody Has Listed");
    assert_int_equal(s_parse_text(title, &a, &err), DOSSIER_OK);
    assert_true(s_valid_id(a.report->id));
    assert_int_equal(strncmp(a.report->id, "a-very-long-series-name", 23), 0);
    refworld_result_free(&a);
}

/* ---- dates, tiers, notes ------------------------------------------- */

static void
s_expect_pubdate(const char *date, const char *want) {
    char doc[256];
    snprintf(doc, sizeof(doc),
             "Trafficking in Persons Report 2004 - Chad\n\nPublisher X\n"
             "Publication Date %s\n\nChad (Tier 2)\n\nText.\n",
             date);
    refworld_result_t r = {0};
    dossier_error_t err;
    assert_int_equal(s_parse_text(doc, &r, &err), DOSSIER_OK);
    if (strcmp(r.report->publication_date, want) != 0) {
        print_error("\"%s\" gave \"%s\", wanted \"%s\"\n", date,
                    r.report->publication_date, want);
        fail();
    }
    assert_int_equal(s_has_warning(&r, "is not understood"), want[0] == '\0');
    refworld_result_free(&r);
}

static void
test_dates(void **state) {
    (void)state;
    s_expect_pubdate("14 June 2004", "2004-06-14");
    s_expect_pubdate("4 June 2008", "2008-06-04");
    s_expect_pubdate("14 Jun 2004", "2004-06-14");
    s_expect_pubdate("14 June, 2004", "2004-06-14");
    s_expect_pubdate("June 14, 2004", "2004-06-14");
    s_expect_pubdate("June 14 2004", "2004-06-14");
    s_expect_pubdate("Jun. 14, 2004", "2004-06-14");
    s_expect_pubdate("Sept 1, 2004", "2004-09-01");
    s_expect_pubdate("2004-06-14", "2004-06-14");
    s_expect_pubdate("Monday, 14 June 2004", "2004-06-14");
    s_expect_pubdate("June 2004", "2004-06");
    s_expect_pubdate("2004", "2004");
    s_expect_pubdate("29 February 2004", "2004-02-29");
    s_expect_pubdate("29 February 2005", "");
    s_expect_pubdate("31 April 2004", "");
    s_expect_pubdate("14 Juin 2004", "");
    s_expect_pubdate("14/06/2004", "");
    s_expect_pubdate("14 June 2004 or so", "");
    s_expect_pubdate("2004-13-01", "");
    s_expect_pubdate("yesterday", "");
}

static void
s_expect_updated(const char *line, const char *want, const char *warning) {
    char doc[256];
    snprintf(doc, sizeof(doc),
             "Last Updated: %s\n\nReport 2004 - Chad\n\n"
             "Text.\n",
             line);
    refworld_result_t r = {0};
    dossier_error_t err;
    assert_int_equal(s_parse_text(doc, &r, &err), DOSSIER_OK);
    if (strcmp(r.report->last_updated, want) != 0) {
        print_error("\"%s\" gave \"%s\", wanted \"%s\"\n", line,
                    r.report->last_updated, want);
        fail();
    }
    if (warning) {
        assert_true(s_has_warning(&r, warning));
    }
    refworld_result_free(&r);
}

static void
test_last_updated(void **state) {
    (void)state;
    s_expect_updated("Monday, 05 October 2015, 08:49 GMT",
                     "2015-10-05T08:49:00Z", NULL);
    s_expect_updated("05 October 2015, 08:49 GMT", "2015-10-05T08:49:00Z",
                     NULL);
    s_expect_updated("Monday, 05 October 2015, 08:49:30 UTC",
                     "2015-10-05T08:49:30Z", NULL);
    s_expect_updated("October 5, 2015, 23:59", "2015-10-05T23:59:00Z", NULL);
    s_expect_updated("Monday, 05 October 2015", "2015-10-05T00:00:00Z",
                     "midnight");
    s_expect_updated("Monday, 05 October 2015, 08:49 CET", "",
                     "not understood");
    s_expect_updated("Monday, 05 October 2015, 25:49 GMT", "",
                     "not understood");
    s_expect_updated("October 2015", "", "not understood");
    s_expect_updated("soon", "", "not understood");
}

static void
test_tier_parse(void **state) {
    (void)state;
    static const struct {
        const char *text;
        Dossier__V1__Tier tier;
    } good[] = {
        {"Tier 1", DOSSIER__V1__TIER__TIER_1},
        {"TIER 1", DOSSIER__V1__TIER__TIER_1},
        {" tier 1 ", DOSSIER__V1__TIER__TIER_1},
        {"Tier I", DOSSIER__V1__TIER__TIER_1},
        {"1", DOSSIER__V1__TIER__TIER_1},
        {"Tier 2", DOSSIER__V1__TIER__TIER_2},
        {"Tier II", DOSSIER__V1__TIER__TIER_2},
        {"Tier Two", DOSSIER__V1__TIER__TIER_2},
        {"Tier 2 Watch List", DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"TIER 2 WATCH LIST", DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"Tier 2 Watchlist", DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"Tier 2-Watch List", DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"2WL", DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"Tier 2WL", DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"Tier 3", DOSSIER__V1__TIER__TIER_3},
        {"Tier III", DOSSIER__V1__TIER__TIER_3},
        {"Special Case", DOSSIER__V1__TIER__SPECIAL_CASE},
        {"SPECIAL CASE", DOSSIER__V1__TIER__SPECIAL_CASE},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        Dossier__V1__Tier tier = DOSSIER__V1__TIER__TIER_UNSPECIFIED;
        if (refworld_tier_parse(good[i].text, &tier) != DOSSIER_OK ||
            tier != good[i].tier) {
            print_error("\"%s\" gave %d, wanted %d\n", good[i].text, tier,
                        good[i].tier);
            fail();
        }
    }
    static const char *const bad[] = {"",
                                      "Tier",
                                      "Tier 4",
                                      "Tier 0",
                                      "Tier 12",
                                      "Tier 2 Watch",
                                      "Tier 1 and more",
                                      "Special",
                                      "Iceland",
                                      "2 Watch List Extra",
                                      "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        Dossier__V1__Tier tier = DOSSIER__V1__TIER__TIER_3;
        if (refworld_tier_parse(bad[i], &tier) != DOSSIER_INVALID_ARGUMENT ||
            tier != DOSSIER__V1__TIER__TIER_3) {
            print_error("\"%s\" was accepted\n", bad[i]);
            fail();
        }
    }
    Dossier__V1__Tier tier;
    assert_int_equal(refworld_tier_parse(NULL, &tier),
                     DOSSIER_INVALID_ARGUMENT);
    assert_int_equal(refworld_tier_parse("Tier 1", NULL),
                     DOSSIER_INVALID_ARGUMENT);

    assert_string_equal(refworld_tier_name(DOSSIER__V1__TIER__TIER_1),
                        "Tier 1");
    assert_string_equal(refworld_tier_name(DOSSIER__V1__TIER__TIER_2),
                        "Tier 2");
    assert_string_equal(
        refworld_tier_name(DOSSIER__V1__TIER__TIER_2_WATCH_LIST),
        "Tier 2 Watch List");
    assert_string_equal(refworld_tier_name(DOSSIER__V1__TIER__TIER_3),
                        "Tier 3");
    assert_string_equal(refworld_tier_name(DOSSIER__V1__TIER__SPECIAL_CASE),
                        "Special Case");
    assert_string_equal(refworld_tier_name(DOSSIER__V1__TIER__TIER_UNSPECIFIED),
                        "");
    assert_string_equal(refworld_tier_name((Dossier__V1__Tier)99), "");
    /* every name parses back */
    for (int t = 1; t <= 5; t++) {
        assert_int_equal(refworld_tier_parse(
                             refworld_tier_name((Dossier__V1__Tier)t), &tier),
                         DOSSIER_OK);
        assert_int_equal(tier, t);
    }
}

typedef struct {
    const char *heading;
    const char *country;
    Dossier__V1__Tier tier;
    const char *note;
} s_heading_case_t;

static void
test_headings(void **state) {
    (void)state;
    static const s_heading_case_t cases[] = {
        {"Azerbaijan (Tier 2 Watch List)", "Azerbaijan",
         DOSSIER__V1__TIER__TIER_2_WATCH_LIST, ""},
        {"RUSSIA (TIER 2 WATCH LIST)", "Russia",
         DOSSIER__V1__TIER__TIER_2_WATCH_LIST, ""},
        {"COTE D'IVOIRE (TIER 2)", "Cote d'Ivoire", DOSSIER__V1__TIER__TIER_2,
         ""},
        {"CÔTE D'IVOIRE (TIER 2)", "Côte d'Ivoire", DOSSIER__V1__TIER__TIER_2,
         ""},
        {"Sweden1 (Tier 1)", "Sweden", DOSSIER__V1__TIER__TIER_1, ""},
        {"Sweden\xc2\xb9 (Tier 1)", "Sweden", DOSSIER__V1__TIER__TIER_1, ""},
        {"Sweden* (Tier 1)", "Sweden", DOSSIER__V1__TIER__TIER_1, ""},
        {"Serbia and Montenegro (and Kosovo) (Tier 2 Watch List)",
         "Serbia and Montenegro (and Kosovo)",
         DOSSIER__V1__TIER__TIER_2_WATCH_LIST, ""},
        {"Korea, Democratic People's Republic of (Tier 3)",
         "Korea, Democratic People's Republic of", DOSSIER__V1__TIER__TIER_3,
         ""},
        {"St. Lucia (Tier 1)", "St. Lucia", DOSSIER__V1__TIER__TIER_1, ""},
        {"Somalia (Special Case)", "Somalia", DOSSIER__V1__TIER__SPECIAL_CASE,
         ""},
        {"Chad (Tier 2 Watch List; upgraded to Tier 2 in September 2004)",
         "Chad", DOSSIER__V1__TIER__TIER_2_WATCH_LIST,
         "upgraded to Tier 2 in September 2004"},
        {"Chad (Tier 3) \xe2\x80\x93 moved to Tier 2 in 2004", "Chad",
         DOSSIER__V1__TIER__TIER_3, "moved to Tier 2 in 2004"},
        {"Chad (Tier 3: later Tier 2) see below", "Chad",
         DOSSIER__V1__TIER__TIER_3, "later Tier 2; see below"},
        {"Chad (Tier 4)", "Chad", DOSSIER__V1__TIER__TIER_UNSPECIFIED, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[512];
        snprintf(doc, sizeof(doc), "%s\n\nThe text.\n\nSearch Refworld\n",
                 cases[i].heading);
        refworld_result_t r = {0};
        dossier_error_t err;
        dossier_status_t rc = s_parse_text(doc, &r, &err);
        if (rc != DOSSIER_OK) {
            print_error("\"%s\": %s\n", cases[i].heading, err.message);
            fail();
        }
        s_check_invariants(&r, cases[i].heading);
        s_field(cases[i].heading, "country", r.report->country,
                cases[i].country);
        s_field(cases[i].heading, "tier_note", r.report->tier_note,
                cases[i].note);
        assert_int_equal(r.report->tier, cases[i].tier);
        assert_string_equal(r.report->doc_type,
                            "Trafficking in Persons Report");
        assert_int_equal(r.report->n_body, 1);
        if (cases[i].tier == DOSSIER__V1__TIER__TIER_UNSPECIFIED) {
            assert_true(s_has_warning(&r, "is not a known tier"));
        }
        refworld_result_free(&r);
    }
    /* a title with a tier in parentheses is not a heading */
    refworld_result_t t = {0};
    dossier_error_t terr;
    assert_int_equal(
        s_parse_text("Trafficking in Persons Report 2008 - Chad (Tier 2)\n\n"
                     "Chad (Tiered approach)\n\nText.\n",
                     &t, &terr),
        DOSSIER_OK);
    assert_string_equal(t.report->title,
                        "Trafficking in Persons Report 2008 - Chad (Tier 2)");
    assert_int_equal(t.report->tier, DOSSIER__V1__TIER__TIER_UNSPECIFIED);
    assert_int_equal(t.report->n_body, 2);
    refworld_result_free(&t);
    /* prose that merely mentions a tier is not a heading */
    refworld_result_t r = {0};
    dossier_error_t err;
    assert_int_equal(
        s_parse_text("Trafficking in Persons Report 2005 - Chad\n\nThe "
                     "government of Chad and its many ministries and agencies "
                     "(Tier 2 in 2004) acted.\n",
                     &r, &err),
        DOSSIER_OK);
    assert_int_equal(r.report->tier, DOSSIER__V1__TIER__TIER_UNSPECIFIED);
    assert_int_equal(r.report->n_body, 1);
    assert_true(s_has_warning(&r, "no tier found"));
    refworld_result_free(&r);
}

static void
test_tier_from_body(void **state) {
    (void)state;
    refworld_result_t r = {0};
    dossier_error_t err;
    assert_int_equal(
        s_parse_text("2005 Trafficking in Persons Report - Chad\n\nChad is "
                     "placed on Tier 2 Watch List for a second year.\n",
                     &r, &err),
        DOSSIER_OK);
    assert_int_equal(r.report->tier, DOSSIER__V1__TIER__TIER_2_WATCH_LIST);
    assert_true(s_has_warning(&r, "was read from the body"));
    refworld_result_free(&r);
    /* not for other series: a World Report has no tiers */
    assert_int_equal(
        s_parse_text("World Report 2005 - Chad\n\nChad remains a Special "
                     "Case of neglect.\n",
                     &r, &err),
        DOSSIER_OK);
    assert_int_equal(r.report->tier, DOSSIER__V1__TIER__TIER_UNSPECIFIED);
    assert_false(s_has_warning(&r, "tier"));
    refworld_result_free(&r);
}

static void
test_header_shapes(void **state) {
    (void)state;
    refworld_result_t r = {0};
    dossier_error_t err;
    /* colon separators, a label glued to its value, a Title label and the
       title repeated above the text */
    assert_int_equal(s_parse_text("Title: Nations in Transit 2008 - Serbia\n"
                                  "Publisher: Freedom House\n"
                                  "AuthorJane Doe\n"
                                  "Publication Date: 2008-06-30\n\n"
                                  "Nations in Transit 2008 - Serbia\n\n"
                                  "Authorities in Serbia held elections.\n",
                                  &r, &err),
                     DOSSIER_OK);
    const Dossier__V1__Report *p = r.report;
    assert_string_equal(p->title, "Nations in Transit 2008 - Serbia");
    assert_string_equal(p->publisher, "Freedom House");
    assert_string_equal(p->author, "Jane Doe");
    assert_string_equal(p->publication_date, "2008-06-30");
    assert_string_equal(p->doc_type, "Nations in Transit");
    assert_string_equal(p->country_code, "SRB");
    assert_string_equal(p->id, "fh-nit-2008-srb");
    assert_int_equal(p->n_body, 1);
    assert_string_equal(p->body[0], "Authorities in Serbia held elections.");
    refworld_result_free(&r);

    /* "Country Reports ... for 2004" and a heading naming another country */
    assert_int_equal(
        s_parse_text("Country Reports on Human Rights Practices for 2004 - "
                     "Chad\n\nNiger (Tier 2)\n\nText.\n",
                     &r, &err),
        DOSSIER_OK);
    assert_string_equal(r.report->doc_type,
                        "Country Reports on Human Rights Practices");
    assert_string_equal(r.report->id, "hrr-2004-tcd");
    assert_true(s_has_warning(&r, "the title names Chad but the heading "
                                  "names Niger"));
    refworld_result_free(&r);

    /* a "Countries" field gives the country when nothing else does */
    assert_int_equal(s_parse_text("Title Annual Review 2009\nCountries "
                                  "Nepal\n\nText.\n",
                                  &r, &err),
                     DOSSIER_OK);
    assert_string_equal(r.report->country, "Nepal");
    assert_string_equal(r.report->country_code, "NPL");
    assert_string_equal(r.report->id, "annual-review-2009-npl");
    refworld_result_free(&r);

    /* "Last updated" without a colon in the body is prose */
    assert_int_equal(s_parse_text("Report 2004 - Chad\n\nChad (Tier 1)\n\n"
                                  "Last updated in 2004, the law applies.\n",
                                  &r, &err),
                     DOSSIER_OK);
    assert_int_equal(r.report->n_body, 1);
    assert_string_equal(r.report->last_updated, "");
    refworld_result_free(&r);

    /* invisible and odd characters are removed or made spaces */
    assert_int_equal(
        s_parse_text("Trafficking in\xe2\x80\x83Persons Report 2006 - "
                     "Ch\xc2\xad"
                     "ad\n\nChad (Tier\xe2\x80\xaf"
                     "1)\n\nA\x01"
                     "B\xe2\x80\x8b"
                     "C\xc2\x85"
                     "D\n",
                     &r, &err),
        DOSSIER_OK);
    assert_string_equal(r.report->title,
                        "Trafficking in Persons Report 2006 - Chad");
    assert_int_equal(r.report->tier, DOSSIER__V1__TIER__TIER_1);
    assert_string_equal(r.report->body[0], "A BC D");
    refworld_result_free(&r);
}

/* Any text imports: prose without a title, a header without one, a
   file name as the title of last resort; no tier is ever made up. */
static void
test_any_text_imports(void **state) {
    (void)state;
    refworld_result_t r = {0};
    dossier_error_t err = {0};
    const char *prose = "Dear all,\n\nthe meeting moved to Tuesday.\n";
    assert_int_equal(
        refworld_parse(prose, strlen(prose), "dir/memo.txt", &r, &err),
        DOSSIER_OK);
    s_check_invariants(&r, "memo");
    /* "Dear all," is no heading: the file name, without its extension */
    assert_string_equal(r.report->title, "memo");
    assert_int_equal(r.report->tier, DOSSIER__V1__TIER__TIER_UNSPECIFIED);
    assert_string_equal(r.report->doc_type, "");
    assert_true(s_has_warning(&r, "the file name \"memo\" is the title"));
    refworld_result_free(&r);

    const char *header = "Publisher Someone\nPublication Date 1 June 2004\n\n"
                         "Text.\n";
    assert_int_equal(refworld_parse(header, strlen(header), NULL, &r, &err),
                     DOSSIER_OK);
    assert_string_equal(r.report->title, "Untitled document");
    assert_string_equal(r.report->publisher, "Someone");
    assert_string_equal(r.report->publication_date, "2004-06-01");
    refworld_result_free(&r);

    /* A wrapped first line is a piece of a sentence, not a title */
    const char *wrapped = "Chad is a country whose government\nmade no "
                          "progress.\n";
    assert_int_equal(
        refworld_parse(wrapped, strlen(wrapped), "c.txt", &r, &err),
        DOSSIER_OK);
    assert_string_equal(r.report->title, "c");
    assert_int_equal(r.report->tier, DOSSIER__V1__TIER__TIER_UNSPECIFIED);
    refworld_result_free(&r);
}

/* The caller's fields replace the parsed ones, and name the record. */
static void
test_options(void **state) {
    (void)state;
    size_t size;
    char *text = s_read_file("hrr-body-only-eritrea.txt", &size);
    assert_non_null(text);
    refworld_options_t options = {
        .title = "Country Reports on Human Rights Practices 2022 - Eritrea",
        .publisher = "United States Department of State",
        .source_url = "https://www.state.gov/reports/eritrea",
        .file_name = "ignored.txt",
    };
    refworld_result_t r = {0};
    dossier_error_t err = {0};
    assert_int_equal(refworld_parse_with(text, size, "x", &options, &r, &err),
                     DOSSIER_OK);
    s_check_invariants(&r, "options");
    /* the title given is read like a parsed one: year, country, series */
    assert_string_equal(r.report->title, options.title);
    assert_int_equal(r.report->year, 2022);
    assert_string_equal(r.report->country_code, "ERI");
    assert_string_equal(r.report->id, "hrr-2022-eri");
    assert_string_equal(r.report->publisher, options.publisher);
    assert_string_equal(r.report->source_url, options.source_url);
    assert_false(s_has_warning(&r, "no publisher"));
    refworld_result_free(&r);

    /* country, year and series over what the text says */
    refworld_options_t over = {.country = "Ivory Coast",
                               .year = 2019,
                               .doc_type = "Freedom in the World"};
    assert_int_equal(refworld_parse_with(text, size, "x", &over, &r, &err),
                     DOSSIER_OK);
    assert_string_equal(r.report->country, "Ivory Coast");
    assert_string_equal(r.report->country_code, "CIV");
    assert_int_equal(r.report->year, 2019);
    assert_string_equal(r.report->doc_type, "Freedom in the World");
    assert_string_equal(r.report->id, "fh-fiw-2019-civ");
    assert_false(s_has_warning(&r, "no year"));
    refworld_result_free(&r);

    /* The caller's values are hostile too: made valid UTF-8. */
    refworld_options_t bad = {.title = "Bad \xff title - Chad",
                              .publisher = "\xc3",
                              .doc_type = "\xfe\xfe"};
    assert_int_equal(refworld_parse_with(text, size, "x", &bad, &r, &err),
                     DOSSIER_OK);
    s_check_invariants(&r, "bad options");
    assert_string_equal(r.report->title, "Bad \xef\xbf\xbd title - Chad");
    assert_string_equal(r.report->country_code, "TCD");
    refworld_result_free(&r);
    free(text);
}

static void
test_rejections(void **state) {
    (void)state;
    refworld_result_t r = {0};
    refworld_result_t sentinel;
    memset(&sentinel, 0, sizeof(sentinel));
    sentinel.n_warnings = 77;
    dossier_error_t err = {0};

    r = sentinel;
    assert_int_equal(refworld_parse("", 0, NULL, &r, &err),
                     DOSSIER_INVALID_ARGUMENT);
    assert_string_equal(err.message,
                        "input: the file is empty: there is nothing to import");
    assert_int_equal(r.n_warnings, 77);

    assert_int_equal(refworld_parse(NULL, 10, "x.txt", &r, &err),
                     DOSSIER_INVALID_ARGUMENT);
    assert_int_equal(refworld_parse("abc", 3, "x.txt", NULL, &err),
                     DOSSIER_INVALID_ARGUMENT);
    /* err may be NULL */
    assert_int_equal(refworld_parse(" ", 1, "x.txt", &r, NULL),
                     DOSSIER_INVALID_ARGUMENT);
    /* whitespace only, furniture only: refused */
    assert_int_equal(refworld_parse(" \n\r\n\t\n", 6, "blank.txt", &r, &err),
                     DOSSIER_INVALID_ARGUMENT);
    assert_string_equal(err.message, "blank.txt: the file holds only blank "
                                     "lines: there is nothing to import");
    assert_int_equal(s_parse_text("Search Refworld\nby keyword\n", &r, &err),
                     DOSSIER_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "page furniture"));
    assert_int_equal(r.n_warnings, 77);
    /* NUL-heavy data is binary */
    char zeros[100] = {0};
    memcpy(zeros, "Chad (Tier 1)\n", 14);
    assert_int_equal(refworld_parse(zeros, sizeof(zeros), "z.bin", &r, &err),
                     DOSSIER_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "z.bin: not text but binary data"));
    assert_int_equal(r.n_warnings, 77);
    refworld_result_free(NULL);
    refworld_result_t empty = {0};
    refworld_result_free(&empty);
}

static void
test_nul_and_bad_bytes_warn(void **state) {
    (void)state;
    /* UTF-8 ("\xc3\xb4") with one bad byte and one NUL */
    static const char doc[] = "Report 2004 - Chad\n\nChad (Tier 1)\n\nA\0B "
                              "\xc3\x28 C\xc3\xb4\n\nSearch Refworld\n";
    refworld_result_t r = {0};
    dossier_error_t err;
    assert_int_equal(refworld_parse(doc, sizeof(doc) - 1, "n.txt", &r, &err),
                     DOSSIER_OK);
    assert_true(s_has_warning(&r, "1 invalid UTF-8 sequence replaced"));
    assert_true(s_has_warning(&r, "1 NUL byte dropped"));
    assert_string_equal(r.report->body[0], "AB \xef\xbf\xbd( C\xc3\xb4");
    s_check_invariants(&r, "n.txt");
    refworld_result_free(&r);

    /* no UTF-8 at all: Windows-1252, where 0x81 is undefined */
    static const char latin[] = "Report 2004 - C\xf4te d\x92Ivoire\n\n"
                                "C\xf4te (Tier 1)\n\nA\xa0\x80\x81\xff\n";
    assert_int_equal(
        refworld_parse(latin, sizeof(latin) - 1, "l.txt", &r, &err),
        DOSSIER_OK);
    assert_true(s_has_warning(&r, "read as Windows-1252"));
    assert_false(s_has_warning(&r, "invalid UTF-8"));
    assert_string_equal(r.report->country, "C\xc3\xb4te d\xe2\x80\x99Ivoire");
    assert_string_equal(r.report->country_code, "CIV");
    assert_string_equal(r.report->body[0],
                        "A \xe2\x82\xac\xef\xbf\xbd\xc3\xbf");
    s_check_invariants(&r, "l.txt");
    refworld_result_free(&r);
}

static void
test_utf16(void **state) {
    (void)state;
    /* big-endian, a surrogate pair, an unpaired surrogate, an odd byte */
    static const char be[] = "\xfe\xff"
                             "\0C\0h\0a\0d\0 \0(\0T\0i\0e\0r\0 \0\x31\0)\0\n"
                             "\0\n\0X\xd8\x3d\xde\x00\0Y\xdc\x00\0Z\0";
    refworld_result_t r = {0};
    dossier_error_t err;
    assert_int_equal(refworld_parse(be, sizeof(be) - 1, "be.txt", &r, &err),
                     DOSSIER_OK);
    assert_string_equal(r.report->country, "Chad");
    assert_int_equal(r.report->tier, DOSSIER__V1__TIER__TIER_1);
    assert_int_equal(r.report->n_body, 1);
    assert_string_equal(r.report->body[0], "X\xf0\x9f\x98\x80Y\xef\xbf\xbdZ"
                                           "\xef\xbf\xbd");
    assert_true(s_has_warning(&r, "UTF-16"));
    s_check_invariants(&r, "be.txt");
    refworld_result_free(&r);
}

/* ---- hostile input ------------------------------------------------ */

static uint64_t s_rng = 0x9E3779B97F4A7C15ull;

static uint32_t
s_rand(void) {
    /* xorshift64*: reproducible, no libc state */
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return (uint32_t)((s_rng * 2685821657736338717ull) >> 32);
}

static size_t s_fuzz_ok, s_fuzz_rejected;

static void
s_fuzz_one(const char *data, size_t size, const char *what) {
    refworld_result_t r = {0};
    dossier_error_t err = {0};
    dossier_status_t rc = refworld_parse(data, size, what, &r, &err);
    if (rc == DOSSIER_OK) {
        s_check_invariants(&r, what);
        refworld_result_free(&r);
        s_fuzz_ok++;
    } else {
        if (rc != DOSSIER_INVALID_ARGUMENT ||
            strncmp(err.message, what, strlen(what)) != 0) {
            print_error("%s: %s \"%s\"\n", what, dossier_strerror(rc),
                        err.message);
            fail();
        }
        assert_null(r.report);
        s_fuzz_rejected++;
    }
}

static const char *const s_fixture_files[] = {
    "tip-2004-azerbaijan.txt",
    "tip2007-azerbaijan-newformat.txt",
    "tip2008-russia-uppercase.txt",
    "tip2010-sweden-noauthor.txt",
    "tip2017-somalia-specialcase-shortheader.txt",
    "hrr2004-eritrea-releasedby.txt",
    "hrw-worldreport2013-burma.txt",
    "fh-fiw2010-sweden-tabs.txt",
    "nbsp-usdates-kenya.txt",
    "crlf-lineends-ghana.txt",
    "bom-tier3-burma.txt",
    "invalid-utf8-turkey.txt",
    "cp1252-cote-divoire.txt",
    "nested-parens-serbia-montenegro.txt",
    "tiernote-asterisk-line.txt",
    "labels-own-lines-tuvalu.txt",
    "cite-only-title-nepal.txt",
    "unhcr-globalreport2005-myanmar-endash.txt",
    "cr-only-allcaps-title-moldova.txt",
    "utf16le-bom-chad.txt",
};

static void
test_every_truncation(void **state) {
    (void)state;
    time_t start = time(NULL);
    s_fuzz_ok = s_fuzz_rejected = 0;
    for (size_t f = 0; f < sizeof(s_fixture_files) / sizeof(s_fixture_files[0]);
         f++) {
        size_t size;
        char *text = s_read_file(s_fixture_files[f], &size);
        assert_non_null(text);
        for (size_t cut = 0; cut <= size; cut++) {
            /* an exact-size copy, so ASan sees any read past the end */
            char *copy = malloc(cut ? cut : 1);
            assert_non_null(copy);
            memcpy(copy, text, cut);
            s_fuzz_one(copy, cut, s_fixture_files[f]);
            free(copy);
            if (time(NULL) - start > FUZZ_SECONDS) {
                break;
            }
        }
        free(text);
    }
    /* most prefixes still hold a title or heading; the shortest do not */
    assert_true(s_fuzz_ok > s_fuzz_rejected);
    assert_true(s_fuzz_rejected > 0);
}

static void
test_random_bytes(void **state) {
    (void)state;
    /* fragments of the format, to reach deep paths more often than noise */
    static const char *const pieces[] = {
        "Last Updated: ",
        "Monday, 05 October 2015, 08:49 GMT",
        "\n",
        "\n\n",
        "\r\n",
        "\r",
        " - ",
        " (Tier ",
        "2 Watch List",
        "Special Case",
        ")",
        "(",
        "Tier 3",
        "Publisher ",
        "Author ",
        "Publication Date ",
        "June 14, 2004",
        "14 June 2004",
        "Cite as ",
        "Disclaimer",
        "available at: https://www.refworld.org/docid/x.html",
        "Title",
        "Search Refworld",
        "\xc2\xa0",
        "\xef\xbb\xbf",
        "\xff",
        "\xc3",
        "\xe2\x80\x93",
        "Sweden1",
        "RUSSIA",
        "Côte d'Ivoire",
        "2004",
        "*",
        "; upgraded to Tier 2",
        "Released by the Bureau",
        "&",
        "St.",
        "Trafficking in Persons Report",
        "World Report",
        "Countries ",
        "\t",
        "remains a Special Case",
        "is placed on Tier 1",
        "\0",
        "x",
    };
    const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
    time_t start = time(NULL);
    char *buf = malloc(8192);
    assert_non_null(buf);
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = 0;
        uint32_t kind = s_rand() % 3;
        size_t target = s_rand() % 4096;
        while (len < target) {
            if (kind == 0) {
                buf[len++] = (char)(s_rand() & 0xFF);
            } else if (kind == 1) {
                uint32_t k = s_rand() % npieces;
                size_t pl = k == npieces - 2 ? 1 : strlen(pieces[k]);
                if (len + pl > 8192) {
                    break;
                }
                memcpy(buf + len, pieces[k], pl);
                len += pl;
            } else {
                buf[len++] =
                    (char)(s_rand() % 3 == 0 ? '\n' : 32 + s_rand() % 95);
            }
        }
        char *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, buf, len);
        s_fuzz_one(copy, len, "random.txt");
        free(copy);
        if (time(NULL) - start > FUZZ_SECONDS) {
            break;
        }
    }
    /* and fixtures with a few bytes changed */
    for (size_t f = 0; f < sizeof(s_fixture_files) / sizeof(s_fixture_files[0]);
         f++) {
        size_t size;
        char *text = s_read_file(s_fixture_files[f], &size);
        assert_non_null(text);
        for (int iter = 0; iter < 100 && size > 0; iter++) {
            char *copy = malloc(size);
            assert_non_null(copy);
            memcpy(copy, text, size);
            int flips = 1 + (int)(s_rand() % 10);
            for (int k = 0; k < flips; k++) {
                copy[s_rand() % size] = (char)(s_rand() & 0xFF);
            }
            s_fuzz_one(copy, size, s_fixture_files[f]);
            free(copy);
        }
        free(text);
        if (time(NULL) - start > FUZZ_SECONDS) {
            break;
        }
    }
    free(buf);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_expected),
        cmocka_unit_test(test_fixtures_expected),
        cmocka_unit_test(test_whole_document),
        cmocka_unit_test(test_id_stable),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_last_updated),
        cmocka_unit_test(test_tier_parse),
        cmocka_unit_test(test_headings),
        cmocka_unit_test(test_tier_from_body),
        cmocka_unit_test(test_header_shapes),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_any_text_imports),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_nul_and_bad_bytes_warn),
        cmocka_unit_test(test_utf16),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
