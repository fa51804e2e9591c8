/*  refworld.c: the Refworld text importer: one pass over the lines of
    the regular text (refworld_text.c makes it so), then the fields derived
    (refworld_fields.c), then the Report. refworld_internal.h says which
    file holds what.

    The pass over the lines, in two states:
    - HEADER: labelled fields ("Publisher ...", "DisclaimerThis is...",
      a label alone on its line with the value on the next), the
      "Last Updated:" line, the title (the first short line that looks like
      one: a " - " or a year, no final full stop), a "Released by" note,
      page furniture. The first other line starts the body.
    - BODY: paragraphs, blank-line separated, their lines joined with a
      space. A "Country (Tier X)" heading is taken wherever it stands at the
      start of a paragraph until one is found; "Search Refworld" ends the
      body (what follows is the site's search form).
    What is missing or odd becomes a warning, never a failure; only what
    is not text (empty, blank, binary) or too large is refused. */
#include "refworld.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "country.h"
#include "refworld_internal.h"
#include "text.h"

/* Larger inputs are refused: no Refworld page comes near it. */
#define REFWORLD_MAX_SIZE (64u * 1024 * 1024)
/* A heading is one line (as a title is: REFWORLD_TITLE_MAX). */
#define HEADING_MAX 200
#define HEADING_COUNTRY_MAX 80
/* "Democratic Republic of the Congo" has 6; prose has more. */
#define HEADING_COUNTRY_WORDS 7
/* The bytes of a SHA-256 digest. */
#define S_SHA256_BYTES 32

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

/* ---- line classification -------------------------------------------- */

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
            if (!p->first_line) {
                refworld_set(p, &p->first_line, line, n);
                p->first_line_heading = true;
            }
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
        if (!p->first_line && n <= REFWORLD_TITLE_MAX) {
            refworld_set(p, &p->first_line, line, n);
        }
        s_para_add(p, line, n);
    next:
        line = save;
    }
    s_para_flush(p);
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
        &p->title,           &p->publisher,         &p->author,
        &p->pubdate,         &p->last_updated,      &p->cite_as,
        &p->disclaimer,      &p->countries,         &p->country,
        &p->tier_note,       &p->doc_type,          &p->source_url,
        &p->heading_country, &p->heading_tier_text, &p->first_line};
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

dossier_status_t
refworld_parse(const char *text, size_t size, const char *source_name,
               refworld_result_t *result, dossier_error_t *err) {
    refworld_options_t options = {.file_name = source_name};
    return refworld_parse_with(text, size, source_name, &options, result, err);
}

/*  True when the n bytes of s hold nothing but blanks, line ends and
    byte-order marks. */
static bool
s_all_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBB &&
            (unsigned char)s[i + 2] == 0xBF) {
            i += 2;
            continue;
        }
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' &&
            c != '\v') {
            return false;
        }
    }
    return true;
}

dossier_status_t
refworld_parse_with(const char *text, size_t size, const char *source_name,
                    const refworld_options_t *options,
                    refworld_result_t *result, dossier_error_t *err) {
    static const refworld_options_t no_options;
    const char *name = source_name && *source_name ? source_name : "input";
    if (!result || (!text && size > 0)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: no text given", name);
    }
    if (size == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: the file is empty: there is nothing to "
                                 "import",
                                 name);
    }
    if (size > REFWORLD_MAX_SIZE) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: %zu bytes is more than the %u (64 MiB) "
                                 "a document may have",
                                 name, size, REFWORLD_MAX_SIZE);
    }
    if (s_all_blank(text, size)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: the file holds only blank lines: there "
                                 "is nothing to import",
                                 name);
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
                                 "%s: not text but binary data (%zu of %zu "
                                 "bytes are not text); a document is UTF-8, "
                                 "UTF-16 with a byte-order mark, or "
                                 "Windows-1252 text",
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
    p.options = options ? options : &no_options;
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
    if (!p.title && !p.first_line && p.body.count == 0) {
        s_parse_free(&p);
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: there is no text besides Refworld's "
                                 "page furniture (\"Search Refworld\", "
                                 "\"Print\", ...): nothing to import",
                                 name);
    }
    if (p.options->title && p.options->title[0]) {
        refworld_set_given(&p, &p.title, p.options->title);
    }
    refworld_derive(&p);
    refworld_title_fallback(&p);
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
