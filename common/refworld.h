/*  refworld.h: parses a Refworld text document into a dossier.v1.Report.

    The format is the plain text of a Refworld page: a header of labelled
    fields (Title, Publisher, Author, Publication Date, Cite as,
    Disclaimer..., Last Updated), then the title again, a "Country (Tier X)"
    heading, the narrative paragraphs, and page furniture ("Search
    Refworld"). Real documents vary; the parser reads what it can, reports
    what it could not as warnings, and rejects only what is not text at
    all (empty, blank, binary) or too large: any text imports, a missing
    field being a warning. It never asserts on its input: any bytes give
    a result or an error.

    Variations read:
    - Text: a UTF-8 byte-order mark; UTF-16 (LE or BE) with its
      byte-order mark; Windows-1252 / Latin-1 (text with bytes that are
      not UTF-8 and not one UTF-8 sequence); CRLF or CR line ends; invalid
      UTF-8 within UTF-8 text
      (replaced by U+FFFD, with a warning); NULs and control characters;
      no-break and other Unicode spaces (made plain spaces, so "Cite as"
      has none); tabs; runs of spaces.
    - Header: labels followed by a space, a colon, nothing ("DisclaimerThis
      is ...": the value starts with a capital or digit), or alone on their
      line with the value on the next; "Last Updated:" anywhere, with or
      without a weekday, time and GMT/UTC ("Monday, 05 October 2015, 08:49
      GMT" -> "2015-10-05T08:49:00Z"); no header at all; a short header
      whose body follows without a blank line; a "Released by ..." note and
      its date (not a publication date); the title given by a "Title"
      label, by the first title-like line, or failing both read back from
      "Cite as"; failing all three, the first line when it reads as a
      heading (not a section name such as "EXECUTIVE SUMMARY"), else the
      file name.
    - Series by their text, when no title names one: "EXECUTIVE SUMMARY"
      first or "Country Reports on Human Rights Practices" (HRR), "Country
      Scores", "Global Freedom Score" or "Freedom in the World" (FIW),
      "Trafficking in Persons Report", "World Report" with "Human Rights
      Watch", "Amnesty International Report", UNHCR "Eligibility
      Guidelines" / "International Protection Considerations" (unhcr-eg)
      and "UNHCR Position on Returns" (unhcr-pos); the year where the
      text writes it after the series' name ("Freedom in the World 2023",
      "... Practices for 2023"), the country from the first line or the
      start of the first sentences ("Eritrea is ..."), each with a
      warning. A tier is only ever read from a heading or a TIP sentence.
    - Dates: "14 June 2004", "4 Jun 2004", "June 14, 2004", "2004-06-14"
      -> "2004-06-14"; "June 2004" -> "2004-06"; "2004" -> "2004".
    - Heading: "Country (Tier 1|2|3|2 Watch List|Special Case)" in any case
      ("RUSSIA (TIER 2 WATCH LIST)", recased "Russia" when it is the only
      source of the country), with a footnote mark on the country
      ("Sweden1", "Sweden*", "Sweden¹"), nested parentheses ("Serbia and
      Montenegro (and Kosovo) (Tier 2 Watch List)"), and a note on a later
      change of tier inside the parentheses after the tier, after them, or
      on a following line starting with "*" (-> Report.tier_note). With no
      heading, a TIP body sentence gives the tier ("Somalia remains a
      Special Case", "is placed on Tier 2 Watch List"), with a warning.
    - Fields derived: country = the title's text after its last " - " (or
      en/em dash), else the heading's country, else a "Countries" field;
      country_code from common/country.h; year = the first 19xx/20xx/21xx
      in the title; doc_type = the series: the title before its country,
      less years and a leading "U.S. Department of State", normalized for
      known series ("Country Report on Human Rights Practices" ->
      "Country Reports on Human Rights Practices"); a heading with a tier
      and no title means the Trafficking in Persons Report. source_url = a
      refworld.org address inside "Cite as".
    - Body: paragraphs separated by blank lines, the lines of a paragraph
      joined with one space; page furniture lines ("Print", "Email this
      document", "Select language", ...) dropped; "Search Refworld" ends
      the body (the site's search form follows it).

    Report ids (Report.id), stable for a document, readable, and always of
    [A-Za-z0-9._:-]{1,128}:
        <series>-<year>-<country>      "tip-2004-aze", "hrr-2004-eri",
                                       "hrw-wr-2013-mmr", "fh-fiw-2010-swe"
    <series> is a short slug for a known series (tip, hrr, irf, hrw-wr,
    fh-fiw, fh-fotp, fh-fotn, fh-nit, ai, unhcr-gr, unhcr-ga, mrg-wd,
    mrg-swm, csgr, cpj-aotp), else a slug of doc_type (lower-case letters
    and digits, other runs made "-", at most 40 bytes), else "refworld".
    <country> is country_key() lower-cased ("aze"), or a slug of the name
    for countries not in the table ("atlantis"). When the year or the
    country is missing, the parts known are followed by the first 12 hex
    digits of source_sha256: "tip-aze-3e4561be2f8a", "refworld-
    0c0a0280a19d". The same series, year and country thus give the same id
    whatever the text's bytes (a re-import replaces), and only a document
    that cannot be named that way falls back on its bytes. */
