/*  refworld_fields.c: the values a Refworld document's lines hold (dates,
    tiers, country names), the fields derived from them once the pass over
    the lines is done, and the report's id.

    Fields are derived: country from the title's last " - " part (else
    the heading, else a "Countries" field), year from the title, series
    from the title less its country, year and publisher, tier from the
    heading (else from a body sentence such as "remains a Special Case").
    What is missing or odd becomes a warning, never a failure. The id is
    <series>-<year>-<country>, as refworld.h describes. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "country.h"
#include "refworld_internal.h"
#include "text.h"

/* Paragraphs searched for a tier sentence when there is no heading. */
#define TIER_SENTENCE_PARAGRAPHS 3

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

/* Series recognized by their text when no title names one: a folded
   phrase of the title, the first line or the first paragraphs. Checked in
   order; "first" phrases must be the whole first paragraph. A series
   whose name the text writes gets the year written after it
   (year_after). */
typedef struct {
    const char *phrase;
    bool first;       /* the phrase is the first paragraph, alone */
    const char *also; /* and this phrase too (NULL: none) */
    const char *doc_type;
    const char *slug;
} s_signature_t;

static const s_signature_t s_signatures[] = {
    {"executive summary", true, NULL,
     "Country Reports on Human Rights Practices", "hrr"},
    {"country reports on human rights practices", false, NULL,
     "Country Reports on Human Rights Practices", "hrr"},
    {"country report on human rights practices", false, NULL,
     "Country Reports on Human Rights Practices", "hrr"},
    {"country scores", true, NULL, "Freedom in the World", "fh-fiw"},
    {"global freedom score", false, NULL, "Freedom in the World", "fh-fiw"},
    {"freedom in the world", false, NULL, "Freedom in the World", "fh-fiw"},
    {"trafficking in persons report", false, NULL,
     "Trafficking in Persons Report", "tip"},
    {"world report", false, "human rights watch", "World Report", "hrw-wr"},
    {"amnesty international report", false, NULL,
     "Amnesty International Report", "ai"},
    {"eligibility guidelines", false, NULL, "UNHCR Eligibility Guidelines",
     "unhcr-eg"},
    {"international protection considerations", false, NULL,
     "UNHCR Eligibility Guidelines", "unhcr-eg"},
    {"political rights score", false, "civil liberties score",
     "Freedom in the World", "fh-fiw"},
    {"unhcr position on returns", false, NULL, "UNHCR Position Paper",
     "unhcr-pos"},
    {"position on returns to", false, "unhcr", "UNHCR Position Paper",
     "unhcr-pos"},
};

/* Phrases after which a series' text writes its edition's year. */
static const char *const s_year_after[] = {
    "freedom in the world ",   "human rights practices for ",
    "human rights practices ", "trafficking in persons report ",
    "world report ",           "amnesty international report ",
};

/* A first line that names a part of a document, not the document: never a
   title. Compared after s_simplify-like folding. */
static const char *const s_section_names[] = {
    "executive summary",
    "country scores",
    "overview",
    "key developments",
    "summary",
    "introduction",
    "contents",
    "table of contents",
    "global freedom score",
    "political rights",
    "civil liberties",
    "status",
    "free",
    "partly free",
    "not free",
    "key findings",
};

/* How much of the start of a text the recognition reads. */
#define S_RECOGNIZE_PARAGRAPHS 6
#define S_RECOGNIZE_BYTES 6000
/* Words of a country name tried at once ("Democratic Republic of the
   Congo" has 5 before a footnote). */
#define S_COUNTRY_WORDS 6

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

bool
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

bool
refworld_is_date_line(const char *line) {
    char iso[11];
    return strlen(line) < 40 && s_parse_date(line, iso);
}

/* ---- tiers ---------------------------------------------------------- */

size_t
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

char *
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

void
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

/*  Lower-case ASCII words of s separated by one space (out: size
    bytes): how a first paragraph is compared with a section's name. */
static void
s_simplify_words(const char *s, char *out, size_t size) {
    size_t o = 0;
    bool space = false;
    for (; *s && o + 2 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x80 && isalnum(c)) {
            if (space && o > 0) {
                out[o++] = ' ';
            }
            space = false;
            out[o++] = (char)tolower(c);
        } else {
            space = true;
        }
    }
    out[o] = '\0';
}

