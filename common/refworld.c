/*  refworld.c: the Refworld text importer.

    The text is first made regular: UTF-16 (with its byte-order mark) and
    Windows-1252 (bytes that are not UTF-8 in text without a single UTF-8
    sequence) are converted, a UTF-8 byte-order mark is dropped, invalid
    UTF-8 becomes U+FFFD, NULs and other control characters go,
    CRLF and CR become LF, no-break and other Unicode spaces become plain
    spaces, and every line is trimmed with its runs of spaces collapsed.

    Then one pass over the lines, in two states:
    - HEADER: labelled fields ("Publisher ...", "DisclaimerThis is...",
      a label alone on its line with the value on the next), the
      "Last Updated:" line, the title (the first short line that looks like
      one: a " - " or a year, no final full stop), a "Released by" note,
      page furniture. The first other line starts the body.
    - BODY: paragraphs, blank-line separated, their lines joined with a
      space. A "Country (Tier X)" heading is taken wherever it stands at the
      start of a paragraph until one is found; "Search Refworld" ends the
      body (what follows is the site's search form).
    Fields are then derived: country from the title's last " - " part (else
    the heading, else a "Countries" field), year from the title, series
    from the title less its country, year and publisher, tier from the
    heading (else from a body sentence such as "remains a Special Case").
    What is missing or odd becomes a warning, never a failure; only text
    with neither a title nor a heading is refused. */
#include "refworld.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bytes8.h"
#include "country.h"
#include "text.h"

/* Larger inputs are refused: no Refworld page comes near it. */
#define REFWORLD_MAX_SIZE (64u * 1024 * 1024)
/* A title, label value or heading is one line; longer lines are prose. */
#define REFWORLD_TITLE_MAX 300
#define HEADING_MAX 200
#define HEADING_COUNTRY_MAX 80
/* "Democratic Republic of the Congo" has 6; prose has more. */
#define HEADING_COUNTRY_WORDS 7
/* Paragraphs searched for a tier sentence when there is no heading. */
#define TIER_SENTENCE_PARAGRAPHS 3
/* Warnings kept per document; more would only repeat themselves. */
#define WARNINGS_MAX 32
/* The bytes of a SHA-256 digest. */
#define S_SHA256_BYTES 32

typedef struct {
    char **items;
    size_t count;
    size_t cap;
} refworld_strvec_t;

typedef enum {
    LABEL_NONE = 0,
    LABEL_TITLE,
    LABEL_PUBLISHER,
    LABEL_AUTHOR,
    LABEL_PUBDATE,
    LABEL_CITE,
    LABEL_DISCLAIMER,
    LABEL_COUNTRIES,
    LABEL_IGNORED,
} s_label_t;

typedef struct {
    const char *text;
    s_label_t label;
} s_label_def_t;

/* Longest first where one label starts another ("Countries"). */
static const s_label_def_t s_labels[] = {
    {"Publication Date", LABEL_PUBDATE},
    {"Publisher", LABEL_PUBLISHER},
    {"Author", LABEL_AUTHOR},
    {"Cite as", LABEL_CITE},
    {"Disclaimer", LABEL_DISCLAIMER},
    {"Title", LABEL_TITLE},
    {"Countries", LABEL_COUNTRIES},
    {"Citation / Document Symbol", LABEL_IGNORED},
    {"Document Symbol", LABEL_IGNORED},
    {"Topics", LABEL_IGNORED},
};

/* Lines of the Refworld page around the document, compared after
   s_simplify (lower-case ASCII words). */
static const char *const s_furniture[] = {
    "refworld",
    "print",
    "email",
    "share",
    "email this document",
    "print this document",
    "printable version",
    "select language",
    "english",
    "francais",
    "by keyword",
    "enter a word or phrase",
    "and or country",
    "all countries",
    "clear",
    "search",
    "advanced search",
    "search tips",
    "advanced search search tips",
    "clear search",
    "back to top",
    "top",
    "comments",
    "help",
    "feedback",
    "skip to main content",
    "menu",
    "related documents",
    "related content",
    "unhcr",
    "refworld unhcr",
    "all rights reserved",
    "privacy",
    "terms of use",
    "copyright",
};

typedef struct {
    const char *match; /* folded substring of the series part of a title */
    const char *doc_type;
    const char *slug;
} s_series_t;

/* Known series: their canonical name and the short slug used in ids. */
static const s_series_t s_series[] = {
    {"trafficking in persons report", "Trafficking in Persons Report", "tip"},
    {"country report on human rights practices",
     "Country Reports on Human Rights Practices", "hrr"},
    {"country reports on human rights practices",
     "Country Reports on Human Rights Practices", "hrr"},
    {"international religious freedom report",
     "International Religious Freedom Report", "irf"},
    {"world report", "World Report", "hrw-wr"},
    {"freedom in the world", "Freedom in the World", "fh-fiw"},
    {"freedom of the press", "Freedom of the Press", "fh-fotp"},
    {"freedom on the net", "Freedom on the Net", "fh-fotn"},
    {"nations in transit", "Nations in Transit", "fh-nit"},
    {"amnesty international report", "Amnesty International Report", "ai"},
    {"amnesty international annual report", "Amnesty International Report",
     "ai"},
    {"unhcr global report", "UNHCR Global Report", "unhcr-gr"},
    {"unhcr global appeal", "UNHCR Global Appeal", "unhcr-ga"},
    {"world directory of minorities and indigenous peoples",
     "World Directory of Minorities and Indigenous Peoples", "mrg-wd"},
    {"state of the world's minorities",
     "State of the World's Minorities and Indigenous Peoples", "mrg-swm"},
    {"child soldiers global report", "Child Soldiers Global Report", "csgr"},
    {"attacks on the press", "Attacks on the Press", "cpj-aotp"},
};

/* Publishers a title may start with ("U.S. Department of State 2004 ...");
   they are not part of the series name. */
static const char *const s_title_publishers[] = {
    "u.s. department of state",
    "us department of state",
    "united states department of state",
    "department of state",
};

/* Sentences that state a tier in the body, each followed by the tier. */
static const char *const s_tier_phrases[] = {
    "remains a ",          "is a ",
    "is again a ",         "is placed on ",
    "is being placed on ", "remains on ",
    "is placed in ",       "downgraded to ",
    "upgraded to ",        "designation of ",
    "was placed on ",
};

static const char *const s_months[] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december",
};

typedef struct {
    const char *name; /* for messages */
    char *title, *publisher, *author, *pubdate, *last_updated, *cite_as;
    char *disclaimer, *countries, *country, *tier_note, *doc_type;
    char *source_url, *heading_country, *heading_tier_text;
    const char *series_slug;
    /* country's table entry, NULL when unknown: looked up once, by
       refworld_derive, once country is final */
    const country_t *country_entry;
    unsigned year;
    Dossier__V1__Tier tier;
    bool heading_found;
    bool ended; /* "Search Refworld" seen after the body began */
    bool title_from_label;
    refworld_strvec_t body;
    refworld_strvec_t warnings;
    char *para; /* paragraph being assembled */
    size_t para_len, para_cap;
    bool oom;
} refworld_parser_t;

/* ---- small string helpers ------------------------------------------ */

static char *
refworld_strndup(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/*  Replaces *slot with a copy of n bytes of s; records OOM. */
static void
refworld_set(refworld_parser_t *p, char **slot, const char *s, size_t n) {
    char *d = refworld_strndup(s, n);
    if (!d) {
        p->oom = true;
        return;
    }
    free(*slot);
    *slot = d;
}

static bool
refworld_vec_push(refworld_strvec_t *v, char *s) {
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        char **items = realloc(v->items, cap * sizeof(char *));
        if (!items) {
            return false;
        }
        v->items = items;
        v->cap = cap;
    }
    v->items[v->count++] = s;
    return true;
}

static void
refworld_vec_free(refworld_strvec_t *v) {
    for (size_t i = 0; i < v->count; i++) {
        free(v->items[i]);
    }
    free(v->items);
    memset(v, 0, sizeof(*v));
}

