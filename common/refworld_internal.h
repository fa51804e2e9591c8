/*  refworld_internal.h: what the files of the Refworld parser share.
    Included only by common/refworld*.c; everyone else sees refworld.h.

    The parser is one module, refworld_*, in three files:
    - refworld.c: the pass over the lines (what each line is: furniture,
      a header label, the title, the "Country (Tier X)" heading, the body's
      paragraphs), the Report built from what it found, and the public
      refworld_parse and refworld_result_free;
    - refworld_text.c: the text made regular before the pass (UTF-16 and
      Windows-1252 converted, normalized eight bytes at a time, each line
      trimmed), and the small string, list and warning helpers;
    - refworld_fields.c: the values read (dates, tiers, country names),
      the fields derived after the pass (country, year, series, a tier
      from the body, the source URL), and the report's id; with the
      public refworld_tier_parse and refworld_tier_name.
    Every step reads and fills one parser state, refworld_parser_t, so
    its body is here. Names: s_* and S_* belong to one file (static);
    refworld_* and REFWORLD_* here are shared by the module's files and
    nobody else, each declared once. The four tiny helpers that the pass
    calls per line or per paragraph, and that the compiler inlined when
    the parser was one file (refworld_strndup, refworld_prefix_ci,
    refworld_set, refworld_vec_push), are static inline here, so the
    split costs the hot path no call. */
#ifndef DOSSIER_REFWORLD_INTERNAL_H
#define DOSSIER_REFWORLD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "country.h"
#include "refworld.h"

/* A title, label value or heading is one line; longer lines are prose. */
#define REFWORLD_TITLE_MAX 300

/* A growing list of malloc'd strings (the body's paragraphs, the
   warnings); each item is the list's. */
typedef struct {
    char **items;
    size_t count;
    size_t cap;
} refworld_strvec_t;

/* What refworld_count_bytes finds in the text before it is sanitized. */
typedef struct {
    size_t invalid;   /* bytes that start no valid UTF-8 sequence */
    size_t multibyte; /* valid UTF-8 sequences of 2 to 4 bytes */
    size_t nuls;
    size_t controls;  /* other C0 controls and DEL, not line ends or tabs */
    size_t undefined; /* 0x81 0x8D 0x8F 0x90 0x9D: unused in Windows-1252 */
} refworld_bytes_t;

/* The state of one parse: the header's values as found, then the derived
   fields, the body and the warnings. Every string is malloc'd and the
   state's until refworld.c moves it into the Report. */
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
    /* The first line that is not furniture, a label or the title: where
       the body (or the heading) begins; a title when the text has none. */
    char *first_line;
    bool first_line_heading; /* it was the "Country (Tier X)" heading */
    /* The caller's fields and file name (refworld_options_t); never NULL
       during a parse. */
    const refworld_options_t *options;
    refworld_strvec_t body;
    refworld_strvec_t warnings;
    char *para; /* paragraph being assembled */
    size_t para_len, para_cap;
    bool oom;
} refworld_parser_t;

/* ---- strings, lists, warnings: inline, else in refworld_text.c ---- */

/*  A malloc'd copy of n bytes of s, NUL-terminated; NULL when out of
    memory. */