/*  A year (1900 to 2199) at the start of s, after blanks, not followed by
    another digit; else 0. */
static unsigned
s_year_in_prefix(const char *s) {
    while (*s == ' ') {
        s++;
    }
    bool century = (s[0] == '1' && s[1] == '9') ||
                   (s[0] == '2' && (s[1] == '0' || s[1] == '1'));
    if (!century || !isdigit((unsigned char)s[2]) ||
        !isdigit((unsigned char)s[3]) || isdigit((unsigned char)s[4])) {
        return 0;
    }
    return (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 +
                      (s[2] - '0') * 10 + (s[3] - '0'));
}

/*  The folded start of the text: the title, the first line and the
    first paragraphs, one per line; NULL when out of memory. */
static char *
s_recognize_text(refworld_parser_t *p) {
    size_t cap = S_RECOGNIZE_BYTES + 1024;
    char *joined = malloc(cap);
    if (!joined) {
        p->oom = true;
        return NULL;
    }
    size_t n = 0;
    const char *parts[2 + S_RECOGNIZE_PARAGRAPHS] = {p->title, p->first_line};
    for (size_t i = 0; i < p->body.count && i < S_RECOGNIZE_PARAGRAPHS; i++) {
        parts[2 + i] = p->body.items[i];
    }
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (!parts[i]) {
            continue;
        }
        size_t len = strlen(parts[i]);
        if (len > S_RECOGNIZE_BYTES - n) {
            len = S_RECOGNIZE_BYTES - n;
        }
        memcpy(joined + n, parts[i], len);
        n += len;
        joined[n++] = '\n';
        if (n >= S_RECOGNIZE_BYTES) {
            break;
        }
    }
    char *folded = text_fold(joined, n);
    free(joined);
    p->oom |= folded == NULL;
    return folded;
}

/*  True when the first paragraph of the document is phrase alone (after
    folding; case and a final colon aside). */
static bool
s_first_paragraph_is(const refworld_parser_t *p, const char *phrase) {
    if (p->body.count == 0) {
        return false;
    }
    char simple[64];
    s_simplify_words(p->body.items[0], simple, sizeof(simple));
    return strcmp(simple, phrase) == 0;
}

/*  The year written right after a series' name in folded text ("freedom
    in the world 2023"), or 0. */
static unsigned
s_year_after_series(const char *folded) {
    for (size_t i = 0; i < sizeof(s_year_after) / sizeof(s_year_after[0]);
         i++) {
        const char *at = strstr(folded, s_year_after[i]);
        if (!at) {
            continue;
        }
        unsigned year = s_year_in_prefix(at + strlen(s_year_after[i]));
        if (year) {
            return year;
        }
    }
    return 0;
}

/*  The first known country named by one to S_COUNTRY_WORDS capitalized
    words of s (each word checked as the start of a name), among its
    first max_words words; NULL when none. Words of three letters or fewer
    alone are not tried: "Ago" or "Per" would be ISO codes. *name_p gets
    the name as written (malloc'd) when found. */
static const country_t *
s_country_in(refworld_parser_t *p, const char *s, size_t max_words,
             char **name_p) {
    const char *starts[64];
    const char *ends[64];
    bool joined[64]; /* word i follows word i - 1 across a space only */
    size_t words = 0;
    const char *q = s;
    while (*q && words < max_words && words < 64) {
        joined[words] = true;
        while (*q == ' ' || *q == ',' || *q == '(' || *q == ')' || *q == '"') {
            joined[words] &= *q == ' ';
            q++;
        }
        if (!*q) {
            break;
        }
        starts[words] = q;
        while (*q && *q != ' ' && *q != ',' && *q != '.' && *q != ';' &&
               *q != ':' && *q != ')' && *q != '(') {
            q++;
        }
        ends[words] = q;
        /* "Tunisia's democratic transition": the name without its 's */
        if (q - starts[words] > 2 && q[-1] == 's' && q[-2] == '\'') {
            ends[words] = q - 2;
        } else if (q - starts[words] > 4 && q[-1] == 's' &&
                   memcmp(q - 4, "\xe2\x80\x99", 3) == 0) {
            ends[words] = q - 4;
        }
        words++;
        if (*q == '.' || *q == ';' || *q == ':') {
            break; /* a sentence names its subject before its first stop */
        }
    }
    char candidate[160];
    for (size_t i = 0; i < words; i++) {
        unsigned char first = (unsigned char)starts[i][0];
        if (!(isupper(first) || first >= 0x80)) {
            continue;
        }
        for (size_t k = S_COUNTRY_WORDS; k >= 1; k--) {
            bool one_name = i + k <= words;
            for (size_t w = i + 1; one_name && w < i + k; w++) {
                one_name = joined[w];
            }
            if (!one_name) {
                continue;
            }
            size_t len = (size_t)(ends[i + k - 1] - starts[i]);
            if (len <= 3 || len >= sizeof(candidate)) {
                continue;
            }
            memcpy(candidate, starts[i], len);
            candidate[len] = '\0';
            const country_t *c = country_lookup(candidate);
            if (c) {
                *name_p = refworld_strndup(candidate, len);
                p->oom |= *name_p == NULL;
                return *name_p ? c : NULL;
            }
        }
    }
    return NULL;
}

