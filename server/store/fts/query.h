/*  query.h: parses the text of a SearchRequest.query.

    Grammar, loosely: the query is a sequence of clauses separated by
    white space. A clause is a bare word or a "quoted phrase", either one
    optionally preceded by '-' to exclude it. Every clause must match
    (AND), every excluded clause must not. Words are cut into terms by the
    tokenizer (tokenize.h), so a bare word that holds several terms
    ("d'ivoire", "forced-labor") is a phrase of those terms, and a clause
    that yields no term at all ("--", "...") is ignored.

    Refused with DOSSIER_INVALID_ARGUMENT and a message: a query with no
    term to look for (empty, only punctuation, or only exclusions), an
    unterminated quote, more than QUERY_MAX_TERMS terms in all, more than
    QUERY_MAX_BYTES bytes. */
#ifndef DOSSIER_QUERY_H
#define DOSSIER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "store/fts/tokenize.h"

#define QUERY_MAX_TERMS 32
#define QUERY_MAX_BYTES 4096

/*  One clause: a phrase of n_terms terms in order (a single term when
    n_terms is 1). */
typedef struct {
    char **terms;
    uint32_t n_terms;
    bool excluded;
} query_clause_t;

/*  A parsed query: plain data, read-only to its users, freed with
    query_destroy. Positive clauses come first (n_positive of them), then
    the excluded ones. */
typedef struct {
    query_clause_t *clauses;
    uint32_t n_clauses;
    uint32_t n_positive;
} query_t;

/*  Parses size bytes of text (borrowed; may be invalid UTF-8). On success
    *query_p is the caller's, freed with query_destroy. Otherwise returns
    DOSSIER_INVALID_ARGUMENT (or DOSSIER_RESOURCE_EXHAUSTED when out of
    memory) with a message in err and leaves *query_p alone. */
dossier_status_t query_parse(const char *text, size_t size, query_t **query_p,
                             dossier_error_t *err);

/*  Frees a query; takes NULL; sets *query_p to NULL. */
void query_destroy(query_t **query_p);

#endif