static void refworld_warn(refworld_parser_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
refworld_warn(refworld_parser_t *p, const char *fmt, ...) {
    if (p->warnings.count >= WARNINGS_MAX) {
        return;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char *w = strdup(buf);
    if (!w || !refworld_vec_push(&p->warnings, w)) {
        free(w);
        p->oom = true;
    }
}

/*  Writes at most 60 bytes of s into buf for a message, cut on a UTF-8
    boundary, with "..." when cut. */
static const char *
refworld_excerpt(const char *s, char *buf, size_t size) {
    size_t n = strlen(s);
    size_t max = size - 4;
    if (n <= max) {
        memcpy(buf, s, n + 1);
        return buf;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) {
        max--;
    }
    memcpy(buf, s, max);
    memcpy(buf + max, "...", 4);
    return buf;
}

static bool
refworld_prefix_ci(const char *s, const char *prefix) {
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/*  Case-insensitive ASCII substring search. */
static const char *
refworld_strcasestr(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        if (strncasecmp(hay, needle, n) == 0) {
            return hay;
        }
    }
    return NULL;
}

/*  Lower-case ASCII words of s separated by one space: how furniture and
    series names are compared. Writes at most size bytes into out. */
static void
s_simplify(const char *s, char *out, size_t size) {
    size_t o = 0;
    bool space = false;
    for (; *s && o + 2 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) && c < 0x80) {
            if (space && o > 0) {
                out[o++] = ' ';
            }
            space = false;
            out[o++] = (char)tolower(c);
        } else if (c != '\'') {
            space = true;
        }
    }
    out[o] = '\0';
}

static bool
s_is_blank_char(char c) {
    return c == ' ' || c == '\t';
}

/* ---- eight bytes at a time ------------------------------------------ */

/* Nearly all of a report is printable ASCII: the passes over its text
   test 8 bytes at once and look at single bytes only where a word holds
   something else. */
/*  True when the 8 bytes of w are all printable ASCII (0x20..0x7E). */
static bool
s_printable8(uint64_t w) {
    uint64_t high = w & ~BYTES8_LOW7;
    /* a byte below 0x20 borrows into its high bit (exact for "any" when no
       byte has its high bit set) */
    uint64_t below = (w - BYTES8_ONES * 0x20) & ~w & ~BYTES8_LOW7;
    return (high | below | bytes8_zeros(w ^ (BYTES8_ONES * 0x7F))) == 0;
}

/* ---- text normalization -------------------------------------------- */

typedef struct {
    size_t invalid;   /* bytes that start no valid UTF-8 sequence */
    size_t multibyte; /* valid UTF-8 sequences of 2 to 4 bytes */
    size_t nuls;
    size_t controls;  /* other C0 controls and DEL, not line ends or tabs */
    size_t undefined; /* 0x81 0x8D 0x8F 0x90 0x9D: unused in Windows-1252 */
} refworld_bytes_t;

/*  Counts what sanitizing will change, for warnings, for telling text from
    binary, and for telling UTF-8 from Windows-1252. */
static void
refworld_count_bytes(const unsigned char *s, size_t size, refworld_bytes_t *b) {
    memset(b, 0, sizeof(*b));
    size_t i = 0;
    while (i < size) {
        if (size - i >= 8 && s_printable8(bytes8_load(s + i))) {
            i += 8; /* nothing to count */
            continue;
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == 0) {
                b->nuls++;
            } else if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t' &&
                        c != '\f' && c != '\v') ||
                       c == 0x7F) {
                b->controls++;
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = text_utf8_decode(s + i, size - i, &cp);
        if (cp == TEXT_REPLACEMENT && n == 1) {
            b->invalid++;
            b->undefined +=
                c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D;
        } else {
            b->multibyte++;
        }
        i += n;
    }
}

/* Windows-1252 0x80..0x9F; 0 where the code page defines nothing. */
static const uint16_t s_cp1252[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

/*  Converts size bytes of Windows-1252 (a superset of Latin-1's printable
    characters) to malloc'd UTF-8, dropping NULs; undefined bytes become
    U+FFFD. NULL when out of memory. */
static char *
refworld_cp1252_to_utf8(const unsigned char *s, size_t size) {
    char *out = malloc(size * 3 + 1);
    if (!out) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = s[i];
        if (c == 0) {
            continue;
        }
        uint32_t cp = c;
        if (c >= 0x80 && c <= 0x9F) {
            cp = s_cp1252[c - 0x80] ? s_cp1252[c - 0x80] : TEXT_REPLACEMENT;
        }
        o += text_utf8_encode(cp, out + o);
    }
    out[o] = '\0';
    return out;
}

/*  True for the Unicode spaces that become a plain space. */
static bool
s_is_unicode_space(uint32_t cp) {
    return cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000 || cp == 0x1680;
}

/*  True for invisible code points that are dropped (BOM, zero-width space,
    soft hyphen, word joiner). */
static bool
s_is_invisible(uint32_t cp) {
    return cp == 0xFEFF || cp == 0x200B || cp == 0x00AD || cp == 0x2060;
}

/*  Writes the n bytes of sanitized UTF-8 text in, normalized (see the top
    of this file), to out (n + 1 bytes of room) and NUL-terminates it;
    out may be in (it never grows). Returns the new length. */