/*  When no title names the series: the series, year and country by the
    text (s_signatures), each with a warning. */
static void
s_recognize(refworld_parser_t *p) {
    char *folded = s_recognize_text(p);
    if (!folded) {
        return;
    }
    const s_signature_t *found = NULL;
    for (size_t i = 0; i < sizeof(s_signatures) / sizeof(s_signatures[0]);
         i++) {
        const s_signature_t *sig = &s_signatures[i];
        bool hit = sig->first ? s_first_paragraph_is(p, sig->phrase)
                              : strstr(folded, sig->phrase) != NULL;
        if (hit && (!sig->also || strstr(folded, sig->also))) {
            found = sig;
            break;
        }
    }
    if (found) {
        refworld_set(p, &p->doc_type, found->doc_type, strlen(found->doc_type));
        p->series_slug = found->slug;
        refworld_warn(p, "no title names the series; read as %s from the text",
                      found->doc_type);
    }
    if (p->year == 0) {
        p->year = s_year_after_series(folded);
        if (p->year) {
            refworld_warn(p, "the year %u was read from the text", p->year);
        }
    }
    free(folded);
    if (p->country || p->heading_country) {
        return;
    }
    /* The first line (a title such as "... Asylum-Seekers from
       Afghanistan"), then the start of the first paragraphs ("Eritrea is
       a ..."). */
    char *name = NULL;
    const country_t *c = NULL;
    if (p->first_line) {
        c = s_country_in(p, p->first_line, 40, &name);
    }
    for (size_t i = 0; !c && i < p->body.count && i < S_RECOGNIZE_PARAGRAPHS;
         i++) {
        c = s_country_in(p, p->body.items[i], 8, &name);
    }
    if (c) {
        p->country = name;
        char ex[64];
        refworld_warn(p, "the country \"%s\" was read from the text",
                      refworld_excerpt(name, ex, sizeof(ex)));
    }
}

/*  The known series whose name is doc_type, or NULL. */
static const s_series_t *
s_series_named(const char *doc_type) {
    char *folded = text_fold(doc_type, strlen(doc_type));
    if (!folded) {
        return NULL;
    }
    const s_series_t *found = NULL;
    for (size_t i = 0; i < sizeof(s_series) / sizeof(s_series[0]); i++) {
        if (strstr(folded, s_series[i].match)) {
            found = &s_series[i];
            break;
        }
    }
    free(folded);
    return found;
}

void
refworld_set_given(refworld_parser_t *p, char **slot, const char *value) {
    size_t n = strlen(value);
    if (text_utf8_valid(value, n)) {
        refworld_set(p, slot, value, n);
        return;
    }
    char *clean = text_utf8_sanitize(value, n);
    if (!clean) {
        p->oom = true;
        return;
    }
    free(*slot);
    *slot = clean;
}