static inline char *
refworld_strndup(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/*  True when s starts with prefix, ASCII case ignored. */
static inline bool
refworld_prefix_ci(const char *s, const char *prefix) {
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/*  Replaces *slot with a copy of n bytes of s; records OOM. */
static inline void
refworld_set(refworld_parser_t *p, char **slot, const char *s, size_t n) {
    char *d = refworld_strndup(s, n);
    if (!d) {
        p->oom = true;
        return;
    }
    free(*slot);
    *slot = d;
}

/*  Appends s to v, which then owns it. False when out of memory (s is
    still the caller's). */
static inline bool
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

/*  Frees every item and the list, and zeroes v. */
void refworld_vec_free(refworld_strvec_t *v);

/*  Adds a warning (printf format) to p->warnings, at most 32 per
    document; records OOM. */
void refworld_warn(refworld_parser_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*  Writes at most 60 bytes of s into buf for a message, cut on a UTF-8
    boundary, with "..." when cut. */
const char *refworld_excerpt(const char *s, char *buf, size_t size);

/*  Case-insensitive ASCII substring search. */
const char *refworld_strcasestr(const char *hay, const char *needle);

/* ---- refworld_text.c: text normalization --------------------------- */

/*  Counts what sanitizing will change, for warnings, for telling text from
    binary, and for telling UTF-8 from Windows-1252. */
void refworld_count_bytes(const unsigned char *s, size_t size,
                          refworld_bytes_t *b);

/*  Converts size bytes of Windows-1252 (a superset of Latin-1's printable
    characters) to malloc'd UTF-8, dropping NULs; undefined bytes become
    U+FFFD. NULL when out of memory. */
char *refworld_cp1252_to_utf8(const unsigned char *s, size_t size);

/*  Converts size bytes of UTF-16 (after its 2-byte BOM) to malloc'd
    UTF-8. Unpaired surrogates, an odd last byte and U+0000 become U+FFFD,
    so the result has no NUL inside. NULL when out of memory. */
char *refworld_utf16_to_utf8(const unsigned char *s, size_t size,
                             bool little_endian);

/*  Writes the n bytes of sanitized UTF-8 text in, normalized (see the top
    of refworld_text.c), to out (n + 1 bytes of room) and NUL-terminates
    it; out may be in (it never grows). Returns the new length. */
size_t refworld_normalize_text(const char *in, size_t n, char *out);

/*  Trims the n bytes of line in place and collapses its runs of blanks
    into one space; NUL-terminates it and returns its new length. */
size_t refworld_clean_line(char *line, size_t n);

/* ---- refworld_fields.c: values read -------------------------------- */

/*  Parses "Monday, 05 October 2015, 08:49 GMT" into
    "2015-10-05T08:49:00Z" (out: 21 bytes). A missing time is midnight;
    the zone must be GMT, UTC, Z or absent. */
bool refworld_parse_timestamp(const char *s, char *out, bool *no_time);

/*  True for a line holding only a date ("February 28, 2005"). */
bool refworld_is_date_line(const char *line);

/*  Reads a tier at the start of s (case-insensitive): "Tier 2 Watch List",
    "Tier 2WL", "TIER II", "2WL", "Special Case". Sets *tier and returns the
    bytes read, or 0. */
size_t refworld_tier_prefix(const char *s, Dossier__V1__Tier *tier);

/*  Copies n bytes of a country name as written, without its footnote mark,
    re-cased when ALL CAPS. NULL when nothing is left or out of memory. */
char *refworld_country_name(refworld_parser_t *p, const char *s, size_t n);

/* ---- refworld_fields.c: fields derived, the id --------------------- */

/*  Reads the title back from "Cite as": "<Publisher>, <Title>, <date>,
    available at: ...". */
void refworld_title_from_cite(refworld_parser_t *p);

/*  After the pass: derives country, year, series (doc_type), the tier
    from the body, the publication date in ISO 8601 and the source URL;
    recognizes the series by the text when the title does not name it;
    applies the caller's fields (p->options), and warns about what is
    missing. */
void refworld_derive(refworld_parser_t *p);

/*  Replaces *slot with a copy of the caller's value (refworld_options_t),
    made valid UTF-8 (invalid sequences become U+FFFD); records OOM. */
void refworld_set_given(refworld_parser_t *p, char **slot, const char *value);

/*  After refworld_derive, for a document still without a title: the
    first line when it reads as a heading, else the file name (its
    extension dropped), else "Untitled document"; with a warning. */
void refworld_title_fallback(refworld_parser_t *p);

/*  Writes the report's id (see refworld.h) into id (size bytes, 129 are
    enough); sha_hex is the text's SHA-256 in hex. */
void refworld_make_id(refworld_parser_t *p, const char *sha_hex, char *id,
                      size_t size);

#endif