static size_t
refworld_normalize_text(const char *in, size_t n, char *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        uint64_t w;
        if (n - i >= 8 && s_printable8(w = bytes8_load(in + i))) {
            memcpy(out + o, &w, sizeof(w)); /* kept as is */
            i += 8;
            o += 8;
            continue;
        }
        unsigned char c = (unsigned char)in[i];
        if (c == '\r') {
            out[o++] = '\n';
            i += (i + 1 < n && in[i + 1] == '\n') ? 2 : 1;
            continue;
        }
        if (c < 0x80) {
            if (c == '\n') {
                out[o++] = '\n';
            } else if (c < 0x20 || c == 0x7F) {
                out[o++] = ' '; /* tabs, form feeds, stray controls */
            } else {
                out[o++] = (char)c;
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t len =
            text_utf8_decode((const unsigned char *)in + i, n - i, &cp);
        if (s_is_unicode_space(cp)) {
            out[o++] = ' ';
        } else if (cp >= 0x80 && cp <= 0x9F) {
            out[o++] = ' '; /* C1 controls */
        } else if (cp == 0x2028 || cp == 0x2029) {
            out[o++] = '\n';
        } else if (!s_is_invisible(cp)) {
            memmove(out + o, in + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = '\0';
    return o;
}

/*  Trims the n bytes of line in place and collapses its runs of blanks
    into one space; NUL-terminates it and returns its new length. */
static size_t
refworld_clean_line(char *line, size_t n) {
    /* Most lines are clean already: find the first byte that the cleaning
       changes (a tab, a space at the start or after a space), 8 bytes at
       a time while they hold neither a tab nor two spaces in a row. Each
       step moves 7, so that every pair of neighbours is seen in one. */
    size_t i = 0;
    if (n > 0 && line[0] != ' ') {
        while (n - i >= 8) {
            uint64_t w = bytes8_load(line + i);
            uint64_t spaces = bytes8_zeros(w ^ (BYTES8_ONES * ' '));
            if (bytes8_zeros(w ^ (BYTES8_ONES * '\t')) |
                (spaces & (spaces << 8))) {
                break;
            }
            i += 7;
        }
        while (i < n && line[i] != '\t' &&
               !(line[i] == ' ' && (i == 0 || line[i - 1] == ' '))) {
            i++;
        }
    }
    if (i == n) {
        /* at most one space at the end to trim */
        if (n > 0 && line[n - 1] == ' ') {
            n--;
        }
        line[n] = '\0';
        return n;
    }
    /* From i on, the byte loop: bytes before it stay where they are, less
       a space before i (pending: it is written only before a word). */
    bool space = i > 0 && line[i - 1] == ' ';
    size_t o = space ? i - 1 : i;
    for (; i < n; i++) {
        if (s_is_blank_char(line[i])) {
            space = true;
            continue;
        }
        if (space && o > 0) {
            line[o++] = ' ';
        }
        space = false;
        line[o++] = line[i];
    }
    line[o] = '\0';
    return o;
}

/* ---- dates ---------------------------------------------------------- */

static int
s_month(const char *word, size_t len) {
    if (len < 3) {
        return 0;
    }
    if (word[len - 1] == '.') {
        len--; /* "Jun." */
    }
    for (int m = 0; m < 12; m++) {
        size_t full = strlen(s_months[m]);
        if ((len == full || (len == 3 && full >= 3) ||
             (len == 4 && m == 8)) && /* "Sept" */
            strncasecmp(word, s_months[m], len) == 0) {
            return m + 1;
        }
    }
    return 0;
}

static bool
s_valid_ymd(int y, int m, int d) {
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > days[m - 1]) {
        return false;
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

/*  Writes "yyyy-mm-dd", "yyyy-mm" (d 0) or "yyyy" (m 0) into out (11
    bytes); the values were validated by s_valid_ymd. */
static void
s_iso(char *out, int y, int m, int d) {
    unsigned uy = (unsigned)y % 10000u, um = (unsigned)m % 100u,
             ud = (unsigned)d % 100u;
    if (m == 0) {
        snprintf(out, 11, "%04u", uy);
    } else if (d == 0) {
        snprintf(out, 11, "%04u-%02u", uy, um);
    } else {
        snprintf(out, 11, "%04u-%02u-%02u", uy, um, ud);
    }
}

typedef struct {
    const char *s;
    size_t len;
} s_token_t;

/*  Splits s into at most max tokens at spaces and commas. */
static size_t
s_tokens(const char *s, s_token_t *tok, size_t max) {
    size_t n = 0;
    while (*s && n < max) {
        while (*s == ' ' || *s == ',') {
            s++;
        }
        if (!*s) {
            break;
        }
        const char *start = s;
        while (*s && *s != ' ' && *s != ',') {
            s++;
        }
        tok[n].s = start;
        tok[n].len = (size_t)(s - start);
        n++;
    }
    return n;
}

static int
s_number(const s_token_t *t, size_t min_digits, size_t max_digits) {
    size_t len = t->len;
    /* "14th", "1st": ordinal suffixes */
    if (len > 2 && isalpha((unsigned char)t->s[len - 1]) &&
        isalpha((unsigned char)t->s[len - 2])) {
        len -= 2;
    }
    if (len < min_digits || len > max_digits) {
        return -1;
    }
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)t->s[i])) {
            return -1;
        }
        v = v * 10 + (t->s[i] - '0');
    }
    return v;
}

static bool
s_is_weekday(const s_token_t *t) {
    static const char *const days[] = {"monday",   "tuesday", "wednesday",
                                       "thursday", "friday",  "saturday",
                                       "sunday"};
    for (size_t i = 0; i < 7; i++) {
        if (t->len >= 3 && t->len <= strlen(days[i]) &&
            strncasecmp(t->s, days[i], t->len) == 0) {
            return true;
        }
    }
    return false;
}

/*  Reads a date from tokens tok[*i..n): "14 June 2004", "June 14, 2004",
    "2004-06-14", "June 2004", "2004", each optionally after a weekday.
    Writes ISO 8601 into out (11 bytes) and advances *i. */
static bool
s_read_date(const s_token_t *tok, size_t n, size_t *i, char *out) {
    size_t k = *i;
    if (k < n && s_is_weekday(&tok[k])) {
        k++;
    }
    if (k >= n) {
        return false;
    }
    int y, m, d;
    /* 2004-06-14 */
    if (tok[k].len == 10 && tok[k].s[4] == '-' && tok[k].s[7] == '-') {
        s_token_t ty = {tok[k].s, 4}, tm = {tok[k].s + 5, 2},
                  td = {tok[k].s + 8, 2};
        y = s_number(&ty, 4, 4);
        m = s_number(&tm, 2, 2);
        d = s_number(&td, 2, 2);
        if (!s_valid_ymd(y, m, d)) {
            return false;
        }
        s_iso(out, y, m, d);
        *i = k + 1;
        return true;
    }
    /* 14 June 2004 */
    d = s_number(&tok[k], 1, 2);
    if (d > 0 && k + 2 < n + 0 && (m = s_month(tok[k + 1].s, tok[k + 1].len)) &&
        (y = s_number(&tok[k + 2], 4, 4)) > 0) {
        if (!s_valid_ymd(y, m, d)) {
            return false;
        }
        s_iso(out, y, m, d);
        *i = k + 3;
        return true;
    }
    m = s_month(tok[k].s, tok[k].len);
    if (m && k + 1 < n) {
        /* June 14, 2004 */
        d = s_number(&tok[k + 1], 1, 2);
        if (d > 0 && k + 2 < n && (y = s_number(&tok[k + 2], 4, 4)) > 0) {
            if (!s_valid_ymd(y, m, d)) {
                return false;
            }
            s_iso(out, y, m, d);
            *i = k + 3;
            return true;
        }
        /* June 2004 */
        y = s_number(&tok[k + 1], 4, 4);
        if (y > 0 && s_valid_ymd(y, m, 1)) {
            s_iso(out, y, m, 0);
            *i = k + 2;
            return true;
        }
        return false;
    }
    y = s_number(&tok[k], 4, 4);
    if (y > 0 && s_valid_ymd(y, 1, 1)) {
        s_iso(out, y, 0, 0);
        *i = k + 1;
        return true;
    }
    return false;
}

/*  Parses a whole publication date; false when anything is left over. */
static bool
s_parse_date(const char *s, char *out) {
    s_token_t tok[8];
    size_t n = s_tokens(s, tok, 8);
    size_t i = 0;
    return s_read_date(tok, n, &i, out) && i == n;
}

/*  Parses "Monday, 05 October 2015, 08:49 GMT" into
    "2015-10-05T08:49:00Z" (out: 21 bytes). A missing time is midnight;
    the zone must be GMT, UTC, Z or absent. */
static bool
refworld_parse_timestamp(const char *s, char *out, bool *no_time) {
    s_token_t tok[10];
    size_t n = s_tokens(s, tok, 10);
    size_t i = 0;
    char date[11];
    if (!s_read_date(tok, n, &i, date) || strlen(date) != 10) {
        return false;
    }
    int hh = 0, mm = 0, ss = 0;
    *no_time = true;
    if (i < n && (tok[i].len == 5 || tok[i].len == 8) && tok[i].s[2] == ':') {
        s_token_t th = {tok[i].s, 2}, tm = {tok[i].s + 3, 2};
        hh = s_number(&th, 2, 2);
        mm = s_number(&tm, 2, 2);
        if (tok[i].len == 8) {
            s_token_t ts = {tok[i].s + 6, 2};
            ss = tok[i].s[5] == ':' ? s_number(&ts, 2, 2) : -1;
        }
        if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59) {
            return false;
        }
        *no_time = false;
        i++;
    }
    if (i < n) {
        bool utc =
            (tok[i].len == 3 && (strncasecmp(tok[i].s, "GMT", 3) == 0 ||
                                 strncasecmp(tok[i].s, "UTC", 3) == 0)) ||
            (tok[i].len == 1 && toupper((unsigned char)*tok[i].s) == 'Z');
        if (!utc) {
            return false;
        }
        i++;
    }
    if (i != n) {
        return false;
    }
    snprintf(out, 21, "%.10sT%02u:%02u:%02uZ", date, (unsigned)hh % 100u,
             (unsigned)mm % 100u, (unsigned)ss % 100u);
    return true;
}

/* ---- tiers ---------------------------------------------------------- */

/*  Reads a tier at the start of s (case-insensitive): "Tier 2 Watch List",
    "Tier 2WL", "TIER II", "2WL", "Special Case". Sets *tier and returns the
    bytes read, or 0. */
static size_t
refworld_tier_prefix(const char *s, Dossier__V1__Tier *tier) {
    const char *p = s;
    if (refworld_prefix_ci(p, "special case")) {
        *tier = DOSSIER__V1__TIER__SPECIAL_CASE;
        return strlen("special case");
    }
    if (refworld_prefix_ci(p, "tier")) {
        p += 4;
        while (*p == ' ' || *p == '-') {
            p++;
        }
    }
    int level = 0;
    if (*p == '1' || *p == '2' || *p == '3') {
        level = *p - '0';
        p++;
    } else if (refworld_prefix_ci(p, "iii")) {
        level = 3;
        p += 3;
    } else if (refworld_prefix_ci(p, "ii")) {
        level = 2;
        p += 2;
    } else if (refworld_prefix_ci(p, "i")) {
        level = 1;
        p += 1;
    } else if (refworld_prefix_ci(p, "one")) {
        level = 1;
        p += 3;
    } else if (refworld_prefix_ci(p, "two")) {
        level = 2;
        p += 3;
    } else if (refworld_prefix_ci(p, "three")) {
        level = 3;
        p += 5;
    }
    if (level == 0) {
        return 0;
    }
    /* The number must end a word, except for "2WL". */
    const char *after = p;
    if (level == 2) {
        const char *q = p;
        while (*q == ' ' || *q == '-') {
            q++;
        }
        if (refworld_prefix_ci(q, "watch list") ||
            refworld_prefix_ci(q, "watch-list")) {
            *tier = DOSSIER__V1__TIER__TIER_2_WATCH_LIST;
            return (size_t)(q + 10 - s);
        }
        if (refworld_prefix_ci(q, "watchlist")) {
            *tier = DOSSIER__V1__TIER__TIER_2_WATCH_LIST;
            return (size_t)(q + 9 - s);
        }
        if (refworld_prefix_ci(q, "wl") && !isalnum((unsigned char)q[2])) {
            *tier = DOSSIER__V1__TIER__TIER_2_WATCH_LIST;
            return (size_t)(q + 2 - s);
        }
    }
    if (isalnum((unsigned char)*after)) {
        return 0;
    }
    *tier = level == 1   ? DOSSIER__V1__TIER__TIER_1
            : level == 2 ? DOSSIER__V1__TIER__TIER_2
                         : DOSSIER__V1__TIER__TIER_3;
    return (size_t)(after - s);
}

