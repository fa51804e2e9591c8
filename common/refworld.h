/*  refworld.h: parses a Refworld text document into a dossier.v1.Report.

    The format is the plain text of a Refworld page: a header of labelled
    fields (Title, Publisher, Author, Publication Date, Cite as,
    Disclaimer..., Last Updated), then the title again, a "Country (Tier X)"
    heading, the narrative paragraphs, and page furniture ("Search
    Refworld"). Real documents vary (docs/ARCHITECTURE.md lists how); the
    parser reads what it can, reports what it could not as warnings, and
    rejects only text that is not a Refworld document at all. It never
    asserts on its input: any bytes give a result or an error. */
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

/*  Parses size bytes of text (need not be NUL-terminated; UTF-8, a BOM and
    CRLF line ends accepted; invalid UTF-8 is replaced, not trusted).
    source_name names the document in messages (a file name; may be NULL).
    The report's id is derived from the document's identity (its Refworld
    document id when the URL has one, else publisher, country, year and
    title) unless the caller sets one afterwards; source_sha256 is the hex
    SHA-256 of the bytes given.
    Returns DOSSIER_OK and fills *result (the caller's, freed with
    refworld_result_free), or DOSSIER_INVALID_ARGUMENT with err naming
    source_name and what was missing, leaving *result untouched. */
dossier_status_t refworld_parse(const char *text, size_t size,
                                const char *source_name,
                                refworld_result_t *result,
                                dossier_error_t *err);

/*  Frees what refworld_parse put in result and zeroes it; takes NULL. */
void refworld_result_free(refworld_result_t *result);

/*  Parses a tier as written ("Tier 2 Watch List", "TIER 1", "Special
    Case", "2WL") into *tier. Returns DOSSIER_OK or
    DOSSIER_INVALID_ARGUMENT. */
dossier_status_t refworld_tier_parse(const char *text,
                                     Dossier__V1__Tier *tier);

/*  "Tier 2 Watch List" for DOSSIER__V1__TIER__TIER_2_WATCH_LIST; "" for
    unspecified; a static string. */
const char *refworld_tier_name(Dossier__V1__Tier tier);

#endif