#ifndef DOSSIER_REFWORLD_H
#define DOSSIER_REFWORLD_H

#include <stddef.h>

#include "dossier/v1/report.pb-c.h"
#include "status.h"

typedef struct {
    /* Dossier__V1__Report, the caller's: free with
       dossier__v1__report__free_unpacked(report, NULL). */
    Dossier__V1__Report *report;
    /* Sentences about fields not found or shapes not recognized, each
       malloc'd; free the whole result with refworld_result_free. */
    char **warnings;
    size_t n_warnings;
} refworld_result_t;

/*  What the caller knows of a document, given in place of (or over)
    what its text says: each set field (non-NULL and not "", or year not
    0) replaces the parsed value before the id is derived, so that a
    given country or year names the record as a parsed one would. All
    borrowed for the call. */
typedef struct {
    const char *title;
    const char *country; /* country_code follows it when the name is known */
    unsigned year;
    const char *doc_type; /* a known series also gives the id its slug */
    const char *publisher;
    const char *source_url;
    /* The document's file name, the title of last resort (its directory
       and extension dropped); NULL: "Untitled document". */
    const char *file_name;
} refworld_options_t;

/*  Parses size bytes of text (need not be NUL-terminated; UTF-8, a BOM and
    CRLF line ends accepted; invalid UTF-8 is replaced, not trusted).
    source_name names the document in messages (a file name; may be NULL:
    "input"); it is borrowed for the call.
    The report's id is derived from the document's identity as described
    above, unless the caller sets one afterwards; source_sha256 is the hex
    SHA-256 of the bytes given (OpenSSL's libcrypto). The
    server-set fields (version, created_*, updated_*) are left empty. Every
    string of the report is malloc'd and valid UTF-8 without NULs.
    Returns DOSSIER_OK and fills *result (the caller's, freed with
    refworld_result_free); DOSSIER_INVALID_ARGUMENT with err naming
    source_name and why ("empty.txt: the file is empty: there is nothing to
    import"; also for blank text, binary data, or more than 64 MiB),
    leaving *result untouched; or
    DOSSIER_RESOURCE_EXHAUSTED when out of memory. At most 32 warnings are
    kept. */
dossier_status_t refworld_parse(const char *text, size_t size,
                                const char *source_name,
                                refworld_result_t *result,
                                dossier_error_t *err);

/*  refworld_parse with the caller's fields (options, borrowed; NULL: none
    and no file name). refworld_parse(t, n, name, r, e) is
    refworld_parse_with(t, n, name, &(refworld_options_t){.file_name =
    name}, r, e). */
dossier_status_t refworld_parse_with(const char *text, size_t size,
                                     const char *source_name,
                                     const refworld_options_t *options,
                                     refworld_result_t *result,
                                     dossier_error_t *err);

/*  Frees what refworld_parse put in result and zeroes it; takes NULL. */
void refworld_result_free(refworld_result_t *result);

/*  Parses a tier as written ("Tier 2 Watch List", "TIER 1", "Special
    Case", "2WL", "Tier II", "Tier 2 Watchlist") into *tier; surrounding
    spaces are allowed, anything else is not. Returns DOSSIER_OK, or
    DOSSIER_INVALID_ARGUMENT leaving *tier as is. */
dossier_status_t refworld_tier_parse(const char *text, Dossier__V1__Tier *tier);

/*  "Tier 2 Watch List" for DOSSIER__V1__TIER__TIER_2_WATCH_LIST; "" for
    unspecified; a static string. */
const char *refworld_tier_name(Dossier__V1__Tier tier);

#endif