dossier_status_t
refworld_tier_parse(const char *text, Dossier__V1__Tier *tier) {
    if (!text || !tier) {
        return DOSSIER_INVALID_ARGUMENT;
    }
    while (*text == ' ' || *text == '\t') {
        text++;
    }
    Dossier__V1__Tier t;
    size_t n = refworld_tier_prefix(text, &t);
    if (n == 0) {
        return DOSSIER_INVALID_ARGUMENT;
    }
    for (const char *p = text + n; *p; p++) {
        if (!isspace((unsigned char)*p)) {
            return DOSSIER_INVALID_ARGUMENT;
        }
    }
    *tier = t;
    return DOSSIER_OK;
}

const char *
refworld_tier_name(Dossier__V1__Tier tier) {
    switch (tier) {
    case DOSSIER__V1__TIER__TIER_1:
        return "Tier 1";
    case DOSSIER__V1__TIER__TIER_2:
        return "Tier 2";
    case DOSSIER__V1__TIER__TIER_2_WATCH_LIST:
        return "Tier 2 Watch List";
    case DOSSIER__V1__TIER__TIER_3:
        return "Tier 3";
    case DOSSIER__V1__TIER__SPECIAL_CASE:
        return "Special Case";
    default:
        return "";
    }
}

/* ---- countries ------------------------------------------------------ */

/*  Drops a footnote mark glued to or after a country name: digits,
    superscript digits, asterisks, daggers, "[1]". Returns the new length. */
static size_t
s_strip_footnote(const char *s, size_t n) {
    for (;;) {
        while (n > 0 &&
               (isdigit((unsigned char)s[n - 1]) || s[n - 1] == '*' ||
                s[n - 1] == ' ' || s[n - 1] == ']' || s[n - 1] == '[')) {
            n--;
        }
        /* superscripts 1-3 (C2 B9, C2 B2, C2 B3), U+2070..U+2079 and
           daggers U+2020, U+2021 */
        if (n >= 2 && (unsigned char)s[n - 2] == 0xC2 &&
            ((unsigned char)s[n - 1] == 0xB9 ||
             (unsigned char)s[n - 1] == 0xB2 ||
             (unsigned char)s[n - 1] == 0xB3)) {
            n -= 2;
            continue;
        }
        if (n >= 3 && (unsigned char)s[n - 3] == 0xE2 &&
            (((unsigned char)s[n - 2] == 0x81 &&
              (unsigned char)s[n - 1] >= 0xB0 &&
              (unsigned char)s[n - 1] <= 0xB9) ||
             ((unsigned char)s[n - 2] == 0x80 &&
              ((unsigned char)s[n - 1] == 0xA0 ||
               (unsigned char)s[n - 1] == 0xA1)))) {
            n -= 3;
            continue;
        }
        return n;
    }
}

/*  True when s has letters and no lower-case ASCII letter ("RUSSIA"). */
static bool
s_all_caps(const char *s) {
    bool upper = false;
    for (; *s; s++) {
        if (islower((unsigned char)*s)) {
            return false;
        }
        if (isupper((unsigned char)*s)) {
            upper = true;
        }
    }
    return upper;
}

/*  Re-cases an ALL-CAPS name in place: "BOSNIA AND HERZEGOVINA" ->
    "Bosnia and Herzegovina", "COTE D'IVOIRE" -> "Cote d'Ivoire". Only ASCII
    letters change. */
static void
s_recase(char *s) {
    bool word_start = true;
    bool first_word = true;
    char *word = s;
    for (char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\0' || c == '-' || c == '(' || c == ')') {
            /* finish the word [word, p) */
            size_t len = (size_t)(p - word);
            static const char *const small[] = {"and", "of",  "the", "da",
                                                "de",  "del", "du",  "la"};
            bool keep_small = false;
            for (size_t k = 0; k < sizeof(small) / sizeof(small[0]); k++) {
                if (!first_word && len == strlen(small[k]) &&
                    strncasecmp(word, small[k], len) == 0) {
                    keep_small = true;
                }
            }
            if (keep_small && len > 0) {
                word[0] = (char)tolower((unsigned char)word[0]);
            }
            if (len > 0) {
                first_word = false;
            }
            if (c == '\0') {
                return;
            }
            word = p + 1;
            word_start = true;
            continue;
        }
        if (c == '\'') {
            /* "D'IVOIRE": a one-letter elision stays lower, the rest starts
               upper. */
            if (p - word == 1 && !first_word) {
                word[0] = (char)tolower((unsigned char)word[0]);
            }
            word_start = true;
            continue;
        }
        if (c < 0x80 && isalpha(c)) {
            *p = (char)(word_start ? toupper(c) : tolower(c));
        } else if (c == 0xC3 && !word_start && (unsigned char)p[1] >= 0x80 &&
                   (unsigned char)p[1] <= 0x9E && (unsigned char)p[1] != 0x97) {
            p[1] = (char)(p[1] + 0x20); /* "Ô" -> "ô" inside a word */
            p++;
        }
        word_start = false;
    }
}

/*  Copies n bytes of a country name as written, without its footnote mark,
    re-cased when ALL CAPS. NULL when nothing is left or out of memory. */
static char *
refworld_country_name(refworld_parser_t *p, const char *s, size_t n) {
    n = s_strip_footnote(s, n);
    while (n > 0 && s[n - 1] == ' ') {
        n--;
    }
    while (n > 0 && *s == ' ') {
        s++;
        n--;
    }
    if (n == 0) {
        return NULL;
    }
    char *c = refworld_strndup(s, n);
    if (!c) {
        p->oom = true;
        return NULL;
    }
    if (s_all_caps(c)) {
        s_recase(c);
    }
    return c;
}

/* ---- line classification -------------------------------------------- */

/*  line: n bytes, NUL-terminated. */
static bool
s_is_furniture(const char *line, size_t n) {
    char simple[64];
    if (n >= sizeof(simple)) {
        return false;
    }
    s_simplify(line, simple, sizeof(simple));
    if (simple[0] == '\0') {
        /* rules, bullets and such: nothing readable */
        return n > 0 && n < 8;
    }
    for (size_t i = 0; i < sizeof(s_furniture) / sizeof(s_furniture[0]); i++) {
        if (strcmp(simple, s_furniture[i]) == 0) {
            return true;
        }
    }
    return strncmp(line, "\xc2\xa9", 2) == 0; /* "© UNHCR 2004" */
}

/*  line: n bytes, NUL-terminated. */
static bool
s_is_search_refworld(const char *line, size_t n) {
    char simple[32];
    if (n >= sizeof(simple)) {
        return false;
    }
    s_simplify(line, simple, sizeof(simple));
    return strcmp(simple, "search refworld") == 0;
}

/*  Recognizes "Label value", "Label: value", "Labelvalue" (when the value
    starts with a capital or a digit: "DisclaimerThis is...") and a label
    alone. Sets *value (may be "") and returns the label, or LABEL_NONE. */
static s_label_t
s_match_label(const char *line, const char **value) {
    for (size_t i = 0; i < sizeof(s_labels) / sizeof(s_labels[0]); i++) {
        size_t n = strlen(s_labels[i].text);
        if (strncasecmp(line, s_labels[i].text, n) != 0) {
            continue;
        }
        const char *v = line + n;
        unsigned char c = (unsigned char)*v;
        if (c == ':' || c == ' ') {
            v++;
            while (*v == ' ' || *v == ':') {
                v++;
            }
        } else if (c != '\0' && !isupper(c) && !isdigit(c) && c < 0x80) {
            continue; /* "Authorities ..." is prose */
        }
        *value = v;
        return s_labels[i].label;
    }
    return LABEL_NONE;
}

/*  True when line may be the title: one line, short, no final full stop,
    with a " - " before the country or a year. */
