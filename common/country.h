/*  country.h: country names to ISO 3166-1, so that "Ivory Coast",
    "Côte d'Ivoire", "Cote D'Ivoire" and "CIV" mean one country, and
    "Burma" / "Myanmar" one too. A static table; no allocation. */
#ifndef DOSSIER_COUNTRY_H
#define DOSSIER_COUNTRY_H

#include <stddef.h>

typedef struct {
    const char *alpha3; /* "CIV" */
    const char *name;   /* the common English short name, "Côte d'Ivoire" */
} country_t;

/*  Finds a country by alpha-3 code (any case) or by name, variant or
    former name, compared after case and accent folding and ignoring
    punctuation and a trailing footnote digit ("Sweden1"). Returns a
    static entry, or NULL when the text names no known country. */
const country_t *country_lookup(const char *text);

/*  The country text most likely meant when it names none: the entry one
    of whose names is within a typo of it ("Azerbijan": Azerbaijan), by
    suggest.h's measure. Returns a static entry, or NULL when text names a
    known country or none is close. */
const country_t *country_suggest(const char *text);

/*  The number of entries in the table (the 249 ISO 3166-1 countries, plus
    Kosovo XKX and the former codes SCG, YUG, ANT, SUN, CSK, DDR). */
size_t country_count(void);

/*  The entry at index (0 .. country_count() - 1), a static entry; NULL
    when index is out of range. For listing and tests. */
const country_t *country_at(size_t index);

/*  Writes into buf (size bytes, NUL-terminated, truncated if needed) the
    key that indexes and filters use for a country: its alpha-3 code when
    known, else the folded name prefixed with "~" ("~atlantis"), so that
    unknown countries still group and filter consistently. The folded name
    is lower-case ASCII words separated by single spaces (punctuation and
    digits dropped). Text that names nothing ("", NULL, punctuation) gives
    "". Returns buf. */
char *country_key(const char *text, char *buf, size_t size);

#endif