/*  The caller's fields over the parsed ones (refworld_options_t). */
static void
s_apply_options(refworld_parser_t *p) {
    const refworld_options_t *o = p->options;
    if (o->country && o->country[0]) {
        refworld_set_given(p, &p->country, o->country);
        p->country_entry = country_lookup(o->country);
    }
    if (o->year) {
        p->year = o->year;
    }
    if (o->doc_type && o->doc_type[0]) {
        refworld_set_given(p, &p->doc_type, o->doc_type);
        const s_series_t *series = s_series_named(o->doc_type);
        p->series_slug = series ? series->slug : NULL;
        for (size_t i = 0;
             !series && i < sizeof(s_signatures) / sizeof(s_signatures[0]);
             i++) {
            if (strcasecmp(o->doc_type, s_signatures[i].doc_type) == 0) {
                p->series_slug = s_signatures[i].slug;
            }
        }
    }
    if (o->publisher && o->publisher[0]) {
        refworld_set_given(p, &p->publisher, o->publisher);
    }
    if (o->source_url && o->source_url[0]) {
        refworld_set_given(p, &p->source_url, o->source_url);
    }
}

void
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
    if (!p->series_slug && !p->heading_found) {
        s_recognize(p);
    }
    s_apply_options(p);
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

    if (p->year == 0) {
        refworld_warn(p, p->title ? "no year in the title" : "no year found");
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

/*  True when line may stand as a document's title: one short line, no
    final full stop, not the name of a section. */
static bool
s_heading_like(const char *line) {
    size_t n = strlen(line);
    if (n < 3 || n > REFWORLD_TITLE_MAX || line[n - 1] == '.' ||
        line[n - 1] == ',' || line[n - 1] == ';') {
        return false;
    }
    char simple[64];
    if (n < sizeof(simple)) {
        s_simplify_words(line, simple, sizeof(simple));
        for (size_t i = 0;
             i < sizeof(s_section_names) / sizeof(s_section_names[0]); i++) {
            if (strcmp(simple, s_section_names[i]) == 0) {
                return false;
            }
        }
        if (simple[0] == '\0') {
            return false;
        }
    }
    return true;
}

void
refworld_title_fallback(refworld_parser_t *p) {
    if (p->title || p->oom) {
        return;
    }
    char ex[64];
    if (p->first_line_heading && p->doc_type && p->country) {
        /* "Sweden1 (Tier 1)": the series and the country it names, as
           Refworld titles such a chapter */
        char title[REFWORLD_TITLE_MAX + 1];
        char year[16] = "";
        if (p->year) {
            snprintf(year, sizeof(year), " %u", p->year);
        }
        int n = snprintf(title, sizeof(title), "%s%s - %s", p->doc_type, year,
                         p->country);
        if (n > 0 && (size_t)n < sizeof(title)) {
            refworld_set(p, &p->title, title, (size_t)n);
            refworld_warn(p,
                          "no title found; \"%s\" was made from the "
                          "heading",
                          refworld_excerpt(title, ex, sizeof(ex)));
            return;
        }
    }
    /* A line of a longer paragraph is a piece of a sentence, not a
       heading. */
    bool alone =
        p->first_line &&
        (p->first_line_heading ||
         (p->body.count > 0 && strcmp(p->body.items[0], p->first_line) == 0));
    if (alone && s_heading_like(p->first_line)) {
        refworld_set(p, &p->title, p->first_line, strlen(p->first_line));
        /* The title's line is not also the first paragraph. */
        if (p->title && p->body.count > 1 &&
            strcmp(p->body.items[0], p->title) == 0) {
            free(p->body.items[0]);
            memmove(p->body.items, p->body.items + 1,
                    (p->body.count - 1) * sizeof(char *));
            p->body.count--;
        }
        refworld_warn(p, "no title found; the first line \"%s\" is the title",
                      refworld_excerpt(p->first_line, ex, sizeof(ex)));
        return;
    }
    const char *file = p->options->file_name;
    if (file && *file) {
        const char *slash = strrchr(file, '/');
        const char *base = slash ? slash + 1 : file;
        const char *dot = strrchr(base, '.');
        size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
        if (n > 0 && n <= REFWORLD_TITLE_MAX) {
            /* A local file name need not be UTF-8. */
            char *name = text_utf8_sanitize(base, n);
            if (!name) {
                p->oom = true;
                return;
            }
            free(p->title);
            p->title = name;
            refworld_warn(
                p,
                "no title found; the file name \"%s\" is the "
                "title",
                refworld_excerpt(p->title ? p->title : "", ex, sizeof(ex)));
            return;
        }
    }
    const char *untitled = "Untitled document";
    refworld_set(p, &p->title, untitled, strlen(untitled));
    refworld_warn(p, "no title found; the record is titled \"%s\"", untitled);
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

void
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