static bool
s_looks_like_title(const char *line) {
    size_t n = strlen(line);
    if (n < 4 || n > REFWORLD_TITLE_MAX || line[n - 1] == '.' ||
        line[n - 1] == ':') {
        return false;
    }
    if (strstr(line, " - ") || strstr(line, " \xe2\x80\x93 ") ||
        strstr(line, " \xe2\x80\x94 ")) {
        return true;
    }
    for (size_t i = 0; i + 4 <= n; i++) {
        bool before = i == 0 || !isalnum((unsigned char)line[i - 1]);
        bool after = i + 4 == n || !isalnum((unsigned char)line[i + 4]);
        if (before && after && (line[i] == '1' || line[i] == '2') &&
            isdigit((unsigned char)line[i + 1]) &&
            isdigit((unsigned char)line[i + 2]) &&
            isdigit((unsigned char)line[i + 3])) {
            return true;
        }
    }
    return false;
}

/*  Recognizes a "Country (Tier X)" heading, with nested parentheses in the
    country ("Serbia and Montenegro (and Kosovo) (Tier 2 Watch List)"), a
    footnote mark ("Sweden1 (Tier 1)"), any case ("RUSSIA (TIER 1)"), and a
    note after the tier inside or after the parentheses. On success stores
    the country, tier and note in p and returns true. */
static bool
s_parse_heading(refworld_parser_t *p, const char *line) {
    size_t n = strlen(line);
    if (n < 6 || n > HEADING_MAX) {
        return false;
    }
    /* The first letter starts a name: upper case or non-ASCII. */
    unsigned char first = (unsigned char)line[0];
    if (!(isupper(first) || first >= 0x80)) {
        return false;
    }
    int depth = 0;
    size_t open = 0;
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '(') {
            if (depth == 0) {
                open = i;
            }
            depth++;
            continue;
        }
        if (line[i] != ')' || depth == 0) {
            continue;
        }
        depth--;
        if (depth != 0) {
            continue;
        }
        /* a top-level group [open, i] */
        const char *inner = line + open + 1;
        while (*inner == ' ') {
            inner++;
        }
        if (!((refworld_prefix_ci(inner, "tier") &&
               !isalpha((unsigned char)inner[4])) ||
              refworld_prefix_ci(inner, "special case"))) {
            continue; /* "(and Kosovo)", "(Tiered ...)" */
        }
        size_t country_len = open;
        size_t words = 1;
        for (size_t k = 0; k < country_len; k++) {
            words +=
                line[k] == ' ' && k + 1 < country_len && line[k + 1] != '(';
        }
        if (country_len == 0 || country_len > HEADING_COUNTRY_MAX ||
            words > HEADING_COUNTRY_WORDS || memchr(line, ':', country_len)) {
            return false;
        }
        char *country = refworld_country_name(p, line, country_len);
        if (!country) {
            return false;
        }
        /* A name has no digits once its footnote is gone, and no " - ":
           "Report 2008 - Chad (Tier 2)" is a title, not a heading. */
        if (strpbrk(country, "0123456789") || strstr(country, " - ")) {
            free(country);
            return false;
        }
        size_t group_len = (size_t)(line + i - inner);
        char *group = refworld_strndup(inner, group_len);
        if (!group) {
            free(country);
            p->oom = true;
            return false;
        }
        Dossier__V1__Tier tier = DOSSIER__V1__TIER__TIER_UNSPECIFIED;
        size_t used = refworld_tier_prefix(group, &tier);
        char ex[64];
        if (used == 0) {
            refworld_warn(p, "the heading's tier \"%s\" is not a known tier",
                          refworld_excerpt(group, ex, sizeof(ex)));
        }
        /* The note: what follows the tier in the group, then what follows
           the group, each without leading punctuation. */
        /* An unknown tier is in the warning, not in the note. */
        const char *notes[2] = {used ? group + used : "", line + i + 1};
        char note[HEADING_MAX * 2 + 4] = "";
        for (size_t k = 0; k < 2; k++) {
            const char *q = notes[k];
            while (*q == ' ' || *q == ';' || *q == ',' || *q == ':' ||
                   *q == '-' || *q == '*' || *q == '.' ||
                   refworld_prefix_ci(q, "\xe2\x80\x93") ||
                   refworld_prefix_ci(q, "\xe2\x80\x94")) {
                q += ((unsigned char)*q == 0xE2) ? 3 : 1;
            }
            size_t qn = strlen(q);
            while (qn > 0 && q[qn - 1] == ' ') {
                qn--;
            }
            if (qn == 0) {
                continue;
            }
            size_t have = strlen(note);
            snprintf(note + have, sizeof(note) - have, "%s%.*s",
                     have ? "; " : "", (int)qn, q);
        }
        free(p->heading_country);
        p->heading_country = country;
        free(p->heading_tier_text);
        p->heading_tier_text = group;
        p->tier = tier;
        if (note[0]) {
            refworld_set(p, &p->tier_note, note, strlen(note));
        }
        p->heading_found = true;
        return true;
    }
    return false;
}

/* ---- body ----------------------------------------------------------- */

static void
s_para_add(refworld_parser_t *p, const char *line, size_t n) {
    size_t need = p->para_len + n + 2;
    if (need > p->para_cap) {
        size_t cap = p->para_cap ? p->para_cap : 256;
        while (cap < need) {
            cap *= 2;
        }
        char *grown = realloc(p->para, cap);
        if (!grown) {
            p->oom = true;
            return;
        }
        p->para = grown;
        p->para_cap = cap;
    }
    if (p->para_len > 0) {
        p->para[p->para_len++] = ' ';
    }
    memcpy(p->para + p->para_len, line, n);
    p->para_len += n;
    p->para[p->para_len] = '\0';
}

static void
s_para_flush(refworld_parser_t *p) {
    if (p->para_len == 0) {
        return;
    }
    char *para = refworld_strndup(p->para, p->para_len);
    if (!para || !refworld_vec_push(&p->body, para)) {
        free(para);
        p->oom = true;
    }
    p->para_len = 0;
}

/* ---- the pass over the lines ---------------------------------------- */

typedef enum { STATE_HEADER, STATE_BODY } s_state_t;

static void
s_take_label(refworld_parser_t *p, s_label_t label, const char *value) {
    size_t n = strlen(value);
    switch (label) {
    case LABEL_TITLE:
        refworld_set(p, &p->title, value, n);
        p->title_from_label = true;
        break;
    case LABEL_PUBLISHER:
        refworld_set(p, &p->publisher, value, n);
        break;
    case LABEL_AUTHOR:
        refworld_set(p, &p->author, value, n);
        break;
    case LABEL_PUBDATE:
        refworld_set(p, &p->pubdate, value, n);
        break;
    case LABEL_CITE:
        refworld_set(p, &p->cite_as, value, n);
        break;
    case LABEL_DISCLAIMER:
        refworld_set(p, &p->disclaimer, value, n);
        break;
    case LABEL_COUNTRIES:
        refworld_set(p, &p->countries, value, n);
        break;
    default:
        break;
    }
}

static void
s_take_last_updated(refworld_parser_t *p, const char *line) {
    const char *v = line + strlen("last updated");
    while (*v == ':' || *v == ' ') {
        v++;
    }
    char iso[21];
    bool no_time = false;
    char ex[64];
    if (!refworld_parse_timestamp(v, iso, &no_time)) {
        refworld_warn(p, "the Last Updated date \"%s\" is not understood",
                      refworld_excerpt(v, ex, sizeof(ex)));
        return;
    }
    if (no_time) {
        refworld_warn(p,
                      "Last Updated has no time of day; midnight UTC assumed");
    }
    refworld_set(p, &p->last_updated, iso, strlen(iso));
}

/*  True for a line holding only a date ("February 28, 2005"). */
static bool
refworld_is_date_line(const char *line) {
    char iso[11];
    return strlen(line) < 40 && s_parse_date(line, iso);
}

/*  Reads the size bytes of normalized text (NUL-terminated, no NUL
    inside), cutting its lines in place. */
static void
s_scan_lines(refworld_parser_t *p, char *text, size_t size) {
    s_state_t state = STATE_HEADER;
    s_label_t pending = LABEL_NONE; /* a label alone: value on next line */
    bool skip_date = false;         /* after "Released by ..." */
    bool want_note = false;         /* after a heading ending in '*' */
    char *end = text + size;
    char *save = NULL;
    char *line = text;
    while (line) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (nl) {
            *nl = '\0';
        }
        save = nl ? nl + 1 : NULL;
        size_t n = refworld_clean_line(line, (size_t)((nl ? nl : end) - line));

        if (n == 0) {
            if (state == STATE_BODY) {
                s_para_flush(p);
            }
            goto next;
        }
        /* "Last Updated:" anywhere; without its colon only in the header,
           where it cannot be the start of a sentence of the body */
        if (refworld_prefix_ci(line, "last updated") &&
            (line[12] == ':' || (line[12] == ' ' && state == STATE_HEADER))) {
            s_take_last_updated(p, line);
            goto next;
        }
        if (p->ended) {
            goto next;
        }
        if (s_is_search_refworld(line, n)) {
            if (state == STATE_BODY) {
                s_para_flush(p);
                p->ended = true;
            }
            goto next;
        }
        if (s_is_furniture(line, n)) {
            goto next;
        }
        if (want_note) {
            want_note = false;
            if (line[0] == '*' && refworld_strcasestr(line, "tier")) {
                const char *q = line;
                while (*q == '*' || *q == ' ') {
                    q++;
                }
                refworld_set(p, &p->tier_note, q, strlen(q));
                goto next;
            }
        }
        if (!p->heading_found && p->para_len == 0 && s_parse_heading(p, line)) {
            want_note = line[n - 1] == '*' || strstr(line, "*)") != NULL;
            if (state == STATE_HEADER) {
                state = STATE_BODY;
            }
            goto next;
        }
        if (state == STATE_HEADER) {
            if (pending != LABEL_NONE) {
                s_take_label(p, pending, line);
                pending = LABEL_NONE;
                goto next;
            }
            const char *value = NULL;
            s_label_t label = s_match_label(line, &value);
            if (label != LABEL_NONE) {
                if (*value == '\0') {
                    pending = label;
                } else {
                    s_take_label(p, label, value);
                }
                goto next;
            }
            if (refworld_prefix_ci(line, "released by ")) {
                skip_date = true;
                goto next;
            }
            if (skip_date && refworld_is_date_line(line)) {
                skip_date = false;
                goto next;
            }
            skip_date = false;
            if (p->title && strcasecmp(p->title, line) == 0) {
                goto next; /* the title repeated above the text */
            }
            if (!p->title && s_looks_like_title(line)) {
                refworld_set(p, &p->title, line, n);
                goto next;
            }
            state = STATE_BODY;
        }
        s_para_add(p, line, n);
    next:
        line = save;
    }
    s_para_flush(p);
}

/* ---- derived fields ------------------------------------------------- */

/*  Finds the last " - " (or en/em dash) in s; returns the offset of the
    separator and sets *sep_len, or -1. */
static long
s_last_dash(const char *s, size_t *sep_len) {
    long found = -1;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] != ' ') {
            continue;
        }
        if (s[i + 1] == '-' && s[i + 2] == ' ') {
            found = (long)i;
            *sep_len = 3;
        } else if ((unsigned char)s[i + 1] == 0xE2 &&
                   (unsigned char)s[i + 2] == 0x80 &&
                   ((unsigned char)s[i + 3] == 0x93 ||
                    (unsigned char)s[i + 3] == 0x94) &&
                   s[i + 4] == ' ') {
            found = (long)i;
            *sep_len = 5;
        }
    }
    return found;
}

static unsigned
s_year_in(const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i + 4 <= n; i++) {
        bool before = i == 0 || !isalnum((unsigned char)s[i - 1]);
        bool after = i + 4 == n || !isdigit((unsigned char)s[i + 4]);
        if (!before || !after) {
            continue;
        }
        if ((s[i] == '1' && s[i + 1] == '9') ||
            (s[i] == '2' && (s[i + 1] == '0' || s[i + 1] == '1'))) {
            if (isdigit((unsigned char)s[i + 2]) &&
                isdigit((unsigned char)s[i + 3])) {
                return (unsigned)atoi(s + i) % 10000;
            }
        }
    }
    return 0;
}

/*  The series part of a title: before its last dash, less the years and a
    leading publisher, less a trailing "for". */
static void
s_series_from_title(refworld_parser_t *p) {
    size_t sep_len = 0;
    long dash = s_last_dash(p->title, &sep_len);
    size_t n = dash >= 0 ? (size_t)dash : strlen(p->title);
    char *part = refworld_strndup(p->title, n);
    if (!part) {
        p->oom = true;
        return;
    }
    /* drop the years */
    size_t len = strlen(part);
    for (size_t i = 0; i + 4 <= len; i++) {
        bool before = i == 0 || part[i - 1] == ' ' || part[i - 1] == '(';
        bool after = i + 4 == len || !isalnum((unsigned char)part[i + 4]);
        if (before && after && isdigit((unsigned char)part[i]) &&
            isdigit((unsigned char)part[i + 1]) &&
            isdigit((unsigned char)part[i + 2]) &&
            isdigit((unsigned char)part[i + 3])) {
            memset(part + i, ' ', 4);
        }
    }
    refworld_clean_line(part, strlen(part));
    char *start = part;
    for (size_t i = 0;
         i < sizeof(s_title_publishers) / sizeof(s_title_publishers[0]); i++) {
        if (refworld_prefix_ci(start, s_title_publishers[i])) {
            start += strlen(s_title_publishers[i]);
            while (*start == ' ' || *start == ',' || *start == ':') {
                start++;
            }
            break;
        }
    }
    len = strlen(start);
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == ',' ||
                       start[len - 1] == ':' || start[len - 1] == '(' ||
                       start[len - 1] == ')')) {
        len--;
    }
    if (len >= 4 && strncasecmp(start + len - 4, " for", 4) == 0) {
        len -= 4;
    }
    start[len] = '\0';

    char *folded = text_fold(start, len);
    if (!folded) {
        free(part);
        p->oom = true;
        return;
    }
    for (size_t i = 0; i < sizeof(s_series) / sizeof(s_series[0]); i++) {
        if (strstr(folded, s_series[i].match)) {
            refworld_set(p, &p->doc_type, s_series[i].doc_type,
                         strlen(s_series[i].doc_type));
            p->series_slug = s_series[i].slug;
            break;
        }
    }
    free(folded);
    if (!p->doc_type && len > 0) {
        refworld_set(p, &p->doc_type, start, len);
    }
    free(part);
}

/*  Reads the title back from "Cite as": "<Publisher>, <Title>, <date>,
    available at: ...". */
static void
refworld_title_from_cite(refworld_parser_t *p) {
    if (!p->cite_as) {
        return;
    }
    const char *s = p->cite_as;
    if (p->publisher && strncmp(s, p->publisher, strlen(p->publisher)) == 0 &&
        s[strlen(p->publisher)] == ',') {
        s += strlen(p->publisher) + 1;
    } else {
        return;
    }
    while (*s == ' ') {
        s++;
    }
    const char *end = refworld_strcasestr(s, ", available at");
    size_t n = end ? (size_t)(end - s) : strlen(s);
    /* drop ", <date>" at the end */
    for (size_t i = n; i > 0; i--) {
        if (s[i - 1] == ',' && i < n) {
            char *tail = refworld_strndup(s + i, n - i);
            if (!tail) {
                p->oom = true;
                return;
            }
            refworld_clean_line(tail, strlen(tail));
            if (refworld_is_date_line(tail)) {
                n = i - 1;
            }
            free(tail);
            break;
        }
    }
    if (n > 0 && n <= REFWORLD_TITLE_MAX) {
        refworld_set(p, &p->title, s, n);
        refworld_warn(p, "no title line; the title was read from \"Cite as\"");
    }
}

/*  A Refworld address in "Cite as" ("available at: https://www.refworld.
    org/docid/4680d805c.html"). */
static void
s_source_url(refworld_parser_t *p) {
    if (!p->cite_as) {
        return;
    }
    const char *u = refworld_strcasestr(p->cite_as, "http://");
    const char *u2 = refworld_strcasestr(p->cite_as, "https://");
    if (!u || (u2 && u2 < u)) {
        u = u2;
    }
    if (!u) {
        return;
    }
    size_t n = 0;
    while (u[n] && u[n] != ' ' && u[n] != ']' && u[n] != '>' && u[n] != '"') {
        n++;
    }
    while (n > 0 && strchr(".,;)", u[n - 1])) {
        n--;
    }
    char *url = refworld_strndup(u, n);
    if (!url) {
        p->oom = true;
        return;
    }
    const char *host = strstr(url, "://") + 3;
    const char *slash = strchr(host, '/');
    size_t host_len = slash ? (size_t)(slash - host) : strlen(host);
    bool refworld = false;
    for (size_t i = 0; i + 12 <= host_len; i++) {
        if (strncasecmp(host + i, "refworld.org", 12) == 0) {
            refworld = true;
        }
    }
    if (refworld) {
        free(p->source_url);
        p->source_url = url;
    } else {
        free(url);
    }
}

/*  The tier stated in an early body sentence, when there is no heading:
    "Somalia remains a Special Case", "X is placed on Tier 2 Watch List". */
static void
s_tier_from_body(refworld_parser_t *p) {
    for (size_t i = 0; i < p->body.count && i < TIER_SENTENCE_PARAGRAPHS; i++) {
        const char *para = p->body.items[i];
        for (size_t k = 0;
             k < sizeof(s_tier_phrases) / sizeof(s_tier_phrases[0]); k++) {
            const char *at = para;
            while ((at = strstr(at, s_tier_phrases[k])) != NULL) {
                const char *t = at + strlen(s_tier_phrases[k]);
                at = t;
                /* only capitalized tiers: "Tier 2", "Special Case" */
                if (strncmp(t, "Tier ", 5) != 0 &&
                    strncmp(t, "Special Case", 12) != 0) {
                    continue;
                }
                Dossier__V1__Tier tier;
                size_t used = refworld_tier_prefix(t, &tier);
                if (used == 0) {
                    continue;
                }
                p->tier = tier;
                char ex[64];
                refworld_warn(
                    p,
                    "no tier heading; the tier \"%s\" was read from the "
                    "body (\"...%s\")",
                    refworld_tier_name(tier),
                    refworld_excerpt(at - strlen(s_tier_phrases[k]), ex,
                                     sizeof(ex)));
                return;
            }
        }
    }
}

static void
refworld_derive(refworld_parser_t *p) {
    char ex[64], ex2[64];
    if (!p->title) {
        refworld_title_from_cite(p);
    }
    /* country: the title's last " - " part, else the heading's */
    if (p->title) {
        size_t sep_len = 0;
        long dash = s_last_dash(p->title, &sep_len);
        if (dash >= 0) {
            const char *c = p->title + dash + sep_len;
            p->country = refworld_country_name(p, c, strlen(c));
        }
        p->year = s_year_in(p->title);
        s_series_from_title(p);
    }
    if (!p->country && p->heading_country) {
        p->country = strdup(p->heading_country);
        p->oom |= p->country == NULL;
    }
    if (!p->country && p->countries && country_lookup(p->countries)) {
        p->country = strdup(p->countries);
        p->oom |= p->country == NULL;
    }
    p->country_entry = p->country ? country_lookup(p->country) : NULL;
    if (p->country && p->heading_country) {
        const country_t *a = p->country_entry;
        const country_t *b = strcmp(p->country, p->heading_country) == 0
                                 ? a
                                 : country_lookup(p->heading_country);
        if (a && b && a != b) {
            refworld_warn(
                p, "the title names %s but the heading names %s",
                refworld_excerpt(p->country, ex, sizeof(ex)),
                refworld_excerpt(p->heading_country, ex2, sizeof(ex2)));
        }
    }
    if (!p->doc_type && p->heading_found) {
        /* Only the TIP report places countries in tiers. */
        const char *tip = "Trafficking in Persons Report";
        refworld_set(p, &p->doc_type, tip, strlen(tip));
        p->series_slug = "tip";
    }
    bool tip = p->series_slug && strcmp(p->series_slug, "tip") == 0;
    if (tip && p->tier == DOSSIER__V1__TIER__TIER_UNSPECIFIED &&
        !p->heading_found) {
        s_tier_from_body(p);
    }
    if (p->pubdate) {
        char iso[11];
        if (s_parse_date(p->pubdate, iso)) {
            free(p->pubdate);
            p->pubdate = strdup(iso);
            p->oom |= p->pubdate == NULL;
        } else {
            refworld_warn(p, "the publication date \"%s\" is not understood",
                          refworld_excerpt(p->pubdate, ex, sizeof(ex)));
            free(p->pubdate);
            p->pubdate = NULL;
        }
    }
    s_source_url(p);

    if (!p->title) {
        refworld_warn(p, "no title found");
    } else if (p->year == 0) {
        refworld_warn(p, "no year in the title");
    }
    if (!p->country) {
        refworld_warn(p, "no country found");
    } else if (!p->country_entry) {
        refworld_warn(p, "the country \"%s\" is not a known ISO 3166-1 country",
                      refworld_excerpt(p->country, ex, sizeof(ex)));
    }
    if (!p->publisher) {
        refworld_warn(p, "no publisher found");
    }
    if (!p->pubdate) {
        refworld_warn(p, "no publication date found");
    }
    if (tip && !p->heading_found) {
        refworld_warn(p, "no \"Country (Tier ...)\" heading found");
    }
    if (tip && p->tier == DOSSIER__V1__TIER__TIER_UNSPECIFIED) {
        refworld_warn(p, "no tier found");
    }
    if (p->body.count == 0) {
        refworld_warn(p, "no body text found");
    }
    if (!p->ended) {
        refworld_warn(p, "no closing \"Search Refworld\" line: the text may be "
                         "truncated");
    }
}

/* ---- the id ------------------------------------------------------- */

/*  Appends a slug of s (lower-case ASCII letters and digits, other runs
    made one '-') to out, at most max bytes. */
static void
s_slug_append(char *out, size_t size, const char *s, size_t max) {
    size_t o = strlen(out);
    size_t start = o;
    char *folded = text_fold(s, strlen(s));
    if (!folded) {
        return;
    }
    bool dash = false;
    for (const char *q = folded; *q && o + 1 < size && o - start < max; q++) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x80 && isalnum(c)) {
            if (dash && o > start) {
                out[o++] = '-';
            }
            dash = false;
            out[o++] = (char)c;
        } else {
            dash = true;
        }
    }
    out[o] = '\0';
    free(folded);
}

static void
refworld_make_id(refworld_parser_t *p, const char *sha_hex, char *id,
                 size_t size) {
    id[0] = '\0';
    if (p->series_slug) {
        snprintf(id, size, "%s", p->series_slug);
    } else if (p->doc_type) {
        s_slug_append(id, size, p->doc_type, 40);
    }
    if (id[0] == '\0') {
        snprintf(id, size, "refworld");
    }
    char key[128] = "";
    if (p->country_entry) {
        /* what country_key gives a known country */
        snprintf(key, sizeof(key), "%s", p->country_entry->alpha3);
    } else if (p->country) {
        country_key(p->country, key, sizeof(key));
    }
    size_t o = strlen(id);
    if (p->year) {
        snprintf(id + o, size - o, "-%u", p->year);
    }
    if (key[0]) {
        o = strlen(id);
        snprintf(id + o, size - o, "-");
        s_slug_append(id, size, key, 48);
        o = strlen(id);
        if (id[o - 1] == '-') {
            id[o - 1] = '\0';
        }
    }
    if (!p->year || !key[0]) {
        o = strlen(id);
        snprintf(id + o, size - o, "-%.12s", sha_hex);
    }
}

/* ---- the result ------------------------------------------------------ */

static char *
s_take(char **slot) {
    char *s = *slot;
    *slot = NULL;
    return s ? s : strdup("");
}

static void
s_parse_free(refworld_parser_t *p) {
    char **fields[] = {
        &p->title,           &p->publisher,        &p->author,
        &p->pubdate,         &p->last_updated,     &p->cite_as,
        &p->disclaimer,      &p->countries,        &p->country,
        &p->tier_note,       &p->doc_type,         &p->source_url,
        &p->heading_country, &p->heading_tier_text};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
    refworld_vec_free(&p->body);
    refworld_vec_free(&p->warnings);
    free(p->para);
    p->para = NULL;
}

/*  Builds the Report from p, moving its strings. NULL when out of memory. */
static Dossier__V1__Report *
s_build_report(refworld_parser_t *p, const char *id, const char *sha_hex) {
    Dossier__V1__Report *r = malloc(sizeof(*r));
    if (!r) {
        return NULL;
    }
    dossier__v1__report__init(r);
    /* Every string is malloc'd so free_unpacked can free them all. */
    char **strings[] = {&r->id,
                        &r->title,
                        &r->publisher,
                        &r->author,
                        &r->publication_date,
                        &r->last_updated,
                        &r->cite_as,
                        &r->disclaimer,
                        &r->country,
                        &r->country_code,
                        &r->doc_type,
                        &r->source_url,
                        &r->source_sha256,
                        &r->created_at,
                        &r->updated_at,
                        &r->created_by,
                        &r->updated_by,
                        &r->tier_note};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        *strings[i] = NULL;
    }
    bool ok = true;
    r->id = strdup(id);
    r->title = s_take(&p->title);
    r->publisher = s_take(&p->publisher);
    r->author = s_take(&p->author);
    r->publication_date = s_take(&p->pubdate);
    r->last_updated = s_take(&p->last_updated);
    r->cite_as = s_take(&p->cite_as);
    r->disclaimer = s_take(&p->disclaimer);
    const country_t *c = p->country_entry;
    r->country = s_take(&p->country);
    r->country_code = strdup(c ? c->alpha3 : "");
    r->doc_type = s_take(&p->doc_type);
    r->source_url = s_take(&p->source_url);
    r->source_sha256 = strdup(sha_hex);
    r->created_at = strdup("");
    r->updated_at = strdup("");
    r->created_by = strdup("");
    r->updated_by = strdup("");
    r->tier_note = s_take(&p->tier_note);
    r->year = p->year;
    r->tier = p->tier;
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        if (!*strings[i]) {
            /* keep the message freeable: the static empty string is the
               field default, which free_unpacked leaves alone */
            *strings[i] = (char *)protobuf_c_empty_string;
            ok = false;
        }
    }
    /* The body moves over as it is. */
    r->n_body = p->body.count;
    r->body = p->body.items;
    p->body.items = NULL;
    p->body.count = p->body.cap = 0;
    if (!ok) {
        dossier__v1__report__free_unpacked(r, NULL);
        return NULL;
    }
    return r;
}

/*  Converts size bytes of UTF-16 (after its 2-byte BOM) to malloc'd
    UTF-8. Unpaired surrogates, an odd last byte and U+0000 become U+FFFD,
    so the result has no NUL inside. NULL when out of memory. */
static char *
refworld_utf16_to_utf8(const unsigned char *s, size_t size,
                       bool little_endian) {
    size_t units = (size - 2) / 2;
    /* a unit gives at most 3 bytes; a pair (2 units) gives 4 */
    char *out = malloc(units * 3 + 4);
    if (!out) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < units; i++) {
        const unsigned char *b = s + 2 + 2 * i;
        uint32_t cu = little_endian ? (uint32_t)(b[0] | (b[1] << 8))
                                    : (uint32_t)((b[0] << 8) | b[1]);
        uint32_t cp = cu;
        if (cu >= 0xD800 && cu <= 0xDBFF && i + 1 < units) {
            const unsigned char *c = b + 2;
            uint32_t lo = little_endian ? (uint32_t)(c[0] | (c[1] << 8))
                                        : (uint32_t)((c[0] << 8) | c[1]);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cu - 0xD800) << 10) + (lo - 0xDC00);
                i++;
            }
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
            cp = TEXT_REPLACEMENT;
        }
        o += text_utf8_encode(cp, out + o);
    }
    if ((size - 2) % 2) {
        o += text_utf8_encode(TEXT_REPLACEMENT, out + o);
    }
    out[o] = '\0';
    return out;
}

dossier_status_t
refworld_parse(const char *text, size_t size, const char *source_name,
               refworld_result_t *result, dossier_error_t *err) {
    const char *name = source_name && *source_name ? source_name : "input";
    if (!result || (!text && size > 0)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: no text given", name);
    }
    if (size == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: not a Refworld document: the file is "
                                 "empty (no title and no report heading found)",
                                 name);
    }
    if (size > REFWORLD_MAX_SIZE) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: not a Refworld document: %zu bytes is "
                                 "more than the %u a document may have",
                                 name, size, REFWORLD_MAX_SIZE);
    }
    /* libcrypto's SHA-256 uses the CPU's SHA instructions where there are
       some: four times libsodium's portable code on a 4.5 KB page. */
    unsigned char digest[S_SHA256_BYTES];
    char sha_hex[S_SHA256_BYTES * 2 + 1];
    if (!EVP_Digest(text, size, digest, NULL, EVP_sha256(), NULL)) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "%s: out of memory computing its SHA-256",
                                 name);
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(digest); i++) {
        sha_hex[2 * i] = hex[digest[i] >> 4];
        sha_hex[2 * i + 1] = hex[digest[i] & 0x0F];
    }
    sha_hex[sizeof(sha_hex) - 1] = '\0';

    /* UTF-16 with a byte-order mark (Windows "Unicode" text) is read as
       what it is rather than refused as binary; the hash stays that of the
       bytes given. */
    char *utf8 = NULL;
    const unsigned char *u = (const unsigned char *)text;
    bool utf16 = size >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) ||
                               (u[0] == 0xFE && u[1] == 0xFF));
    if (utf16) {
        utf8 = refworld_utf16_to_utf8(u, size, u[0] == 0xFF);
        if (!utf8) {
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "%s: out of memory", name);
        }
        text = utf8;
        size = strlen(utf8);
    }

    /* Text that is not UTF-8 and has not one UTF-8 sequence in it is a
       single-byte code page: read it as Windows-1252, whose printable
       characters include Latin-1's (0xA0 a no-break space, 0xF4 "ô"). */
    refworld_bytes_t bytes;
    refworld_count_bytes((const unsigned char *)text, size, &bytes);
    bool cp1252 = bytes.invalid > 0 && bytes.multibyte == 0;
    size_t bad = bytes.nuls + bytes.controls +
                 (cp1252 ? bytes.undefined : bytes.invalid);
    if (bad > 0 && bad * 10 > size) {
        free(utf8);
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: not a Refworld document: binary data "
                                 "(%zu of %zu bytes are not text), no title "
                                 "and no report heading found",
                                 name, bad, size);
    }
    if (cp1252) {
        char *converted =
            refworld_cp1252_to_utf8((const unsigned char *)text, size);
        free(utf8);
        if (!converted) {
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "%s: out of memory", name);
        }
        utf8 = converted;
        text = utf8;
        size = strlen(utf8);
    }

    /* Sanitizing changes nothing in text without NULs or invalid UTF-8
       (nearly all): then the text is normalized in one pass, from where it
       is. */
    char *clean;
    size_t clean_len = 0;
    if (!cp1252 && bytes.invalid == 0 && bytes.nuls == 0) {
        clean = malloc(size + 1);
        if (clean) {
            clean_len = refworld_normalize_text(text, size, clean);
        }
    } else {
        clean = text_utf8_sanitize(text, size);
        if (clean) {
            clean_len = refworld_normalize_text(clean, strlen(clean), clean);
        }
    }
    free(utf8);
    if (!clean) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "%s: out of memory", name);
    }

    refworld_parser_t p;
    memset(&p, 0, sizeof(p));
    p.name = name;
    if (utf16) {
        refworld_warn(&p, "the text is UTF-16; read as such");
    }
    if (cp1252) {
        refworld_warn(&p,
                      "the text is not UTF-8; read as Windows-1252 (Latin-1)");
    } else if (bytes.invalid > 0) {
        refworld_warn(&p, "%zu invalid UTF-8 sequence%s replaced by U+FFFD",
                      bytes.invalid, bytes.invalid == 1 ? "" : "s");
    }
    if (bytes.nuls > 0) {
        refworld_warn(&p, "%zu NUL byte%s dropped", bytes.nuls,
                      bytes.nuls == 1 ? "" : "s");
    }
    s_scan_lines(&p, clean, clean_len);
    free(clean);

    if (p.oom) {
        s_parse_free(&p);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "%s: out of memory", name);
    }
    if (!p.title && !p.heading_found) {
        refworld_title_from_cite(&p);
    }
    if (!p.title && !p.heading_found) {
        s_parse_free(&p);
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: not a Refworld document: no title and "
                                 "no report heading found",
                                 name);
    }
    refworld_derive(&p);
    char id[129];
    refworld_make_id(&p, sha_hex, id, sizeof(id));
    Dossier__V1__Report *report =
        p.oom ? NULL : s_build_report(&p, id, sha_hex);
    if (!report) {
        s_parse_free(&p);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "%s: out of memory", name);
    }
    result->report = report;
    result->warnings = p.warnings.items;
    result->n_warnings = p.warnings.count;
    p.warnings.items = NULL;
    p.warnings.count = p.warnings.cap = 0;
    s_parse_free(&p);
    return DOSSIER_OK;
}

void
refworld_result_free(refworld_result_t *result) {
    if (!result) {
        return;
    }
    if (result->report) {
        dossier__v1__report__free_unpacked(result->report, NULL);
    }
    for (size_t i = 0; i < result->n_warnings; i++) {
        free(result->warnings[i]);
    }
    free(result->warnings);
    memset(result, 0, sizeof(*result));
}
